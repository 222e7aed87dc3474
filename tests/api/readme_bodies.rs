//! The README's "Request bodies to copy": every command in that block is sent as written (shell
//! variables substituted, `jq -r .field` captures kept), so the documented bodies cannot drift
//! from what the API accepts.

use std::collections::BTreeMap;

use ipam_core::configuration::Settings;
use ipam_tests::json::text;
use ipam_tests::spawn_app_with;
use reqwest::Method;
use serde_json::Value;

const README: &str = include_str!("../../README.md");

/// One `curl` of the block.
#[derive(Debug)]
struct Call {
    /// `NAME` of `NAME=$(curl … | jq -r .field)`, with the field.
    capture: Option<(String, String)>,
    method: Method,
    path: String,
    body: Option<String>,
}

/// The block's commands, continuation lines joined, comments and fences left out.
fn commands() -> Vec<String> {
    let start = README.find("<!-- request-bodies:start -->").expect("the README marks the block's start");
    let end = README.find("<!-- request-bodies:end -->").expect("the README marks the block's end");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in README[start..end].lines().skip(1) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("```") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The text inside the `quote`s that open `s` (its first character), backslash escapes kept.
fn quoted(s: &str, quote: char) -> &str {
    let rest = &s[1..];
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if quote == '"' => escaped = !escaped,
            c if c == quote && !escaped => return &rest[..i],
            _ => escaped = false,
        }
    }
    panic!("unterminated {quote} in {s}")
}

fn parse(command: &str) -> Call {
    let (capture, command) = match command.split_once("=$(") {
        Some((name, rest)) => {
            let (curl, jq) = rest.rsplit_once("| jq -r .").expect("a capture ends with | jq -r .field)");
            (Some((name.to_owned(), jq.trim_end_matches(')').trim().to_owned())), curl)
        }
        None => (None, command),
    };
    let method = if command.contains("-X POST") { Method::POST } else { Method::GET };
    let at = command.find("localhost:8000").expect("every command calls localhost:8000");
    let path = command[at + "localhost:8000".len()..].split(['"', ' ']).next().unwrap().to_owned();
    let body = command.find("-d ").map(|i| {
        let raw = &command[i + 3..];
        match raw.chars().next() {
            Some('\'') => quoted(raw, '\'').to_owned(),
            Some('"') => quoted(raw, '"').replace("\\\"", "\""),
            other => panic!("a body is quoted: {other:?} in {command}"),
        }
    });
    Call { capture, method, path, body }
}

fn substitute(s: &str, vars: &BTreeMap<String, String>) -> String {
    vars.iter().fold(s.to_owned(), |s, (name, value)| s.replace(&format!("${name}"), value))
}

#[tokio::test]
async fn every_request_body_the_readme_offers_is_accepted_as_written() {
    let app = spawn_app_with(|s: &mut Settings| s.webhook_allow_private_targets = true).await;
    let u = app.user("alice");
    // Steps 2 and 3 of the walkthrough.
    let region = u.create_region("USA", "us-east-prod").await;
    let mut vars = BTreeMap::from([("REGION_ID".to_owned(), text(&region, "region_id"))]);
    u.create_host(&vars["REGION_ID"], "web-01").await;

    let calls: Vec<Call> = commands().iter().map(|c| parse(c)).collect();
    assert!(calls.len() >= 8, "the block holds every documented body: {calls:?}");
    for call in &calls {
        let path = substitute(&call.path, &vars);
        let body = call.body.as_ref().map(|b| {
            serde_json::from_str::<Value>(&substitute(b, &vars)).unwrap_or_else(|e| panic!("{path}: {e}: {b}"))
        });
        let r = u.send(call.method.clone(), &path, body.as_ref()).await;
        assert!((200..300).contains(&r.code()), "{} {path} answered {}: {}", call.method, r.code(), r.text);
        if let Some((name, field)) = &call.capture {
            vars.insert(name.clone(), text(&r.json, field));
        }
    }
    assert!(vars.contains_key("RESERVATION_ID") && vars.contains_key("FILTER_ID"), "{vars:?}");
}

//! What an operator reads when something is set up wrong: the warning when a JWT secret is
//! generated, setting errors that name the valid values, and the start-up log.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn ipam(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipam"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IPAM_DATA_DIR", dir.join("data"))
        .env("IPAM_BIND_ADDR", "127.0.0.1:0")
        .env("IPAM_WORKER_ADDR", "127.0.0.1:0");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("ipam runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JWT secret of the tests that start a service.
const SECRET: &str = "operator-messages-secret-0123456789";

const TOKEN: [&str; 7] = ["token", "--user", "u1", "--username", "alice", "--permissions", "ipam:read"];

#[test]
fn token_warns_on_stderr_when_it_generates_a_secret_and_only_then() {
    let dir = tempfile::tempdir().unwrap();

    let first = run(ipam(dir.path()).args(TOKEN));

    assert!(first.status.success(), "{}", stderr(&first));
    let warning = stderr(&first);
    let path = dir.path().join("data").join("jwt_secret");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains(&format!("generated a new JWT secret in {}", path.display())), "{warning}");
    assert!(warning.contains("refused by any server using another secret"), "{warning}");
    let secret = std::fs::read_to_string(&path).unwrap();
    assert!(!warning.contains(secret.trim()), "the secret itself is never printed");
    assert_eq!(String::from_utf8_lossy(&first.stdout).lines().count(), 1, "stdout holds only the token");

    let second = run(ipam(dir.path()).args(TOKEN));
    assert!(second.status.success());
    assert!(!stderr(&second).contains("generated"), "the kept secret is reused quietly: {}", stderr(&second));
}

/// Starts `cmd` with stdout piped and returns the process with the lines it wrote up to and
/// including the first whose text contains `until`; the rest is drained in the background.
fn start_until(cmd: &mut Command, until: &str) -> (support::Proc, Vec<String>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("ipam starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().unwrap_or_else(|| panic!("exited before logging {until:?}: {seen:#?}")).unwrap();
        seen.push(line);
        if seen.last().unwrap().contains(until) {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (support::Proc(child), seen)
}

#[test]
fn the_start_up_log_in_a_pipe_has_no_colour_and_names_the_address_and_backends() {
    let dir = tempfile::tempdir().unwrap();

    let (_server, lines) = start_until(ipam(dir.path()).arg("serve").env("IPAM_JWT_SECRET", SECRET), "API listening");

    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "no ANSI escape codes in a pipe: {lines:#?}");
    let listening = lines.last().unwrap().replace('"', "");
    for field in ["bind_addr=127.0.0.1:", "backend=sqlite", "queue=sqlite", "queue_prefix=ipam", "cache=memory"] {
        assert!(listening.contains(field), "{field} in {listening}");
    }
    assert!(!lines.concat().contains(SECRET), "the secret is never logged");
}

#[test]
fn an_unreachable_redis_is_named_without_its_credentials_before_and_after_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    // A loopback port nobody listens on: bound by the OS, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://admin:{SECRET}@127.0.0.1:{port}/0");

    let out = run(ipam(dir.path()).arg("serve").env("IPAM_JWT_SECRET", SECRET).env("IPAM_REDIS_URL", &url));

    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("waiting for Redis (IPAM_REDIS_URL) for the job queue"), "{log}");
    assert!(log.contains(&format!("127.0.0.1:{port}")), "{log}");
    let error = stderr(&out);
    assert!(
        error.contains(&format!(
            "cannot connect to Redis at 127.0.0.1:{port} (IPAM_REDIS_URL) for the job queue; is it running?"
        )),
        "{error}"
    );
    assert!(!log.contains(SECRET) && !error.contains(SECRET), "no credentials: {log}\n{error}");
}

#[test]
fn a_worker_whose_address_is_taken_serves_on_a_free_port_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();

    let (_worker, lines) = start_until(
        ipam(dir.path())
            .arg("worker")
            .env("IPAM_JWT_SECRET", SECRET)
            .env("IPAM_LOG_FORMAT", "json")
            .env("IPAM_WORKER_ADDR", taken_addr.to_string()),
        "worker started",
    );

    let logs: Vec<Value> = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let warning = logs.iter().find(|l| l["level"] == "WARN").expect("a warning about the taken address");
    assert_eq!(warning["fields"]["configured"], taken_addr.to_string());
    let bound = warning["fields"]["bound"].as_str().unwrap().to_owned();
    assert_ne!(bound, taken_addr.to_string());
    assert!(warning["fields"]["message"].as_str().unwrap().contains("IPAM_WORKER_ADDR"), "{warning}");
    let started = logs.last().unwrap();
    assert_eq!(started["fields"]["addr"], bound.as_str(), "{started}");
    assert_eq!(started["fields"]["queue_prefix"], "ipam", "{started}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let health = reqwest::blocking::get(format!("http://{bound}/health")).expect("the fallback address answers");
    let body: Value = health.json().unwrap();
    assert_eq!(body["checks"]["queue"]["status"], "ok", "{body}");
    drop(taken);
}

#[test]
fn a_process_configured_for_another_queue_than_the_database_records_refuses_to_start_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = start_until(
        ipam(dir.path())
            .args(["serve", "--no-workers"])
            .env("IPAM_JWT_SECRET", SECRET)
            .env("IPAM_QUEUE_PREFIX", "blue"),
        "API listening",
    );
    drop(first);

    let worker = run(ipam(dir.path()).arg("worker").env("IPAM_JWT_SECRET", SECRET).env("IPAM_QUEUE_PREFIX", "green"));

    assert!(!worker.status.success());
    let error = stderr(&worker);
    assert!(
        error.contains(
            "this database's processes use the sqlite queue with prefix 'blue', but this process is configured for \
             the sqlite queue with prefix 'green'"
        ),
        "{error}"
    );
    let (_same, lines) = start_until(
        ipam(dir.path()).arg("worker").env("IPAM_JWT_SECRET", SECRET).env("IPAM_QUEUE_PREFIX", "blue"),
        "worker started",
    );
    assert!(lines.last().unwrap().contains("blue"), "the matching worker starts: {lines:#?}");
}

//! `ipam bench` as an operator runs it, at a smoke size: `seed` fills an empty SQLite store with
//! consistent data (and refuses a store that holds some), `stats` measures every case in this
//! process and against a running server. No timing is asserted: only what is printed and stored.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use ipam_core::auth::{Permission, Permissions, TokenKeys};
use ipam_core::domain::{UserId, Username};
use secrecy::SecretString;
use serde_json::Value;

const SECRET: &str = "bench-test-secret-0123456789abcdef";

/// Every case `bench stats` measures, as it labels them.
const CASES: [&str; 6] = [
    "dashboard ?fresh=true (uncached)",
    "dashboard (cached)",
    "forecast country ?fresh=true",
    "forecast country (cached)",
    "forecast region ?fresh=true",
    "forecast region (cached)",
];

fn ipam(dir: &Path, url: &str) -> Command {
    let mut cmd = support::ipam(dir, SECRET, "bench", None);
    cmd.env("IPAM_DATABASE_URL", url).env("IPAM_LOG_FORMAT", "json").env("IPAM_LOG_LEVEL", "info");
    cmd
}

fn run(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("ipam runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

fn seed(dir: &Path, url: &str) -> (Output, String) {
    run(ipam(dir, url).args(["bench", "seed", "--database-url", url, "--hosts", "20000", "--users", "5"]))
}

/// The lines of `text` from the one starting with `title` to the next blank line.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines().skip_while(|l| !l.starts_with(title)).take_while(|l| !l.trim().is_empty()).collect()
}

fn get(base: &str, token: &str, path: &str) -> Value {
    // reqwest is built without a TLS crypto provider (the binary installs ring at start-up).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::blocking::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().unwrap()
}

#[test]
fn bench_seeds_a_consistent_store_and_measures_every_statistics_case() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());

    let (out, text) = seed(dir.path(), &url);
    assert!(out.status.success(), "{text}");
    // bench-user-0: 1,000 regions; the other four users hold 2,500 hosts each in 25 regions.
    assert!(text.contains("Users: 5 (bench-user-0 is the benchmarked one)"), "{text}");
    assert!(text.contains("Regions: 1100\n"), "{text}");
    assert!(text.contains("Hosts: 20000\n"), "{text}");
    assert!(text.contains("Audit records: 21100\n"), "{text}");

    let (again, text) = seed(dir.path(), &url);
    assert!(!again.status.success(), "a second seed must be refused: {text}");
    assert!(text.contains("the store is not empty (ipam_regions holds 1100 rows)"), "{text}");

    let (repair, text) = run(ipam(dir.path(), &url).args(["repair", "--check"]));
    assert!(repair.status.success(), "{text}");
    assert!(text.contains("Everything was consistent"), "the seeded derived state needs no repair: {text}");

    let (stats, text) = run(ipam(dir.path(), &url).args([
        "bench",
        "stats",
        "--database-url",
        &url,
        "--requests",
        "20",
        "--warmup",
        "2",
    ]));
    assert!(stats.status.success(), "{text}");
    assert!(
        text.contains("Seed: bench-user-0 holds 1000 regions and 10000 hosts; the store holds 20000 hosts of 5 users"),
        "{text}"
    );
    assert!(text.contains("Requests per case: 20 measured after 2 warm-up; country "), "{text}");
    for title in ["HTTP round trip", "Server time"] {
        let rows = section(&text, title);
        for case in CASES {
            assert_eq!(
                rows.iter().filter(|l| l.trim_start().starts_with(case)).count(),
                1,
                "{title} / {case}:\n{text}"
            );
        }
    }
    let http = section(&text, "HTTP round trip");
    let cached = http.iter().find(|l| l.contains("dashboard (cached)")).unwrap();
    assert!(cached.ends_with("judged on server time below"), "{text}");
    let server = section(&text, "Server time");
    let cached = server.iter().find(|l| l.contains("dashboard (cached)")).unwrap();
    assert!(cached.contains("p99 < 1 ms"), "{text}");

    // A running server over the seeded store: bench-user-0 holds exactly its share, and
    // `bench stats --url` drives it with a token signed by the configured secret.
    let (_api, port) = support::api(ipam(dir.path(), &url));
    let base = format!("http://127.0.0.1:{port}");
    let user = UserId::parse("bench-user-0").unwrap();
    let token = TokenKeys::new(&SecretString::from(SECRET))
        .mint(
            &user,
            &Username::parse("bench-user-0").unwrap(),
            Permissions::of(&[Permission::Read]),
            chrono::Duration::minutes(10),
            chrono::Utc::now(),
        )
        .unwrap();
    let quota = get(&base, &token, "/ipam/quotas/me");
    assert_eq!((quota["region_count"].as_u64(), quota["host_count"].as_u64()), (Some(1000), Some(10000)), "{quota}");
    let dashboard = get(&base, &token, "/ipam/statistics/dashboard");
    assert_eq!(dashboard["total_countries"], 17, "blocks round-robin over every allocatable country");
    assert_eq!(dashboard["capacity_warnings"], 9, "10,000 / 254 / 4 = 9 full regions");

    let (remote, text) =
        run(ipam(dir.path(), &url).args(["bench", "stats", "--url", &base, "--requests", "5", "--warmup", "1"]));
    assert!(remote.status.success(), "{text}");
    let rows = section(&text, "HTTP round trip");
    assert!(CASES.iter().all(|case| rows.iter().any(|l| l.trim_start().starts_with(case))), "{text}");
    assert!(text.contains("Server time: not measured"), "{text}");
    let cached = rows.iter().find(|l| l.contains("dashboard (cached)")).unwrap();
    assert!(cached.contains("p99 < 1 ms"), "without a server-time figure the round trip is judged: {text}");
}

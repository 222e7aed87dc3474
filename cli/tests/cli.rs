//! The `ipam` binary as an operator uses it: tokens, migrations, serving, and several server
//! processes sharing one database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use ipam_core::auth::{Permission, TokenKeys};
use secrecy::SecretString;
use serde_json::{Value, json};

fn ipam(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipam"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IPAM_DATA_DIR", dir.join("data"))
        .env("IPAM_BIND_ADDR", "127.0.0.1:0")
        .env("IPAM_RATE_LIMITS", "off");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("ipam runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The collections of migration 6, the last of the seed's enhancement collections.
const MIGRATION_6_COLLECTIONS: [&str; 3] = ["ipam_notifications", "ipam_notification_rules", "ipam_bulk_jobs"];

/// What `ipam migrate` reports for migration 7, which alters two of migration 6's collections
/// and creates one.
const MIGRATION_7_REPORT: &str = "Name: notification_dedup_and_rule_state (version 7)
  Description: Notification dedup keys, rule severity and cooldown, and per-(rule, resource) threshold state
";
const MIGRATION_7_COLLECTIONS: &str = "  Collections affected: ipam_notification_rule_state
  Collections altered: ipam_notifications (+ fields dedup_key; + indexes notification_user_dedup_idx; new validator), \
ipam_notification_rules (+ fields severity, cooldown_minutes; new validator)
";

fn mint(dir: &Path, user: &str, perms: &str) -> String {
    let out = run(ipam(dir).args(["token", "--user", user, "--username", user, "--permissions", perms]));
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn token_prints_only_a_token_that_the_persisted_secret_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(ipam(dir.path()).args([
        "token",
        "--user",
        "u1",
        "--username",
        "alice",
        "--permissions",
        "ipam:read,ipam:allocate",
        "--ttl",
        "2h",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "stdout holds only the token: {text:?}");
    let token = text.trim();
    assert_eq!(token.split('.').count(), 3);

    let secret = std::fs::read_to_string(dir.path().join("data/jwt_secret")).expect("secret persisted");
    let actor = TokenKeys::new(&SecretString::from(secret)).verify(token).expect("token verifies");
    assert_eq!(actor.user_id.as_str(), "u1");
    assert_eq!(actor.username.as_str(), "alice");
    assert!(actor.can(Permission::Allocate));
    assert!(!actor.can(Permission::Release));

    let again = mint(dir.path(), "u2", "ipam:read");
    let secret = std::fs::read_to_string(dir.path().join("data/jwt_secret")).unwrap();
    assert!(TokenKeys::new(&SecretString::from(secret)).verify(&again).is_ok(), "the same secret is reused");
}

#[test]
fn token_refuses_bad_arguments_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 4] = [
        &["token", "--user", "u1", "--username", "a", "--permissions", "ipam:root"],
        &["token", "--user", "u 1", "--username", "a", "--permissions", "ipam:read"],
        &["token", "--user", "u1", "--username", "a", "--permissions", "ipam:read", "--ttl", "soon"],
        &["token", "--user", "u1", "--username", "a", "--permissions", "ipam:read", "--ttl", "400d"],
    ];
    for args in cases {
        let out = run(ipam(dir.path()).args(args));
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stdout(&out).is_empty(), "no token on failure");
        assert!(!stderr(&out).trim().is_empty(), "{args:?} explains itself");
    }
}

#[test]
fn migrate_applies_once_then_reports_already_applied() {
    let dir = tempfile::tempdir().unwrap();
    let status = run(ipam(dir.path()).args(["migrate", "--status"]));
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).contains("[pending]"), "{}", stdout(&status));
    assert!(stdout(&status).contains("[pending]   6 notifications_and_bulk_jobs — "), "{}", stdout(&status));
    assert!(stdout(&status).contains("[pending]   7 notification_dedup_and_rule_state — "), "{}", stdout(&status));

    let first = run(ipam(dir.path()).arg("migrate"));
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert!(text.contains("core_ipam"), "{text}");
    assert!(text.contains("Collections affected: continent_country_mapping, ipam_regions"), "{text}");
    assert!(text.contains("Name: notifications_and_bulk_jobs (version 6)"), "{text}");
    assert!(text.contains(&format!("Collections affected: {}\n", MIGRATION_6_COLLECTIONS.join(", "))), "{text}");
    assert!(text.contains(MIGRATION_7_REPORT) && text.contains(MIGRATION_7_COLLECTIONS), "{text}");
    assert!(
        text.contains(&format!("✅ {} migration(s) applied successfully", ipam_migrations::MIGRATIONS.len())),
        "{text}"
    );

    let second = run(ipam(dir.path()).arg("migrate"));
    assert!(second.status.success());
    assert!(stdout(&second).contains("Migration was skipped (already applied)"), "{}", stdout(&second));

    let status = run(ipam(dir.path()).args(["migrate", "--status"]));
    let text = stdout(&status);
    assert!(text.contains("[applied") && !text.contains("[pending]"), "{text}");
    assert!(text.contains("   6 notifications_and_bulk_jobs — Notifications, notification rules and bulk"), "{text}");
    assert!(text.contains("   7 notification_dedup_and_rule_state — Notification dedup keys, rule severity"), "{text}");
    assert!(text.contains(&format!("{} applied, 0 pending", ipam_migrations::MIGRATIONS.len())), "{text}");
}

#[test]
fn an_unsupported_database_url_stops_the_server_with_an_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(ipam(dir.path()).arg("serve").env("IPAM_DATABASE_URL", "postgres://localhost/ipam"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("IPAM_DATABASE_URL must start with sqlite:// or mongodb://"), "{}", stderr(&out));
}

/// A running `ipam serve` process; killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = ipam(dir)
        .arg("serve")
        .env("IPAM_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    // The server logs its port once it listens; everything before is start-up.
    let port = loop {
        let line = lines.next().expect("server printed its port before exiting").expect("log line");
        let Ok(log) = serde_json::from_str::<Value>(&line) else { continue };
        if log["fields"]["message"] == "API listening" {
            break log["fields"]["port"].as_u64().expect("port field") as u16;
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, port }
}

fn client() -> reqwest::blocking::Client {
    // reqwest is built without a TLS crypto provider (the binary installs ring at start-up).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

#[test]
fn the_service_runs_with_nothing_configured_and_tokens_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let token = mint(dir.path(), "u1", "ipam:read,ipam:allocate");
    let http = client();
    {
        let server = serve(dir.path());
        let base = format!("http://127.0.0.1:{}", server.port);
        assert_eq!(http.get(format!("{base}/health")).send().unwrap().status(), 200);
        create(&http, format!("{base}/ipam/regions"), &token, json!({"country": "USA", "region_name": "survivor"}));
    }
    let server = serve(dir.path());
    let base = format!("http://127.0.0.1:{}", server.port);
    let r: Value = http.get(format!("{base}/ipam/regions")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(r["results"][0]["region_name"], "survivor", "data and secret survived the restart");
    assert!(dir.path().join("data/ipam.db").exists());
}

#[test]
fn two_server_processes_on_one_database_never_hand_out_the_same_block() {
    let dir = tempfile::tempdir().unwrap();
    let token = mint(dir.path(), "u1", "ipam:read,ipam:allocate");
    let servers = [serve(dir.path()), serve(dir.path())];
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let token = token.clone();
            let ports = ports.clone();
            std::thread::spawn(move || {
                let http = client();
                (0..25)
                    .map(|i| {
                        let port = ports[(t + i) % ports.len()];
                        let url = format!("http://127.0.0.1:{port}/ipam/regions");
                        let region =
                            create(&http, url, &token, json!({"country": "KOR", "region_name": format!("p{t}-{i}")}));
                        region["cidr"].as_str().unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut cidrs: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    cidrs.sort();
    let total = cidrs.len();
    cidrs.dedup();
    assert_eq!(cidrs.len(), total, "a block was handed out twice");
    // South Korea starts at X = 54: the 200 lowest blocks, whichever process served them.
    let mut expected: Vec<String> = (0..200).map(|i| format!("10.{}.{}.0/24", 54 + i / 256, i % 256)).collect();
    expected.sort();
    assert_eq!(cidrs, expected);
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn sql(dir: &Path, statement: &'static str) {
    let url = format!("sqlite://{}?mode=rw", dir.join("data/ipam.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = ipam_core::storage::sqlite::SqliteStore::connect(&url, 1).await.unwrap();
        sqlx::query(statement).execute(store.pool()).await.unwrap();
    });
}

/// The one integer `query` selects.
fn scalar(dir: &Path, query: &'static str) -> i64 {
    let url = format!("sqlite://{}?mode=rw", dir.join("data/ipam.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = ipam_core::storage::sqlite::SqliteStore::connect(&url, 1).await.unwrap();
        sqlx::query_scalar(query).fetch_one(store.pool()).await.unwrap()
    })
}

#[test]
fn repair_check_only_reports_and_repair_rebuilds_the_counters_from_the_history_and_moves_the_data_version() {
    let dir = tempfile::tempdir().unwrap();
    let token = mint(dir.path(), "u1", "ipam:read,ipam:allocate,ipam:release");
    let http = client();
    {
        let server = serve(dir.path());
        let base = format!("http://127.0.0.1:{}", server.port);
        let region =
            create(&http, format!("{base}/ipam/regions"), &token, json!({"country": "USA", "region_name": "counted"}));
        let host = create(
            &http,
            format!("{base}/ipam/hosts"),
            &token,
            json!({"region_id": region["region_id"], "hostname": "gone"}),
        );
        let released = http
            .delete(format!("{base}/ipam/hosts/{}?reason=decommissioned", host["host_id"].as_str().unwrap()))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(released.status(), 204);
    }
    let clean = run(ipam(dir.path()).args(["repair", "--check"]));
    assert!(clean.status.success(), "a consistent store passes the check: {}", stdout(&clean));
    assert!(stdout(&clean).contains("Everything was consistent"), "{}", stdout(&clean));

    // Counters that lost their history, as a MongoDB store upgraded past migration 8 has them.
    sql(dir.path(), "UPDATE ipam_user_stats SET released_hosts = 0");
    let version = scalar(dir.path(), "SELECT data_version FROM ipam_user_stats WHERE user_id = 'u1'");
    for _ in 0..2 {
        let check = run(ipam(dir.path()).args(["repair", "--check"]));
        assert_eq!(check.status.code(), Some(1), "{}", stdout(&check));
        assert!(stdout(&check).contains("Retired/released counters to fix: 1"), "{}", stdout(&check));
    }
    assert_eq!(scalar(dir.path(), "SELECT released_hosts FROM ipam_user_stats"), 0, "a check writes nothing");

    let repaired = run(ipam(dir.path()).arg("repair"));
    assert!(repaired.status.success(), "{}", stdout(&repaired));
    assert!(stdout(&repaired).contains("Retired/released counters fixed: 1"), "{}", stdout(&repaired));
    assert_eq!(scalar(dir.path(), "SELECT released_hosts FROM ipam_user_stats"), 1);
    let moved = scalar(dir.path(), "SELECT data_version FROM ipam_user_stats WHERE user_id = 'u1'");
    assert_eq!(moved, version + 1, "cached results of the repaired user are not served again");
    assert!(run(ipam(dir.path()).args(["repair", "--check"])).status.success());
}

/// POSTs `body` with `token` and returns what it created (asserting 201).
fn create(http: &reqwest::blocking::Client, url: String, token: &str, body: Value) -> Value {
    let r = http.post(url).bearer_auth(token).json(&body).send().unwrap();
    assert_eq!(r.status(), 201, "{body}");
    r.json().unwrap()
}

#[test]
fn verify_indexes_passes_after_migrate_and_names_a_missing_index() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(ipam(dir.path()).arg("migrate")).status.success());
    let ok = run(ipam(dir.path()).arg("verify-indexes"));
    let text = stdout(&ok);
    assert!(ok.status.success(), "{text}{}", stderr(&ok));
    assert!(text.contains("✓ ipam_regions: All indexes present"), "{text}");
    for name in MIGRATION_6_COLLECTIONS.into_iter().chain(["ipam_notification_rule_state"]) {
        assert!(text.contains(&format!("✓ {name}: All indexes present")), "{text}");
    }
    assert!(text.contains("✓ All indexes verified successfully!"), "{text}");
    // The latest schema: every created collection with the indexes later migrations added.
    let collections = ipam_migrations::latest_schema();
    let indexes: usize = collections.iter().map(|c| c.indexes.len()).sum();
    let created: usize = ipam_migrations::MIGRATIONS.iter().flat_map(|m| m.collections).map(|c| c.indexes.len()).sum();
    let added: usize = ipam_migrations::MIGRATIONS.iter().flat_map(|m| m.alters).map(|a| a.added_indexes.len()).sum();
    assert_eq!(added, 2, "migration 7 adds notification_user_dedup_idx, 10 bulk_job_status_lease_idx");
    assert_eq!(indexes, created + added);
    assert!(text.contains(&format!("Collections checked: {}", collections.len())), "{text}");
    assert!(text.contains(&format!("Total expected indexes: {indexes}")), "{text}");

    sql(dir.path(), "DROP INDEX user_xyz_unique_idx");
    sql(dir.path(), "CREATE INDEX hand_made_idx ON ipam_hosts (notes)");
    let bad = run(ipam(dir.path()).arg("verify-indexes"));
    let text = stdout(&bad);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ ipam_hosts: Issues found"), "{text}");
    assert!(
        text.contains("- user_xyz_unique_idx [user_id: 1, x_octet: 1, y_octet: 1, z_octet: 1] (unique=true)"),
        "{text}"
    );
    assert!(text.contains("Extra indexes (1):") && text.contains("hand_made_idx"), "{text}");
    assert!(text.contains("✗ 1 missing index(es)"), "{text}");
}

#[test]
fn verify_indexes_on_an_empty_database_reports_missing_collections() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let out = run(ipam(dir.path()).arg("verify-indexes"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("ipam_regions: collection missing (run `ipam migrate`)"), "{}", stdout(&out));
}

/// Migrations from `version` on: rolled back, they are pending.
fn pending_from(version: u32) -> usize {
    ipam_migrations::MIGRATIONS.iter().filter(|m| m.version >= version).count()
}

/// Collections created by migrations from `version` on.
fn created_from(version: u32) -> Vec<&'static str> {
    ipam_migrations::MIGRATIONS.iter().filter(|m| m.version >= version).flat_map(|m| m.collection_names()).collect()
}

/// Collections created by migrations from `version` on (those after the ones a case is about).
fn later_collections(version: u32) -> usize {
    created_from(version).len()
}

/// Indexes of the collections created by migrations from `version` on.
fn later_indexes(version: u32) -> usize {
    let created = created_from(version);
    ipam_migrations::latest_schema().iter().filter(|c| created.contains(&c.name)).map(|c| c.indexes.len()).sum()
}

/// What `verify-indexes` reports missing once every migration from `version` on is rolled
/// back: every index those migrations expect (also on collections they altered) and the
/// collections they created.
fn missing_from(version: u32) -> (usize, usize) {
    let later = || ipam_migrations::MIGRATIONS.iter().filter(move |m| m.version >= version);
    let altered: usize = later()
        .flat_map(|m| m.alters)
        .filter(|a| !created_from(version).contains(&a.collection))
        .map(|a| a.added_indexes.len())
        .sum();
    (later_indexes(version) + altered, later_collections(version))
}

#[test]
fn rollback_asks_first_then_drops_and_can_be_applied_again() {
    let dir = tempfile::tempdir().unwrap();
    let token = mint(dir.path(), "u1", "ipam:read,ipam:allocate");
    assert!(run(ipam(dir.path()).arg("migrate")).status.success());
    {
        let server = serve(dir.path());
        create(
            &client(),
            format!("http://127.0.0.1:{}/ipam/regions", server.port),
            &token,
            json!({"country": "USA", "region_name": "doomed"}),
        );
    }

    let latest = ipam_migrations::MIGRATIONS.last().unwrap();
    let refused = run_with_stdin(ipam(dir.path()).args(["migrate", "--rollback"]), "no\n");
    assert!(!refused.status.success());
    for name in latest.collection_names() {
        assert!(stdout(&refused).contains(name), "lists what would be dropped: {}", stdout(&refused));
    }
    assert!(stdout(&refused).contains("Rollback cancelled; nothing was changed."), "{}", stdout(&refused));
    assert!(!stdout(&run(ipam(dir.path()).args(["migrate", "--status"]))).contains("[pending]"));

    // The latest migration goes first; rolling back every one takes the core (and its data).
    for m in ipam_migrations::MIGRATIONS.iter().rev() {
        let done = run_with_stdin(ipam(dir.path()).args(["migrate", "--rollback"]), "yes\n");
        assert!(done.status.success(), "{}{}", stdout(&done), stderr(&done));
        let expected = format!("Migration {} ({}) rolled back", m.version, m.name);
        assert!(stdout(&done).contains(&expected), "{}", stdout(&done));
        if m.version == 7 {
            // Only the state table went; the two altered collections stay, without what 7 added.
            let verify = run(ipam(dir.path()).arg("verify-indexes"));
            let text = stdout(&verify);
            assert_eq!(verify.status.code(), Some(1), "{text}");
            let prompt = stdout(&done);
            assert!(
                prompt.contains(
                    "This DROPS these collections and every document in them:\n  - ipam_notification_rule_state\n"
                ),
                "{prompt}"
            );
            assert!(
                prompt.contains(
                    "This undoes its alterations of these collections (they and their other data stay):\n  \
                     - ipam_notifications: drops index notification_user_dedup_idx; DROPS column dedup_key and its values\n  \
                     - ipam_notification_rules: DROPS columns severity, cooldown_minutes and their values\n"
                ),
                "{prompt}"
            );
            assert!(text.contains("✗ ipam_notification_rule_state: collection missing (run `ipam migrate`)"), "{text}");
            assert!(text.contains("✗ ipam_notifications: Issues found"), "{text}");
            assert!(text.contains("- notification_user_dedup_idx [user_id: 1, dedup_key: 1] (unique=true)"), "{text}");
            assert!(text.contains("✓ ipam_notification_rules: All indexes present"), "{text}");
            // Migration 10 (rolled back before) added the bulk jobs' lease index.
            assert!(text.contains("✗ ipam_bulk_jobs: Issues found"), "{text}");
            assert!(text.contains("- bulk_job_status_lease_idx [status: 1, lease_until: 1]"), "{text}");
            // Missing too: the collections of later migrations (8's stats collection, …) and
            // 10's lease index, rolled back just before.
            assert!(text.contains("✗ ipam_user_stats: collection missing (run `ipam migrate`)"), "{text}");
            let (indexes, collections) = missing_from(7);
            assert_eq!((indexes, collections), (3 + later_indexes(8) + 1, 1 + later_collections(8)));
            assert!(
                text.contains(&format!("✗ {indexes} missing index(es), {collections} missing collection(s)")),
                "{text}"
            );
            let status = stdout(&run(ipam(dir.path()).args(["migrate", "--status"])));
            assert!(status.contains("[pending]   7 notification_dedup_and_rule_state"), "{status}");
            assert!(status.contains("[pending]   8 user_stats"), "{status}");
            assert_eq!(status.matches("[pending]").count(), pending_from(7), "{status}");
        }
        if m.version == 6 {
            // Only migration 6's collections (and 7's, rolled back just before) went; everything
            // older is still in place.
            let verify = run(ipam(dir.path()).arg("verify-indexes"));
            let text = stdout(&verify);
            assert_eq!(verify.status.code(), Some(1), "{text}");
            for name in MIGRATION_6_COLLECTIONS {
                assert!(stdout(&done).contains(&format!("  - {name}\n")), "{}", stdout(&done));
                assert!(text.contains(&format!("✗ {name}: collection missing (run `ipam migrate`)")), "{text}");
            }
            assert!(text.contains("✓ ipam_webhook_deliveries: All indexes present"), "{text}");
            let indexes: usize = m.collections.iter().map(|c| c.indexes.len()).sum();
            assert_eq!(indexes, 10);
            // Missing too: 7's dedup index (expected on ipam_notifications) and its state table,
            // the collections of later migrations (8's stats collection, …) and 10's lease index.
            assert_eq!(missing_from(6), (indexes + 3 + later_indexes(8) + 1, 4 + later_collections(8)));
            let (indexes, collections) = missing_from(6);
            assert!(
                text.contains(&format!("✗ {indexes} missing index(es), {collections} missing collection(s)")),
                "{text}"
            );
            let status = stdout(&run(ipam(dir.path()).args(["migrate", "--status"])));
            assert!(status.contains("[pending]   6 notifications_and_bulk_jobs"), "{status}");
            assert!(status.contains("[pending]   7 notification_dedup_and_rule_state"), "{status}");
            assert_eq!(status.matches("[pending]").count(), pending_from(6), "{status}");
        }
    }
    let status = stdout(&run(ipam(dir.path()).args(["migrate", "--status"])));
    assert_eq!(status.matches("[pending]").count(), ipam_migrations::MIGRATIONS.len(), "{status}");
    assert_eq!(run(ipam(dir.path()).arg("verify-indexes")).status.code(), Some(1));

    let again = run(ipam(dir.path()).arg("migrate"));
    assert!(stdout(&again).contains("migration(s) applied successfully"), "{}", stdout(&again));
    let collections = format!("Collections affected: {}\n", MIGRATION_6_COLLECTIONS.join(", "));
    assert!(stdout(&again).contains(&collections), "{}", stdout(&again));
    assert!(stdout(&again).contains(MIGRATION_7_COLLECTIONS), "{}", stdout(&again));
    assert!(run(ipam(dir.path()).arg("verify-indexes")).status.success());
    let server = serve(dir.path());
    let listed: Value = client()
        .get(format!("http://127.0.0.1:{}/ipam/regions", server.port))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["pagination"]["total_count"], 0, "the data went with the rollback");

    let scripted = run(ipam(dir.path()).args(["migrate", "--rollback", "--yes"]));
    assert!(scripted.status.success(), "--yes needs no answer: {}", stdout(&scripted));
}

#[test]
fn repair_rebuilds_bitmaps_and_counters_from_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let token = mint(dir.path(), "u1", "ipam:read,ipam:allocate");
    let http = client();
    {
        let server = serve(dir.path());
        let base = format!("http://127.0.0.1:{}", server.port);
        let region =
            create(&http, format!("{base}/ipam/regions"), &token, json!({"country": "USA", "region_name": "damaged"}));
        for name in ["a1", "a2", "a3"] {
            create(
                &http,
                format!("{base}/ipam/hosts"),
                &token,
                json!({"region_id": region["region_id"], "hostname": name}),
            );
        }
    }
    let consistent = run(ipam(dir.path()).arg("repair"));
    assert!(consistent.status.success(), "{}", stderr(&consistent));
    assert!(stdout(&consistent).contains("Everything was consistent"), "{}", stdout(&consistent));

    // Damage the derived data as a crashed writer could: bits and counters that lie.
    sql(dir.path(), "UPDATE ipam_regions SET host_slots = zeroblob(32), allocated_hosts = 0");
    sql(dir.path(), "DELETE FROM ipam_region_slots");
    sql(dir.path(), "UPDATE ipam_user_quotas SET region_count = 7, host_count = 0");
    let repaired = run(ipam(dir.path()).arg("repair"));
    let text = stdout(&repaired);
    assert!(repaired.status.success(), "{text}");
    assert!(text.contains("host bitmap or count was fixed: 1"), "{text}");
    assert!(text.contains("Block bitmaps fixed: 1"), "{text}");
    assert!(text.contains("Quota counters fixed: 1"), "{text}");
    assert!(text.contains("Stale region retirements cleared: 0"), "SQLite retires atomically: {text}");

    let server = serve(dir.path());
    let base = format!("http://127.0.0.1:{}", server.port);
    let quota: Value = http.get(format!("{base}/ipam/quotas/me")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!((quota["region_count"].as_u64(), quota["host_count"].as_u64()), (Some(1), Some(3)));
    let next = create(&http, format!("{base}/ipam/regions"), &token, json!({"country": "USA", "region_name": "next"}));
    assert_eq!(next["cidr"], "10.153.1.0/24", "the repaired bitmap keeps the first block taken");
}

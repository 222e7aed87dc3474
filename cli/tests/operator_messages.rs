//! What an operator reads when something is set up wrong: the warning when a JWT secret is
//! generated, setting errors that name the valid values, and the start-up log.

mod support;

use std::path::Path;
use std::process::{Command, Output};

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

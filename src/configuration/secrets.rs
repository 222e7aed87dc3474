//! The JWT secret: configured, or generated once and kept in the data directory so tokens
//! survive restarts. The secret itself is never logged.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use secrecy::SecretString;

use super::Settings;

const SECRET_FILE: &str = "jwt_secret";

/// The configured secret, or the one persisted in `<data_dir>/jwt_secret` (created if missing).
pub fn resolve_jwt_secret(settings: &Settings) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
    let path = settings.data_dir.join(SECRET_FILE);
    match create_new(&path) {
        Ok(secret) => {
            // A warning, not news: `ipam token` run in another directory lands here, and the
            // server it was meant for (with its own secret) then refuses every token it mints.
            // The CLI tools log warnings to stderr, so the token on stdout stays clean.
            tracing::warn!(
                path = %path.display(),
                "generated a new JWT secret in {}: tokens signed with it are refused by any server using another \
                 secret (set IPAM_JWT_SECRET, or IPAM_DATA_DIR, to the server's)",
                path.display()
            );
            Ok(secret)
        }
        // Another process (or an earlier start) created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

fn create_new(path: &Path) -> std::io::Result<SecretString> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(hex.as_bytes())?;
    file.sync_all()?;
    Ok(SecretString::from(hex))
}

fn read(path: &Path) -> anyhow::Result<SecretString> {
    // A concurrent creator may not have finished writing yet; retry briefly.
    for _ in 0..50 {
        let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = text.trim();
        if text.len() >= 16 {
            return Ok(SecretString::from(text.to_owned()));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    anyhow::bail!("{} is empty or too short; delete it to generate a new secret", path.display())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_generated_secret_is_reused_on_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings { data_dir: dir.path().to_path_buf(), ..Settings::default() };
        let first = resolve_jwt_secret(&settings).unwrap();
        let second = resolve_jwt_secret(&settings).unwrap();
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 64);
    }

    #[test]
    fn a_configured_secret_wins() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            jwt_secret: Some(SecretString::from("configured-secret-0001".to_owned())),
            ..Settings::default()
        };
        assert_eq!(resolve_jwt_secret(&settings).unwrap().expose_secret(), "configured-secret-0001");
        assert!(!dir.path().join(SECRET_FILE).exists());
    }
}

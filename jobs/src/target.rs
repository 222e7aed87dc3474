//! Where webhooks may post: public addresses only, unless private targets are allowed. Checked
//! when a webhook is created and again at every delivery, through a DNS resolver that drops
//! non-public answers (so a name that later resolves to 127.0.0.1 or 169.254.169.254 is still
//! refused).

use std::net::{IpAddr, SocketAddr};

use async_trait::async_trait;
use ipam_core::domain::WebhookUrl;
use ipam_core::domain::webhook::is_non_public;
use ipam_core::service::TargetPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a non-public target is refused, and what an operator can do about it. It names neither
/// the host nor what it resolved to: echoing them would let callers map internal DNS.
const PRIVATE_TARGET: &str = "webhooks must target a public address, and this one is (or resolves to) a loopback, \
                              private or link-local address; for receivers on a private network the operator can \
                              set IPAM_WEBHOOK_ALLOW_PRIVATE_TARGETS=true";

/// Resolves `url`'s host and checks every answer; the message says what to fix.
pub async fn check(url: &WebhookUrl, allow_private: bool) -> Result<(), String> {
    let (host, port) = url.host_port();
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| format!("host '{host}' could not be resolved; webhooks must target a public address"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("host '{host}' could not be resolved"));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_non_public(a.ip())) {
        // The address stays in the server log: echoing it would let callers map internal DNS.
        tracing::info!(%host, address = %bad.ip(), "webhook target refused: not a public address");
        return Err(PRIVATE_TARGET.to_owned());
    }
    Ok(())
}

/// The target policy webhooks are created under: [`check`], the rule every delivery's
/// resolver applies again.
#[derive(Debug, Clone, Copy)]
pub struct PublicTargets {
    /// Accept loopback, private and link-local targets too (`IPAM_WEBHOOK_ALLOW_PRIVATE_TARGETS`).
    pub allow_private: bool,
}

#[async_trait]
impl TargetPolicy for PublicTargets {
    async fn check(&self, url: &WebhookUrl) -> Result<(), String> {
        check(url, self.allow_private).await
    }
}

/// A reqwest resolver that only returns public addresses (or everything, when allowed).
#[derive(Debug, Clone, Copy)]
pub struct PublicOnlyResolver {
    /// Return private answers too.
    pub allow_private: bool,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> =
                found.into_iter().filter(|a| allow_private || !is_non_public(a.ip())).collect();
            if usable.is_empty() {
                let msg = format!("'{host}' does not resolve to a public address");
                return Err(Box::new(std::io::Error::other(msg)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(usable.into_iter());
            Ok(addrs)
        })
    }
}

/// Refuses a literal non-public IP in the URL itself (the resolver is not asked for those).
pub fn literal_allowed(url: &WebhookUrl, allow_private: bool) -> Result<(), String> {
    let (host, _) = url.host_port();
    match host.parse::<IpAddr>() {
        Ok(ip) if !allow_private && is_non_public(ip) => Err(PRIVATE_TARGET.to_owned()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_targets_are_refused_unless_allowed() {
        let url = WebhookUrl::parse("http://127.0.0.1:9/hook").unwrap();
        let err = check(&url, false).await.unwrap_err();
        assert!(err.contains("public address") && !err.contains("127.0.0.1 is"), "{err}");
        assert!(check(&url, true).await.is_ok());
        assert!(PublicTargets { allow_private: false }.check(&url).await.is_err());
        assert!(PublicTargets { allow_private: true }.check(&url).await.is_ok());
        let named = WebhookUrl::parse("http://localhost:9/hook").unwrap();
        assert!(check(&named, false).await.is_err());
        assert!(literal_allowed(&url, false).is_err());
        assert!(literal_allowed(&url, true).is_ok());
    }

    #[tokio::test]
    async fn metadata_addresses_are_refused() {
        let url = WebhookUrl::parse("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(check(&url, false).await.is_err());
    }
}

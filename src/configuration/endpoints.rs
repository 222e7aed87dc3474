//! The services the settings point at, described for logs and error messages: a host and port,
//! never the URL itself (it may carry a password).

use secrecy::{ExposeSecret, SecretString};

/// `host:port` of a `redis://` (or `rediss://`) URL, without user, password or database
/// number; `"<unparsable IPAM_REDIS_URL>"` when it is no URL (the message must still not echo it).
pub fn redis_endpoint(url: &SecretString) -> String {
    match url::Url::parse(url.expose_secret()) {
        Ok(u) if u.scheme() == "redis+unix" || u.scheme() == "unix" => format!("unix socket {}", u.path()),
        Ok(u) => match u.host_str() {
            Some(host) => format!("{host}:{}", u.port().unwrap_or(6379)),
            None => "<IPAM_REDIS_URL without a host>".into(),
        },
        Err(_) => "<unparsable IPAM_REDIS_URL>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> String {
        redis_endpoint(&SecretString::from(url.to_owned()))
    }

    #[test]
    fn a_redis_endpoint_never_carries_credentials() {
        assert_eq!(endpoint("redis://user:s3cret@127.0.0.1:6380/2"), "127.0.0.1:6380");
        assert_eq!(endpoint("redis://:s3cret@localhost"), "localhost:6379");
        assert_eq!(endpoint("s3cret"), "<unparsable IPAM_REDIS_URL>");
    }
}

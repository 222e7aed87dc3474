//! Webhook signatures: `sha256=<hex HMAC-SHA256(secret, body)>` over exactly the bytes sent.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The `X-IPAM-Signature` value of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature the way a receiver should (constant time).
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else { return false };
    let Ok(given) = hex::decode(hex_sig) else { return false };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_rfc_4231_test_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verification_fails_for_another_body_or_secret() {
        let sig = signature("whsec_x", b"{\"a\":1}");
        assert!(verify("whsec_x", b"{\"a\":1}", &sig));
        assert!(!verify("whsec_x", b"{\"a\": 1}", &sig));
        assert!(!verify("whsec_y", b"{\"a\":1}", &sig));
        assert!(!verify("whsec_x", b"{\"a\":1}", "sha1=00"));
    }
}

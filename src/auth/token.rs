//! HS256 bearer tokens.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{Actor, Permission, Permissions};
use crate::domain::{UserId, Username};

/// The claims of an IPAM token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Username.
    pub username: String,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issue time (seconds since the epoch).
    #[serde(default)]
    pub iat: i64,
}

/// Why a token was refused. Every variant is a 401 for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is past its expiry.
    #[error("the token has expired")]
    Expired,
    /// A well-formed HS256 token whose signature does not match this server's secret (signed
    /// with another secret, or altered after signing). Saying so is safe: anyone can check a
    /// signature's shape, and the message names no secret, path or claim.
    #[error("the token's signature did not match (it was signed with a different secret, or altered)")]
    BadSignature,
    /// Wrong algorithm, or not a JWT at all.
    #[error("the token is invalid")]
    Invalid,
    /// Signed correctly but a claim is unusable.
    #[error("the token's {0}")]
    BadClaim(String),
}

/// Signing and verification keys derived from the shared secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys for `secret`.
    pub fn new(secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self { encoding: EncodingKey::from_secret(bytes), decoding: DecodingKey::from_secret(bytes), validation }
    }

    /// Mints a token valid for `ttl` from `now`.
    pub fn mint(
        &self,
        user: &UserId,
        username: &Username,
        permissions: Permissions,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user.to_string(),
            username: username.to_string(),
            permissions: permissions.iter().map(|p| p.as_str().to_owned()).collect(),
            exp: (now + ttl).timestamp(),
            iat: now.timestamp(),
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// Verifies a token and returns the caller it names. Unknown permission names are ignored,
    /// so a newer issuer's extra permissions do not lock anyone out.
    pub fn verify(&self, token: &str) -> Result<Actor, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::MissingRequiredClaim(c) => TokenError::BadClaim(format!("'{c}' claim is missing")),
                ErrorKind::Json(_) => TokenError::BadClaim("claims are malformed".into()),
                _ => TokenError::Invalid,
            })?;
        let c = data.claims;
        let user_id = UserId::parse(&c.sub).map_err(|e| TokenError::BadClaim(format!("'sub' claim {e}")))?;
        let username =
            Username::parse(&c.username).map_err(|e| TokenError::BadClaim(format!("'username' claim {e}")))?;
        let granted: Vec<Permission> = c.permissions.iter().filter_map(|p| Permission::parse(p)).collect();
        Ok(Actor { user_id, username, permissions: Permissions::of(&granted) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_minted_token_verifies_to_its_actor() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let perms = Permissions::of(&[Permission::Read, Permission::Allocate]);
        let user = UserId::parse("u1").unwrap();
        let name = Username::parse("alice").unwrap();
        let t = k.mint(&user, &name, perms, Duration::hours(1), Utc::now()).unwrap();
        let actor = k.verify(&t).unwrap();
        assert_eq!(actor.user_id, user);
        assert_eq!(actor.username, name);
        assert_eq!(actor.permissions, perms);
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let user = UserId::parse("u1").unwrap();
        let name = Username::parse("alice").unwrap();
        let old = Utc::now() - Duration::hours(2);
        let t = k.mint(&user, &name, Permissions::none(), Duration::hours(1), old).unwrap();
        assert_eq!(k.verify(&t), Err(TokenError::Expired));
        let other = keys("another-secret-another-secret-00");
        let t = other.mint(&user, &name, Permissions::none(), Duration::hours(1), Utc::now()).unwrap();
        assert_eq!(k.verify(&t), Err(TokenError::BadSignature));
        assert_eq!(k.verify("not.a.jwt"), Err(TokenError::Invalid));
    }
}

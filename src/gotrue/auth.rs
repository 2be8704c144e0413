//! Admin authentication: a ready bearer token, a minted HS256 admin JWT, or a password login
//! of a user whose `role` is the admin group.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::secret::Secret;

/// How gotrue-sync proves it is an administrator.
#[derive(Debug, Clone)]
pub enum AdminCredentials {
    /// A bearer token used as is: the operator token, or an admin JWT.
    Token(Secret),
    /// The instance's `GOTRUE_JWT_SECRET`: short-lived admin tokens (`sub: "0"`) are minted
    /// and renewed before they expire.
    JwtSecret(Secret),
    /// An admin user's e-mail and password, logged in with the password grant. On
    /// netlify/gotrue a user whose `role` column is the admin group is an admin.
    Password {
        /// The admin user's e-mail.
        email: String,
        /// Their password.
        password: Secret,
    },
}

/// How long a minted admin token lives. Short, because it grants everything.
pub const MINTED_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Tokens are renewed when less than this is left, so a request never races the expiry.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Mints an HS256 admin token carrying `claims` (the flavour's, see
/// [`super::Flavor::admin_claims`]), signed with the raw bytes of the JWT secret (GoTrue does
/// not base64-decode it).
pub fn mint_admin_token(secret: &Secret, claims: &Value) -> Secret {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    // HMAC accepts keys of any length, so new_from_slice cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Secret::new(format!("{signing_input}.{signature}"))
}

/// A bearer token and when it stops being usable (`None`: never expires as far as we know).
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    pub token: Secret,
    pub expires_at: Option<u64>,
}

impl CachedToken {
    pub fn fresh(&self, now: u64) -> bool {
        match self.expires_at {
            None => true,
            Some(at) => at > now + RENEW_MARGIN.as_secs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
    }

    #[test]
    fn minted_token_has_the_contract_claims_and_a_valid_signature() {
        let secret = Secret::new("super-secret");
        let claims = json!({"sub":"0","aud":"aud-x","exp":1300});
        let token = mint_admin_token(&secret, &claims);
        let parts: Vec<&str> = token.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(decode(parts[0]), json!({"alg":"HS256","typ":"JWT"}));
        assert_eq!(
            decode(parts[1]),
            json!({"sub":"0","aud":"aud-x","exp":1300})
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"super-secret").expect("key");
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"))
            .expect("signature verifies with the raw secret bytes");
    }

    #[test]
    fn cached_tokens_renew_before_expiry() {
        let token = CachedToken {
            token: Secret::new("t"),
            expires_at: Some(1000),
        };
        assert!(token.fresh(900));
        assert!(!token.fresh(950));
    }
}

//! Reading the claims of the access token GoTrue issues. The signature is not checked: the
//! smoke test need not hold the instance's JWT secret, and the server itself checks the
//! signature on the `GET /user` that follows.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use crate::secret::Secret;

/// The claims the smoke test checks.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The user's id.
    #[serde(default)]
    pub sub: String,
    /// The user's e-mail.
    #[serde(default)]
    pub email: String,
    /// The audience.
    #[serde(default)]
    pub aud: String,
    /// Expiry, Unix seconds.
    #[serde(default)]
    pub exp: u64,
}

/// The claims of `token`, or why they cannot be read. Never includes the token itself.
pub fn claims(token: &Secret) -> Result<Claims, String> {
    let mut parts = token.expose().split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the access token is not a JWT (three dot-separated parts)".into());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the access token's payload is not base64url".to_owned())?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("the access token's payload is not the expected JSON ({e})"))
}

/// What the token must say about the user: `sub` is their id, `email` their address
/// (compared case-insensitively: the server stores it verbatim), `aud` the expected audience
/// (when known), and it expires in the future but no later than `expires_in` promised (with a minute of
/// slack for clock skew). Returns every mismatch.
pub fn check(
    claims: &Claims,
    id: &str,
    email: &str,
    aud: Option<&str>,
    expires_in: u64,
    now: u64,
) -> Vec<String> {
    let mut problems = Vec::new();
    if claims.sub != id {
        problems.push(format!("sub is {:?}, not the user's id {id:?}", claims.sub));
    }
    if !claims.email.eq_ignore_ascii_case(email) {
        problems.push(format!("email is {:?}, not {email:?}", claims.email));
    }
    if let Some(aud) = aud.filter(|aud| claims.aud != *aud) {
        problems.push(format!("aud is {:?}, expected {aud:?}", claims.aud));
    }
    const SKEW: u64 = 60;
    // Saturating: `exp` and `expires_in` come from the server, and a huge value must read as
    // a wrong token, not overflow.
    if claims.exp.saturating_add(SKEW) <= now {
        problems.push(format!("exp {} is in the past (now {now})", claims.exp));
    } else if expires_in > 0 && claims.exp > now.saturating_add(expires_in).saturating_add(SKEW) {
        problems.push(format!(
            "exp {} is later than expires_in {expires_in} s promised",
            claims.exp
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> Secret {
        Secret::new(format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        ))
    }

    #[test]
    fn reads_and_checks_claims() {
        let claims = claims(&token(
            r#"{"sub":"u1","email":"A@example.com","aud":"site","exp":2000}"#,
        ))
        .expect("claims");
        assert!(check(&claims, "u1", "a@example.com", Some("site"), 3600, 1000).is_empty());
        let wrong = check(&claims, "u2", "b@example.com", Some("other"), 3600, 5000);
        assert_eq!(wrong.len(), 4, "{wrong:?}");
        let too_long = check(&claims, "u1", "a@example.com", None, 10, 1000);
        assert_eq!(too_long.len(), 1, "{too_long:?}");
        // Server-supplied numbers at their limit are checked, not overflowed.
        let far = Claims {
            exp: u64::MAX,
            ..claims.clone()
        };
        assert!(check(&far, "u1", "a@example.com", None, u64::MAX, 1000).is_empty());
        assert_eq!(
            check(&far, "u1", "a@example.com", None, 3600, 1000).len(),
            1,
            "an exp far beyond expires_in is reported"
        );
    }

    #[test]
    fn malformed_tokens_are_reported_without_their_value() {
        let error = claims(&Secret::new("not-a-jwt")).expect_err("malformed");
        assert!(!error.contains("not-a-jwt"));
        assert!(claims(&Secret::new("a.%%%.c")).is_err());
        assert!(claims(&token("[1]")).is_err());
    }
}

//! Bearer extraction, HS256 JWTs, audience resolution and the admin check, following
//! netlify/gotrue's `requireAuthentication` / `requireAdminCredentials`, and supabase/auth's
//! role-claim check ([`AdminAuth`]).

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use uuid::Uuid;

use super::error::ApiError;
use super::flavor::{AdminAuth, Flavor};
use super::state::{constant_time_eq, now, User};
use super::Shared;

/// Lifetime of issued access tokens (`GOTRUE_JWT_EXP` default).
pub const ACCESS_TOKEN_TTL: u64 = 3600;

/// The claims GoTrue reads from a bearer token.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claims {
    pub sub: String,
    pub aud: String,
    /// supabase/auth's `role` claim (the user's Postgres role); netlify tokens have none.
    pub role: String,
    /// supabase/auth's `session_id` claim: the session must still exist.
    pub session_id: String,
}

impl Claims {
    /// `sub` of the built-in system user, which is a super-admin.
    fn is_system(&self) -> bool {
        self.sub == "0" || self.sub == Uuid::nil().to_string()
    }
}

/// The caller of an admin endpoint after a successful check.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminContext {
    /// Request audience (`X-JWT-AUD` → token `aud` → configured); the body `aud` is only used
    /// for the admin check itself.
    pub aud: String,
}

/// The token of `Authorization: Bearer <token>` (or `bearer`), a single word.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || ApiError::unauthorized("This endpoint requires a Bearer token");
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(missing)?;
    if token.is_empty() || token.chars().any(char::is_whitespace) {
        return Err(missing());
    }
    Ok(token)
}

/// `X-JWT-AUD` if present and non-empty, else the token audience, else the configured one.
pub fn request_aud(headers: &HeaderMap, token_aud: &str, configured: &str) -> String {
    let header_aud = headers
        .get("x-jwt-aud")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    match header_aud {
        Some(aud) => aud.to_owned(),
        None if !token_aud.is_empty() => token_aud.to_owned(),
        None => configured.to_owned(),
    }
}

/// Signs claims as an HS256 JWT under `header`.
pub fn sign(header: &Value, claims: &Value, secret: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, &signing_input));
    format!("{signing_input}.{signature}")
}

fn mac(secret: &str, input: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would never verify.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut m) => {
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// An access token for `user`, as `generateAccessToken` builds it; supabase/auth adds the
/// user's `role`, `iat` and the `session_id`.
pub fn access_token(flavor: Flavor, user: &User, session: &Uuid, secret: &str) -> String {
    let claims = flavor.access_token_claims(user, session, now(), ACCESS_TOKEN_TTL as i64);
    sign(&flavor.jwt_header(), &claims, secret)
}

/// The bearer of a request; behind supabase's gateway a project key in `apikey` stands in
/// for a missing `Authorization` header (supabase-js sends the key in both).
fn presented_token(flavor: Flavor, headers: &HeaderMap) -> Result<&str, ApiError> {
    let apikey = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    match (
        flavor.admin_auth(),
        headers.contains_key(header::AUTHORIZATION),
        apikey,
    ) {
        (AdminAuth::RoleClaim, false, Some(key)) => Ok(key),
        (AdminAuth::RoleClaim, _, _) => bearer(headers).map_err(|_| {
            ApiError::coded(
                StatusCode::UNAUTHORIZED,
                "no_authorization",
                "This endpoint requires a valid Bearer token",
            )
        }),
        (AdminAuth::StoredAdminGroup, _, _) => bearer(headers),
    }
}

/// A bearer JWT that fails verification, in the flavour's answer.
fn bad_jwt(flavor: Flavor, reason: &str) -> ApiError {
    match flavor.admin_auth() {
        AdminAuth::StoredAdminGroup => ApiError::unauthorized(format!("Invalid token: {reason}")),
        AdminAuth::RoleClaim => ApiError::coded(
            StatusCode::FORBIDDEN,
            "bad_jwt",
            format!("invalid JWT: unable to parse or verify signature, {reason}"),
        ),
    }
}

/// Verifies an HS256 JWT like golang-jwt v4 with GoTrue's claims struct; the error text is
/// what follows `Invalid token: `.
pub fn verify(token: &str, secret: &str) -> Result<Claims, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err("token contains an invalid number of segments".into());
    };
    let decode = |part: &str| -> Result<Map<String, Value>, String> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    };
    let header = decode(header)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "HS256" {
        return Err(format!("signing method {alg} is invalid"));
    }
    let claims = decode(payload)?;
    let string_claim = |name: &str| -> Result<String, String> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!(
                "json: cannot unmarshal {} into Go struct field GoTrueClaims.{name} of type string",
                go_type_name(other)
            )),
        }
    };
    let sub = string_claim("sub")?;
    let aud = string_claim("aud")?;
    let role = string_claim("role")?;
    let session_id = string_claim("session_id")?;
    // `StandardClaims` holds these as int64: anything else fails to unmarshal, which the real
    // server answers with 401 like any other bad token.
    let time_claim = |name: &str| -> Result<Option<i64>, String> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                format!(
                    "json: cannot unmarshal number {n} into Go struct field GoTrueClaims.{name} of type int64"
                )
            }),
            Some(other) => Err(format!(
                "json: cannot unmarshal {} into Go struct field GoTrueClaims.{name} of type int64",
                go_type_name(other)
            )),
        }
    };
    let (exp, iat, nbf) = (time_claim("exp")?, time_claim("iat")?, time_claim("nbf")?);
    let given = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "signature is invalid".to_owned())?;
    if !constant_time_eq(&mac(secret, &format!("{}.{}", parts[0], parts[1])), &given) {
        return Err("signature is invalid".into());
    }
    let now = now();
    if exp.is_some_and(|exp| now > exp) {
        return Err("Token is expired".into());
    }
    if iat.is_some_and(|iat| now < iat) {
        return Err("Token used before issued".into());
    }
    if nbf.is_some_and(|nbf| now < nbf) {
        return Err("Token is not valid yet".into());
    }
    Ok(Claims {
        sub,
        aud,
        role,
        session_id,
    })
}

fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        _ => "string",
    }
}

/// `requireAuthentication`: a valid bearer JWT (on supabase/auth, of a live session).
pub fn require_user_token(shared: &Shared, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let flavor = shared.flavor();
    let token = presented_token(flavor, headers)?;
    let claims = verify(token, &shared.config.jwt_secret).map_err(|e| bad_jwt(flavor, &e))?;
    check_session(shared, &claims)?;
    Ok(claims)
}

/// A `session_id` claim must name a session that still exists (logout ends it).
fn check_session(shared: &Shared, claims: &Claims) -> Result<(), ApiError> {
    if claims.session_id.is_empty() {
        return Ok(());
    }
    let alive = Uuid::parse_str(&claims.session_id)
        .is_ok_and(|session| shared.read_store().session_alive(&session));
    if alive {
        Ok(())
    } else {
        Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "session_not_found",
            "Session from session_id claim in JWT does not exist",
        ))
    }
}

/// The admin check of the flavour ([`AdminAuth`]).
pub fn require_admin(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<AdminContext, ApiError> {
    match shared.flavor().admin_auth() {
        AdminAuth::StoredAdminGroup => require_stored_admin(shared, headers, body),
        AdminAuth::RoleClaim => require_admin_role(shared, headers),
    }
}

/// supabase/auth's `requireAdmin`: a JWT whose `role` claim is an admin role; no user is
/// loaded, the token's audience is not used (`X-JWT-AUD` or the configured one is).
fn require_admin_role(shared: &Shared, headers: &HeaderMap) -> Result<AdminContext, ApiError> {
    let flavor = shared.flavor();
    let claims = require_user_token(shared, headers)?;
    if !flavor.is_admin_role(&claims.role, &shared.config.admin_group) {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "not_admin",
            "User not allowed",
        ));
    }
    Ok(AdminContext {
        aud: request_aud(headers, "", &shared.config.aud),
    })
}

/// netlify/gotrue's `requireAdminCredentials`: operator token, or a JWT of the system user
/// or of a stored user whose role is the admin group in the checked audience.
fn require_stored_admin(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<AdminContext, ApiError> {
    let token = bearer(headers)?;
    let configured = &shared.config.aud;
    let operator = constant_time_eq(token.as_bytes(), shared.config.operator_token.as_bytes());
    let claims = if operator {
        Claims {
            sub: Uuid::nil().to_string(),
            ..Claims::default()
        }
    } else {
        verify(token, &shared.config.jwt_secret)
            .map_err(|e| ApiError::unauthorized(format!("Invalid token: {e}")))?
    };
    let aud = request_aud(headers, &claims.aud, configured);
    if claims.sub.is_empty() {
        return Err(ApiError::unauthorized("Invalid admin user"));
    }
    let check_aud = body_aud(body)?.unwrap_or_else(|| aud.clone());
    if operator || claims.is_system() {
        return Ok(AdminContext { aud });
    }
    let id =
        Uuid::parse_str(&claims.sub).map_err(|_| ApiError::unauthorized("Invalid admin user"))?;
    let store = shared.read_store();
    let user = store
        .get(&id)
        .ok_or_else(|| ApiError::unauthorized("Invalid admin user"))?;
    if is_admin_for(
        Flavor::Netlify,
        user,
        &check_aud,
        &shared.config.admin_group,
    ) {
        Ok(AdminContext { aud })
    } else {
        Err(ApiError::unauthorized("User not allowed"))
    }
}

/// Whether a stored user is an admin for `aud` (used by `PUT /user` for `app_metadata`).
pub fn is_admin_for(flavor: Flavor, user: &User, aud: &str, admin_group: &str) -> bool {
    user.aud == aud && flavor.is_admin_role(&user.role, admin_group)
}

/// A non-empty top-level `"aud"` string in a JSON body, which overrides the audience of the
/// admin check.
fn body_aud(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Could not decode admin user params: {e}")))?;
    Ok(value
        .get("aud")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    #[test]
    fn round_trip_and_rejections() {
        let token = sign(
            &Flavor::Netlify.jwt_header(),
            &json!({"sub": "0", "aud": "a", "exp": now() + 60}),
            "s3cret",
        );
        assert_eq!(
            verify(&token, "s3cret"),
            Ok(Claims {
                sub: "0".into(),
                aud: "a".into(),
                ..Claims::default()
            })
        );
        assert_eq!(verify(&token, "other"), Err("signature is invalid".into()));
        let expired = sign(
            &Flavor::Netlify.jwt_header(),
            &json!({"sub": "0", "exp": now() - 5}),
            "k",
        );
        assert_eq!(verify(&expired, "k"), Err("Token is expired".into()));
        let future = sign(
            &Flavor::Netlify.jwt_header(),
            &json!({"sub": "0", "iat": now() + 100}),
            "k",
        );
        assert_eq!(verify(&future, "k"), Err("Token used before issued".into()));
        let string_exp = sign(
            &Flavor::Netlify.jwt_header(),
            &json!({"sub": "0", "exp": (now() - 5).to_string()}),
            "k",
        );
        assert_eq!(
            verify(&string_exp, "k"),
            Err(
                "json: cannot unmarshal string into Go struct field GoTrueClaims.exp of type int64"
                    .into()
            )
        );
        let string_future_exp = sign(
            &Flavor::Netlify.jwt_header(),
            &json!({"sub": "0", "exp": (now() + 60).to_string()}),
            "k",
        );
        assert!(verify(&string_future_exp, "k").is_err());
        let array_aud = sign(
            &Flavor::Netlify.jwt_header(),
            &json!({"sub": "0", "aud": ["a"]}),
            "k",
        );
        assert!(verify(&array_aud, "k").is_err_and(|e| e.contains("unmarshal array")));
        assert_eq!(
            verify("a.b", "k"),
            Err("token contains an invalid number of segments".into())
        );
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"0"}"#)
        );
        assert_eq!(
            verify(&none_alg, "k"),
            Err("signing method none is invalid".into())
        );
    }

    #[test]
    fn audience_resolution_order() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_aud(&headers, "", "conf"), "conf");
        assert_eq!(request_aud(&headers, "tok", "conf"), "tok");
        headers.insert("x-jwt-aud", HeaderValue::from_static("hdr"));
        assert_eq!(request_aud(&headers, "tok", "conf"), "hdr");
    }

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        assert!(bearer(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&headers), Ok("abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a b"),
        );
        assert!(bearer(&headers).is_err());
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Token abc"));
        assert!(bearer(&headers).is_err());
    }

    #[test]
    fn body_aud_overrides_only_when_non_empty() {
        assert_eq!(body_aud(b""), Ok(None));
        assert_eq!(body_aud(br#"{"aud":""}"#), Ok(None));
        assert_eq!(body_aud(br#"{"aud":"x"}"#), Ok(Some("x".into())));
        assert!(body_aud(b"not json").is_err());
    }
}

//! Public and user-token endpoints: health, settings, signup, verify, token, user, logout,
//! recover.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use super::admin::confirm;
use super::admin::json_ok;
use super::auth::{
    access_token, is_admin_for, request_aud, require_user_token, Claims, ACCESS_TOKEN_TTL,
};
use super::error::ApiError;
use super::flavor::{RefreshReuse, TokenEncoding};
use super::mail::MailKind;
use super::state::{now, random_token, Metadata, Rotation, Store, User};
use super::wire::{
    decode_json, first, parse_form, RecoverParams, SignupParams, TokenParams, TokenResponse,
    UserOut, UserUpdateParams, VerifyParams,
};
use super::{older_than, sent_recently, Shared, TOKEN_MAX_AGE_SECS};

/// Refresh tokens older than this are refused (`GOTRUE_JWT_REFRESH_TOKEN_LIFETIME` default).
const REFRESH_TOKEN_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// `GET /health`.
pub async fn health() -> Result<Response, ApiError> {
    json_ok(&json!({
        "version": concat!("gotrue-sync-emulator/", env!("CARGO_PKG_VERSION")),
        "name": "GoTrue",
        "description": "GoTrue is a user registration and authentication API",
    }))
}

/// `GET /settings`: only the e-mail provider exists here.
pub async fn settings(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    json_ok(
        &shared
            .flavor()
            .settings(shared.config.autoconfirm, shared.config.disable_signup),
    )
}

/// Audience of requests without a bearer token.
fn anonymous_aud(shared: &Shared, headers: &HeaderMap) -> String {
    request_aud(headers, "", &shared.config.aud)
}

/// Starts a session for `user`: an access token and its first refresh token.
fn issue_tokens(shared: &Shared, store: &mut Store, user: &User) -> TokenResponse {
    let (refresh_token, session) = store.issue_refresh(user.id);
    session_answer(shared, user, &session, refresh_token)
}

/// The token answer of a session; supabase/auth adds `expires_at` and the user.
fn session_answer(
    shared: &Shared,
    user: &User,
    session: &Uuid,
    refresh_token: String,
) -> TokenResponse {
    let flavor = shared.flavor();
    let with_user = flavor.session_has_user();
    TokenResponse {
        access_token: access_token(flavor, user, session, &shared.config.jwt_secret),
        token_type: "bearer",
        expires_in: ACCESS_TOKEN_TTL,
        expires_at: with_user.then(|| now() + ACCESS_TOKEN_TTL as i64),
        refresh_token,
        user: with_user
            .then(|| serde_json::to_value(UserOut::read(flavor, user)).ok())
            .flatten(),
    }
}

/// `POST /signup`.
pub async fn signup(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let config = &shared.config;
    let flavor = shared.flavor();
    if config.disable_signup {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "signup_disabled",
            "Signups not allowed for this instance",
        ));
    }
    let params: SignupParams = decode_json(&body)
        .map_err(|e| ApiError::bad_request(format!("Could not read Signup params: {e}")))?;
    let password = params.password.unwrap_or_default();
    if password.is_empty() {
        return Err(ApiError::unprocessable("Signup requires a valid password"));
    }
    flavor.check_password_strength(&password)?;
    let email = params.email.unwrap_or_default();
    shared.validate_email(&email)?;
    let email = flavor.stored_email(&email);
    let aud = anonymous_aud(&shared, &headers);
    let hash = shared.hasher.hash(password).await?;
    let mut mail_token = None;
    let response = {
        let mut store = shared.write_store();
        let existing = store.find_by_email(&aud, &email).cloned();
        let (mut user, is_new) = match existing {
            Some(u) if u.confirmed_at.is_some() => return Err(flavor.signup_taken()),
            // An unconfirmed user only gets its data merged; the password is kept.
            Some(mut u) => {
                if let Some(data) = &params.data {
                    u.user_metadata.merge(data);
                }
                (u, false)
            }
            None => {
                let mut u = User::new(&aud, &email, flavor.default_role());
                u.app_metadata = Metadata::from(flavor.new_app_metadata());
                u.password_hash = Some(hash);
                let mut metadata = params.data.clone().unwrap_or_default();
                if flavor.confirm_marks_email_verified() {
                    // supabase/auth writes these into a self-signup's metadata (§11).
                    metadata.insert("email".into(), json!(email));
                    metadata.insert("email_verified".into(), json!(false));
                    metadata.insert("phone_verified".into(), json!(false));
                    metadata.insert("sub".into(), json!(u.id));
                }
                u.user_metadata = Metadata::from(metadata);
                (u, true)
            }
        };
        let mut session = None;
        if config.autoconfirm {
            confirm(flavor, &mut user);
            if flavor.signup_answers_session() {
                session = Some(issue_tokens(&shared, &mut store, &user));
            }
        } else if !sent_recently(user.confirmation_sent_at) {
            shared.reserve_mail()?;
            user.confirmation_token = random_token();
            user.confirmation_sent_at = Some(now());
            mail_token = Some(user.confirmation_token.clone());
        }
        let response = match &session {
            Some(tokens) => json_ok(tokens)?,
            None if is_new => json_ok(&UserOut::fresh(flavor, &user, params.data.is_some()))?,
            None => json_ok(&UserOut::read(flavor, &user))?,
        };
        let stored = if is_new {
            store.insert(user).is_ok()
        } else {
            store.replace(user).is_some()
        };
        if !stored {
            return Err(ApiError::internal("Database error saving new user"));
        }
        response
    };
    if let Some(token) = mail_token {
        shared.deliver(MailKind::Confirmation, &email, &token);
    }
    shared.persist_api()?;
    Ok(response)
}

/// `POST /verify`: netlify/gotrue takes `{type: signup|recovery, token[, password]}` (an
/// invitation is accepted with `signup` and a password); supabase/auth takes
/// `{type, token_hash}` and answers a session, after which an invitee sets a password with
/// `PUT /user`. Either way the user is logged in.
pub async fn verify(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, ApiError> {
    let params: VerifyParams = decode_json(&body)
        .map_err(|e| ApiError::bad_request(format!("Could not read verification params: {e}")))?;
    if shared.flavor().verifies_token_hash() {
        return verify_token_hash(&shared, params);
    }
    let token = params.token.unwrap_or_default();
    if token.trim().is_empty() {
        return Err(ApiError::unprocessable("Verify requires a token"));
    }
    let recovery = match params.kind.as_deref() {
        Some("signup") => false,
        Some("recovery") => true,
        _ => {
            return Err(ApiError::unprocessable(
                "Verify requires a verification type",
            ))
        }
    };
    let password = params.password.unwrap_or_default();
    let new_hash = if password.is_empty() {
        None
    } else {
        Some(shared.hasher.hash(password).await?)
    };
    let tokens = {
        let mut store = shared.write_store();
        let field: fn(&User) -> &str = if recovery {
            |u| &u.recovery_token
        } else {
            |u| &u.confirmation_token
        };
        let mut user = store
            .find_by_token(&token, field)
            .ok_or_else(ApiError::user_not_found)?
            .clone();
        if recovery {
            if older_than(user.recovery_sent_at, TOKEN_MAX_AGE_SECS) {
                return Err(ApiError::unprocessable("Recovery token expired"));
            }
            user.recovery_token.clear();
            user.confirmed_at.get_or_insert_with(now);
        } else {
            if older_than(user.confirmation_sent_at, TOKEN_MAX_AGE_SECS) {
                return Err(ApiError::unprocessable("Confirmation token expired"));
            }
            if user.password_hash.is_none() && user.invited_at.is_some() {
                let Some(hash) = new_hash else {
                    return Err(ApiError::unprocessable(
                        "Invited users must specify a password",
                    ));
                };
                user.password_hash = Some(hash);
            }
            user.confirmation_token.clear();
            user.confirmed_at = Some(now());
        }
        let tokens = issue_tokens(&shared, &mut store, &user);
        store
            .replace(user)
            .ok_or_else(|| ApiError::internal("Error confirming user"))?;
        tokens
    };
    shared.persist_api()?;
    json_ok(&tokens)
}

/// supabase/auth's `/verify {type, token_hash}`: a used or unknown hash is 403 `otp_expired`.
fn verify_token_hash(shared: &Shared, params: VerifyParams) -> Result<Response, ApiError> {
    let flavor = shared.flavor();
    let invalid =
        |msg: &str| ApiError::coded(StatusCode::BAD_REQUEST, "validation_failed", msg.to_owned());
    let hash = params.token_hash.unwrap_or_default();
    if hash.is_empty() {
        // The e-mail one-time code (`token` + `email`) is not modelled.
        return Err(invalid("Verify requires a token_hash"));
    }
    if params.token.is_some() || params.email.is_some() {
        return Err(invalid("Only the token_hash and type should be provided"));
    }
    let recovery = match params.kind.as_deref() {
        Some("signup" | "invite" | "email" | "magiclink") => false,
        Some("recovery") => true,
        _ => return Err(invalid("Verify requires a verification type")),
    };
    let expired = || {
        ApiError::coded(
            StatusCode::FORBIDDEN,
            "otp_expired",
            "Email link is invalid or has expired",
        )
    };
    let tokens = {
        let mut store = shared.write_store();
        let field: fn(&User) -> &str = if recovery {
            |u| &u.recovery_token
        } else {
            |u| &u.confirmation_token
        };
        let mut user = store
            .find_by_token(&hash, field)
            .ok_or_else(expired)?
            .clone();
        if recovery {
            user.recovery_token.clear();
        }
        if user.confirmed_at.is_none() || !recovery {
            confirm(flavor, &mut user);
        }
        let tokens = issue_tokens(shared, &mut store, &user);
        store
            .replace(user)
            .ok_or_else(|| ApiError::internal("Error confirming user"))?;
        tokens
    };
    shared.persist_api()?;
    json_ok(&tokens)
}

/// `POST /token`: netlify/gotrue's form-encoded grants with OAuth-style errors, or
/// supabase/auth's `?grant_type=` with a JSON body.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let query = parse_form(query.as_deref().unwrap_or(""));
    let tokens = match shared.flavor().token_encoding() {
        TokenEncoding::Form => form_token(&shared, &headers, query, &body).await?,
        TokenEncoding::QueryAndJson => json_token(&shared, &headers, &query, &body).await?,
    };
    shared.persist_api()?;
    json_ok(&tokens)
}

async fn form_token(
    shared: &Shared,
    headers: &HeaderMap,
    query: Vec<(String, String)>,
    body: &[u8],
) -> Result<TokenResponse, ApiError> {
    // Like Go's FormValue: form body values first, then the query string; other bodies are
    // not parsed at all.
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let mut fields = if is_form {
        parse_form(&String::from_utf8_lossy(body))
    } else {
        Vec::new()
    };
    fields.extend(query);
    let get = |k: &str| first(&fields, k).unwrap_or("").to_owned();
    match get("grant_type").as_str() {
        "password" => {
            let aud = anonymous_aud(shared, headers);
            password_grant(shared, &aud, &get("username"), get("password")).await
        }
        "refresh_token" => refresh_grant(shared, &get("refresh_token")),
        _ => Err(ApiError::oauth("unsupported_grant_type", "")),
    }
}

async fn json_token(
    shared: &Shared,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Result<TokenResponse, ApiError> {
    let params: TokenParams = decode_json(body).map_err(|_| {
        ApiError::coded(
            StatusCode::BAD_REQUEST,
            "bad_json",
            "Could not parse request body as JSON",
        )
    })?;
    match first(query, "grant_type").unwrap_or("") {
        "password" => {
            let aud = anonymous_aud(shared, headers);
            let email = shared
                .flavor()
                .stored_email(params.email.as_deref().unwrap_or(""));
            let password = params.password.unwrap_or_default();
            password_grant(shared, &aud, &email, password).await
        }
        "refresh_token" => refresh_grant(shared, params.refresh_token.as_deref().unwrap_or("")),
        other => Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            format!("unsupported_grant_type: {other}"),
        )),
    }
}

async fn password_grant(
    shared: &Shared,
    aud: &str,
    email: &str,
    password: String,
) -> Result<TokenResponse, ApiError> {
    let flavor = shared.flavor();
    let user = shared
        .read_store()
        .find_by_email(aud, email)
        .cloned()
        .ok_or_else(|| flavor.bad_credentials())?;
    // The real server checks confirmation before the password.
    if user.confirmed_at.is_none() {
        return Err(flavor.email_not_confirmed());
    }
    // Users without a hash (seeded without a password) can never log in with one.
    let Some(hash) = user.password_hash.clone() else {
        return Err(flavor.bad_credentials());
    };
    if !shared.hasher.verify(password, hash).await {
        return Err(flavor.bad_credentials());
    }
    let mut store = shared.write_store();
    if store.get(&user.id).is_none() {
        return Err(flavor.bad_credentials());
    }
    Ok(issue_tokens(shared, &mut store, &user))
}

fn refresh_grant(shared: &Shared, refresh_token: &str) -> Result<TokenResponse, ApiError> {
    match shared.flavor().refresh_reuse() {
        RefreshReuse::Refused => rotate_once(shared, refresh_token),
        RefreshReuse::ParentReturnsActive => rotate_with_reuse(shared, refresh_token),
    }
}

/// netlify/gotrue: the presented token is consumed and replaced.
fn rotate_once(shared: &Shared, refresh_token: &str) -> Result<TokenResponse, ApiError> {
    if refresh_token.is_empty() {
        return Err(ApiError::oauth("invalid_request", "refresh_token required"));
    }
    let invalid = || ApiError::oauth("invalid_grant", "Invalid Refresh Token");
    let mut store = shared.write_store();
    let old = store.take_refresh(refresh_token).ok_or_else(invalid)?;
    if now() - old.created_at > REFRESH_TOKEN_LIFETIME_SECS {
        return Err(ApiError::oauth("invalid_grant", "Refresh token expired"));
    }
    let user = store.get(&old.user_id).cloned().ok_or_else(invalid)?;
    Ok(issue_tokens(shared, &mut store, &user))
}

/// supabase/auth: the active token rotates, its parent answers the active token again, an
/// older one revokes the session (`refresh_token_already_used`), and after logout none is
/// found (`refresh_token_not_found`).
fn rotate_with_reuse(shared: &Shared, refresh_token: &str) -> Result<TokenResponse, ApiError> {
    let coded = |code, msg: &str| ApiError::coded(StatusCode::BAD_REQUEST, code, msg.to_owned());
    if refresh_token.is_empty() {
        return Err(coded("validation_failed", "refresh_token required"));
    }
    let not_found = || {
        coded(
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        )
    };
    let mut store = shared.write_store();
    let token = match store.rotate_refresh(refresh_token) {
        Rotation::Rotated(token) | Rotation::Reused(token) => token,
        Rotation::AlreadyUsed => {
            return Err(coded(
                "refresh_token_already_used",
                "Invalid Refresh Token: Already Used",
            ))
        }
        Rotation::NotFound => return Err(not_found()),
    };
    let issued = store.refresh(&token).cloned().ok_or_else(not_found)?;
    let user = store.get(&issued.user_id).cloned().ok_or_else(not_found)?;
    Ok(session_answer(shared, &user, &issued.session, token))
}

/// The user id in a token's `sub`.
fn claims_user_id(claims: &Claims) -> Result<Uuid, ApiError> {
    Uuid::parse_str(&claims.sub).map_err(|_| ApiError::bad_request("Could not read User ID claim"))
}

/// `GET /user`.
pub async fn get_user(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let claims = require_user_token(&shared, &headers)?;
    if request_aud(&headers, &claims.aud, &shared.config.aud) != claims.aud {
        return Err(ApiError::bad_request(
            "Token audience doesn't match request audience",
        ));
    }
    let id = claims_user_id(&claims)?;
    let store = shared.read_store();
    let user = store.get(&id).ok_or_else(ApiError::user_not_found)?;
    json_ok(&UserOut::read(shared.flavor(), user))
}

/// `PUT /user`: all-or-nothing self update.
pub async fn update_user(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let flavor = shared.flavor();
    let id = claims_user_id(&require_user_token(&shared, &headers)?)?;
    let params: UserUpdateParams = decode_json(&body)
        .map_err(|e| ApiError::bad_request(format!("Could not read User Update params: {e}")))?;
    let new_hash = match params.password.as_deref().filter(|p| !p.is_empty()) {
        Some(password) => {
            flavor.check_password_strength(password)?;
            Some(shared.hasher.hash(password.to_owned()).await?)
        }
        None => None,
    };
    let config = &shared.config;
    let mut mail = None;
    let response = {
        let mut store = shared.write_store();
        let current = store.get(&id).ok_or_else(ApiError::user_not_found)?;
        let mut user = current.clone();
        if new_hash.is_some() {
            user.password_hash = new_hash;
        }
        if let Some(data) = &params.data {
            user.user_metadata.merge(data);
        }
        if let Some(app) = &params.app_metadata {
            if !is_admin_for(flavor, current, &config.aud, &config.admin_group) {
                return Err(ApiError::unauthorized(
                    "Updating app_metadata requires admin privileges",
                ));
            }
            user.app_metadata.merge(app);
        }
        let change_token = params.email_change_token.unwrap_or_default();
        let email = flavor.stored_email(&params.email.unwrap_or_default());
        if !change_token.is_empty() {
            if change_token != user.email_change_token {
                return Err(ApiError::unauthorized(
                    "Email Change Token didn't match token on file",
                ));
            }
            if older_than(user.email_change_sent_at, TOKEN_MAX_AGE_SECS) {
                return Err(ApiError::unprocessable("Email change token expired"));
            }
            user.email = std::mem::take(&mut user.new_email);
            user.email_change_token.clear();
        } else if !email.is_empty() && email != user.email {
            shared.validate_email(&email)?;
            if store.find_by_email(&user.aud, &email).is_some() {
                return Err(flavor.email_taken());
            }
            shared.reserve_mail()?;
            user.new_email = email.clone();
            user.email_change_token = random_token();
            user.email_change_sent_at = Some(now());
            mail = Some((email, user.email_change_token.clone()));
        }
        user.updated_at = now();
        let response = json_ok(&UserOut::read(flavor, &user))?;
        store
            .replace(user)
            .ok_or_else(|| ApiError::internal("Error updating user"))?;
        response
    };
    if let Some((to, token)) = mail {
        shared.deliver(MailKind::EmailChange, &to, &token);
    }
    shared.persist_api()?;
    Ok(response)
}

/// `POST /logout`: revokes all of the user's refresh tokens; 204.
pub async fn logout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let claims = require_user_token(&shared, &headers)?;
    let invalid = || ApiError::unauthorized("Invalid user");
    let id = Uuid::parse_str(&claims.sub).map_err(|_| invalid())?;
    {
        let mut store = shared.write_store();
        store.get(&id).ok_or_else(invalid)?;
        store.revoke_all(&id);
    }
    shared.persist_api()?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /recover`: always `{}` for unknown addresses (no enumeration).
pub async fn recover(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params: RecoverParams = decode_json(&body)
        .map_err(|e| ApiError::bad_request(format!("Could not read verification params: {e}")))?;
    let email = params.email.unwrap_or_default();
    if email.is_empty() {
        return Err(ApiError::unprocessable(
            "Password recovery requires an email",
        ));
    }
    let aud = anonymous_aud(&shared, &headers);
    let sent = {
        let mut store = shared.write_store();
        let Some(found) = store.find_by_email(&aud, &email) else {
            return json_ok(&json!({}));
        };
        if sent_recently(found.recovery_sent_at) {
            return Err(ApiError::coded(
                StatusCode::TOO_MANY_REQUESTS,
                "over_email_send_rate_limit",
                "Rate limit exceeded, try again later",
            ));
        }
        shared.reserve_mail()?;
        let mut user = found.clone();
        user.recovery_token = random_token();
        user.recovery_sent_at = Some(now());
        let sent = (user.email.clone(), user.recovery_token.clone());
        store
            .replace(user)
            .ok_or_else(|| ApiError::internal("Error recovering user"))?;
        sent
    };
    shared.deliver(MailKind::Recovery, &sent.0, &sent.1);
    shared.persist_api()?;
    json_ok(&json!({}))
}

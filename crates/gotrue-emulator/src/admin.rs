//! Admin endpoints: `/admin/users[/{id}]`, `/invite`, and supabase/auth's
//! `/admin/generate_link`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::auth::require_admin;
use super::error::ApiError;
use super::flavor::Flavor;
use super::mail::MailKind;
use super::state::{now, random_token, Direction, Metadata, User};
use super::wire::{
    decode_json, encode_form, first, parse_form, AdminUserParams, GenerateLinkParams, InviteParams,
    UserList, UserOut,
};
use super::Shared;

/// Default `per_page` of the real server.
const DEFAULT_PER_PAGE: u64 = 50;

/// A 200 JSON response.
pub(crate) fn json_ok<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    json_ok_sized(value, 128)
}

/// A 200 JSON response written into a buffer of `capacity` bytes to begin with: a listing
/// page is hundreds of kilobytes, which a buffer doubling from 128 bytes copies a dozen
/// times over.
fn json_ok_sized<T: Serialize>(value: &T, capacity: usize) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value)
        .map_err(|e| ApiError::internal(format!("Internal server error: {e}")))?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// Requested page, size and direction.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ListParams {
    page: u64,
    per_page: u64,
    dir: Direction,
}

/// Go's `strconv.ParseUint` with its error text.
fn parse_uint(value: &str) -> Result<u64, String> {
    value.parse::<u64>().map_err(|_| {
        let kind = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        format!("strconv.ParseUint: parsing {value:?}: {kind}")
    })
}

fn list_params(flavor: Flavor, pairs: &[(String, String)]) -> Result<ListParams, ApiError> {
    let bad_page = |e: String| ApiError::bad_request(format!("Bad Pagination Parameters: {e}"));
    let page = match first(pairs, "page").filter(|v| !v.is_empty()) {
        Some(v) => parse_uint(v).map_err(bad_page)?,
        None => 1,
    };
    let per_page = match first(pairs, "per_page").filter(|v| !v.is_empty()) {
        Some(v) => parse_uint(v).map_err(bad_page)?,
        None => DEFAULT_PER_PAGE,
    };
    if per_page == 0 {
        return Err(flavor.zero_per_page());
    }
    // Only `created_at` can be sorted on, so the first `sort` value decides the direction;
    // every value is still validated like the real server does.
    let mut dir = None;
    for value in pairs.iter().filter(|(k, _)| k == "sort").map(|(_, v)| v) {
        let (field, direction) = match value.split_once(' ') {
            Some((f, d)) => (f, Some(d)),
            None => (value.as_str(), None),
        };
        let bad_sort = |e: String| ApiError::bad_request(format!("Bad Sort Parameters: {e}"));
        if field != "created_at" {
            return Err(bad_sort(format!("bad field for sort '{field}'")));
        }
        let parsed = match direction.map(str::to_uppercase).as_deref() {
            None | Some("DESC") => Direction::Desc,
            Some("ASC") => Direction::Asc,
            Some(_) => {
                return Err(bad_sort(format!(
                    "bad direction for sort '{field}', only 'asc' and 'desc' allowed"
                )))
            }
        };
        dir.get_or_insert(parsed);
    }
    Ok(ListParams {
        page,
        per_page,
        dir: dir.unwrap_or(Direction::Desc),
    })
}

/// The `Link` header of `addPaginationHeaders`: the request path with the query re-encoded
/// (keys sorted) and `page` replaced, for `next`, `prev` (netlify only) and always `last`.
fn link_header(
    flavor: Flavor,
    path: &str,
    pairs: &[(String, String)],
    page: u64,
    per_page: u64,
    total: u64,
) -> String {
    let last = total.div_ceil(per_page);
    let url_for = |p: u64| {
        let mut query: Vec<(String, String)> =
            pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
        query.push(("page".into(), p.to_string()));
        format!("<{path}?{}>", encode_form(&query))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", url_for(page + 1)));
    }
    if page > 1 && flavor.link_has_prev() {
        links.push(format!("{}; rel=\"prev\"", url_for(page - 1)));
    }
    links.push(format!("{}; rel=\"last\"", url_for(last)));
    links.join(", ")
}

/// `GET /admin/users`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = require_admin(&shared, &headers, &body)?;
    let flavor = shared.flavor();
    let pairs = parse_form(query.as_deref().unwrap_or(""));
    let params = list_params(flavor, &pairs)?;
    let filter = first(&pairs, "filter")
        .filter(|f| !f.is_empty())
        .map(|f| flavor.list_filter(f));
    // Page 0 makes the real offset underflow, which yields an empty page.
    let offset = params
        .page
        .checked_sub(1)
        .map_or(u64::MAX, |p| p.saturating_mul(params.per_page));
    let (total, body) = {
        let store = shared.read_store();
        let (total, users) = store.page(
            &ctx.aud,
            filter.as_ref(),
            params.dir,
            offset,
            params.per_page,
        );
        let list = UserList {
            aud: &ctx.aud,
            users: users
                .into_iter()
                .map(|u| UserOut::read(flavor, u))
                .collect(),
        };
        // About 400 bytes per user with a few keys of metadata.
        let capacity = 64 + list.users.len() * 512;
        (total, json_ok_sized(&list, capacity)?)
    };
    let link = link_header(
        flavor,
        uri.path(),
        &pairs,
        params.page,
        params.per_page,
        total,
    );
    let mut response = body;
    let headers = response.headers_mut();
    headers.insert("x-total-count", HeaderValue::from(total));
    if let Ok(value) = HeaderValue::from_str(&link) {
        headers.insert(header::LINK, value);
    }
    Ok(response)
}

/// `POST /admin/users`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = require_admin(&shared, &headers, &body)?;
    let flavor = shared.flavor();
    let params: AdminUserParams = decode_admin_params(&body)?;
    let aud = params
        .aud
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or(ctx.aud);
    let email = params.email.clone().unwrap_or_default();
    shared.validate_email(&email)?;
    let email = flavor.stored_email(&email);
    let role = params
        .role
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(flavor.default_role());
    let mut user = User::new(&aud, &email, role);
    user.app_metadata = Metadata::from(flavor.new_app_metadata());
    let password = params
        .password
        .clone()
        .unwrap_or_else(|| flavor.password_when_absent());
    user.password_hash = Some(shared.hasher.hash(password).await?);
    let metadata_given = params.user_metadata.is_some();
    user.user_metadata = Metadata::from(params.user_metadata.clone().unwrap_or_default());
    if params.confirms(flavor) {
        confirm(flavor, &mut user);
    }
    if flavor.create_takes_app_metadata() {
        if let Some(app) = &params.app_metadata {
            user.app_metadata.merge(app);
        }
    }
    let response = {
        let mut store = shared.write_store();
        if store.find_by_email(&aud, &email).is_some() {
            return Err(flavor.email_taken());
        }
        let response = json_ok(&UserOut::fresh(flavor, &user, metadata_given))?;
        store
            .insert(user)
            .map_err(|_| ApiError::internal("Database error creating new user"))?;
        response
    };
    shared.persist_api()?;
    Ok(response)
}

/// Marks a user confirmed now, as the flavour does it.
pub(crate) fn confirm(flavor: Flavor, user: &mut User) {
    user.confirmed_at = Some(now());
    user.confirmation_token.clear();
    if flavor.confirm_marks_email_verified() {
        let mut verified = serde_json::Map::new();
        verified.insert("email_verified".into(), serde_json::Value::Bool(true));
        user.user_metadata.merge(&verified);
    }
}

fn decode_admin_params(body: &[u8]) -> Result<AdminUserParams, ApiError> {
    decode_json(body)
        .map_err(|e| ApiError::bad_request(format!("Could not decode admin user params: {e}")))
}

fn parse_user_id(flavor: Flavor, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| flavor.bad_user_id())
}

/// `GET /admin/users/{user_id}` (not scoped by audience, like the real server).
pub async fn get(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&shared, &headers, &body)?;
    let id = parse_user_id(shared.flavor(), &user_id)?;
    let store = shared.read_store();
    let user = store.get(&id).ok_or_else(ApiError::user_not_found)?;
    json_ok(&UserOut::read(shared.flavor(), user))
}

/// `PUT /admin/users/{user_id}`: role, confirm, password, email, app_metadata, user_metadata,
/// in that order.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&shared, &headers, &body)?;
    let flavor = shared.flavor();
    let id = parse_user_id(flavor, &user_id)?;
    // The real server loads the user (404) before decoding the body (400).
    shared
        .read_store()
        .get(&id)
        .ok_or_else(ApiError::user_not_found)?;
    let params = decode_admin_params(&body)?;
    let new_email = match params.email.as_deref().filter(|e| !e.is_empty()) {
        Some(email) if flavor.checks_updated_email() => {
            shared.validate_email(email)?;
            Some(flavor.stored_email(email))
        }
        Some(email) => Some(email.to_owned()),
        None => None,
    };
    // Hash outside the lock; it is the only costly step.
    let new_hash = match params.password.as_deref() {
        Some(password) if flavor.min_password_length().is_some() => {
            flavor.check_password_strength(password)?;
            Some(shared.hasher.hash(password.to_owned()).await?)
        }
        Some(password) if !password.is_empty() => {
            Some(shared.hasher.hash(password.to_owned()).await?)
        }
        _ => None,
    };
    let response = {
        let mut store = shared.write_store();
        let mut user = store.get(&id).ok_or_else(ApiError::user_not_found)?.clone();
        if let Some(role) = params.role.as_deref().filter(|r| !r.is_empty()) {
            user.role = role.trim().to_owned();
        }
        if params.confirms(flavor) {
            confirm(flavor, &mut user);
        }
        if new_hash.is_some() {
            user.password_hash = new_hash;
        }
        if let Some(email) = new_email {
            // supabase/auth has a unique index on the address, whose violation it passes on.
            let taken = store
                .find_by_email(&user.aud, &email)
                .is_some_and(|other| other.id != user.id);
            if taken && flavor.checks_updated_email() {
                return Err(ApiError::duplicate_email_key());
            }
            user.email = email;
        }
        if let Some(app) = &params.app_metadata {
            user.app_metadata.merge(app);
        }
        if let Some(meta) = &params.user_metadata {
            user.user_metadata.merge(meta);
        }
        user.updated_at = now();
        let response = json_ok(&UserOut::updated(flavor, &user))?;
        store
            .replace(user)
            .ok_or_else(|| ApiError::internal("Error updating user"))?;
        response
    };
    shared.persist_api()?;
    Ok(response)
}

/// `DELETE /admin/users/{user_id}`: hard delete, `{}`.
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&shared, &headers, &body)?;
    let id = parse_user_id(shared.flavor(), &user_id)?;
    if !shared.write_store().remove(&id) {
        return Err(ApiError::user_not_found());
    }
    shared.persist_api()?;
    json_ok(&serde_json::json!({}))
}

/// `POST /invite`: creates a pending user and mails an invite token. On supabase/auth an
/// address that is still pending gets the invitation again; one registered in another
/// audience trips the unique index (500, §11).
pub async fn invite(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = require_admin(&shared, &headers, &body)?;
    let flavor = shared.flavor();
    let params: InviteParams = decode_json(&body)
        .map_err(|e| ApiError::bad_request(format!("Could not parse JSON: {e}")))?;
    let email = params.email.unwrap_or_default();
    shared.validate_email(&email)?;
    let email = flavor.stored_email(&email);
    let metadata_given = params.data.is_some();
    if flavor.invite_hashes_password()
        && shared
            .read_store()
            .find_by_email(&ctx.aud, &email)
            .is_none()
    {
        // Only the cost is modelled, paid where the server pays it: after its check for an
        // existing address. The hash of an empty password opens nothing, and accepting the
        // invitation sets the real one.
        shared.hasher.hash(String::new()).await?;
    }
    let (response, token) = {
        let mut store = shared.write_store();
        let (user, is_new) = match store.find_by_email(&ctx.aud, &email).cloned() {
            Some(existing) if existing.aud != ctx.aud => {
                return Err(ApiError::duplicate_email_key())
            }
            Some(mut pending)
                if flavor.invite_resends_to_pending() && pending.confirmed_at.is_none() =>
            {
                if let Some(data) = &params.data {
                    pending.user_metadata.merge(data);
                }
                pending.invited_at = Some(now());
                (pending, false)
            }
            Some(_) => return Err(flavor.email_taken()),
            None => {
                let mut user = User::new(&ctx.aud, &email, flavor.default_role());
                user.app_metadata = Metadata::from(flavor.new_app_metadata());
                user.invited_at = Some(user.created_at);
                user.user_metadata = Metadata::from(params.data.clone().unwrap_or_default());
                (user, true)
            }
        };
        let mut user = user;
        shared.reserve_mail()?;
        user.confirmation_token = random_token();
        let token = user.confirmation_token.clone();
        let response = if is_new {
            let response = json_ok(&UserOut::fresh(flavor, &user, metadata_given))?;
            store
                .insert(user)
                .map_err(|_| ApiError::internal("Database error saving new user"))?;
            response
        } else {
            let response = json_ok(&UserOut::updated(flavor, &user))?;
            store
                .replace(user)
                .ok_or_else(|| ApiError::internal("Database error updating user"))?;
            response
        };
        (response, token)
    };
    shared.deliver(MailKind::Invite, &email, &token);
    shared.persist_api()?;
    Ok(response)
}

/// supabase/auth's `POST /admin/generate_link`: the token of a mail without sending it.
/// `signup` and `invite` create the user when needed; `recovery` and `magiclink` need an
/// existing one. The answer is the user plus `action_link`, `email_otp`, `hashed_token`,
/// `verification_type` and `redirect_to`.
pub async fn generate_link(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = require_admin(&shared, &headers, &body)?;
    let flavor = shared.flavor();
    let params: GenerateLinkParams = decode_json(&body).map_err(|e| {
        ApiError::coded(
            axum::http::StatusCode::BAD_REQUEST,
            "bad_json",
            format!("Could not parse request body as JSON: {e}"),
        )
    })?;
    let invalid = |msg: &str| {
        ApiError::coded(
            axum::http::StatusCode::BAD_REQUEST,
            "validation_failed",
            msg.to_owned(),
        )
    };
    let kind = match params.kind.as_deref() {
        Some("signup") => MailKind::Confirmation,
        Some("invite") => MailKind::Invite,
        Some("recovery" | "magiclink") => MailKind::Recovery,
        _ => return Err(invalid("Invalid email action link type requested")),
    };
    let email = params.email.clone().unwrap_or_default();
    shared.validate_email(&email)?;
    let email = flavor.stored_email(&email);
    let password_hash = match (kind, params.password.as_deref()) {
        (MailKind::Confirmation, Some(p)) if !p.is_empty() => {
            flavor.check_password_strength(p)?;
            Some(shared.hasher.hash(p.to_owned()).await?)
        }
        _ => None,
    };
    let body = {
        let mut store = shared.write_store();
        let existing = store.find_by_email(&ctx.aud, &email).cloned();
        let (mut user, is_new) = match (existing, kind) {
            (Some(u), MailKind::Confirmation | MailKind::Invite) if u.confirmed_at.is_some() => {
                return Err(flavor.email_taken())
            }
            (Some(u), _) => (u, false),
            // A new signup needs its password; an existing pending one keeps its own.
            (None, MailKind::Confirmation) if password_hash.is_none() => {
                return Err(invalid("Signup requires a valid password"))
            }
            (None, MailKind::Confirmation | MailKind::Invite) => {
                let mut u = User::new(&ctx.aud, &email, flavor.default_role());
                u.app_metadata = Metadata::from(flavor.new_app_metadata());
                u.user_metadata = Metadata::from(params.data.clone().unwrap_or_default());
                (u, true)
            }
            (None, _) => {
                return Err(ApiError::coded(
                    axum::http::StatusCode::NOT_FOUND,
                    "user_not_found",
                    "User with this email not found",
                ))
            }
        };
        let token = random_token();
        match kind {
            MailKind::Recovery => {
                user.recovery_token = token.clone();
                user.recovery_sent_at = Some(now());
            }
            MailKind::Invite => {
                user.confirmation_token = token.clone();
                user.invited_at = Some(now());
            }
            _ => {
                user.confirmation_token = token.clone();
                user.confirmation_sent_at = Some(now());
                if is_new {
                    user.password_hash = password_hash;
                }
            }
        }
        let mut body = serde_json::to_value(UserOut::read(flavor, &user))
            .map_err(|e| ApiError::internal(format!("Internal server error: {e}")))?;
        let redirect_to = params
            .redirect_to
            .clone()
            .unwrap_or_else(|| shared.config.site_url.clone());
        if let Some(fields) = body.as_object_mut() {
            let link = flavor.mail_link(&shared.config.site_url, kind, &token);
            fields.insert("action_link".into(), link.into());
            fields.insert("email_otp".into(), otp_of(&token).into());
            fields.insert("hashed_token".into(), token.into());
            fields.insert(
                "verification_type".into(),
                params.kind.clone().unwrap_or_default().into(),
            );
            fields.insert("redirect_to".into(), redirect_to.into());
        }
        let stored = if is_new {
            store.insert(user).is_ok()
        } else {
            store.replace(user).is_some()
        };
        if !stored {
            return Err(ApiError::internal("Database error saving user"));
        }
        body
    };
    shared.persist_api()?;
    json_ok(&body)
}

/// Six digits derived from the token, shown as `email_otp`. The emulator verifies links by
/// `token_hash` only; the one-time code is informative.
fn otp_of(token: &str) -> String {
    let n = token.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    format!("{:06}", n % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        parse_form(q)
    }

    #[test]
    fn link_header_matches_the_contract_examples() {
        assert_eq!(
            link_header(Flavor::Netlify, "/admin/users", &pairs("per_page=1&page=1"), 1, 1, 3),
            "</admin/users?page=2&per_page=1>; rel=\"next\", </admin/users?page=3&per_page=1>; rel=\"last\""
        );
        assert_eq!(
            link_header(Flavor::Netlify, "/admin/users", &[], 1, 50, 0),
            "</admin/users?page=0>; rel=\"last\""
        );
        assert_eq!(
            link_header(
                Flavor::Netlify,
                "/admin/users",
                &pairs("sort=created_at%20asc&page=3&per_page=2"),
                3,
                2,
                5
            ),
            "</admin/users?page=2&per_page=2&sort=created_at+asc>; rel=\"prev\", \
             </admin/users?page=3&per_page=2&sort=created_at+asc>; rel=\"last\""
        );
        assert_eq!(
            link_header(Flavor::Supabase, "/admin/users", &pairs("page=2&per_page=2"), 2, 2, 5),
            "</admin/users?page=3&per_page=2>; rel=\"next\", </admin/users?page=3&per_page=2>; rel=\"last\""
        );
    }

    #[test]
    fn list_params_defaults_and_errors() {
        assert_eq!(
            list_params(Flavor::Netlify, &[]),
            Ok(ListParams {
                page: 1,
                per_page: 50,
                dir: Direction::Desc
            })
        );
        assert_eq!(
            list_params(Flavor::Netlify, &pairs("sort=created_at%20ASC")).map(|p| p.dir),
            Ok(Direction::Asc)
        );
        assert_eq!(
            list_params(Flavor::Netlify, &pairs("page=x")),
            Err(ApiError::bad_request(
                "Bad Pagination Parameters: strconv.ParseUint: parsing \"x\": invalid syntax"
            ))
        );
        assert_eq!(
            list_params(Flavor::Netlify, &pairs("per_page=0")),
            Err(ApiError::bad_request(
                "Bad Pagination Parameters: per_page must be positive"
            ))
        );
        assert_eq!(
            list_params(Flavor::Netlify, &pairs("sort=email")),
            Err(ApiError::bad_request(
                "Bad Sort Parameters: bad field for sort 'email'"
            ))
        );
    }
}

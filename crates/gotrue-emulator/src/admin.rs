//! Admin endpoints: `/admin/users[/{id}]` and `/invite`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::auth::require_admin;
use super::error::ApiError;
use super::mail::MailKind;
use super::state::{now, random_token, Direction, Metadata, User};
use super::wire::{
    decode_json, encode_form, first, parse_form, AdminUserParams, InviteParams, UserList, UserOut,
};
use super::Shared;

/// Default `per_page` of the real server.
const DEFAULT_PER_PAGE: u64 = 50;

/// A 200 JSON response.
pub(crate) fn json_ok<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
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

fn list_params(pairs: &[(String, String)]) -> Result<ListParams, ApiError> {
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
        return Err(bad_page("per_page must be positive".into()));
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
/// (keys sorted) and `page` replaced, for `next`, `prev` and always `last`.
fn link_header(
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
    if page > 1 {
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
    let pairs = parse_form(query.as_deref().unwrap_or(""));
    let params = list_params(&pairs)?;
    let filter = first(&pairs, "filter").filter(|f| !f.is_empty());
    // Page 0 makes the real offset underflow, which yields an empty page.
    let offset = params
        .page
        .checked_sub(1)
        .map_or(u64::MAX, |p| p.saturating_mul(params.per_page));
    let (total, body) = {
        let store = shared.read_store();
        let (total, users) = store.page(&ctx.aud, filter, params.dir, offset, params.per_page);
        let list = UserList {
            aud: &ctx.aud,
            users: users.into_iter().map(UserOut::read).collect(),
        };
        (total, json_ok(&list)?)
    };
    let link = link_header(uri.path(), &pairs, params.page, params.per_page, total);
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
    let params: AdminUserParams = decode_admin_params(&body)?;
    let aud = params.aud.filter(|a| !a.is_empty()).unwrap_or(ctx.aud);
    let email = params.email.unwrap_or_default();
    shared.validate_email(&email)?;
    let role = params.role.as_deref().map(str::trim).unwrap_or("");
    let mut user = User::new(&aud, &email, role);
    // The real server hashes the empty string when no password is given.
    user.password_hash = Some(
        shared
            .hasher
            .hash(params.password.clone().unwrap_or_default())
            .await?,
    );
    if params.confirm == Some(true) {
        user.confirmed_at = Some(user.created_at);
    }
    let metadata_given = params.user_metadata.is_some();
    user.user_metadata = Metadata::from(params.user_metadata.unwrap_or_default());
    let response = {
        let mut store = shared.write_store();
        if store.find_by_email(&aud, &email).is_some() {
            return Err(ApiError::email_taken());
        }
        let response = json_ok(&UserOut::fresh(&user, metadata_given))?;
        store
            .insert(user)
            .map_err(|_| ApiError::internal("Database error creating new user"))?;
        response
    };
    shared.persist_api()?;
    Ok(response)
}

fn decode_admin_params(body: &[u8]) -> Result<AdminUserParams, ApiError> {
    decode_json(body)
        .map_err(|e| ApiError::bad_request(format!("Could not decode admin user params: {e}")))
}

fn parse_user_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::bad_request("user_id must be an UUID"))
}

/// `GET /admin/users/{user_id}` (not scoped by audience, like the real server).
pub async fn get(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&shared, &headers, &body)?;
    let id = parse_user_id(&user_id)?;
    let store = shared.read_store();
    let user = store.get(&id).ok_or_else(ApiError::user_not_found)?;
    json_ok(&UserOut::read(user))
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
    let id = parse_user_id(&user_id)?;
    // The real server loads the user (404) before decoding the body (400).
    shared
        .read_store()
        .get(&id)
        .ok_or_else(ApiError::user_not_found)?;
    let params = decode_admin_params(&body)?;
    // Hash outside the lock; it is the only costly step.
    let new_hash = match params.password.as_deref().filter(|p| !p.is_empty()) {
        Some(password) => Some(shared.hasher.hash(password.to_owned()).await?),
        None => None,
    };
    let response = {
        let mut store = shared.write_store();
        let mut user = store.get(&id).ok_or_else(ApiError::user_not_found)?.clone();
        if let Some(role) = params.role.as_deref().filter(|r| !r.is_empty()) {
            user.role = role.trim().to_owned();
        }
        if params.confirm == Some(true) {
            user.confirmed_at = Some(now());
            user.confirmation_token.clear();
        }
        if new_hash.is_some() {
            user.password_hash = new_hash;
        }
        if let Some(email) = params.email.filter(|e| !e.is_empty()) {
            user.email = email;
        }
        if let Some(app) = &params.app_metadata {
            user.app_metadata.merge(app);
        }
        if let Some(meta) = &params.user_metadata {
            user.user_metadata.merge(meta);
        }
        user.updated_at = now();
        let response = json_ok(&UserOut::read(&user))?;
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
    let id = parse_user_id(&user_id)?;
    if !shared.write_store().remove(&id) {
        return Err(ApiError::user_not_found());
    }
    shared.persist_api()?;
    json_ok(&serde_json::json!({}))
}

/// `POST /invite`: creates a pending user and mails an invite token.
pub async fn invite(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = require_admin(&shared, &headers, &body)?;
    let params: InviteParams = decode_json(&body)
        .map_err(|e| ApiError::bad_request(format!("Could not parse JSON: {e}")))?;
    let email = params.email.unwrap_or_default();
    shared.validate_email(&email)?;
    let mut user = User::new(&ctx.aud, &email, "");
    user.invited_at = Some(user.created_at);
    user.confirmation_token = random_token();
    let metadata_given = params.data.is_some();
    user.user_metadata = Metadata::from(params.data.unwrap_or_default());
    let token = user.confirmation_token.clone();
    let response = {
        let mut store = shared.write_store();
        if store.find_by_email(&ctx.aud, &email).is_some() {
            return Err(ApiError::email_taken());
        }
        let response = json_ok(&UserOut::fresh(&user, metadata_given))?;
        store
            .insert(user)
            .map_err(|_| ApiError::internal("Database error saving new user"))?;
        response
    };
    shared
        .mailbox
        .deliver(&shared.config.site_url, MailKind::Invite, &email, &token);
    shared.persist_api()?;
    Ok(response)
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
            link_header("/admin/users", &pairs("per_page=1&page=1"), 1, 1, 3),
            "</admin/users?page=2&per_page=1>; rel=\"next\", </admin/users?page=3&per_page=1>; rel=\"last\""
        );
        assert_eq!(
            link_header("/admin/users", &[], 1, 50, 0),
            "</admin/users?page=0>; rel=\"last\""
        );
        assert_eq!(
            link_header(
                "/admin/users",
                &pairs("sort=created_at%20asc&page=3&per_page=2"),
                3,
                2,
                5
            ),
            "</admin/users?page=2&per_page=2&sort=created_at+asc>; rel=\"prev\", \
             </admin/users?page=3&per_page=2&sort=created_at+asc>; rel=\"last\""
        );
    }

    #[test]
    fn list_params_defaults_and_errors() {
        assert_eq!(
            list_params(&[]),
            Ok(ListParams {
                page: 1,
                per_page: 50,
                dir: Direction::Desc
            })
        );
        assert_eq!(
            list_params(&pairs("sort=created_at%20ASC")).map(|p| p.dir),
            Ok(Direction::Asc)
        );
        assert_eq!(
            list_params(&pairs("page=x")),
            Err(ApiError::bad_request(
                "Bad Pagination Parameters: strconv.ParseUint: parsing \"x\": invalid syntax"
            ))
        );
        assert_eq!(
            list_params(&pairs("per_page=0")),
            Err(ApiError::bad_request(
                "Bad Pagination Parameters: per_page must be positive"
            ))
        );
        assert_eq!(
            list_params(&pairs("sort=email")),
            Err(ApiError::bad_request(
                "Bad Sort Parameters: bad field for sort 'email'"
            ))
        );
    }
}

//! The GoTrue user object as the admin API returns it, and the admin request bodies.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::metadata::{self, Metadata};
use crate::ownership::MARKER_KEY;
use crate::secret::Secret;

/// A user as returned by `GET /admin/users`: only the fields gotrue-sync reads, since a
/// listing of 100,000 users keeps every one of them in memory at once. Metadata is kept as
/// the JSON text the server sent (see [`Metadata`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "WireUser")]
pub struct RemoteUser {
    /// UUID.
    pub id: String,
    /// The `role` column; empty when the server has no default group.
    #[serde(default)]
    pub role: String,
    /// E-mail as stored (verbatim).
    pub email: String,
    /// Set once the address is confirmed; omitted by the server otherwise. Read from
    /// `confirmed_at`, or from supabase/auth's `email_confirmed_at`, which is all its answer
    /// to a confirming `PUT` carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
    /// Set for invited users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<String>,
    /// Server- and admin-owned metadata (`provider`, `roles`, …). `null` reads as empty.
    pub app_metadata: Metadata,
    /// User-owned metadata. `null` reads as empty.
    pub user_metadata: Metadata,
}

/// [`RemoteUser`] as either server sends it.
#[derive(Deserialize)]
struct WireUser {
    id: String,
    #[serde(default)]
    role: String,
    email: String,
    #[serde(default)]
    confirmed_at: Option<String>,
    #[serde(default)]
    email_confirmed_at: Option<String>,
    #[serde(default)]
    invited_at: Option<String>,
    #[serde(default)]
    app_metadata: Metadata,
    #[serde(default)]
    user_metadata: Metadata,
}

impl From<WireUser> for RemoteUser {
    fn from(wire: WireUser) -> Self {
        RemoteUser {
            id: wire.id,
            role: wire.role,
            email: wire.email,
            confirmed_at: wire.confirmed_at.or(wire.email_confirmed_at),
            invited_at: wire.invited_at,
            app_metadata: wire.app_metadata,
            user_metadata: wire.user_metadata,
        }
    }
}

impl RemoteUser {
    /// `app_metadata.roles` as strings, if it is an array of strings.
    pub fn roles(&self) -> Option<Vec<String>> {
        metadata::strings(self.app_metadata.get("roles")?)
    }

    /// The ownership marker, `app_metadata.managed_by`, as JSON text, if there is one (any
    /// value, even another manifest's or not a string).
    pub fn marker(&self) -> Option<&RawValue> {
        self.app_metadata.get(MARKER_KEY)
    }

    /// Whether the user carries `marker` (see [`crate::ownership::marker_for`]).
    pub fn is_managed_by(&self, marker: &str) -> bool {
        Self::owned_by(self.marker(), marker)
    }

    /// Whether `owner`, a marker as [`RemoteUser::marker`] reads it (alone, or found with
    /// other keys in one pass), is `marker`: a string equal to it once unescaped. The one
    /// test of ownership, which decides adoption and deletion.
    pub fn owned_by(owner: Option<&RawValue>, marker: &str) -> bool {
        owner
            .and_then(metadata::as_str)
            .is_some_and(|owner| owner == marker)
    }

    /// Whether the user was invited and has not accepted yet.
    pub fn is_pending_invite(&self) -> bool {
        self.invited_at.is_some() && self.confirmed_at.is_none()
    }
}

/// Body of `POST /admin/users`. netlify/gotrue ignores `app_metadata` here, so the client
/// leaves it out there and it is written by a follow-up `PUT`; supabase/auth stores it.
#[derive(Debug, Clone, Serialize)]
pub struct CreateUserRequest {
    /// E-mail as it should be stored.
    pub email: String,
    /// Initial password.
    pub password: Secret,
    /// Confirm the address at once.
    pub confirm: bool,
    /// The `role` column, if managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Initial user metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<Map<String, Value>>,
    /// Initial app metadata, where the server stores it on create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<Map<String, Value>>,
}

/// Body of `POST /invite`.
#[derive(Debug, Clone, Serialize)]
pub struct InviteRequest {
    /// E-mail as it should be stored.
    pub email: String,
    /// Initial user metadata (the invite endpoint calls it `data`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
}

/// Body of `PUT /admin/users/{id}`: only what changes. Metadata maps are shallow-merged by
/// the server, and a `null` value removes a key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateUserRequest {
    /// New e-mail (stored verbatim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `true` confirms the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm: Option<bool>,
    /// Keys of app metadata to set (`null` removes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<Map<String, Value>>,
    /// Keys of user metadata to set (`null` removes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<Map<String, Value>>,
}

impl UpdateUserRequest {
    /// Whether the request would change nothing.
    pub fn is_empty(&self) -> bool {
        *self == UpdateUserRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_server_users_with_null_metadata_and_omitted_timestamps() {
        let user: RemoteUser = serde_json::from_str(
            r#"{"id":"1","aud":"","role":"","email":"a@example.com","app_metadata":{"provider":"email","roles":["x"]},"user_metadata":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"x","extra":1}"#,
        )
        .expect("parse");
        assert!(user.user_metadata.is_empty());
        assert_eq!(user.confirmed_at, None);
        assert_eq!(user.roles(), Some(vec!["x".to_string()]));
    }

    #[test]
    fn metadata_reads_as_a_map_in_order_with_a_repeated_key_last_and_rejects_other_types() {
        let user: RemoteUser = serde_json::from_str(
            r#"{"id":"1","email":"a@example.com","app_metadata":{"b":1,"a":{"x":[1]},"b":2},"user_metadata":{}}"#,
        )
        .expect("parse");
        assert_eq!(
            serde_json::to_string(&user.app_metadata).expect("json"),
            r#"{"b":2,"a":{"x":[1]}}"#
        );
        assert!(user.user_metadata.is_empty());
        let error = serde_json::from_str::<RemoteUser>(
            r#"{"id":"1","email":"a@example.com","app_metadata":[1]}"#,
        )
        .expect_err("not an object");
        assert!(
            error.to_string().contains("a JSON object or null"),
            "{error}"
        );
    }

    #[test]
    fn managed_means_this_manifests_marker_exactly() {
        let user = |app: Value| -> RemoteUser {
            serde_json::from_value(
                serde_json::json!({"id": "1", "email": "a@example.com", "app_metadata": app}),
            )
            .expect("user")
        };
        let marker = crate::ownership::marker_for("site");
        let ours = user(serde_json::json!({"managed_by": "gotrue-sync:site"}));
        assert!(ours.is_managed_by(&marker));
        assert_eq!(
            ours.marker().map(RawValue::get),
            Some("\"gotrue-sync:site\"")
        );
        assert!(
            !user(serde_json::json!({"managed_by": "gotrue-sync:other"})).is_managed_by(&marker)
        );
        assert!(
            !user(serde_json::json!({"managed_by": ["gotrue-sync:site"]})).is_managed_by(&marker)
        );
        assert!(!user(serde_json::json!({})).is_managed_by(&marker));
        let escaped: RemoteUser = serde_json::from_str(
            r#"{"id":"1","email":"a@example.com","app_metadata":{"managed_by":"gotrue-sync:\u0073ite"}}"#,
        )
        .expect("user");
        assert!(escaped.is_managed_by(&marker));
        let many: Map<String, Value> = (0..20)
            .map(|i| (format!("k{i}"), serde_json::json!(i)))
            .chain([(MARKER_KEY.to_owned(), serde_json::json!("gotrue-sync:site"))])
            .collect();
        assert!(user(Value::Object(many)).is_managed_by(&marker));
    }

    #[test]
    fn supabase_confirmation_timestamps_read_as_confirmed() {
        let put_answer: RemoteUser = serde_json::from_str(
            r#"{"id":"1","email":"a@example.com","email_confirmed_at":"2026-11-29T10:00:00Z","app_metadata":{"provider":"email","providers":["email"]}}"#,
        )
        .expect("parse");
        assert_eq!(
            put_answer.confirmed_at.as_deref(),
            Some("2026-11-29T10:00:00Z")
        );
        let read: RemoteUser = serde_json::from_str(
            r#"{"id":"1","email":"a@example.com","confirmed_at":"2026-11-29T10:00:01Z","email_confirmed_at":"2026-11-29T10:00:00Z"}"#,
        )
        .expect("both fields");
        assert_eq!(read.confirmed_at.as_deref(), Some("2026-11-29T10:00:01Z"));
    }

    #[test]
    fn update_sends_only_what_changes_and_nulls_removals() {
        let mut user_metadata = Map::new();
        user_metadata.insert("old".into(), Value::Null);
        let body = UpdateUserRequest {
            user_metadata: Some(user_metadata),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&body).expect("json"),
            r#"{"user_metadata":{"old":null}}"#
        );
    }
}

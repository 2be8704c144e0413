//! Export: the server's users as a manifest, so an instance that already has users can be
//! adopted. Pure: users in, manifest out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::gotrue::RemoteUser;
use crate::identity::email_key;
use crate::manifest::{Manifest, Policy, UserSpec, ADMIN_GROUP, SUPPORTED_VERSION};
use crate::ownership::{is_managed, marker_for, RESERVED_APP_METADATA};

/// A manifest built from server users, with what the YAML should say about them.
#[derive(Debug, Clone)]
pub struct Export {
    /// The manifest, users sorted by e-mail, metadata keys sorted.
    pub manifest: Manifest,
    /// `invited_at` of users whose invitation is pending, by e-mail.
    pub pending: BTreeMap<String, String>,
    /// Things the user should know (values that could not be exported).
    pub warnings: Vec<String>,
}

/// Builds a manifest named `name` from `users`. With `managed_only`, only users carrying
/// this name's ownership marker. Passwords are never exported.
pub fn export(name: &str, users: &[RemoteUser], managed_only: bool) -> Export {
    let marker = marker_for(name);
    let mut selected: Vec<&RemoteUser> = users
        .iter()
        .filter(|u| !managed_only || is_managed(&u.app_metadata, &marker))
        .collect();
    selected.sort_by(|a, b| (email_key(&a.email), &a.email).cmp(&(email_key(&b.email), &b.email)));

    let mut pending = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut allow_admin_role = false;
    let mut specs = Vec::with_capacity(selected.len());
    for user in selected {
        let mut spec = UserSpec::new(user.email.clone());
        // Exporting is how an operator vouches for the accounts an instance already has:
        // the exported entries may adopt them, whatever `policy.adopt` says.
        spec.adopt = !is_managed(&user.app_metadata, &marker);
        match (user.app_metadata.get("roles"), user.roles()) {
            (None | Some(Value::Null), _) => {}
            (_, Some(roles)) => spec.roles = Some(roles),
            (Some(other), None) => warnings.push(format!(
                "{}: app_metadata.roles is {other}, not a list of strings; not exported",
                user.email
            )),
        }
        let app: Map<String, Value> = user
            .app_metadata
            .iter()
            .filter(|(k, _)| !RESERVED_APP_METADATA.iter().any(|r| r.key == k.as_str()))
            .map(|(k, v)| (k.clone(), sorted(v)))
            .collect();
        spec.app_metadata = (!app.is_empty()).then(|| sort_map(app));
        spec.user_metadata = (!user.user_metadata.is_empty()).then(|| {
            sort_map(
                user.user_metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        });
        if user.is_pending_invite() {
            pending.insert(
                user.email.clone(),
                user.invited_at.clone().unwrap_or_default(),
            );
        } else if user.confirmed_at.is_some() {
            spec.confirmed = Some(true);
        }
        if !user.role.is_empty() {
            allow_admin_role |= user.role == ADMIN_GROUP;
            spec.role = Some(user.role.clone());
        }
        specs.push(spec);
    }
    Export {
        manifest: Manifest {
            version: SUPPORTED_VERSION,
            name: name.to_owned(),
            policy: Policy {
                allow_admin_role,
                ..Policy::default()
            },
            users: specs,
        },
        pending,
        warnings,
    }
}

fn sort_map(map: Map<String, Value>) -> Map<String, Value> {
    let ordered: BTreeMap<String, Value> = map.into_iter().collect();
    ordered.into_iter().collect()
}

/// The value with object keys sorted at every level, so re-exports diff cleanly.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(sort_map(
            map.iter().map(|(k, v)| (k.clone(), sorted(v))).collect(),
        )),
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(value: Value) -> RemoteUser {
        serde_json::from_value(value).expect("user")
    }

    #[test]
    fn exports_sorted_users_without_server_owned_keys() {
        let users = vec![
            user(
                json!({"id": "2", "email": "b@example.com", "role": "admin", "confirmed_at": "t",
                        "app_metadata": {"provider": "email", "roles": ["x"], "z": 1, "a": {"d": 1, "c": 2}},
                        "user_metadata": {"name": "B"}}),
            ),
            user(
                json!({"id": "1", "email": "A@example.com", "invited_at": "2026-01-01T00:00:00Z",
                        "app_metadata": {"provider": "email", "managed_by": "gotrue-sync:other"}}),
            ),
        ];
        let export = export("site", &users, false);
        let m = &export.manifest;
        assert_eq!(m.users[0].email, "A@example.com");
        assert_eq!(
            m.users[0].confirmed, None,
            "pending invitations are not confirmed"
        );
        assert_eq!(m.users[0].app_metadata, None);
        assert_eq!(
            export.pending.get("A@example.com").map(String::as_str),
            Some("2026-01-01T00:00:00Z")
        );
        let b = &m.users[1];
        assert_eq!(b.roles, Some(vec!["x".to_string()]));
        assert_eq!(
            serde_json::to_string(&b.app_metadata).expect("json"),
            r#"{"a":{"c":2,"d":1},"z":1}"#
        );
        assert_eq!(b.confirmed, Some(true));
        assert!(
            m.policy.allow_admin_role,
            "an exported admin keeps the manifest valid"
        );
        assert!(b.password.is_none());
    }

    #[test]
    fn managed_only_keeps_this_manifests_users() {
        let users = vec![
            user(
                json!({"id": "1", "email": "a@example.com", "app_metadata": {"managed_by": "gotrue-sync:site"}}),
            ),
            user(
                json!({"id": "2", "email": "b@example.com", "app_metadata": {"managed_by": "gotrue-sync:other"}}),
            ),
        ];
        let export = export("site", &users, true);
        assert_eq!(export.manifest.users.len(), 1);
        assert_eq!(export.manifest.users[0].email, "a@example.com");
    }
}

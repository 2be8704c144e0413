//! Export: the server's users as a manifest, so an instance that already has users can be
//! adopted. Pure: users in, manifest out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::gotrue::RemoteUser;
use crate::manifest::{
    check_email, email_key, Manifest, Policy, UserSpec, ADMIN_GROUP, SUPPORTED_VERSION,
};
use crate::plan::{marker_for, MARKER_KEY};

/// App metadata keys that are not exported: the server owns `provider`, and `roles` and
/// `managed_by` have their own meaning in a manifest.
const NOT_EXPORTED: [&str; 3] = ["provider", "roles", MARKER_KEY];

/// A manifest built from server users, with what the YAML should say about them.
#[derive(Debug, Clone)]
pub struct Export {
    /// The manifest, users sorted by e-mail, metadata keys sorted.
    pub manifest: Manifest,
    /// `invited_at` of users whose invitation is pending, by e-mail.
    pub pending: BTreeMap<String, String>,
    /// Things the user should know (users and values that could not be exported).
    pub warnings: Vec<String>,
}

/// Builds a manifest named `name` from `users`. With `managed_only`, only users carrying
/// this name's ownership marker. Passwords are never exported. Users the manifest validator
/// would refuse (an address it cannot hold, a second user with the same address) are left
/// out with a warning, so that the export always validates.
pub fn export(name: &str, users: &[RemoteUser], managed_only: bool) -> Export {
    let marker = marker_for(name);
    let mut selected: Vec<&RemoteUser> = users
        .iter()
        .filter(|u| {
            !managed_only
                || u.app_metadata.get(MARKER_KEY).and_then(Value::as_str) == Some(marker.as_str())
        })
        .collect();
    selected.sort_by(|a, b| (email_key(&a.email), &a.email).cmp(&(email_key(&b.email), &b.email)));

    let mut pending = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut allow_admin_role = false;
    let mut specs = Vec::with_capacity(selected.len());
    let mut previous: Option<&RemoteUser> = None;
    for user in selected {
        if let Err(problem) = check_email(&user.email) {
            warnings.push(format!(
                "user {:?} (id {:?}) not exported: its address is not one a manifest can hold ({problem}); correct it on the server or manage this user by hand",
                user.email, user.id
            ));
            continue;
        }
        if let Some(kept) = previous.filter(|p| email_key(&p.email) == email_key(&user.email)) {
            warnings.push(format!(
                "user {:?} (id {:?}) not exported: a manifest holds one entry per address and {:?} (id {:?}) is exported",
                user.email, user.id, kept.email, kept.id
            ));
            continue;
        }
        previous = Some(user);
        let mut spec = UserSpec::new(user.email.clone());
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
            .filter(|(k, _)| !NOT_EXPORTED.contains(&k.as_str()))
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
        // The validator refuses an empty role: the server cannot clear one.
        if !user.role.trim().is_empty() {
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

    #[test]
    fn users_a_manifest_cannot_hold_are_left_out_with_a_warning() {
        let plain = |id: &str, email: &str| {
            user(json!({"id": id, "email": email, "confirmed_at": "t", "app_metadata": {}}))
        };
        let users = vec![
            plain("1", "with space@example.com"),
            plain("2", "quo\"te@example.com"),
            plain("3", "new\nline@example.com"),
            plain("4", "\u{1b}[31mred\t@example.com"),
            plain("5", "kept@example.com"),
            plain("6", "Kept@example.com"),
            user(json!({"id": "7", "email": "blank-role@example.com", "role": " "})),
        ];
        let exported = export("site", &users, false);
        let emails: Vec<&str> = exported
            .manifest
            .users
            .iter()
            .map(|u| u.email.as_str())
            .collect();
        assert_eq!(emails, ["blank-role@example.com", "Kept@example.com"]);
        assert_eq!(exported.manifest.users[0].role, None);
        let warnings = exported.warnings.join("\n");
        for named in [
            r#""with space@example.com" (id "1")"#,
            r#""quo\"te@example.com" (id "2")"#,
            r#""new\nline@example.com" (id "3")"#,
            r#""\u{1b}[31mred\t@example.com" (id "4")"#,
            r#""kept@example.com" (id "5")"#,
        ] {
            assert!(warnings.contains(named), "{named} in {warnings}");
        }
        assert!(!warnings.contains('\u{1b}'), "named escaped: {warnings}");
        let yaml = crate::render::export_yaml(&exported).expect("yaml");
        crate::manifest::validate(&yaml, std::path::Path::new("export.yaml"))
            .unwrap_or_else(|d| panic!("the export validates: {d:?}\n{yaml}"));
    }
}

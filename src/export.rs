//! Export: the server's users as a manifest, so an instance that already has users can be
//! adopted. Pure: users in, manifest out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::gotrue::{Flavor, MetadataMap, RemoteUser};
use crate::identity::{check_address, email_key};
use crate::manifest::{Manifest, Policy, UserSpec, ADMIN_GROUP, SUPPORTED_VERSION};
use crate::metadata::Metadata;
use crate::ownership::{marker_for, RESERVED_APP_METADATA};

/// A manifest built from server users, with what the YAML should say about them.
#[derive(Debug, Clone)]
pub struct Export {
    /// The manifest, users sorted by e-mail, metadata keys sorted.
    pub manifest: Manifest,
    /// `invited_at` of users whose invitation is pending, by e-mail.
    pub pending: BTreeMap<String, String>,
    /// Things the user should know (users and values that could not be exported).
    pub warnings: Vec<String>,
    /// Users without an e-mail address (phone-only, on Supabase): listed and counted, never
    /// exported, since a manifest keys users by address.
    pub without_email: usize,
}

/// Builds a manifest named `name` from the users of a `flavor` server. With `managed_only`,
/// only users carrying this name's ownership marker. Passwords are never exported, nor are
/// the metadata keys and the default role the server writes itself. Users the manifest
/// validator would refuse (an address it cannot hold, a second user with the same address)
/// are left out with a warning, so that the export always validates; users with no address
/// at all (phone-only, on Supabase) are counted.
pub fn export(name: &str, users: &[RemoteUser], managed_only: bool, flavor: Flavor) -> Export {
    let marker = marker_for(name);
    let (with_email, without_email): (Vec<&RemoteUser>, Vec<&RemoteUser>) =
        users.iter().partition(|u| !u.email.trim().is_empty());
    let mut selected: Vec<&RemoteUser> = with_email
        .into_iter()
        .filter(|u| !managed_only || u.is_managed_by(&marker))
        .collect();
    selected.sort_by(|a, b| (email_key(&a.email), &a.email).cmp(&(email_key(&b.email), &b.email)));

    let mut pending = BTreeMap::new();
    let mut warnings = Vec::new();
    if !without_email.is_empty() {
        warnings.push(format!(
            "{} user(s) have no e-mail address (phone-only); a manifest keys users by address, so they are not exported",
            without_email.len()
        ));
    }
    let mut allow_admin_role = false;
    let mut specs = Vec::with_capacity(selected.len());
    let mut previous: Option<&RemoteUser> = None;
    for user in selected {
        if let Err(problem) = check_address(&user.email) {
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
        // Exporting is how an operator vouches for the accounts an instance already has:
        // the exported entries may adopt them, whatever `policy.adopt` says.
        spec.adopt = !user.is_managed_by(&marker);
        let app_metadata = user.app_metadata.to_map();
        match (app_metadata.get("roles"), user.roles()) {
            (None | Some(Value::Null), _) => {}
            (_, Some(roles)) => spec.roles = Some(roles),
            (Some(other), None) => warnings.push(format!(
                "{}: app_metadata.roles is {other}, not a list of strings; not exported",
                user.email
            )),
        }
        let app: Map<String, Value> = app_metadata
            .iter()
            .filter(|(k, _)| {
                !RESERVED_APP_METADATA.iter().any(|r| r.key == k.as_str())
                    && !flavor.is_server_owned(MetadataMap::App, k)
            })
            .map(|(k, v)| (k.clone(), sorted(v)))
            .collect();
        spec.app_metadata = (!app.is_empty()).then(|| Metadata::from(sort_map(app)));
        let own: Map<String, Value> = user
            .user_metadata
            .to_map()
            .iter()
            .filter(|(k, _)| !flavor.is_server_owned(MetadataMap::User, k))
            .map(|(k, v)| (k.clone(), sorted(v)))
            .collect();
        spec.user_metadata = (!own.is_empty()).then(|| Metadata::from(sort_map(own)));
        // `confirmed` is not written: a confirmed account stays confirmed (no server can
        // un-confirm), so on this server `confirmed: true` would change nothing, and on a new
        // server the entry is an invitation, which confirms when it is accepted; there the
        // manifest would only warn that `confirmed: true` cannot confirm an invitation.
        if user.is_pending_invite() {
            pending.insert(
                user.email.clone(),
                user.invited_at.clone().unwrap_or_default(),
            );
        }
        // The validator refuses an empty role: the server cannot clear one.
        if !user.role.trim().is_empty() && user.role != flavor.default_role() {
            allow_admin_role |= flavor.role_opens_admin_api(&user.role, ADMIN_GROUP);
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
        without_email: without_email.len(),
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
        let export = export("site", &users, false, Flavor::Netlify);
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
        assert_eq!(b.confirmed, None, "confirmed users are not marked");
        assert!(
            m.policy.allow_admin_role,
            "an exported admin keeps the manifest valid"
        );
        assert!(b.password.is_none());
    }

    #[test]
    fn supabase_exports_leave_out_what_the_server_writes() {
        let users = vec![
            user(
                json!({"id": "1", "email": "a@example.com", "role": "authenticated",
                "email_confirmed_at": "2026-11-29T10:00:00Z",
                "app_metadata": {"provider": "email", "providers": ["email"], "plan": "pro"},
                "user_metadata": {"email": "a@example.com", "email_verified": true, "phone_verified": false,
                                  "sub": "1", "full_name": "A"}}),
            ),
            user(
                json!({"id": "2", "email": "", "phone": "+15550001", "role": "authenticated",
                "app_metadata": {"provider": "phone", "providers": ["phone"]}}),
            ),
            user(json!({"id": "3", "email": "ops@example.com", "role": "service_role"})),
        ];
        let export = export("site", &users, false, Flavor::Supabase);
        let m = &export.manifest;
        assert_eq!(m.users.len(), 2, "the phone-only user is not exported");
        assert_eq!(export.without_email, 1);
        assert!(export.warnings.iter().any(|w| w.contains("phone-only")));
        let a = &m.users[0];
        assert_eq!(a.role, None, "the default role is not exported");
        assert_eq!(a.confirmed, None);
        assert_eq!(
            serde_json::to_value(&a.app_metadata).expect("json"),
            json!({"plan": "pro"})
        );
        assert_eq!(
            serde_json::to_value(&a.user_metadata).expect("json"),
            json!({"full_name": "A"})
        );
        assert_eq!(m.users[1].role.as_deref(), Some("service_role"));
        assert!(
            m.policy.allow_admin_role,
            "service_role opens the admin API on Supabase"
        );
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
        let export = export("site", &users, true, Flavor::Netlify);
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
        let exported = export("site", &users, false, Flavor::Netlify);
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

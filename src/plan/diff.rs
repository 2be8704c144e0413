//! The pure diff: desired manifest × server users → [`Plan`]. No I/O, no clock, no
//! randomness: the same inputs give the same plan, byte for byte.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use super::change::{
    Adoption, Change, KeyChange, NewUser, PendingInvite, Plan, PlanPolicy, Reinvite, Removal,
    Rename, RoleChange, RolesChange, ServerState, Summary, UserUpdate, PLAN_FORMAT_VERSION,
};
use super::fingerprint::{server_fingerprint, user_fingerprint};
use crate::gotrue::RemoteUser;
use crate::manifest::{email_key, CreateMode, Manifest, MetadataMode, Policy, PruneMode, UserSpec};

/// The app metadata key that records which manifest owns a user.
pub const MARKER_KEY: &str = "managed_by";

/// App metadata keys the `exact` mode never removes: the server owns `provider`, and
/// `roles`/`managed_by` are managed through their own fields.
const PROTECTED_APP_KEYS: [&str; 3] = ["provider", "roles", MARKER_KEY];

/// The ownership marker of a manifest named `name`.
pub fn marker_for(name: &str) -> String {
    format!("gotrue-sync:{name}")
}

/// Options that make a plan depend on more than the manifest and the users.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Re-send invitations pending for longer than this (delete + invite: the server
    /// cannot re-send).
    pub reinvite_pending_older_than: Option<std::time::Duration>,
    /// "Now" in Unix seconds, passed in so that the plan stays a pure function.
    pub now: u64,
}

/// Computes the changes that make the server's users match the manifest.
pub fn plan(desired: &Manifest, actual: &[RemoteUser]) -> Plan {
    plan_with(desired, actual, &PlanOptions::default())
}

/// [`plan`] with options.
pub fn plan_with(desired: &Manifest, actual: &[RemoteUser], options: &PlanOptions) -> Plan {
    let marker = marker_for(&desired.name);
    let policy = &desired.policy;
    let mut by_email: HashMap<String, Vec<usize>> = HashMap::with_capacity(actual.len());
    for (index, user) in actual.iter().enumerate() {
        by_email
            .entry(email_key(&user.email))
            .or_default()
            .push(index);
    }
    let desired_keys: HashSet<String> = desired.users.iter().map(|u| email_key(&u.email)).collect();

    let mut matched = vec![false; actual.len()];
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let mut pending_invites = Vec::new();
    let mut summary = Summary::default();

    for spec in &desired.users {
        let key = email_key(&spec.email);
        let direct = by_email.get(&key).map(Vec::as_slice).unwrap_or_default();
        // A rename applies only while the new address is absent and the old one is present
        // and not itself listed.
        let renamed = spec
            .renamed_from
            .as_deref()
            .map(email_key)
            .filter(|old| direct.is_empty() && !desired_keys.contains(old))
            .and_then(|old| by_email.get(&old))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let indices = if direct.is_empty() { renamed } else { direct };
        let Some(&first) = indices.first() else {
            changes.push(new_user(spec, policy, &marker));
            continue;
        };
        if indices.len() > 1 {
            warnings.push(format!(
                "{} server users share the e-mail {}; the first listed (id {}) is managed and the others are left alone",
                indices.len(),
                actual[first].email,
                actual[first].id
            ));
        }
        for &i in indices {
            matched[i] = true;
        }
        let user = &actual[first];
        if let Some(since) = user
            .invited_at
            .as_ref()
            .filter(|_| user.is_pending_invite())
        {
            if spec.create == CreateMode::Invite && pending_too_long(since, options) {
                if let Change::Invite(invite) = new_user(spec, policy, &marker) {
                    changes.push(Change::Reinvite(Reinvite {
                        id: user.id.clone(),
                        email: user.email.clone(),
                        pending_since: since.clone(),
                        expected: user_fingerprint(user),
                        invite,
                    }));
                    continue;
                }
            }
            pending_invites.push(PendingInvite {
                email: user.email.clone(),
                since: since.clone(),
            });
        }
        let update = update_for(spec, user, desired, &marker);
        if update.is_empty() {
            summary.unchanged += 1;
        } else {
            changes.push(Change::Update(update));
        }
    }
    for (user, _) in actual.iter().zip(&matched).filter(|(_, m)| !**m) {
        let managed =
            user.app_metadata.get(MARKER_KEY).and_then(Value::as_str) == Some(marker.as_str());
        let delete = match policy.prune {
            PruneMode::None => false,
            PruneMode::Managed => managed,
            PruneMode::All => true,
        };
        if delete {
            changes.push(Change::Delete(Removal {
                id: user.id.clone(),
                email: user.email.clone(),
                managed,
                expected: user_fingerprint(user),
            }));
        } else {
            summary.unmanaged_left_alone += 1;
        }
    }

    changes.sort_by(|a, b| {
        (a.rank(), email_key(a.email()), a.email()).cmp(&(
            b.rank(),
            email_key(b.email()),
            b.email(),
        ))
    });
    for change in &changes {
        match change {
            Change::Invite(_) => summary.invite += 1,
            Change::Create(_) => summary.create += 1,
            Change::Update(_) => summary.update += 1,
            Change::Delete(_) => summary.delete += 1,
            Change::Reinvite(_) => summary.reinvite += 1,
        }
    }
    pending_invites.sort_by(|a: &PendingInvite, b| a.email.cmp(&b.email));

    Plan {
        format_version: PLAN_FORMAT_VERSION,
        manifest: desired.name.clone(),
        marker,
        policy: PlanPolicy {
            prune: policy.prune,
            max_deletes: policy.max_deletes,
        },
        summary,
        changes,
        server: ServerState {
            users: actual.len(),
            fingerprint: server_fingerprint(actual),
        },
        warnings,
        pending_invites,
        secrets_dir: None,
    }
}

/// Whether an invitation sent at `since` (RFC 3339) is older than the re-invite threshold.
fn pending_too_long(since: &str, options: &PlanOptions) -> bool {
    let Some(threshold) = options.reinvite_pending_older_than else {
        return false;
    };
    let Ok(sent) =
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
    else {
        return false;
    };
    let sent = u64::try_from(sent.unix_timestamp()).unwrap_or(0);
    options.now.saturating_sub(sent) > threshold.as_secs()
}

fn new_user(spec: &UserSpec, policy: &Policy, marker: &str) -> Change {
    let mut app_metadata = initial(spec.app_metadata.as_ref(), policy, "app_metadata");
    if let Some(roles) = &spec.roles {
        app_metadata.insert("roles".into(), roles_value(&dedup(roles)));
    }
    app_metadata.insert(MARKER_KEY.into(), Value::String(marker.to_owned()));
    let user_metadata = initial(spec.user_metadata.as_ref(), policy, "user_metadata");
    let user = NewUser {
        email: spec.email.trim().to_owned(),
        user_metadata,
        app_metadata,
        role: spec.role.as_ref().map(|r| r.trim().to_owned()),
        confirm: spec.create == CreateMode::Password && spec.confirm_on_create(),
        password: spec.password.clone(),
    };
    match spec.create {
        CreateMode::Invite => Change::Invite(user),
        CreateMode::Password => Change::Create(user),
    }
}

/// The keys a new user starts with: declared, not `null` ("must not exist"), not ignored.
fn initial(
    declared: Option<&Map<String, Value>>,
    policy: &Policy,
    section: &str,
) -> Map<String, Value> {
    declared
        .into_iter()
        .flatten()
        .filter(|(k, v)| !v.is_null() && !policy.ignores(section, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn update_for(spec: &UserSpec, user: &RemoteUser, desired: &Manifest, marker: &str) -> UserUpdate {
    let owner = user.app_metadata.get(MARKER_KEY);
    let adopt = (owner.and_then(Value::as_str) != Some(marker)).then(|| Adoption {
        previous_owner: owner.cloned(),
    });
    let policy = &desired.policy;
    let mut app_metadata = diff_map(
        spec.app_metadata.as_ref(),
        &user.app_metadata,
        policy.app_metadata,
        &PROTECTED_APP_KEYS,
        |key| policy.ignores("app_metadata", key),
    );
    if adopt.is_some() {
        app_metadata.push(KeyChange {
            key: MARKER_KEY.into(),
            before: owner.cloned(),
            after: Some(Value::String(marker.to_owned())),
        });
        app_metadata.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let roles = spec
        .roles
        .as_ref()
        .and_then(|wanted| roles_change(wanted, user));
    let role = spec
        .role
        .as_ref()
        .map(|r| r.trim())
        .filter(|r| *r != user.role)
        .map(|r| RoleChange {
            before: user.role.clone(),
            after: r.to_owned(),
        });
    UserUpdate {
        id: user.id.clone(),
        email: user.email.clone(),
        adopt,
        roles,
        app_metadata,
        user_metadata: diff_map(
            spec.user_metadata.as_ref(),
            &user.user_metadata,
            policy.user_metadata,
            &[],
            |key| policy.ignores("user_metadata", key),
        ),
        // Confirming a pending invitation would void its link: an invited user confirms by
        // accepting.
        confirm: spec.confirmed == Some(true)
            && user.confirmed_at.is_none()
            && !(spec.create == CreateMode::Invite && user.is_pending_invite()),
        rename: (email_key(&spec.email) != email_key(&user.email)).then(|| Rename {
            from: user.email.clone(),
            to: spec.email.trim().to_owned(),
        }),
        role,
        expected: user_fingerprint(user),
    }
}

/// Keys to set or remove so that `actual` holds `desired` (merge) or equals it (exact,
/// except `protected` keys). A declared `null` means "must not exist".
fn diff_map(
    desired: Option<&Map<String, Value>>,
    actual: &Map<String, Value>,
    mode: MetadataMode,
    protected: &[&str],
    ignored: impl Fn(&str) -> bool,
) -> Vec<KeyChange> {
    let Some(desired) = desired else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    for (key, value) in desired.iter().filter(|(k, _)| !ignored(k)) {
        let stored = actual.get(key);
        if value.is_null() {
            if let Some(stored) = stored {
                changes.push(KeyChange {
                    key: key.clone(),
                    before: Some(stored.clone()),
                    after: None,
                });
            }
        } else if stored != Some(value) {
            changes.push(KeyChange {
                key: key.clone(),
                before: stored.cloned(),
                after: Some(value.clone()),
            });
        }
    }
    if mode == MetadataMode::Exact {
        for (key, value) in actual {
            if !desired.contains_key(key) && !protected.contains(&key.as_str()) && !ignored(key) {
                changes.push(KeyChange {
                    key: key.clone(),
                    before: Some(value.clone()),
                    after: None,
                });
            }
        }
    }
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    changes
}

fn roles_change(wanted: &[String], user: &RemoteUser) -> Option<RolesChange> {
    let after = dedup(wanted);
    let stored = user.app_metadata.get("roles");
    let current: Option<Vec<String>> = match stored {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(_) => user.roles(),
    };
    let want: BTreeSet<&String> = after.iter().collect();
    if let Some(current) = &current {
        let have: BTreeSet<&String> = current.iter().collect();
        if have == want {
            return None;
        }
    }
    let current = current.unwrap_or_default();
    let added = after
        .iter()
        .filter(|r| !current.contains(r))
        .cloned()
        .collect();
    let removed = current
        .iter()
        .filter(|r| !after.contains(r))
        .cloned()
        .collect();
    Some(RolesChange {
        before: stored.cloned().unwrap_or(Value::Null),
        after,
        added,
        removed,
    })
}

fn dedup(roles: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    roles
        .iter()
        .filter(|r| seen.insert(r.as_str()))
        .cloned()
        .collect()
}

fn roles_value(roles: &[String]) -> Value {
    Value::Array(roles.iter().cloned().map(Value::String).collect())
}

#[cfg(test)]
mod tests;

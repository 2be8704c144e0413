//! What a plan contains: one [`Change`] per user, each carrying exactly what apply sends.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::manifest::{PruneMode, SecretRef};

/// The version of the plan document (`--json`, `--out`); its schema is committed as
/// `schema/plan.schema.json`.
///
/// 4: a new user's `user_metadata` and `app_metadata` are lists of `{key, after}`, the shape
/// updates use, instead of maps, so every change kind's metadata reads the same way.
///
/// 3: a plan names its target (server URL, audience, flavour), lists conflicts, and says
/// which adoptions grant roles. An older file carries no target to check against, so it is
/// refused with "make the plan again".
///
/// 2: user and server fingerprints are hashed from a canonical binary encoding instead of
/// JSON text. A version-1 plan file would read as stale for every user it touches, so it is
/// refused with "make the plan again" instead.
pub const PLAN_FORMAT_VERSION: u32 = 4;

/// A reviewed, replayable set of changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Document version, [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// The manifest's `name`.
    pub manifest: String,
    /// The server the plan was made against; `apply PLAN` refuses any other.
    pub target: Target,
    /// The ownership marker written to `app_metadata.managed_by`.
    pub marker: String,
    /// Policy values apply enforces.
    pub policy: PlanPolicy,
    /// Counts.
    pub summary: Summary,
    /// The changes, in a stable order: invites, creates, updates, deletes; by e-mail.
    pub changes: Vec<Change>,
    /// The server state the plan was computed from.
    pub server: ServerState,
    /// Things the reviewer should know that are not changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Manifest users the plan cannot bring about: no change is planned for them, and
    /// `plan` and `apply` end with an error until they are resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// Listed users whose invitation is not accepted yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_invites: Vec<PendingInvite>,
    /// Set in a saved plan: the directory `file:` password references are read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_dir: Option<String>,
}

/// Where a plan was made: what `apply PLAN` checks before touching anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// The GoTrue root URL: scheme, host, port and path only (no credentials, query or
    /// trailing slash).
    pub url: String,
    /// The audience (`X-JWT-AUD`), if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The server flavour (`netlify`).
    pub flavor: String,
}

impl Target {
    /// The target at `url` (normalised: credentials, query and fragment dropped, no trailing
    /// slash; left as given if it does not parse) for `audience` on a `flavor` server.
    pub fn new(url: &str, audience: Option<&str>, flavor: &str) -> Self {
        let url = match reqwest::Url::parse(url.trim()) {
            Ok(mut parsed) => {
                // Both only fail on URLs that cannot have credentials, which then have none.
                let _ = parsed.set_username("");
                let _ = parsed.set_password(None);
                parsed.set_query(None);
                parsed.set_fragment(None);
                parsed.as_str().trim_end_matches('/').to_owned()
            }
            Err(_) => url.trim().trim_end_matches('/').to_owned(),
        };
        Target {
            url,
            audience: audience.filter(|a| !a.is_empty()).map(str::to_owned),
            flavor: flavor.to_owned(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.url, self.flavor)?;
        if let Some(audience) = &self.audience {
            write!(f, ", audience {audience}")?;
        }
        write!(f, ")")
    }
}

/// A manifest user the plan cannot bring about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Conflict {
    /// The address as the manifest writes it.
    pub email: String,
    /// The server account in the way, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<ConflictingAccount>,
    /// What is wrong.
    pub reason: String,
    /// What to do about it.
    pub hint: String,
}

/// The server account a conflict is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConflictingAccount {
    /// Server id.
    pub id: String,
    /// E-mail as stored.
    pub email: String,
}

/// The parts of the policy that apply enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanPolicy {
    /// The prune mode the plan was made with.
    pub prune: PruneMode,
    /// Apply refuses more deletes than this.
    pub max_deletes: u32,
    /// The manifest's `policy.admin_roles`: roles besides the defaults that open the admin
    /// API of this server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_roles: Vec<String>,
}

/// How many of each change, and what was left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Users to invite.
    pub invite: usize,
    /// Users to create with a password.
    pub create: usize,
    /// Users to update.
    pub update: usize,
    /// Users to delete.
    pub delete: usize,
    /// Pending invitations to re-send (each a delete and an invite).
    #[serde(default)]
    pub reinvite: usize,
    /// Listed users already as desired.
    pub unchanged: usize,
    /// Server users not in the manifest that the policy leaves alone, this manifest's own
    /// (see `managed_not_pruned`) excepted.
    pub unmanaged_left_alone: usize,
    /// Server users not in the manifest that carry its marker, kept because the policy is
    /// `prune: none`.
    #[serde(default)]
    pub managed_not_pruned: usize,
}

impl Summary {
    /// Whether the plan changes anything.
    pub fn has_changes(&self) -> bool {
        self.invite + self.create + self.update + self.delete + self.reinvite > 0
    }

    /// Accounts removed by the plan: deletes, and the delete half of re-invites.
    pub fn removals(&self) -> usize {
        self.delete + self.reinvite
    }
}

/// What the server looked like when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServerState {
    /// Users listed.
    pub users: usize,
    /// Hash of every listed user's fingerprint; recorded in saved plans and JSON output
    /// (see [`record_server_fingerprint`](super::record_server_fingerprint)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// One user's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// `POST /invite`, then `PUT` of app metadata (and role).
    Invite(NewUser),
    /// `POST /admin/users` with a password, then `PUT` of app metadata.
    Create(NewUser),
    /// `PUT /admin/users/{id}` with only what differs.
    Update(UserUpdate),
    /// `DELETE /admin/users/{id}`.
    Delete(Removal),
    /// A stale invitation re-sent: `DELETE`, then `POST /invite` and the `PUT`.
    Reinvite(Reinvite),
}

impl Change {
    /// The e-mail of the user this change is about.
    pub fn email(&self) -> &str {
        match self {
            Change::Invite(user) | Change::Create(user) => &user.email,
            Change::Update(update) => &update.email,
            Change::Delete(removal) => &removal.email,
            Change::Reinvite(reinvite) => &reinvite.email,
        }
    }

    /// A short verb: `invite`, `create`, `update`, `delete`.
    pub fn action(&self) -> &'static str {
        match self {
            Change::Invite(_) => "invite",
            Change::Create(_) => "create",
            Change::Update(_) => "update",
            Change::Delete(_) => "delete",
            Change::Reinvite(_) => "reinvite",
        }
    }

    /// Sort rank: invites, creates, updates, deletes.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Change::Invite(_) => 0,
            Change::Create(_) => 1,
            Change::Update(_) => 2,
            Change::Delete(_) => 3,
            Change::Reinvite(_) => 4,
        }
    }
}

/// A user to bring into existence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewUser {
    /// E-mail as the manifest spells it.
    pub email: String,
    /// Initial user metadata (sent with the create or invite). In JSON a list of
    /// `{key, after}`, like an update's.
    #[serde(default, skip_serializing_if = "Map::is_empty", with = "keys_set")]
    #[schemars(with = "Vec<KeyChange>")]
    pub user_metadata: Map<String, Value>,
    /// App metadata written by the follow-up `PUT`: declared keys, `roles`, `managed_by`.
    /// In JSON a list of `{key, after}`, like an update's.
    #[serde(with = "keys_set")]
    #[schemars(with = "Vec<KeyChange>")]
    pub app_metadata: Map<String, Value>,
    /// The `role` column, if managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Confirm the address at once (password creates).
    #[serde(default)]
    pub confirm: bool,
    /// Where the initial password comes from (password creates). Never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// An in-place update of an existing user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserUpdate {
    /// Server id.
    pub id: String,
    /// E-mail as stored on the server.
    pub email: String,
    /// Set when the user is not yet marked as managed by this manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Adoption>,
    /// `app_metadata.roles`, when the sets differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesChange>,
    /// Other app metadata keys to set or remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_metadata: Vec<KeyChange>,
    /// User metadata keys to set or remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_metadata: Vec<KeyChange>,
    /// Confirm the address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
    /// New `role` column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleChange>,
    /// New e-mail (a `renamed_from` rename, keeping the account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename: Option<Rename>,
    /// Fingerprint of the user when planned; apply of a saved plan refuses if it changed.
    pub expected: String,
}

/// Taking ownership of an existing user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Adoption {
    /// The marker it carried before (another manifest's), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_owner: Option<Value>,
    /// What the adoption gives an account gotrue-sync did not create: roles gained and a
    /// new `role` column, e.g. `roles: editor`, `role: admin`. Whoever holds the account
    /// gets them, so the plan says so next to the change and among its warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
}

/// A change of `app_metadata.roles`, compared as sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RolesChange {
    /// Stored value (`null` when absent).
    pub before: Value,
    /// Desired roles, as written.
    pub after: Vec<String>,
    /// Roles gained.
    pub added: Vec<String>,
    /// Roles lost.
    pub removed: Vec<String>,
}

/// A change of the `role` column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoleChange {
    /// Stored role.
    pub before: String,
    /// Desired role.
    pub after: String,
}

/// One metadata key set (`after` present) or removed (`after` absent, sent as `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeyChange {
    /// Top-level key.
    pub key: String,
    /// Stored value, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Desired value; absent means the key is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// A new user's metadata map written as the list of [`KeyChange`]s that set each key, so
/// that metadata has one JSON shape across change kinds.
mod keys_set {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::{Map, Value};

    use super::KeyChange;

    pub fn serialize<S: Serializer>(
        map: &Map<String, Value>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let changes: Vec<KeyChange> = map
            .iter()
            .map(|(key, value)| KeyChange {
                key: key.clone(),
                before: None,
                after: Some(value.clone()),
            })
            .collect();
        changes.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Map<String, Value>, D::Error> {
        let mut map = Map::new();
        for change in Vec::<KeyChange>::deserialize(deserializer)? {
            // A new user has nothing stored to compare with or remove.
            match (change.before, change.after) {
                (None, Some(after)) => {
                    if map.insert(change.key.clone(), after).is_some() {
                        return Err(D::Error::custom(format!(
                            "metadata key `{}` is set twice",
                            change.key
                        )));
                    }
                }
                _ => {
                    return Err(D::Error::custom(format!(
                        "a new user's metadata key `{}` needs `after` and no `before`",
                        change.key
                    )))
                }
            }
        }
        Ok(map)
    }
}

/// A user to delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Removal {
    /// Server id.
    pub id: String,
    /// E-mail as stored.
    pub email: String,
    /// Whether it carried this manifest's marker (else it goes because of `prune: all`).
    pub managed: bool,
    /// Fingerprint of the user when planned.
    pub expected: String,
}

impl UserUpdate {
    /// Whether this update changes anything at all.
    pub fn is_empty(&self) -> bool {
        self.adopt.is_none()
            && self.roles.is_none()
            && self.app_metadata.is_empty()
            && self.user_metadata.is_empty()
            && !self.confirm
            && self.role.is_none()
            && self.rename.is_none()
    }
}

/// An e-mail change that keeps the account (id, password, sessions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rename {
    /// The stored address.
    pub from: String,
    /// The address the manifest declares.
    pub to: String,
}

/// A listed user who has not accepted their invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PendingInvite {
    /// E-mail as stored.
    pub email: String,
    /// `invited_at`.
    pub since: String,
}

/// Re-sending an invitation: GoTrue cannot re-send, so the pending account is deleted and
/// invited again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reinvite {
    /// Id of the pending account.
    pub id: String,
    /// E-mail as stored.
    pub email: String,
    /// When it was invited.
    pub pending_since: String,
    /// Fingerprint of the pending account when planned.
    pub expected: String,
    /// The new invitation.
    pub invite: NewUser,
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn a_target_keeps_no_credentials_query_or_trailing_slash() {
        let target = Target::new(
            "https://ops:hunter2@site.example/.netlify/identity/?token=x#frag",
            Some("site"),
            "netlify",
        );
        assert_eq!(target.url, "https://site.example/.netlify/identity");
        assert_eq!(target.audience.as_deref(), Some("site"));
        assert_eq!(
            target.to_string(),
            "https://site.example/.netlify/identity (netlify, audience site)"
        );
        assert_eq!(
            Target::new("http://127.0.0.1:8081/", Some(""), "netlify"),
            Target::new("http://127.0.0.1:8081", None, "netlify"),
            "an empty audience is no audience"
        );
    }
}

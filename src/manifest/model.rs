//! The typed manifest (format version 1). These types are the single source of truth for the
//! JSON Schema in `schema/manifest.schema.json` and for the field names the validator accepts.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::metadata::Metadata;

/// The manifest format version this build understands.
pub const SUPPORTED_VERSION: u32 = 1;

/// The GoTrue role (`role` column) that makes a user an administrator of the instance
/// (`GOTRUE_JWT_ADMIN_GROUP_NAME`, default `admin`).
pub const ADMIN_GROUP: &str = "admin";

/// Every `role` that lets the user's own token administer the instance on either server:
/// netlify/gotrue's default admin group and supabase/auth's default `GOTRUE_JWT_ADMIN_ROLES`
/// (there the role is the user's JWT `role` claim). A manifest is validated without knowing
/// which server it goes to, so each of them needs `policy.allow_admin_role`.
pub const ADMIN_ROLES: [&str; 3] = [ADMIN_GROUP, "service_role", "supabase_admin"];

/// A gotrue-sync manifest: the users one team wants on one GoTrue instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gotrue-sync manifest")]
pub struct Manifest {
    /// Manifest format version. Only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Owner label. Users this manifest creates or adopts are marked with
    /// `app_metadata.managed_by: "gotrue-sync:<name>"`.
    pub name: String,
    /// How the reconciler treats users and keys the manifest does not mention.
    #[serde(default)]
    pub policy: Policy,
    /// The users that should exist. E-mail addresses are compared case-insensitively.
    #[serde(default)]
    pub users: Vec<UserSpec>,
}

/// Reconciliation policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Which users that are not listed get deleted.
    #[serde(default)]
    pub prune: PruneMode,
    /// `apply` refuses a plan with more deletes than this (raise it with `--max-deletes`).
    #[serde(default = "default_max_deletes")]
    pub max_deletes: u32,
    /// How declared `user_metadata` is enforced.
    #[serde(default)]
    pub user_metadata: MetadataMode,
    /// How declared `app_metadata` is enforced.
    #[serde(default)]
    pub app_metadata: MetadataMode,
    /// Must be `true` before any user's `role` may open the admin API (`admin`,
    /// `service_role`, `supabase_admin`, or one listed in `admin_roles`), which grants full
    /// control of the instance's users.
    #[serde(default)]
    pub allow_admin_role: bool,
    /// More `role` values that open this instance's admin API, besides the defaults of both
    /// servers (`admin`, `service_role`, `supabase_admin`): netlify/gotrue's
    /// `GOTRUE_JWT_ADMIN_GROUP_NAME` or supabase/auth's `GOTRUE_JWT_ADMIN_ROLES` when the
    /// server sets them. The defaults stay admin roles whatever is listed here, because a
    /// manifest can be applied to another server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_roles: Vec<String>,
    /// Metadata keys other systems own (site functions, the users themselves), as
    /// `app_metadata.KEY` or `user_metadata.KEY`: left out of every comparison and every
    /// write, even in `exact` mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Which existing accounts without this manifest's marker may be taken over (marked and
    /// given the entry's roles). Anyone who can sign up can create an account on a listed
    /// address before it is invited, so by default none is: an entry says `adopt: true`
    /// once someone has checked whose account it is.
    #[serde(default)]
    pub adopt: AdoptMode,
}

/// Which existing, unmarked accounts a plan takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdoptMode {
    /// Every account on a listed address.
    All,
    /// Accounts whose address is confirmed (an open signup without autoconfirm cannot
    /// confirm a mailbox it does not own; with autoconfirm this is no protection).
    Confirmed,
    /// None, unless its entry says `adopt: true`.
    #[default]
    None,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            prune: PruneMode::default(),
            max_deletes: default_max_deletes(),
            user_metadata: MetadataMode::default(),
            app_metadata: MetadataMode::default(),
            allow_admin_role: false,
            admin_roles: Vec::new(),
            ignore: Vec::new(),
            adopt: AdoptMode::default(),
        }
    }
}

impl Policy {
    /// Whether giving a user `role` lets that user's own token administer the instance:
    /// one of [`ADMIN_ROLES`] or of `admin_roles`.
    pub fn opens_admin_api(&self, role: &str) -> bool {
        opens_admin_api(role, &self.admin_roles)
    }

    /// Whether `section.key` is listed in `ignore`.
    pub fn ignores(&self, section: &str, key: &str) -> bool {
        self.ignore
            .iter()
            .any(|path| path.split_once('.') == Some((section, key)))
    }
}

/// Whether `role` is one of [`ADMIN_ROLES`] or of `extra` (a policy's `admin_roles`).
/// Surrounding white space is ignored: a look-alike ` admin` is flagged too, the safe side
/// for a check that only asks for an explicit yes.
pub fn opens_admin_api(role: &str, extra: &[String]) -> bool {
    let role = role.trim();
    !role.is_empty()
        && (ADMIN_ROLES.contains(&role) || extra.iter().any(|admin| admin.trim() == role))
}

fn default_max_deletes() -> u32 {
    10
}

/// Which unlisted users a plan deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PruneMode {
    /// Never delete anyone.
    None,
    /// Delete only users marked as managed by this manifest that are no longer listed.
    #[default]
    Managed,
    /// Delete every user that is not listed (use with care).
    All,
}

/// How a declared metadata map is compared with the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetadataMode {
    /// Only the declared keys are enforced; other stored keys are left alone.
    #[default]
    Merge,
    /// Stored keys that are not declared are removed (only for users that declare the map;
    /// server-owned keys such as `provider` are never removed).
    Exact,
}

/// How a missing user is brought into existence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CreateMode {
    /// `POST /invite`: the user gets an invitation mail and picks a password.
    #[default]
    Invite,
    /// `POST /admin/users` with a password taken from `password` (a secret reference).
    Password,
}

/// One desired user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    // The two metadata objects are kept as their JSON text (one allocation each, where a map
    // took five for one key): a manifest of a million users held most of its memory there.
    // The schema still describes them as objects, which is what they are written as.
    /// The user's e-mail address, written exactly as given. It matches the server account whose
    /// address differs at most in letter case (the servers' own notion of one account).
    pub email: String,
    /// `app_metadata.roles`, compared as a set. Omit to leave roles alone; `[]` means no roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Keys of `user_metadata` to enforce. Omit to leave user metadata alone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "declared_object"
    )]
    #[schemars(with = "Option<Map<String, Value>>")]
    pub user_metadata: Option<Metadata>,
    /// Keys of `app_metadata` to enforce (not `roles`, `provider` or `managed_by`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "declared_object"
    )]
    #[schemars(with = "Option<Map<String, Value>>")]
    pub app_metadata: Option<Metadata>,
    /// How the user is created when missing.
    #[serde(default, skip_serializing_if = "is_default_create")]
    pub create: CreateMode,
    /// Initial password for `create: password`, as a reference; plaintext is rejected.
    /// Used only when the user is created, never to reset an existing password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// `true`: the account's e-mail is confirmed (a created user can log in at once, an
    /// unconfirmed existing user is confirmed). Defaults to `true` for `create: password`.
    /// The server cannot un-confirm, so `false` never changes an existing user, and an invited
    /// user who has not accepted yet is left to confirm by accepting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<bool>,
    /// The GoTrue `role` column. Omit to leave it alone; the server cannot clear it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The address this user had before: if the server has no user with `email` but one with
    /// this address, its e-mail is changed (keeping its id and password) instead of deleting
    /// it and creating a new account. Harmless once the old address is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// `true`: an existing account on this address that gotrue-sync does not manage may be
    /// taken over whatever `policy.adopt` says. Set it once you know the account is this
    /// person's: adoption gives it the entry's roles.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,
}

/// A declared metadata object, read through a map so that any serde format can read a
/// manifest: [`Metadata`]'s own reader keeps the text of JSON only.
fn declared_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Metadata>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.map(Metadata::from))
}

fn is_default_create(mode: &CreateMode) -> bool {
    *mode == CreateMode::Invite
}

pub use crate::secret::SecretRef;

impl UserSpec {
    /// A user spec with only an e-mail: every other field unmanaged.
    pub fn new(email: impl Into<String>) -> Self {
        UserSpec {
            email: email.into(),
            roles: None,
            user_metadata: None,
            app_metadata: None,
            create: CreateMode::Invite,
            password: None,
            confirmed: None,
            role: None,
            renamed_from: None,
            adopt: false,
        }
    }

    /// Whether a newly created account should be confirmed.
    pub fn confirm_on_create(&self) -> bool {
        self.confirmed
            .unwrap_or(self.create == CreateMode::Password)
    }
}

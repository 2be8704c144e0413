//! The pure diff: desired manifest × server users → [`Plan`]. No I/O, no clock, no
//! randomness: the same inputs give the same plan, byte for byte.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::change::{
    Adoption, Change, Conflict, ConflictingAccount, KeyChange, NewUser, PendingInvite, Plan,
    PlanPolicy, Reinvite, Removal, Rename, RoleChange, RolesChange, ServerState, Summary, Target,
    UserUpdate, PLAN_FORMAT_VERSION,
};
use super::fingerprint::user_fingerprint;
use crate::gotrue::{Flavor, MetadataMap, RemoteUser};
use crate::identity::{email_key, lookalike_fold, Collation};
use crate::manifest::{AdoptMode, CreateMode, Manifest, MetadataMode, Policy, PruneMode, UserSpec};
use crate::metadata::{self, Metadata};
use crate::ownership::{marker_for, reserved_app_key, MARKER_KEY};

/// Options that make a plan depend on more than the manifest and the users.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Re-send invitations pending for longer than this (delete + invite: the server
    /// cannot re-send).
    pub reinvite_pending_older_than: Option<std::time::Duration>,
    /// "Now" in Unix seconds, passed in so that the plan stays a pure function.
    pub now: u64,
    /// The server the plan is made against, recorded in the plan.
    pub target: Target,
    /// How many threads large manifests are matched on; `None`: one per core, up to four.
    /// The plan is the same for any count.
    pub threads: Option<std::num::NonZeroUsize>,
    /// The server's flavour: which metadata keys it writes itself, and so never compares or
    /// removes, and how it decides that two addresses collide.
    pub flavor: Flavor,
}

/// Computes the changes that make the server's users match the manifest.
pub fn plan(desired: &Manifest, actual: &[RemoteUser]) -> Plan {
    plan_with(desired, actual, &PlanOptions::default())
}

/// [`plan`] with options. The server fingerprint is not computed here (see
/// [`record_server_fingerprint`](super::record_server_fingerprint)).
pub fn plan_with(desired: &Manifest, actual: &[RemoteUser], options: &PlanOptions) -> Plan {
    let marker = marker_for(&desired.name);
    let policy = &desired.policy;
    let by_email = index_by_email(actual);
    let by_fold = index_by_fold(actual, options.flavor.collation());
    // Only renames need the set of listed addresses.
    let desired_keys: HashSet<Cow<'_, str>> =
        if desired.users.iter().any(|u| u.renamed_from.is_some()) {
            desired.users.iter().map(|u| email_key(&u.email)).collect()
        } else {
            HashSet::new()
        };

    let context = Context {
        desired,
        actual,
        options,
        marker: &marker,
        by_email: &by_email,
        by_fold: &by_fold,
        desired_keys: &desired_keys,
    };
    let parts = match_in_parallel(&desired.users, &context);

    let mut matched = vec![false; actual.len()];
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let mut pending_invites = Vec::new();
    let mut conflicts = Vec::new();
    let mut summary = Summary::default();
    // Merged in spec order, so the plan does not depend on how the work was split.
    for part in parts {
        for index in part.matched {
            matched[index] = true;
        }
        changes.extend(part.changes);
        warnings.extend(part.warnings);
        pending_invites.extend(part.pending_invites);
        conflicts.extend(part.conflicts);
        summary.unchanged += part.unchanged;
    }
    warnings.extend(lookalike_warnings(desired, actual, &matched));
    for (user, _) in actual.iter().zip(&matched).filter(|(_, m)| !**m) {
        let managed = user.is_managed_by(&marker);
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
        } else if managed {
            // Only `prune: none` keeps an account carrying this manifest's marker.
            summary.managed_not_pruned += 1;
        } else {
            summary.unmanaged_left_alone += 1;
        }
    }

    changes.sort_by_cached_key(|c| {
        (
            c.rank(),
            email_key(c.email()).into_owned(),
            c.email().to_owned(),
        )
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
        target: options.target.clone(),
        marker,
        policy: PlanPolicy {
            prune: policy.prune,
            max_deletes: policy.max_deletes,
            admin_roles: policy.admin_roles.clone(),
        },
        summary,
        changes,
        server: ServerState {
            users: actual.len(),
            fingerprint: None,
        },
        warnings,
        conflicts,
        pending_invites,
        secrets_dir: None,
    }
}

/// The server users by e-mail key, hashed with foldhash (seeded per process) rather than
/// SipHash: the index is built on one thread before matching starts, a million insertions
/// for a million users.
type EmailIndex<'a> = HashMap<Cow<'a, str>, Slot, foldhash::fast::RandomState>;

/// The server users by e-mail key. Keys borrow from the users wherever the address already
/// is its own key, and a slot holds one index inline: a plan of 100,000 users allocates
/// nothing per user here.
fn index_by_email(actual: &[RemoteUser]) -> EmailIndex<'_> {
    let mut by_email =
        EmailIndex::with_capacity_and_hasher(actual.len(), foldhash::fast::RandomState::default());
    for (index, user) in actual.iter().enumerate() {
        match by_email.entry(email_key(&user.email)) {
            Entry::Vacant(entry) => {
                entry.insert(Slot::One(index));
            }
            Entry::Occupied(mut entry) => entry.get_mut().push(index),
        }
    }
    by_email
}

/// The server users whose address folds under `collation` to something other than its key
/// (non-ASCII addresses on netlify), by that fold: a manifest address that misses every key
/// but hits a fold would be refused by the server. ASCII addresses fold to their key, so
/// [`index_by_email`] already holds them.
fn index_by_fold(actual: &[RemoteUser], collation: Collation) -> HashMap<Cow<'_, str>, usize> {
    let mut by_fold = HashMap::new();
    if collation == Collation::KeyOnly {
        return by_fold;
    }
    for (index, user) in actual
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.email.is_ascii())
    {
        by_fold.entry(collation.fold(&user.email)).or_insert(index);
    }
    by_fold
}

/// The server account that `email` would collide with on creation although it is another
/// account (same fold, different key), if any.
fn colliding<'a>(email: &str, context: &Context<'a>) -> Option<&'a RemoteUser> {
    let collation = context.options.flavor.collation();
    if collation == Collation::KeyOnly {
        return None;
    }
    let fold = collation.fold(email);
    let key = email_key(email);
    let index = context
        .by_email
        .get(&fold)
        .map(|slot| slot.indices()[0])
        .or_else(|| context.by_fold.get(&fold).copied())?;
    let user = &context.actual[index];
    (email_key(&user.email) != key).then_some(user)
}

/// Warnings about server accounts no entry matched whose address looks like a manifest
/// address (spaces around it, invisible characters, Cyrillic or Greek look-alikes, accents):
/// another account, which the plan leaves alone and never adopts.
fn lookalike_warnings(desired: &Manifest, actual: &[RemoteUser], matched: &[bool]) -> Vec<String> {
    let plain = |email: &str| email.bytes().all(|b| b.is_ascii_graphic());
    let unmatched: Vec<&RemoteUser> = actual
        .iter()
        .zip(matched)
        .filter(|(_, m)| !**m)
        .map(|(u, _)| u)
        .collect();
    // Two plain addresses look alike only when their keys are equal, and then they match.
    // Most plans leave no server user unmatched: then the manifest's addresses need no look.
    if unmatched.is_empty()
        || (unmatched.iter().all(|u| plain(&u.email))
            && desired.users.iter().all(|u| plain(&u.email)))
    {
        return Vec::new();
    }
    let by_look: HashMap<String, &str> = desired
        .users
        .iter()
        .map(|u| (lookalike_fold(&u.email), u.email.as_str()))
        .collect();
    let mut warnings: Vec<String> = unmatched
        .into_iter()
        .filter_map(|user| {
            let meant = by_look.get(&lookalike_fold(&user.email))?;
            Some(format!(
                "server account {:?} (id {}) looks like the manifest's {meant:?} but is a different account; it is left alone and never adopted",
                user.email, user.id
            ))
        })
        .collect();
    warnings.sort();
    warnings
}

/// Manifests at least this large have their users matched on several threads.
const PARALLEL_MATCH_MIN: usize = 20_000;

/// Pieces of the specs per matching thread (see [`match_in_parallel`]).
const PIECES_PER_THREAD: usize = 8;

/// What matching every spec needs to read; shared, read-only, by the threads.
struct Context<'a> {
    desired: &'a Manifest,
    actual: &'a [RemoteUser],
    options: &'a PlanOptions,
    marker: &'a str,
    by_email: &'a EmailIndex<'a>,
    by_fold: &'a HashMap<Cow<'a, str>, usize>,
    desired_keys: &'a HashSet<Cow<'a, str>>,
}

/// What matching a run of specs found.
#[derive(Default)]
struct Matched {
    changes: Vec<Change>,
    warnings: Vec<String>,
    pending_invites: Vec<PendingInvite>,
    conflicts: Vec<Conflict>,
    unchanged: usize,
    /// Indices of the server users the specs took.
    matched: Vec<usize>,
}

/// Matches the specs on several threads (by default one per core, up to four), the calling
/// thread among them. Matching is a hash lookup and a few comparisons per user, bound by
/// memory latency rather than arithmetic, so a second core nearly halves it on 100,000
/// users (see BENCHMARKS.md). The specs are cut into [`PIECES_PER_THREAD`] pieces per
/// thread, taken in turn: with one piece each, a thread slowed by a busier core or colder
/// memory left the other waiting (35 ms against 78 ms in one profile of 100k). Small
/// manifests are matched here without spawning anything.
fn match_in_parallel(specs: &[UserSpec], context: &Context<'_>) -> Vec<Matched> {
    let threads = context.options.threads.map_or_else(
        || {
            std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(4)
        },
        usize::from,
    );
    if threads < 2 || specs.len() < PARALLEL_MATCH_MIN {
        return vec![match_specs(specs, context)];
    }
    let pieces: Vec<&[UserSpec]> = specs
        .chunks(specs.len().div_ceil(threads * PIECES_PER_THREAD))
        .collect();
    let next = AtomicUsize::new(0);
    let take_pieces = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(piece) = pieces.get(index) else {
                return done;
            };
            done.push((index, match_specs(piece, context)));
        }
    };
    std::thread::scope(|scope| {
        // A thread that cannot be had leaves its pieces to the others.
        let others: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("plan".into())
                    .spawn_scoped(scope, take_pieces)
                    .ok()
            })
            .collect();
        let mut parts = take_pieces();
        for handle in others {
            parts.extend(
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        parts.sort_unstable_by_key(|(index, _)| *index);
        parts.into_iter().map(|(_, part)| part).collect()
    })
}

/// Finds each spec's server user (by address, else by `renamed_from`) and works out its
/// change.
fn match_specs(specs: &[UserSpec], context: &Context<'_>) -> Matched {
    let Context {
        desired,
        actual,
        options,
        marker,
        by_email,
        desired_keys,
        ..
    } = context;
    let policy = &desired.policy;
    let mut found = Matched::default();
    for spec in specs {
        let direct = by_email
            .get(&email_key(&spec.email))
            .map(Slot::indices)
            .unwrap_or_default();
        // A rename applies only while the new address is absent and the old one is present
        // and not itself listed.
        let renamed = spec
            .renamed_from
            .as_deref()
            .map(email_key)
            .filter(|old| direct.is_empty() && !desired_keys.contains(old))
            .and_then(|old| by_email.get(&old))
            .map(Slot::indices)
            .unwrap_or_default();
        let indices = if direct.is_empty() { renamed } else { direct };
        let Some(&first) = indices.first() else {
            match colliding(&spec.email, context) {
                Some(user) => found.conflicts.push(Conflict {
                    email: spec.email.clone(),
                    account: Some(ConflictingAccount {
                        id: user.id.clone(),
                        email: user.email.clone(),
                    }),
                    reason: format!(
                        "the server already has {:?}, which its database takes for the same address (it ignores case and accents), so creating {:?} would be answered 422 \"Email address already registered by another user\"",
                        user.email, spec.email
                    ),
                    hint: format!(
                        "if {:?} is this person, write the entry as {:?}; otherwise choose another address. Re-running will not help",
                        user.email, user.email
                    ),
                }),
                None => found.changes.push(new_user(spec, policy, marker)),
            }
            continue;
        };
        if indices.len() > 1 {
            found.warnings.push(format!(
                "{} server users share the e-mail {}; the first listed (id {}) is managed and the others are left alone",
                indices.len(),
                actual[first].email,
                actual[first].id
            ));
        }
        found.matched.extend_from_slice(indices);
        let user = &actual[first];
        let app = AppFields::of(user, marker);
        if let Some(conflict) = refused_adoption(spec, user, &app, policy.adopt) {
            found.conflicts.push(conflict);
            continue;
        }
        if let Some(since) = user
            .invited_at
            .as_ref()
            .filter(|_| user.is_pending_invite())
        {
            if spec.create == CreateMode::Invite && pending_too_long(since, options) {
                if let Change::Invite(mut invite) = new_user(spec, policy, marker) {
                    invite.user_metadata = reinvited_user_metadata(spec, user, policy);
                    found.changes.push(Change::Reinvite(Reinvite {
                        id: user.id.clone(),
                        email: user.email.clone(),
                        pending_since: since.clone(),
                        expected: user_fingerprint(user),
                        invite,
                    }));
                    continue;
                }
            }
            found.pending_invites.push(PendingInvite {
                email: user.email.clone(),
                since: since.clone(),
            });
        }
        match update_for(
            spec,
            user,
            &app,
            direct.is_empty(),
            desired,
            marker,
            options.flavor,
        ) {
            Some(update) => {
                if let Some(adoption) = update.adopt.as_ref().filter(|a| !a.grants.is_empty()) {
                    found.warnings.push(format!(
                        "adopting {:?} (id {}), an account gotrue-sync did not create, grants it {}; make sure it is the person the manifest means",
                        update.email,
                        update.id,
                        adoption.grants.join(", ")
                    ));
                }
                found.changes.push(Change::Update(update));
            }
            None => found.unchanged += 1,
        }
    }
    found
}

/// Why `user`, found for `spec` but not marked as this manifest's, may not be adopted under
/// `mode`; `None` when it may (or is already ours).
fn refused_adoption(
    spec: &UserSpec,
    user: &RemoteUser,
    app: &AppFields<'_>,
    mode: AdoptMode,
) -> Option<Conflict> {
    if spec.adopt || app.managed {
        return None;
    }
    let why = match mode {
        AdoptMode::All => return None,
        AdoptMode::Confirmed if user.confirmed_at.is_some() => return None,
        AdoptMode::Confirmed => "its address is not confirmed and `policy.adopt` is `confirmed`",
        AdoptMode::None => "`policy.adopt` is `none`",
    };
    let owner = match app.owner {
        Some(owner) => format!("managed by {}", metadata::parsed(owner)),
        None => "not created by gotrue-sync".to_owned(),
    };
    Some(Conflict {
        email: spec.email.clone(),
        account: Some(ConflictingAccount {
            id: user.id.clone(),
            email: user.email.clone(),
        }),
        reason: format!(
            "the server already has an account {:?} (id {}, {owner}), and {why}: anyone who can sign up could have made it",
            user.email, user.id
        ),
        hint: "check whose account it is; if it is this person's, add `adopt: true` to the entry, otherwise delete the account or change the address".into(),
    })
}

/// What the diff reads of a matched user's app metadata, found in one pass over its text.
struct AppFields<'a> {
    /// The ownership marker, any value.
    owner: Option<&'a RawValue>,
    /// `roles`, any value.
    roles: Option<&'a RawValue>,
    /// Whether the marker is this manifest's.
    managed: bool,
}

impl<'a> AppFields<'a> {
    fn of(user: &'a RemoteUser, marker: &str) -> Self {
        let [owner, roles] = user.app_metadata.get_each([MARKER_KEY, "roles"]);
        AppFields {
            owner,
            roles,
            managed: RemoteUser::owned_by(owner, marker),
        }
    }
}

/// The server users that share one e-mail key: nearly always one, kept inline.
enum Slot {
    One(usize),
    Many(Vec<usize>),
}

impl Slot {
    fn push(&mut self, index: usize) {
        match self {
            Slot::One(first) => *self = Slot::Many(vec![*first, index]),
            Slot::Many(indices) => indices.push(index),
        }
    }

    fn indices(&self) -> &[usize] {
        match self {
            Slot::One(index) => std::slice::from_ref(index),
            Slot::Many(indices) => indices,
        }
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
        email: spec.email.clone(),
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

/// The user metadata a re-invited user starts with: the pending account's, changed as an
/// in-place update would change it. Deleting the account must not lose what other systems
/// (or the user) stored in it.
fn reinvited_user_metadata(
    spec: &UserSpec,
    pending: &RemoteUser,
    policy: &Policy,
) -> Map<String, Value> {
    let mut metadata = pending.user_metadata.to_map();
    let changes = diff_map(
        spec.user_metadata.as_ref(),
        &pending.user_metadata,
        policy.user_metadata,
        |_| false,
        |key| policy.ignores("user_metadata", key),
    );
    for change in changes {
        match change.after {
            Some(value) => metadata.insert(change.key, value),
            None => metadata.remove(&change.key),
        };
    }
    metadata
}

/// The keys a new user starts with: declared, not `null` ("must not exist"), not ignored.
fn initial(declared: Option<&Metadata>, policy: &Policy, section: &str) -> Map<String, Value> {
    declared
        .into_iter()
        .flat_map(Metadata::set_entries)
        .filter(|(key, _)| !policy.ignores(section, key))
        .collect()
}

/// What to change on `user` to match `spec`, or `None` when it already does. `renamed`:
/// the user was found by the spec's `renamed_from`, not by its address.
fn update_for(
    spec: &UserSpec,
    user: &RemoteUser,
    app: &AppFields<'_>,
    renamed: bool,
    desired: &Manifest,
    marker: &str,
    flavor: Flavor,
) -> Option<UserUpdate> {
    let mut adopt = (!app.managed).then(|| Adoption {
        previous_owner: app.owner.map(metadata::parsed),
        grants: Vec::new(),
    });
    let policy = &desired.policy;
    let mut app_metadata = diff_map(
        spec.app_metadata.as_ref(),
        &user.app_metadata,
        policy.app_metadata,
        |key| reserved_app_key(key).is_some(),
        |key| policy.ignores("app_metadata", key) || flavor.is_server_owned(MetadataMap::App, key),
    );
    if let Some(adoption) = &adopt {
        app_metadata.push(KeyChange {
            key: MARKER_KEY.into(),
            before: adoption.previous_owner.clone(),
            after: Some(Value::String(marker.to_owned())),
        });
        app_metadata.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let roles = spec
        .roles
        .as_ref()
        .and_then(|wanted| roles_change(wanted, app.roles));
    let role = spec
        .role
        .as_ref()
        .map(|r| r.trim())
        .filter(|r| *r != user.role)
        .map(|r| RoleChange {
            before: user.role.clone(),
            after: r.to_owned(),
        });
    if let Some(adoption) = &mut adopt {
        adoption.grants = adoption_grants(roles.as_ref(), role.as_ref(), policy);
    }
    // `id`, `email` and `expected` are filled in only once the update is known not to be
    // empty: most users of a large plan do not change, and these would be allocated for each.
    let mut update = UserUpdate {
        id: String::new(),
        email: String::new(),
        adopt,
        roles,
        app_metadata,
        user_metadata: diff_map(
            spec.user_metadata.as_ref(),
            &user.user_metadata,
            policy.user_metadata,
            |_| false,
            |key| {
                policy.ignores("user_metadata", key)
                    || flavor.is_server_owned(MetadataMap::User, key)
            },
        ),
        // Confirming a pending invitation would void its link: an invited user confirms by
        // accepting.
        confirm: spec.confirmed == Some(true)
            && user.confirmed_at.is_none()
            && !(spec.create == CreateMode::Invite && user.is_pending_invite()),
        rename: renamed.then(|| Rename {
            from: user.email.clone(),
            to: spec.email.clone(),
        }),
        role,
        expected: String::new(),
    };
    if update.is_empty() {
        return None;
    }
    update.id = user.id.clone();
    update.email = user.email.clone();
    update.expected = user_fingerprint(user);
    Some(update)
}

/// Keys to set or remove so that `actual` holds `desired` (merge) or equals it (exact,
/// except `protected` keys). A declared `null` means "must not exist". Declared and stored
/// values are compared on their JSON text, and parsed only for a change.
fn diff_map(
    desired: Option<&Metadata>,
    actual: &Metadata,
    mode: MetadataMode,
    protected: impl Fn(&str) -> bool,
    ignored: impl Fn(&str) -> bool,
) -> Vec<KeyChange> {
    let Some(desired) = desired else {
        return Vec::new();
    };
    let desired = desired.entries();
    let mut changes = Vec::new();
    for (key, value) in desired.iter().filter(|(k, _)| !ignored(k)) {
        let stored = actual.get(key);
        let must_not_exist = value.get() == "null";
        let changed = match stored {
            Some(_) if must_not_exist => true,
            Some(stored) => !metadata::same_value(stored, value),
            None => !must_not_exist,
        };
        if changed {
            changes.push(KeyChange {
                key: key.clone().into_owned(),
                before: stored.map(metadata::parsed),
                after: (!must_not_exist).then(|| metadata::parsed(value)),
            });
        }
    }
    if mode == MetadataMode::Exact {
        let mut declared: Vec<&str> = desired.iter().map(|(key, _)| key.as_ref()).collect();
        declared.sort_unstable();
        for (key, value) in actual.entries() {
            if declared.binary_search(&key.as_ref()).is_err() && !protected(&key) && !ignored(&key)
            {
                changes.push(KeyChange {
                    key: key.into_owned(),
                    before: Some(metadata::parsed(value)),
                    after: None,
                });
            }
        }
    }
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    changes
}

/// What an adoption hands over: roles gained, a new `role` column (an admin role named).
fn adoption_grants(
    roles: Option<&RolesChange>,
    role: Option<&RoleChange>,
    policy: &Policy,
) -> Vec<String> {
    let mut grants = Vec::new();
    if let Some(roles) = roles.filter(|r| !r.added.is_empty()) {
        grants.push(format!("roles: {}", roles.added.join(", ")));
    }
    if let Some(role) = role {
        if policy.opens_admin_api(&role.after) {
            grants.push(format!(
                "role: {} (administrator of every user)",
                role.after
            ));
        } else {
            grants.push(format!("role: {}", role.after));
        }
    }
    grants
}

fn roles_change(wanted: &[String], stored: Option<&RawValue>) -> Option<RolesChange> {
    if same_roles(wanted, stored) {
        return None;
    }
    let after = dedup(wanted);
    let current: Option<Vec<String>> = match stored {
        None => Some(Vec::new()),
        Some(raw) if raw.get() == "null" => Some(Vec::new()),
        Some(raw) => metadata::strings(raw),
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
        before: stored.map_or(Value::Null, metadata::parsed),
        after,
        added,
        removed,
    })
}

/// Whether the stored roles equal `wanted` as sets, read from the JSON text without
/// allocating. Anything but an array of strings (or no roles at all) is left to the full
/// comparison in [`roles_change`].
fn same_roles(wanted: &[String], stored: Option<&RawValue>) -> bool {
    match stored {
        None => wanted.is_empty(),
        Some(raw) if raw.get() == "null" => wanted.is_empty(),
        Some(raw) => metadata::same_string_set(raw, wanted) == Some(true),
    }
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

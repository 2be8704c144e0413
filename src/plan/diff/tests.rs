use std::num::NonZeroUsize;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::manifest::{Manifest, Policy, SecretRef};
use crate::plan::strategies::scenario;
use crate::plan::{record_server_fingerprint, server_fingerprint};

/// A manifest with `policy`, adopting every account as before adoption policies existed
/// (tests of `policy.adopt` use [`strict_manifest`]).
fn manifest(policy: Policy, users: Vec<UserSpec>) -> Manifest {
    Manifest {
        version: 1,
        name: "site".into(),
        policy: Policy {
            adopt: AdoptMode::All,
            ..policy
        },
        users,
    }
}

/// A manifest with the default policy, whose `adopt` is `none`.
fn strict_manifest(users: Vec<UserSpec>) -> Manifest {
    Manifest {
        version: 1,
        name: "site".into(),
        policy: Policy::default(),
        users,
    }
}

fn remote(id: &str, email: &str, app: Value, user: Value) -> RemoteUser {
    serde_json::from_value(json!({
        "id": id, "email": email, "role": "", "aud": "",
        "confirmed_at": "2026-01-01T00:00:00Z",
        "app_metadata": app, "user_metadata": user
    }))
    .expect("user")
}

/// A manifest entry's metadata object.
fn obj(value: Value) -> Metadata {
    match value {
        Value::Object(map) => Metadata::from(map),
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn missing_users_are_invited_or_created_with_marker_and_roles() {
    let mut alice = UserSpec::new("Alice@Example.com");
    alice.roles = Some(vec!["editor".into(), "admin".into(), "editor".into()]);
    alice.app_metadata = Some(obj(json!({"team": "growth"})));
    alice.user_metadata = Some(obj(json!({"full_name": "Alice"})));
    let mut bot = UserSpec::new("bot@example.com");
    bot.create = CreateMode::Password;
    bot.password = Some(SecretRef::Env {
        env: "BOT_PW".into(),
    });
    let plan = plan(&manifest(Policy::default(), vec![bot, alice]), &[]);
    assert_eq!(plan.summary.invite, 1);
    assert_eq!(plan.summary.create, 1);
    let Change::Invite(invite) = &plan.changes[0] else {
        panic!("invite first: {:?}", plan.changes)
    };
    assert_eq!(invite.email, "Alice@Example.com");
    assert_eq!(
        Value::Object(invite.app_metadata.clone()),
        json!({"team": "growth", "roles": ["editor", "admin"], "managed_by": "gotrue-sync:site"})
    );
    let Change::Create(create) = &plan.changes[1] else {
        panic!("create second")
    };
    assert!(create.confirm, "password creates are confirmed by default");
}

#[test]
fn updates_only_what_differs_and_omitted_fields_are_untouched() {
    let stored = remote(
        "1",
        "alice@example.com",
        json!({"provider": "email", "roles": ["viewer", "editor"], "managed_by": "gotrue-sync:site", "team": "old", "keep": 1}),
        json!({"full_name": "Alice", "avatar": "x"}),
    );
    let mut spec = UserSpec::new("ALICE@example.com ");
    spec.roles = Some(vec!["editor".into(), "admin".into()]);
    spec.app_metadata = Some(obj(json!({"team": "growth"})));
    let plan = plan(
        &manifest(Policy::default(), vec![spec]),
        std::slice::from_ref(&stored),
    );
    assert_eq!(plan.summary.update, 1);
    let Change::Update(update) = &plan.changes[0] else {
        panic!("update")
    };
    assert!(update.adopt.is_none());
    let roles = update.roles.as_ref().expect("roles change");
    assert_eq!(roles.added, vec!["admin"]);
    assert_eq!(roles.removed, vec!["viewer"]);
    assert_eq!(update.app_metadata.len(), 1);
    assert_eq!(update.app_metadata[0].key, "team");
    assert!(
        update.user_metadata.is_empty(),
        "user_metadata omitted, so untouched"
    );
    assert_eq!(update.expected, user_fingerprint(&stored));
}

#[test]
fn roles_compare_as_sets() {
    let stored = remote(
        "1",
        "a@example.com",
        json!({"roles": ["b", "a"], "managed_by": "gotrue-sync:site"}),
        json!({}),
    );
    let mut spec = UserSpec::new("a@example.com");
    spec.roles = Some(vec!["a".into(), "b".into()]);
    let plan = plan(&manifest(Policy::default(), vec![spec]), &[stored]);
    assert!(!plan.summary.has_changes(), "{:?}", plan.changes);
    assert_eq!(plan.summary.unchanged, 1);
}

#[test]
fn exact_mode_removes_undeclared_keys_but_never_provider() {
    let stored = remote(
        "1",
        "a@example.com",
        json!({"provider": "email", "managed_by": "gotrue-sync:site", "roles": ["x"], "stale": true}),
        json!({"a": 1, "b": 2}),
    );
    let mut spec = UserSpec::new("a@example.com");
    spec.app_metadata = Some(Metadata::default());
    spec.user_metadata = Some(obj(json!({"a": 1})));
    let policy = Policy {
        app_metadata: MetadataMode::Exact,
        user_metadata: MetadataMode::Exact,
        ..Policy::default()
    };
    let plan = plan(&manifest(policy, vec![spec]), &[stored]);
    let Change::Update(update) = &plan.changes[0] else {
        panic!("update")
    };
    let app: Vec<_> = update
        .app_metadata
        .iter()
        .map(|c| (c.key.as_str(), c.after.is_none()))
        .collect();
    assert_eq!(app, vec![("stale", true)]);
    let user: Vec<_> = update
        .user_metadata
        .iter()
        .map(|c| (c.key.as_str(), c.after.is_none()))
        .collect();
    assert_eq!(user, vec![("b", true)]);
}

#[test]
fn listed_unmarked_user_is_adopted() {
    let stored = remote(
        "1",
        "a@example.com",
        json!({"provider": "email", "managed_by": "gotrue-sync:other"}),
        json!({}),
    );
    let plan = plan(
        &manifest(Policy::default(), vec![UserSpec::new("a@example.com")]),
        &[stored],
    );
    let Change::Update(update) = &plan.changes[0] else {
        panic!("update")
    };
    assert_eq!(
        update.adopt.as_ref().and_then(|a| a.previous_owner.clone()),
        Some(json!("gotrue-sync:other"))
    );
    assert_eq!(
        update.app_metadata[0].after,
        Some(json!("gotrue-sync:site"))
    );
}

#[test]
fn prune_policies_decide_deletes_and_count_the_rest() {
    let ours = remote(
        "1",
        "ours@example.com",
        json!({"managed_by": "gotrue-sync:site"}),
        json!({}),
    );
    let theirs = remote(
        "2",
        "theirs@example.com",
        json!({"managed_by": "gotrue-sync:other"}),
        json!({}),
    );
    let loose = remote("3", "loose@example.com", json!({}), json!({}));
    let users = [ours, theirs, loose];
    let run = |prune| {
        let policy = Policy {
            prune,
            ..Policy::default()
        };
        plan(&manifest(policy, vec![]), &users)
    };
    let none = run(PruneMode::None);
    // The marker-carrying account is this manifest's: kept, but not "unmanaged".
    assert_eq!(
        (
            none.summary.delete,
            none.summary.unmanaged_left_alone,
            none.summary.managed_not_pruned
        ),
        (0, 2, 1)
    );
    let managed = run(PruneMode::Managed);
    assert_eq!(
        (
            managed.summary.delete,
            managed.summary.unmanaged_left_alone,
            managed.summary.managed_not_pruned
        ),
        (1, 2, 0)
    );
    assert_eq!(managed.changes[0].email(), "ours@example.com");
    let all = run(PruneMode::All);
    assert_eq!(
        (all.summary.delete, all.summary.unmanaged_left_alone),
        (3, 0)
    );
}

/// A decimal of 17 significant digits is compared, and written, as declared. serde_json's
/// default float reader lands one unit in the last place off for some of them; a declared
/// object is kept as text and read back, so it needs the exact reader (`float_roundtrip`).
#[test]
fn a_long_decimal_is_compared_and_written_exactly_as_declared() {
    let declared = 21.489705265908874_f64;
    let neighbour = 21.48970526590887_f64;
    assert_eq!(declared.to_bits() - neighbour.to_bits(), 1);
    let stored = |score: &str| -> RemoteUser {
        let text = format!(
            r#"{{"id": "1", "email": "a@example.com", "confirmed_at": "2026-01-01T00:00:00Z",
                "app_metadata": {{"managed_by": "gotrue-sync:site"}},
                "user_metadata": {{"score": {score}}}}}"#
        );
        serde_json::from_str(&text).expect("user")
    };
    let mut spec = UserSpec::new("a@example.com");
    spec.user_metadata = Some(obj(json!({ "score": declared })));
    let desired = manifest(Policy::default(), vec![spec]);
    let same = plan(&desired, &[stored("21.489705265908874")]);
    assert!(same.changes.is_empty(), "{:?}", same.changes);
    let next = plan(&desired, &[stored("21.48970526590887")]);
    let [Change::Update(update)] = next.changes.as_slice() else {
        panic!("one update: {:?}", next.changes)
    };
    assert_eq!(update.user_metadata.len(), 1);
    assert_eq!(update.user_metadata[0].after, Some(json!(declared)));
    assert_eq!(update.user_metadata[0].before, Some(json!(neighbour)));
}

#[test]
fn plans_are_deterministic() {
    let users: Vec<RemoteUser> = (0..20)
        .map(|i| {
            remote(
                &i.to_string(),
                &format!("u{i}@example.com"),
                json!({"managed_by": "gotrue-sync:site"}),
                json!({}),
            )
        })
        .collect();
    let specs: Vec<UserSpec> = (10..30)
        .map(|i| UserSpec::new(format!("u{i}@example.com")))
        .collect();
    let m = manifest(Policy::default(), specs);
    let mut reversed = users.clone();
    reversed.reverse();
    let a = serde_json::to_string(&plan(&m, &users)).expect("json");
    let b = serde_json::to_string(&plan(&m, &reversed)).expect("json");
    assert_eq!(a, b);
}

// --- properties -----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn managed_prune_never_deletes_an_unmarked_user((desired, actual) in scenario()) {
        let mut desired = desired;
        desired.policy.prune = PruneMode::Managed;
        let result = plan(&desired, &actual);
        for change in &result.changes {
            if let Change::Delete(removal) = change {
                let user = actual.iter().find(|u| u.id == removal.id).expect("deleted user exists");
                prop_assert_eq!(user.app_metadata.value(MARKER_KEY), Some(json!("gotrue-sync:site")));
            }
        }
    }

    #[test]
    fn ignored_keys_are_never_compared_or_written((desired, actual) in scenario()) {
        let result = plan(&desired, &actual);
        let ignored = |section: &str, key: &str| desired.policy.ignores(section, key);
        for change in &result.changes {
            match change {
                Change::Update(update) => {
                    prop_assert!(update.app_metadata.iter().all(|c| !ignored("app_metadata", &c.key)));
                    prop_assert!(update.user_metadata.iter().all(|c| !ignored("user_metadata", &c.key)));
                }
                Change::Invite(user) | Change::Create(user) => {
                    prop_assert!(user.app_metadata.keys().all(|k| !ignored("app_metadata", k)));
                    prop_assert!(user.user_metadata.keys().all(|k| !ignored("user_metadata", k)));
                }
                _ => {}
            }
        }
    }

    #[test]
    fn omitted_fields_are_never_touched((desired, actual) in scenario()) {
        let result = plan(&desired, &actual);
        for change in &result.changes {
            let Change::Update(update) = change else { continue };
            let spec = desired.users.iter().find(|s| email_key(&s.email) == email_key(&update.email)).expect("spec");
            if spec.roles.is_none() { prop_assert!(update.roles.is_none()); }
            if spec.user_metadata.is_none() { prop_assert!(update.user_metadata.is_empty()); }
            if spec.role.is_none() { prop_assert!(update.role.is_none()); }
            if spec.app_metadata.is_none() {
                prop_assert!(update.app_metadata.iter().all(|c| c.key == MARKER_KEY));
            }
            if desired.policy.app_metadata == MetadataMode::Exact {
                prop_assert!(update.app_metadata.iter().all(|c| c.key != "provider"));
            }
        }
    }
}

#[test]
fn rename_updates_the_existing_account() {
    let stored = remote(
        "42",
        "old@example.com",
        json!({"managed_by": "gotrue-sync:site"}),
        json!({}),
    );
    let mut spec = UserSpec::new("new@example.com");
    spec.renamed_from = Some("OLD@example.com".into());
    let result = plan(
        &manifest(Policy::default(), vec![spec.clone()]),
        std::slice::from_ref(&stored),
    );
    assert_eq!(
        (
            result.summary.update,
            result.summary.delete,
            result.summary.invite
        ),
        (1, 0, 0)
    );
    let Change::Update(update) = &result.changes[0] else {
        panic!("update")
    };
    assert_eq!(update.id, "42");
    let rename = update.rename.as_ref().expect("rename");
    assert_eq!(
        (rename.from.as_str(), rename.to.as_str()),
        ("old@example.com", "new@example.com")
    );
    // Once the old address is gone the field is harmless.
    let renamed = remote(
        "42",
        "new@example.com",
        json!({"managed_by": "gotrue-sync:site"}),
        json!({}),
    );
    assert!(!plan(&manifest(Policy::default(), vec![spec]), &[renamed])
        .summary
        .has_changes());
}

#[test]
fn pending_invites_are_listed_and_reinvited_only_past_the_age() {
    let mut stored = remote(
        "7",
        "p@example.com",
        json!({"managed_by": "gotrue-sync:site"}),
        json!({}),
    );
    stored.confirmed_at = None;
    stored.invited_at = Some("2026-01-01T00:00:00Z".into());
    let mut spec = UserSpec::new("p@example.com");
    spec.confirmed = Some(true);
    let desired = manifest(Policy::default(), vec![spec]);
    let listed = plan(&desired, std::slice::from_ref(&stored));
    assert!(
        !listed.summary.has_changes(),
        "a pending invitation is not confirmed by the plan"
    );
    assert_eq!(listed.pending_invites.len(), 1);

    let invited_at = 1_767_225_600; // 2026-01-01T00:00:00Z
    let week = std::time::Duration::from_secs(7 * 86_400);
    let options = |now| PlanOptions {
        reinvite_pending_older_than: Some(week),
        now,
        ..PlanOptions::default()
    };
    let young = plan_with(
        &desired,
        std::slice::from_ref(&stored),
        &options(invited_at + 6 * 86_400),
    );
    assert_eq!(young.summary.reinvite, 0);
    let old = plan_with(
        &desired,
        std::slice::from_ref(&stored),
        &options(invited_at + 8 * 86_400),
    );
    assert_eq!(old.summary.reinvite, 1);
    assert_eq!(old.summary.removals(), 1);
    let Change::Reinvite(reinvite) = &old.changes[0] else {
        panic!("reinvite")
    };
    assert_eq!(reinvite.id, "7");
}

#[test]
fn the_server_fingerprint_is_recorded_only_on_request() {
    let users = [
        remote("1", "a@example.com", json!({}), json!({})),
        remote("2", "b@example.com", json!({}), json!({})),
    ];
    let mut planned = plan(&manifest(Policy::default(), vec![]), &users);
    assert_eq!(planned.server.users, 2);
    assert_eq!(planned.server.fingerprint, None);
    record_server_fingerprint(&mut planned, &users);
    assert_eq!(planned.server.fingerprint, Some(server_fingerprint(&users)));
    let reordered = [users[1].clone(), users[0].clone()];
    assert_eq!(server_fingerprint(&reordered), server_fingerprint(&users));
}

#[test]
fn roles_compare_as_sets_whatever_the_stored_shape() {
    let spec = |roles: &[&str]| {
        let mut spec = UserSpec::new("a@example.com");
        spec.roles = Some(roles.iter().map(|r| (*r).to_owned()).collect());
        spec
    };
    let user = |roles: Value| {
        remote(
            "1",
            "a@example.com",
            json!({"managed_by": "gotrue-sync:site", "roles": roles}),
            json!({}),
        )
    };
    let changes = |spec: UserSpec, user: RemoteUser| {
        plan(&manifest(Policy::default(), vec![spec]), &[user])
            .summary
            .update
    };
    assert_eq!(changes(spec(&["b", "a"]), user(json!(["a", "b"]))), 0);
    assert_eq!(changes(spec(&["a", "a"]), user(json!(["a"]))), 0);
    assert_eq!(changes(spec(&[]), user(Value::Null)), 0);
    assert_eq!(changes(spec(&["a"]), user(json!(["a", "b"]))), 1);
    assert_eq!(changes(spec(&["a", "b"]), user(json!(["a"]))), 1);
    assert_eq!(changes(spec(&["a"]), user(json!("a"))), 1);
    assert_eq!(changes(spec(&["1"]), user(json!([1]))), 1);
}

#[test]
fn a_manifest_matched_on_several_threads_plans_as_one_would() {
    // Above PARALLEL_MATCH_MIN the specs are split across threads; the plan must be the
    // same as a single pass: every change, in order, and warnings in manifest order. The
    // thread count is forced, so the split happens on a one-core machine too.
    let count = PARALLEL_MATCH_MIN * 2;
    let marker = json!({"managed_by": "gotrue-sync:site", "roles": ["member"]});
    let mut users: Vec<RemoteUser> = (0..count)
        .map(|i| {
            remote(
                &format!("id-{i}"),
                &format!("user{i}@example.com"),
                marker.clone(),
                json!({}),
            )
        })
        .collect();
    // Two addresses held twice on the server, one early and one late in the manifest.
    users.push(remote(
        "dup-a",
        "USER3@example.com",
        marker.clone(),
        json!({}),
    ));
    users.push(remote(
        "dup-b",
        "user39000@example.com",
        marker.clone(),
        json!({}),
    ));
    let specs: Vec<UserSpec> = (0..count)
        .map(|i| {
            let mut spec = UserSpec::new(format!("user{i}@example.com"));
            let role = if i % 1000 == 7 { "editor" } else { "member" };
            spec.roles = Some(vec![role.into()]);
            spec
        })
        .chain((0..3).map(|i| UserSpec::new(format!("new{i}@example.com"))))
        .collect();
    let desired = manifest(Policy::default(), specs.clone());
    let four = PlanOptions {
        threads: NonZeroUsize::new(4),
        ..PlanOptions::default()
    };
    let by_email = index_by_email(&users);
    let no_renames = HashSet::new();
    let no_folds = HashMap::new();
    let context = |options| Context {
        desired: &desired,
        actual: &users,
        options,
        marker: "gotrue-sync:site",
        by_email: &by_email,
        by_fold: &no_folds,
        desired_keys: &no_renames,
    };
    assert_eq!(
        match_in_parallel(&specs, &context(&four)).len(),
        4 * PIECES_PER_THREAD,
        "the specs are matched in pieces, eight for each of four threads"
    );
    let planned = plan_with(&desired, &users, &four);
    let single = match_specs(&specs, &context(&PlanOptions::default()));
    assert_eq!(planned.summary.update, count / 1000);
    assert_eq!(planned.summary.invite, 3);
    assert_eq!(planned.summary.unchanged, single.unchanged);
    assert_eq!(planned.summary.unchanged + planned.summary.update, count);
    assert_eq!(planned.warnings, single.warnings);
    assert_eq!(planned.warnings.len(), 2);
    assert!(planned.warnings[0].contains("user3@example.com"));
    let mut expected = single.changes;
    expected.sort_by_cached_key(|c| {
        (
            c.rank(),
            email_key(c.email()).into_owned(),
            c.email().to_owned(),
        )
    });
    assert_eq!(planned.changes, expected);
    assert_eq!(
        planned.summary.delete, 0,
        "duplicates are matched, not pruned"
    );
}

#[test]
fn exact_mode_leaves_what_the_server_writes_alone_per_flavour() {
    let stored = remote(
        "1",
        "a@example.com",
        json!({"provider": "email", "providers": ["email"], "managed_by": "gotrue-sync:site", "team": "t"}),
        json!({"email": "a@example.com", "email_verified": true, "phone_verified": false, "sub": "1", "full_name": "A"}),
    );
    let mut spec = UserSpec::new("a@example.com");
    spec.app_metadata = Some(obj(json!({"team": "t"})));
    spec.user_metadata = Some(obj(json!({"full_name": "A", "email_verified": false})));
    let policy = Policy {
        app_metadata: MetadataMode::Exact,
        user_metadata: MetadataMode::Exact,
        ..Policy::default()
    };
    let desired = manifest(policy, vec![spec]);
    let supabase = PlanOptions {
        flavor: Flavor::Supabase,
        ..PlanOptions::default()
    };
    let on_supabase = plan_with(&desired, std::slice::from_ref(&stored), &supabase);
    assert!(
        on_supabase.changes.is_empty(),
        "server-owned keys are neither compared nor removed: {:?}",
        on_supabase.changes
    );

    let on_netlify = plan_with(&desired, &[stored], &PlanOptions::default());
    let Some(Change::Update(update)) = on_netlify.changes.first() else {
        panic!("netlify owns fewer keys: {:?}", on_netlify.changes)
    };
    let removed: Vec<&str> = update
        .app_metadata
        .iter()
        .chain(&update.user_metadata)
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(
        removed,
        [
            "providers",
            "email",
            "email_verified",
            "phone_verified",
            "sub"
        ]
    );
}

#[test]
fn a_reinvite_keeps_the_pending_users_metadata_as_an_update_would() {
    let mut stored = remote(
        "7",
        "p@example.com",
        json!({"managed_by": "gotrue-sync:site"}),
        json!({"a": 1, "b": [2], "c": {"d": 3}, "gone": true, "old": "x", "site_fn": "kept"}),
    );
    stored.confirmed_at = None;
    stored.invited_at = Some("2026-01-01T00:00:00Z".into());
    let mut spec = UserSpec::new("p@example.com");
    spec.user_metadata = Some(obj(json!({"a": 10, "gone": null, "new": "n"})));
    let options = PlanOptions {
        reinvite_pending_older_than: Some(std::time::Duration::from_secs(86_400)),
        now: 1_767_225_600 + 2 * 86_400,
        ..PlanOptions::default()
    };
    let carried = |policy: Policy| {
        let planned = plan_with(
            &manifest(policy, vec![spec.clone()]),
            std::slice::from_ref(&stored),
            &options,
        );
        match &planned.changes[..] {
            [Change::Reinvite(reinvite)] => Value::Object(reinvite.invite.user_metadata.clone()),
            other => panic!("one reinvite: {other:?}"),
        }
    };
    assert_eq!(
        carried(Policy::default()),
        json!({"a": 10, "b": [2], "c": {"d": 3}, "old": "x", "site_fn": "kept", "new": "n"}),
        "merge: undeclared keys kept, declared ones set, `null` ones removed"
    );
    let exact = Policy {
        user_metadata: MetadataMode::Exact,
        ignore: vec!["user_metadata.site_fn".into()],
        ..Policy::default()
    };
    assert_eq!(
        carried(exact),
        json!({"a": 10, "site_fn": "kept", "new": "n"}),
        "exact: only declared and ignored keys"
    );
}

#[test]
fn a_leading_space_is_another_account_never_adopted_but_named() {
    let mut alice = UserSpec::new("alice@example.com");
    alice.roles = Some(vec!["editor".into()]);
    let stranger = remote("s1", " alice@example.com", json!({}), json!({}));
    let planned = plan(&manifest(Policy::default(), vec![alice]), &[stranger]);
    assert_eq!(planned.summary.invite, 1, "alice is invited: {planned:#?}");
    assert_eq!(planned.summary.update, 0, "the stranger is not adopted");
    assert_eq!(planned.warnings.len(), 1, "{:?}", planned.warnings);
    assert!(planned.warnings[0].contains("\" alice@example.com\" (id s1)"));
}

#[test]
fn an_accented_twin_on_the_server_is_a_conflict_not_an_invite() {
    let jose = remote("j1", "jose@example.com", json!({}), json!({}));
    let strasse = remote("s1", "straße@example.com", json!({}), json!({}));
    let specs = vec![
        UserSpec::new("josé@example.com"),
        UserSpec::new("strasse@example.com"),
    ];
    let planned = plan(&manifest(Policy::default(), specs), &[jose, strasse]);
    assert!(planned.changes.is_empty(), "{:#?}", planned.changes);
    assert_eq!(planned.conflicts.len(), 2);
    assert!(planned.conflicts[0].reason.contains("422"));
    assert!(planned.conflicts[0]
        .hint
        .contains("Re-running will not help"));
    assert_eq!(
        planned.conflicts[0].account.as_ref().map(|a| a.id.as_str()),
        Some("j1")
    );
    // A server that keys only by the lower-cased address (supabase/auth) takes both.
    let options = PlanOptions {
        flavor: Flavor::Supabase,
        ..PlanOptions::default()
    };
    let jose = remote("j1", "jose@example.com", json!({}), json!({}));
    let planned = plan_with(
        &manifest(Policy::default(), vec![UserSpec::new("josé@example.com")]),
        &[jose],
        &options,
    );
    assert_eq!(planned.summary.invite, 1);
}

#[test]
fn by_default_an_unmarked_account_is_a_conflict_unless_its_entry_adopts_it() {
    let mut alice = UserSpec::new("alice@example.com");
    alice.roles = Some(vec!["editor".into()]);
    let signup = remote("a1", "alice@example.com", json!({}), json!({}));
    let planned = plan(
        &strict_manifest(vec![alice.clone()]),
        std::slice::from_ref(&signup),
    );
    assert!(planned.changes.is_empty());
    assert_eq!(planned.conflicts.len(), 1);
    assert!(planned.conflicts[0].hint.contains("adopt: true"));

    alice.adopt = true;
    let planned = plan(&strict_manifest(vec![alice.clone()]), &[signup]);
    let Change::Update(update) = &planned.changes[0] else {
        panic!("an adoption: {planned:#?}");
    };
    let adoption = update.adopt.as_ref().expect("adopted");
    assert_eq!(adoption.grants, vec!["roles: editor".to_owned()]);
    assert!(planned.warnings[0].contains("grants it roles: editor"));
}

#[test]
fn adopt_confirmed_takes_only_confirmed_accounts() {
    let policy = Policy {
        adopt: AdoptMode::Confirmed,
        ..Policy::default()
    };
    let desired = Manifest {
        version: 1,
        name: "site".into(),
        policy,
        users: vec![
            UserSpec::new("a@example.com"),
            UserSpec::new("b@example.com"),
        ],
    };
    let confirmed = remote("1", "a@example.com", json!({}), json!({}));
    let mut unconfirmed = remote("2", "b@example.com", json!({}), json!({}));
    unconfirmed.confirmed_at = None;
    let planned = plan(&desired, &[confirmed, unconfirmed]);
    assert_eq!(planned.summary.update, 1);
    assert_eq!(planned.conflicts.len(), 1);
    assert_eq!(planned.conflicts[0].email, "b@example.com");
}

/// The metadata diff as it was computed on parsed maps, before metadata was kept as text.
fn diff_of_maps(
    desired: &Map<String, Value>,
    actual: &Map<String, Value>,
    mode: MetadataMode,
) -> Vec<KeyChange> {
    let mut changes = Vec::new();
    for (key, value) in desired {
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
            if !desired.contains_key(key) {
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

/// Stored metadata as a server could write it: keys repeated or escaped, values that parse
/// equal from different text, spacing; the ownership marker and role lists among them.
fn stored_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just(r#""a""#),
        Just(r#""\u0061""#),
        Just(r#""b""#),
        Just(r#""c""#),
        Just(r#""managed_by""#),
        Just(r#""manag\u0065d_by""#),
        Just(r#""roles""#),
        Just(r#""rol\u0065s""#),
        Just(r#""q\"k""#),
        Just(r#""q\u0022k""#)
    ];
    let value = prop_oneof![
        Just("1"),
        Just("1.0"),
        Just("-0"),
        Just("21.489705265908874"),
        Just("21.48970526590887"),
        Just(r#""x""#),
        Just(r#""\u0078""#),
        Just(r#""x\"y""#),
        Just("null"),
        Just("true"),
        Just("[1, 2]"),
        Just(r#"{ "n" : true }"#),
        Just("[]"),
        Just(r#"[ "x" ]"#),
        Just(r#"["x","x\"y"]"#),
        Just(r#"["x\"y", "\u0078"]"#),
        Just(r#"["x","x"]"#),
        Just(r#"["x", 1]"#),
        Just(r#""gotrue-sync:site""#),
        Just(r#""gotrue-sync:sit\u0065""#),
        Just(r#""gotrue-sync:site ""#)
    ];
    prop::collection::vec((key, value), 0..6).prop_map(|entries| {
        let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k} : {v}")).collect();
        format!("{{ {} }}", body.join(" , "))
    })
}

fn desired_map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "[abc]|q\"k",
        prop_oneof![
            Just(json!(1)),
            Just(json!(1.0)),
            Just(json!(21.489705265908874)),
            Just(json!("x")),
            Just(json!("x\"y")),
            Just(Value::Null),
            Just(json!(true)),
            Just(json!([1, 2])),
            Just(json!({"n": true})),
            Just(json!([]))
        ],
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

proptest! {
    /// Reading metadata from its text changes no plan: the diff equals the diff of the map
    /// the text parses to, and roles compare as the parsed array did.
    #[test]
    fn metadata_diffs_from_text_equal_diffs_of_parsed_maps(
        text in stored_text(),
        desired in desired_map(),
        exact in any::<bool>(),
        wanted in prop::collection::vec(prop_oneof![Just("x".to_string()), Just("x\"y".to_string())], 0..3),
    ) {
        let stored: Metadata = serde_json::from_str(&text).expect("metadata");
        let map: Map<String, Value> = serde_json::from_str(&text).expect("map");
        let mode = if exact { MetadataMode::Exact } else { MetadataMode::Merge };
        prop_assert_eq!(
            diff_map(Some(&Metadata::from(desired.clone())), &stored, mode, |_| false, |_| false),
            diff_of_maps(&desired, &map, mode)
        );
        for key in ["a", "b", "c", "managed_by", "roles"] {
            let raw = stored.get(key);
            let parsed = map.get(key);
            prop_assert_eq!(raw.map(metadata::parsed), parsed.cloned());
            // The marker is read as a string from the text, as the map's string was.
            let text_string = raw.and_then(metadata::as_str);
            prop_assert_eq!(text_string.as_deref(), parsed.and_then(Value::as_str));
            let as_set = |value: Option<&Value>| -> Option<bool> {
                let items: Vec<&str> = match value {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items.iter().map(Value::as_str).collect::<Option<_>>()?,
                    Some(_) => return None,
                };
                Some(items.iter().all(|i| wanted.iter().any(|w| w == i))
                    && wanted.iter().all(|w| items.contains(&w.as_str())))
            };
            if let Some(expected) = as_set(parsed) {
                prop_assert_eq!(same_roles(&wanted, raw), expected);
            } else {
                prop_assert!(!same_roles(&wanted, raw));
            }
        }
    }
}

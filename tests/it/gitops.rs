//! The GitOps workflow end to end, driving the binary against the in-process emulator:
//! export of an existing instance round-trips, a rename keeps the account, ignored keys
//! survive an `exact` apply, and stale invitations are re-sent only past the age.

use std::path::{Path, PathBuf};
use std::process::Output;

use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};
use gotrue_sync::gotrue::RemoteUser;
use serde_json::{json, Value};

use crate::support::emulator::{binary, start, users};
use crate::support::users::map;
use crate::support::write;

async fn emulator_with(seed: Option<PathBuf>) -> Emulator {
    start(EmulatorConfig {
        seed,
        ..EmulatorConfig::default()
    })
    .await
}

/// Runs the binary against `emulator` with the operator token, and nothing else from the
/// environment.
fn run(emulator: &Emulator, args: &[&str], files: &[&Path]) -> Output {
    binary(emulator)
        .args(args)
        .args(files)
        .output()
        .expect("run")
}

fn succeeded(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The JSON plan of `file`, with the extra arguments.
fn json_plan(emulator: &Emulator, file: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--json"];
    args.extend_from_slice(extra);
    args.push("-f");
    let stdout = succeeded(&run(emulator, &args, &[file]), 0);
    serde_json::from_str(&stdout).expect("one JSON document")
}

fn apply(emulator: &Emulator, file: &Path, extra: &[&str]) {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    args.push("-f");
    succeeded(&run(emulator, &args, &[file]), 0);
}

/// `plan --detailed-exitcode` exits 0: nothing left to do.
fn assert_converged(emulator: &Emulator, file: &Path) {
    let output = run(emulator, &["plan", "--detailed-exitcode", "-f"], &[file]);
    let stdout = succeeded(&output, 0);
    assert!(stdout.contains("No changes."), "{stdout}");
}

fn find<'a>(users: &'a [RemoteUser], email: &str) -> &'a RemoteUser {
    users
        .iter()
        .find(|u| u.email == email)
        .unwrap_or_else(|| panic!("{email} not on the server: {users:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_plan_shows_only_adoptions_and_after_apply_nothing() {
    let emulator = emulator_with(None).await;
    let seeds = [
        SeedUser {
            email: "Alice@Example.com".into(),
            password: Some("alice-password-NEVER-EXPORTED".into()),
            confirmed: true,
            role: "editor".into(),
            app_metadata: map(json!({"roles": ["admin", "editor"], "team": {"name": "growth"}})),
            user_metadata: map(json!({"full_name": "Alice", "prefs": {"theme": "dark"}})),
            ..SeedUser::default()
        },
        SeedUser {
            email: "pending@example.com".into(),
            invited: true,
            app_metadata: map(json!({"roles": ["viewer"]})),
            ..SeedUser::default()
        },
        SeedUser {
            email: "bare@example.com".into(),
            confirmed: true,
            ..SeedUser::default()
        },
    ];
    for seed in seeds {
        emulator.seed_user(seed).expect("seed");
    }
    let before = users(&emulator).await;

    let dir = tempfile::tempdir().expect("dir");
    let exported = dir.path().join("users.yaml");
    succeeded(
        &run(
            &emulator,
            &["export", "--name", "site", "-o"],
            &[exported.as_path()],
        ),
        0,
    );
    let text = std::fs::read_to_string(&exported).expect("exported file");
    assert!(!text.contains("NEVER-EXPORTED"), "no password: {text}");
    assert!(
        text.contains("# invited (pending since"),
        "the pending invite is marked: {text}"
    );
    succeeded(&run(&emulator, &["validate", "-f"], &[&exported]), 0);

    // A second export is byte-for-byte the same, so re-exports diff cleanly in git.
    let again = dir.path().join("again.yaml");
    succeeded(
        &run(
            &emulator,
            &["export", "--name", "site", "-o"],
            &[again.as_path()],
        ),
        0,
    );
    assert_eq!(std::fs::read_to_string(&again).expect("again"), text);

    let plan = json_plan(&emulator, &exported, &[]);
    let changes = plan["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 3, "{plan:#}");
    for change in changes {
        assert_eq!(change["action"], "update", "{change:#}");
        assert!(change["adopt"].is_object(), "an adoption: {change:#}");
        // The ownership marker is written, and nothing else changes.
        assert_eq!(
            change["app_metadata"],
            json!([{"key": "managed_by", "after": "gotrue-sync:site"}]),
            "{change:#}"
        );
        let keys: Vec<&str> = change
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for key in keys {
            assert!(
                ["action", "id", "email", "adopt", "app_metadata", "expected"].contains(&key),
                "only the ownership marker changes, but {key} does: {change:#}"
            );
        }
    }

    apply(&emulator, &exported, &[]);
    assert_converged(&emulator, &exported);
    let after = users(&emulator).await;
    for old in &before {
        let new = find(&after, &old.email);
        assert_eq!(new.id, old.id, "adoption keeps the account");
        assert_eq!(
            new.app_metadata.value("managed_by"),
            Some(json!("gotrue-sync:site"))
        );
        assert_eq!(new.user_metadata, old.user_metadata);
        assert_eq!(new.role, old.role);
        assert_eq!(
            new.app_metadata.value("roles"),
            old.app_metadata.value("roles")
        );
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rename_keeps_the_account_its_id_and_its_password() {
    let emulator = emulator_with(None).await;
    let old_id = emulator
        .seed_user(SeedUser {
            email: "old@example.com".into(),
            password: Some("kept-password-1".into()),
            confirmed: true,
            app_metadata: map(json!({"managed_by": "gotrue-sync:site", "roles": ["editor"]})),
            ..SeedUser::default()
        })
        .expect("seed");
    let dir = tempfile::tempdir().expect("dir");
    let file = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: new@example.com\n    renamed_from: old@example.com\n    roles: [editor]\n",
    );

    let human = succeeded(&run(&emulator, &["plan", "-f"], &[&file]), 0);
    assert!(
        human.contains(
            "~ email = \"old@example.com\" -> \"new@example.com\"  # renamed: same account, id and password kept"
        ),
        "{human}"
    );
    assert!(
        human.contains("0 to invite, 0 to create, 1 to update, 0 to delete"),
        "a rename, not a delete and an invite: {human}"
    );

    apply(&emulator, &file, &[]);
    let after = users(&emulator).await;
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].email, "new@example.com");
    assert_eq!(after[0].id, old_id, "the same account");

    let login = reqwest::Client::new()
        .post(format!("{}/token", emulator.url()))
        .form(&[
            ("grant_type", "password"),
            ("username", "new@example.com"),
            ("password", "kept-password-1"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(
        login.status().as_u16(),
        200,
        "the password still works under the new address"
    );

    // Once the old address is gone, the field is harmless.
    assert_converged(&emulator, &file);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ignored_keys_survive_an_exact_apply_untouched() {
    let emulator = emulator_with(None).await;
    emulator
        .seed_user(SeedUser {
            email: "a@example.com".into(),
            confirmed: true,
            app_metadata: map(json!({
                "managed_by": "gotrue-sync:site",
                "stripe_plan": "pro",
                "stale": true
            })),
            user_metadata: map(json!({"avatar_url": "https://x/a.png", "old": 1})),
            ..SeedUser::default()
        })
        .expect("seed");
    let dir = tempfile::tempdir().expect("dir");
    let file = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\npolicy:\n  user_metadata: exact\n  app_metadata: exact\n  ignore: [app_metadata.stripe_plan, user_metadata.avatar_url]\nusers:\n  - email: a@example.com\n    user_metadata: { full_name: A }\n    app_metadata: { tier: gold }\n",
    );

    let plan = json_plan(&emulator, &file, &[]);
    let text = plan.to_string();
    assert!(
        !text.contains("stripe_plan") && !text.contains("avatar_url"),
        "ignored keys are not even compared: {plan:#}"
    );

    apply(&emulator, &file, &[]);
    let after = users(&emulator).await;
    let user = find(&after, "a@example.com");
    assert_eq!(user.app_metadata.value("stripe_plan"), Some(json!("pro")));
    assert_eq!(
        user.user_metadata.value("avatar_url"),
        Some(json!("https://x/a.png"))
    );
    assert!(
        !user.app_metadata.contains_key("stale") && !user.user_metadata.contains_key("old"),
        "exact mode removed the undeclared keys that are not ignored: {user:#?}"
    );
    assert_eq!(user.user_metadata.value("full_name"), Some(json!("A")));
    assert_eq!(user.app_metadata.value("tier"), Some(json!("gold")));
    assert_converged(&emulator, &file);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_invitations_are_re_sent_only_past_the_age() {
    let days_ago = |days: u64| {
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400);
        humantime::format_rfc3339_seconds(then).to_string()
    };
    let managed = json!({"provider": "email", "managed_by": "gotrue-sync:site"});
    let seed = json!({"users": [
        {"email": "stale@example.com", "invited_at": days_ago(10), "created_at": days_ago(10),
         "app_metadata": managed, "user_metadata": {}},
        {"email": "recent@example.com", "invited_at": days_ago(1), "created_at": days_ago(1),
         "app_metadata": managed, "user_metadata": {}}
    ]});
    let dir = tempfile::tempdir().expect("dir");
    let seed_file = write(&dir, "seed.json", &seed.to_string());
    let emulator = emulator_with(Some(seed_file)).await;
    let before = users(&emulator).await;
    let file = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: stale@example.com\n  - email: recent@example.com\n",
    );

    // Without the option, pending invitations are shown, not touched.
    let human = succeeded(&run(&emulator, &["plan", "-f"], &[&file]), 0);
    assert!(human.contains("invited (pending since"), "{human}");
    assert_converged(&emulator, &file);

    let plan = json_plan(&emulator, &file, &["--reinvite-pending-older-than", "7d"]);
    let changes = plan["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{plan:#}");
    assert_eq!(changes[0]["action"], "reinvite");
    assert_eq!(changes[0]["email"], "stale@example.com");

    apply(&emulator, &file, &["--reinvite-pending-older-than", "7d"]);
    let after = users(&emulator).await;
    assert_eq!(after.len(), 2);
    assert_ne!(
        find(&after, "stale@example.com").id,
        find(&before, "stale@example.com").id,
        "re-sent as delete + invite"
    );
    assert_eq!(
        find(&after, "recent@example.com").id,
        find(&before, "recent@example.com").id,
        "the recent invitation is left alone"
    );
    let inbox: Value = reqwest::get(format!(
        "{}/_emulator/messages?to=stale@example.com",
        emulator.url()
    ))
    .await
    .expect("inbox")
    .json()
    .await
    .expect("inbox JSON");
    assert_eq!(
        inbox["messages"].as_array().map(Vec::len),
        Some(1),
        "a fresh invitation mail: {inbox:#}"
    );
    let plan = json_plan(&emulator, &file, &["--reinvite-pending-older-than", "7d"]);
    assert_eq!(
        plan["changes"],
        json!([]),
        "the new invitation is not stale"
    );
    emulator.shutdown().await;
}

//! Integrity (issue 11): the wrong account is never adopted, a saved plan applies only to its
//! server and only while its preconditions hold, and addresses are judged as the servers
//! judge them. The binary is driven against the emulator (state) or wiremock (the netlify
//! collation, which the emulator does not reproduce yet).

use std::path::Path;
use std::process::Output;

use gotrue_emulator::{Emulator, EmulatorConfig};
use serde_json::json;
use wiremock::MockServer;

use crate::support::binary::{against, gotrue_sync};
use crate::support::emulator::{binary, start, users};
use crate::support::mock::{list_returns, requests};
use crate::support::users::{seed as seed_user, user};
use crate::support::write;

async fn emulator() -> Emulator {
    start(EmulatorConfig::default()).await
}

/// Seeds a confirmed user with `app_metadata`; returns its id.
fn seed(emulator: &Emulator, email: &str, app_metadata: serde_json::Value) -> String {
    emulator
        .seed_user(seed_user(email, app_metadata, json!({})))
        .expect("seed")
}

fn run(emulator: &Emulator, args: &[&str]) -> Output {
    binary(emulator).args(args).output().expect("run")
}

fn run_at(url: &str, args: &[&str]) -> Output {
    against(url, "token").args(args).output().expect("run")
}

fn validate(file: &Path) -> Output {
    gotrue_sync()
        .args(["validate", "-f", arg(file)])
        .output()
        .expect("run")
}

/// stdout + stderr, after checking the exit code.
fn exits(output: &Output, code: i32) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(code), "{text}");
    text
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

// Case 1: a self-signup of " alice@example.com" is another account: alice is invited,
// the stranger gets nothing, and the plan names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leading_space_signup_is_never_adopted_and_is_named() {
    let emulator = emulator().await;
    let stranger = seed(&emulator, " alice@example.com", json!({}));
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\npolicy: { adopt: all }\nusers:\n  - email: alice@example.com\n    roles: [editor]\n",
    );
    let text = exits(
        &run(
            &emulator,
            &["apply", "--auto-approve", "-f", arg(&manifest)],
        ),
        0,
    );
    assert!(
        text.contains(&format!("\" alice@example.com\" (id {stranger})")),
        "{text}"
    );
    let after = users(&emulator).await;
    assert_eq!(after.len(), 2, "{after:#?}");
    let spaced = after.iter().find(|u| u.id == stranger).expect("stranger");
    assert!(spaced.app_metadata.get("roles").is_none(), "{spaced:#?}");
    assert!(spaced.app_metadata.get("managed_by").is_none());
    let alice = after
        .iter()
        .find(|u| u.email == "alice@example.com")
        .expect("alice invited");
    assert_eq!(alice.app_metadata.to_map()["roles"], json!(["editor"]));
    emulator.shutdown().await;
}

// Case 2: a saved plan renames onto an address someone took after the plan: the rename is
// not sent, apply exits 1 with a conflict, and there is one account per address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_rename_onto_an_address_taken_since_is_refused() {
    let emulator = emulator().await;
    let old = seed(
        &emulator,
        "old@example.com",
        json!({"managed_by": "gotrue-sync:site"}),
    );
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: new@example.com\n    renamed_from: old@example.com\n",
    );
    let saved = dir.path().join("plan.json");
    exits(
        &run(
            &emulator,
            &["plan", "--out", arg(&saved), "-f", arg(&manifest)],
        ),
        0,
    );
    let stranger = seed(&emulator, "NEW@example.com", json!({}));
    let text = exits(
        &run(&emulator, &["apply", "--auto-approve", arg(&saved)]),
        1,
    );
    assert!(text.contains("conflict"), "{text}");
    assert!(
        text.contains(&stranger),
        "names the account in the way: {text}"
    );
    assert!(
        !text.contains("again to converge"),
        "no promise a re-run cannot keep: {text}"
    );
    let after = users(&emulator).await;
    let old_user = after.iter().find(|u| u.id == old).expect("old kept");
    assert_eq!(old_user.email, "old@example.com", "the rename was not sent");
    emulator.shutdown().await;
}

// Case 5: a plan made against one server does not apply to another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_refuses_another_server_and_names_both() {
    let staging = emulator().await;
    let production = emulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: a@example.com\n",
    );
    let saved = dir.path().join("plan.json");
    exits(
        &run(
            &staging,
            &["plan", "--out", arg(&saved), "-f", arg(&manifest)],
        ),
        0,
    );
    let text = exits(
        &run(&production, &["apply", "--auto-approve", arg(&saved)]),
        1,
    );
    assert!(text.contains(&staging.url()), "{text}");
    assert!(text.contains(&production.url()), "{text}");
    assert!(users(&production).await.is_empty());
    staging.shutdown().await;
    production.shutdown().await;
}

// Case 6: guards come from this run, not from the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_cannot_grant_admin_or_raise_max_deletes_by_editing_the_file() {
    let emulator = emulator().await;
    for i in 0..12 {
        seed(
            &emulator,
            &format!("old{i:02}@example.com"),
            json!({"managed_by": "gotrue-sync:site"}),
        );
    }
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\npolicy: { max_deletes: 100 }\nusers:\n  - email: bot@example.com\n    role: deployer\n",
    );
    let saved = dir.path().join("plan.json");
    exits(
        &run(
            &emulator,
            &["plan", "--out", arg(&saved), "-f", arg(&manifest)],
        ),
        0,
    );
    let text = exits(
        &run(
            &emulator,
            &["apply", "--auto-approve", "--allow-admin-role", arg(&saved)],
        ),
        1,
    );
    assert!(
        text.contains("--max-deletes 12"),
        "the file's 100 is not trusted: {text}"
    );

    let edited = std::fs::read_to_string(&saved)
        .expect("plan")
        .replace("\"deployer\"", "\"admin\"");
    std::fs::write(&saved, edited).expect("edit");
    let text = exits(
        &run(
            &emulator,
            &[
                "apply",
                "--auto-approve",
                "--max-deletes",
                "12",
                arg(&saved),
            ],
        ),
        1,
    );
    assert!(text.contains("--allow-admin-role"), "{text}");
    assert_eq!(users(&emulator).await.len(), 12, "nothing was changed");
    emulator.shutdown().await;
}

// A saved plan that sets a `role` needs --allow-admin-role at apply time: which roles open
// the admin API is the server's setting, and the plan's own policy.admin_roles is the file's
// word, so deleting it must not let a custom admin role through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_setting_any_role_needs_allow_admin_role_at_apply() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\npolicy: { admin_roles: [deployer], allow_admin_role: true }\nusers:\n  - email: bot@example.com\n    role: deployer\n  - email: plain@example.com\n",
    );
    let saved = dir.path().join("plan.json");
    exits(
        &run(
            &emulator,
            &["plan", "--out", arg(&saved), "-f", arg(&manifest)],
        ),
        0,
    );
    let text = exits(
        &run(&emulator, &["apply", "--auto-approve", arg(&saved)]),
        1,
    );
    assert!(text.contains("--allow-admin-role"), "{text}");
    assert!(text.contains("bot@example.com"), "{text}");
    assert!(
        !text.contains("plain@example.com"),
        "no role, no question: {text}"
    );

    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("plan")).expect("json");
    edited["policy"]
        .as_object_mut()
        .expect("policy")
        .remove("admin_roles")
        .expect("the plan records admin_roles");
    std::fs::write(&saved, edited.to_string()).expect("edit");
    let text = exits(
        &run(&emulator, &["apply", "--auto-approve", arg(&saved)]),
        1,
    );
    assert!(
        text.contains("--allow-admin-role"),
        "deleting admin_roles from the file does not lift the check: {text}"
    );
    assert!(users(&emulator).await.is_empty(), "nothing was changed");

    exits(
        &run(
            &emulator,
            &["apply", "--auto-approve", "--allow-admin-role", arg(&saved)],
        ),
        0,
    );
    assert_eq!(users(&emulator).await.len(), 2);
    emulator.shutdown().await;
}

// Case 7: with jose@ stored, netlify/gotrue refuses josé@ forever (its database ignores
// accents). The plan says so as a conflict, exits 1 and sends nothing; two such entries in
// one manifest are duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accented_twin_of_a_stored_address_is_a_planning_conflict() {
    let server = MockServer::start().await;
    let jose = user(
        "j1",
        "jose@example.com",
        json!({"provider": "email"}),
        json!({}),
    );
    list_returns(&server, vec![jose]).await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: josé@example.com\n",
    );
    for format in ["human", "markdown", "json"] {
        let text = exits(
            &run_at(
                &server.uri(),
                &["plan", "--format", format, "-f", arg(&manifest)],
            ),
            1,
        );
        assert!(text.contains("422"), "{format}: {text}");
        assert!(text.contains("jose@example.com"), "{format}: {text}");
    }
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 3, "one listing per plan: {sent:#?}");
    assert!(sent.iter().all(|r| r.method.as_str() == "GET"), "{sent:#?}");

    let twins = write(
        &dir,
        "twins.yaml",
        "version: 1\nname: site\nusers:\n  - email: rene@example.com\n  - email: rené@example.com\n",
    );
    let text = exits(&validate(&twins), 1);
    assert!(text.contains("twins.yaml:5"), "{text}");
    assert!(text.contains("twins.yaml:4"), "names both lines: {text}");
}

// Case 8: the validator takes exactly the bare addresses the server takes.
#[test]
fn validate_accepts_and_rejects_addresses_as_the_server_does() {
    let dir = tempfile::tempdir().expect("dir");
    let accepted = write(
        &dir,
        "ok.yaml",
        "version: 1\nname: site\nusers:\n  - email: '\"quoted local\"@x.com'\n  - email: user@localhost\n  - email: user@example\n",
    );
    exits(&validate(&accepted), 0);
    for bad in [
        "a..b@x.com",
        ".a@x.com",
        "a.@x.com",
        "(comment)user@x.com",
        "' alice@x.com'",
    ] {
        let file = write(
            &dir,
            "bad.yaml",
            &format!("version: 1\nname: site\nusers:\n  - email: {bad}\n"),
        );
        let text = exits(&validate(&file), 1);
        assert!(text.contains("invalid e-mail address"), "{bad}: {text}");
        assert!(text.contains("bad.yaml:4"), "{bad}: {text}");
    }
}

// Case 9: an account someone registered on a manifest address before the invite is not
// adopted by default; when an entry does adopt it, every output says what it grants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signup_is_not_adopted_by_default_and_adoption_grants_are_shown() {
    let emulator = emulator().await;
    let signup = seed(&emulator, "alice@example.com", json!({}));
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: alice@example.com\n    roles: [editor]\n",
    );
    let text = exits(
        &run(
            &emulator,
            &["apply", "--auto-approve", "-f", arg(&manifest)],
        ),
        1,
    );
    assert!(text.contains("adopt: true"), "{text}");
    assert!(text.contains(&signup), "{text}");
    let after = users(&emulator).await;
    assert!(after[0].app_metadata.get("roles").is_none(), "{after:#?}");

    let adopting = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: alice@example.com\n    adopt: true\n    roles: [editor]\n",
    );
    for format in ["human", "markdown", "json"] {
        let text = exits(
            &run(
                &emulator,
                &["plan", "--format", format, "-f", arg(&adopting)],
            ),
            0,
        );
        assert!(text.contains("roles: editor"), "{format}: {text}");
    }
    emulator.shutdown().await;
}

// A plan whose conflicts sit beside changes that succeed: the changes are carried out, the
// conflicting user is left alone, and the apply still fails, so a pipeline does not read it
// as converged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_that_leaves_a_conflict_behind_exits_1_after_the_other_changes() {
    let emulator = emulator().await;
    seed(&emulator, "jose@example.com", json!({}));
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: josé@example.com\n  - email: new@example.com\n",
    );
    let text = exits(
        &run(
            &emulator,
            &["apply", "--auto-approve", "-f", arg(&manifest)],
        ),
        1,
    );
    assert!(
        text.contains("1 manifest user(s) in conflict with the server were not planned"),
        "{text}"
    );
    let after = users(&emulator).await;
    let emails: Vec<&str> = after.iter().map(|u| u.email.as_str()).collect();
    assert!(emails.contains(&"new@example.com"), "{emails:?}");
    assert!(!emails.contains(&"josé@example.com"), "{emails:?}");
    emulator.shutdown().await;
}

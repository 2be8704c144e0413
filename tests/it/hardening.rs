//! Hostile input and output through the binary: files with personal data are private and
//! written atomically, control characters from manifests and servers are shown escaped,
//! export always yields a valid manifest, and re-invites keep the user's metadata.

use std::path::Path;
use std::process::Output;

use gotrue_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::binary::{against, gotrue_sync};
use crate::support::emulator::{binary, seeded, start, users};
use crate::support::mock::server_listing;
use crate::support::users::{managed_by_site, seed};
use crate::support::write;

const RED: &str = "\u{1b}[31m";
const MANIFEST: &str = "version: 1\nname: site\nusers:\n  - email: alice@example.com\n";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn exited(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Names in `dir`, sorted: a failed or finished write leaves no temporary file behind.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn saved_plans_and_exports_are_owner_only_and_replace_the_old_file() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = seeded([seed("bob@example.com", json!({}), json!({"team": "x"}))]).await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(&dir, "users.yaml", MANIFEST);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let plan = out.join("plan.json");
    std::fs::write(&plan, "old").expect("old plan");
    std::fs::set_permissions(&plan, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let output = binary(&emulator)
        .args(["plan", "--out"])
        .arg(&plan)
        .arg("-f")
        .arg(&manifest)
        .output()
        .expect("plan");
    exited(&output, 0);
    assert_eq!(mode(&plan), 0o600, "the saved plan");
    let saved: Value = serde_json::from_slice(&std::fs::read(&plan).expect("plan")).expect("JSON");
    assert_eq!(saved["changes"][0]["email"], "alice@example.com");

    let export = out.join("users.yaml");
    let output = binary(&emulator)
        .args(["export", "--name", "site", "-o"])
        .arg(&export)
        .output()
        .expect("export");
    exited(&output, 0);
    assert_eq!(mode(&export), 0o600, "the export");
    assert!(std::fs::read_to_string(&export)
        .expect("export")
        .contains("bob@example.com"));
    assert_eq!(
        names(&out),
        ["plan.json", "users.yaml"],
        "no temporary files"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_that_cannot_be_saved_leaves_the_target_and_no_temporary_file() {
    let server = server_listing(vec![]).await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(&dir, "users.yaml", MANIFEST);
    // A non-empty directory where the plan should go: the final rename fails.
    let target = dir.path().join("plan.json");
    std::fs::create_dir(&target).expect("dir");
    std::fs::write(target.join("keep"), "kept").expect("file");
    let output = against(&server.uri(), "op-token")
        .args(["plan", "--out"])
        .arg(&target)
        .arg("-f")
        .arg(&manifest)
        .output()
        .expect("plan");
    exited(&output, 1);
    assert!(stderr(&output).contains("plan file"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(target.join("keep")).expect("kept"),
        "kept"
    );
    assert_eq!(names(dir.path()), ["plan.json", "users.yaml"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_smoke_report_with_a_hostile_server_message_is_escaped_and_private() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"code": 503, "msg": format!("{RED}maintenance\u{202e}")})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let junit = dir.path().join("smoke.xml");
    let output = gotrue_sync()
        .args([
            "smoke",
            "--flavor",
            "netlify",
            "--url",
            &server.uri(),
            "--junit",
        ])
        .arg(&junit)
        .output()
        .expect("smoke");
    exited(&output, 1);
    let table = stdout(&output);
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{202e}'),
        "{table:?}"
    );
    assert!(table.contains("\\u{1b}[31mmaintenance\\u{202e}"), "{table}");
    #[cfg(unix)]
    assert_eq!(mode(&junit), 0o600, "the JUnit report");
}

#[test]
fn validate_shows_escape_sequences_of_the_manifest_escaped() {
    let dir = tempfile::tempdir().expect("dir");
    // YAML's own `\e` escape: the parsed address holds a real ESC.
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: \"\\e[31mred\\e[0m\"\n",
    );
    let output = gotrue_sync()
        .args(["validate", "-f"])
        .arg(&manifest)
        .output()
        .expect("validate");
    exited(&output, 1);
    let shown = stderr(&output);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(shown.contains("\\u{1b}[31mred\\u{1b}[0m"), "{shown}");
    assert!(shown.contains("users.yaml:4:"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_show_server_addresses_and_metadata_escaped() {
    let marker = json!({"provider": "email", "managed_by": "gotrue-sync:site"});
    let emulator = seeded([
        seed(&format!("{RED}gone@example.com"), marker.clone(), json!({})),
        seed(
            "alice@example.com",
            marker,
            json!({"team": format!("\u{9b}2J{RED}growth")}),
        ),
    ])
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: alice@example.com\n    user_metadata: {team: core}\n",
    );
    for format in ["human", "markdown"] {
        let output = binary(&emulator)
            .args(["plan", "--format", format, "-f"])
            .arg(&manifest)
            .output()
            .expect("plan");
        exited(&output, 0);
        let plan = stdout(&output);
        assert!(
            !plan.contains('\u{1b}') && !plan.contains('\u{9b}'),
            "{format}: {plan:?}"
        );
        assert!(
            plan.contains("\\u{1b}[31mgone@example.com"),
            "{format}: {plan}"
        );
        assert!(plan.contains("\\u{9b}2J"), "{format}: {plan}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_apply_shows_the_servers_message_escaped() {
    let server = server_listing(vec![managed_by_site("1", "bob@example.com", &[])]).await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(json!({"code": 422, "msg": format!("{RED}no\u{1b}[2J")})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: alice@example.com\n  - email: bob@example.com\n",
    );
    let output = against(&server.uri(), "op-token")
        .args(["apply", "--auto-approve", "-f"])
        .arg(&manifest)
        .output()
        .expect("apply");
    exited(&output, 1);
    let report = stderr(&output);
    assert!(!report.contains('\u{1b}'), "{report:?}");
    assert!(report.contains("\\u{1b}[31mno\\u{1b}[2J"), "{report}");
}

/// Runs the binary against `emulator` and returns stdout, asserting exit 0.
fn run(emulator: &Emulator, args: &[&str], file: &Path) -> String {
    let output = binary(emulator).args(args).arg(file).output().expect("run");
    exited(&output, 0);
    stdout(&output)
}

#[tokio::test(flavor = "multi_thread")]
async fn export_leaves_out_addresses_a_manifest_cannot_hold_and_validates() {
    let emulator = seeded([
        seed("with space@example.com", json!({}), json!({})),
        seed("quo\"te@example.com", json!({}), json!({})),
        seed("new\nline@example.com", json!({}), json!({})),
        seed(&format!("{RED}tab\t@example.com"), json!({}), json!({})),
        seed("fine@example.com", json!({}), json!({"k": "v"})),
    ])
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let exported = dir.path().join("users.yaml");
    let output = binary(&emulator)
        .args(["export", "--name", "site", "-o"])
        .arg(&exported)
        .output()
        .expect("export");
    exited(&output, 0);
    let warnings = stderr(&output);
    for named in [
        "\"with space@example.com\"",
        "\"quo\\\"te@example.com\"",
        "\"new\\nline@example.com\"",
        "\"\\u{1b}[31mtab\\t@example.com\"",
    ] {
        assert!(warnings.contains(named), "{named} named in:\n{warnings}");
    }
    assert!(!warnings.contains('\u{1b}'), "{warnings:?}");
    let text = std::fs::read_to_string(&exported).expect("export");
    assert!(text.contains("fine@example.com"), "{text}");
    let output = gotrue_sync()
        .args(["validate", "-f"])
        .arg(&exported)
        .output()
        .expect("validate");
    exited(&output, 0);
    assert!(stderr(&output).contains("1 user"), "{}", stderr(&output));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reinvite_keeps_the_pending_users_undeclared_metadata() {
    let undeclared = json!({"locale": "de", "plan": "pro", "tags": ["a", "b"],
                            "prefs": {"mail": false}, "referrer": "newsletter"});
    let mut metadata = undeclared.clone();
    metadata["team"] = json!("old");
    let seed_file = json!({"users": [{
        "email": "stale@example.com", "invited_at": "2020-01-01T00:00:00Z",
        "created_at": "2020-01-01T00:00:00Z",
        "app_metadata": {"provider": "email", "managed_by": "gotrue-sync:site"},
        "user_metadata": metadata,
    }]});
    let dir = tempfile::tempdir().expect("dir");
    let seed_path = write(&dir, "seed.json", &seed_file.to_string());
    let emulator = start(EmulatorConfig {
        seed: Some(seed_path),
        ..EmulatorConfig::default()
    })
    .await;
    let before = users(&emulator).await;
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: stale@example.com\n    user_metadata: {team: core}\n",
    );
    run(
        &emulator,
        &[
            "apply",
            "--auto-approve",
            "--reinvite-pending-older-than",
            "7d",
            "-f",
        ],
        &manifest,
    );
    let after = users(&emulator).await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].id, before[0].id, "re-sent as delete + invite");
    assert!(after[0].is_pending_invite(), "{:#?}", after[0]);
    let mut expected = undeclared;
    expected["team"] = json!("core");
    assert_eq!(
        Value::Object(after[0].user_metadata.to_map()),
        expected,
        "all five undeclared keys survive, the declared one is set"
    );
    let plan = run(
        &emulator,
        &[
            "plan",
            "--json",
            "--reinvite-pending-older-than",
            "7d",
            "-f",
        ],
        &manifest,
    );
    let plan: Value = serde_json::from_str(&plan).expect("JSON");
    assert_eq!(plan["changes"], json!([]), "converged: {plan:#}");
    emulator.shutdown().await;
}

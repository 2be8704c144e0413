//! The binary as a user runs it: exit codes, output streams, approval, and secrets.

use assert_cmd::Command;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::binary::against;
use crate::support::mock::{requests, server_listing};

const TOKEN: &str = "op-token-VALUE-never-printed";
const PASSWORD: &str = "bot-password-VALUE-never-printed";
const JWT_SECRET: &str = "jwt-secret-VALUE-never-printed";

fn manifest(dir: &tempfile::TempDir) -> std::path::PathBuf {
    crate::support::write(
        dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: alice@example.com\n    roles: [editor]\n  - email: bot@example.com\n    create: password\n    password: { env: GOTRUE_SYNC_CLI_TEST_PW }\n",
    )
}

fn user(id: &str, email: &str, app: Value) -> Value {
    crate::support::users::user(id, email, app, json!({}))
}

fn cmd(server: &MockServer) -> Command {
    let mut cmd = against(&server.uri(), TOKEN);
    cmd.env("GOTRUE_SYNC_CLI_TEST_PW", PASSWORD);
    cmd
}

fn converged_users() -> Vec<Value> {
    vec![
        user(
            "1",
            "alice@example.com",
            json!({"provider": "email", "roles": ["editor"], "managed_by": "gotrue-sync:site"}),
        ),
        user(
            "2",
            "bot@example.com",
            json!({"provider": "email", "managed_by": "gotrue-sync:site"}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_exit_codes_follow_detailed_exitcode() {
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir);
    let empty = server_listing(vec![]).await;
    let output = cmd(&empty)
        .args(["plan", "-f"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Plan: 1 to invite, 1 to create, 0 to update, 0 to delete."),
        "{stdout}"
    );

    let output = cmd(&empty)
        .args(["plan", "--detailed-exitcode", "-f"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));

    let converged = server_listing(converged_users()).await;
    let output = cmd(&converged)
        .args(["plan", "--detailed-exitcode", "-f"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("No changes."));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_plan_goes_to_stdout_and_parses() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server_listing(vec![]).await;
    let output = cmd(&server)
        .args(["plan", "--json", "-f"])
        .arg(manifest(&dir))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(
        plan["format_version"],
        gotrue_sync::plan::PLAN_FORMAT_VERSION
    );
    assert_eq!(plan["summary"]["invite"], 1);
    assert_eq!(plan["changes"][0]["action"], "invite");
    assert!(String::from_utf8_lossy(&output.stderr).contains("Listing users"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_saved_in_an_older_format_is_refused_before_any_change() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server_listing(vec![]).await;
    let saved = dir.path().join("old.plan.json");
    let output = cmd(&server)
        .args(["plan", "--out"])
        .arg(&saved)
        .arg("-f")
        .arg(manifest(&dir))
        .output()
        .expect("plan");
    assert_eq!(output.status.code(), Some(0));
    let mut plan: Value =
        serde_json::from_slice(&std::fs::read(&saved).expect("saved")).expect("JSON");
    plan["format_version"] = Value::from(1);
    std::fs::write(&saved, plan.to_string()).expect("rewrite");

    let output = cmd(&server)
        .args(["apply", "--auto-approve"])
        .arg(&saved)
        .output()
        .expect("apply");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unsupported plan format_version 1")
            && stderr.contains("make the plan again"),
        "{stderr}"
    );
    let requests = requests(&server).await;
    assert!(
        requests.iter().all(|r| r.method.as_str() == "GET"),
        "nothing changed: {requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_terminal_or_auto_approve_refuses_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server_listing(vec![]).await;
    let output = cmd(&server)
        .args(["apply", "-f"])
        .arg(manifest(&dir))
        .write_stdin("yes\n")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--auto-approve"), "{stderr}");
    let requests = requests(&server).await;
    assert!(
        requests.iter().all(|r| r.method.as_str() == "GET"),
        "a write was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_errors_exit_1_before_any_request() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "version: 1\nname: s\nusers:\n  - email: nope\n").expect("write");
    let server = server_listing(vec![]).await;
    let output = cmd(&server)
        .args(["plan", "-f"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.yaml:4:12"), "{stderr}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_secret_is_reported_before_touching_the_server() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server_listing(vec![]).await;
    let output = cmd(&server)
        .env_remove("GOTRUE_SYNC_CLI_TEST_PW")
        .args(["plan", "-f"])
        .arg(manifest(&dir))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bot@example.com: environment variable GOTRUE_SYNC_CLI_TEST_PW is not set"),
        "{stderr}"
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_in_any_output_at_the_most_verbose_level() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server_listing(vec![]).await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "10",
            "alice@example.com",
            json!({"provider": "email"}),
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/admin/users"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"code": 500, "msg": "Database error creating new user"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "10",
            "alice@example.com",
            json!({"provider": "email", "roles": ["editor"], "managed_by": "gotrue-sync:site"}),
        )))
        .mount(&server)
        .await;
    let file = manifest(&dir);
    let out_plan = dir.path().join("plan.json");
    let runs = [
        cmd(&server)
            .args(["-vvv", "plan", "--out"])
            .arg(&out_plan)
            .arg("-f")
            .arg(&file)
            .output(),
        cmd(&server)
            .args(["-vvv", "plan", "--json", "-f"])
            .arg(&file)
            .output(),
        cmd(&server)
            .args(["-vvv", "apply", "--auto-approve", "-f"])
            .arg(&file)
            .output(),
        cmd(&server)
            .env_remove("GOTRUE_ADMIN_TOKEN")
            .env("GOTRUE_JWT_SECRET", JWT_SECRET)
            .args(["-vvv", "plan", "-f"])
            .arg(&file)
            .output(),
        cmd(&server).args(["plan", "--help"]).output(),
    ];
    let saved = std::fs::read_to_string(&out_plan).expect("saved plan");
    let mut all = saved;
    for run in runs {
        let output = run.expect("run");
        all.push_str(&String::from_utf8_lossy(&output.stdout));
        all.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    assert!(
        all.contains("Database error creating new user"),
        "the failing create is reported"
    );
    for secret in [TOKEN, PASSWORD, JWT_SECRET] {
        assert!(!all.contains(secret), "secret {secret} leaked:\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_change_makes_apply_exit_1_with_a_summary() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server_listing(vec![]).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(422).set_body_json(
            json!({"code": 422, "msg": "Email address already registered by another user"}),
        ))
        .mount(&server)
        .await;
    let output = cmd(&server)
        .args(["apply", "--auto-approve", "-f"])
        .arg(manifest(&dir))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Apply finished with errors: 0 done, 2 failed, 0 not started."),
        "{stderr}"
    );
    assert!(
        stderr.contains("POST /invite (user alice@example.com): server answered 422"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains("[#"),
        "the progress bar is drawn only on a terminal, never into a log: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn colour_follows_the_color_flag_and_is_off_when_piped() {
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir);
    let server = server_listing(vec![]).await;
    let plan = |colour: Option<&str>, no_color: bool| {
        let mut command = cmd(&server);
        if !no_color {
            command.env_remove("NO_COLOR");
        }
        if let Some(colour) = colour {
            command.args(["--color", colour]);
        }
        let output = command
            .args(["plan", "-f"])
            .arg(&file)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(0));
        String::from_utf8_lossy(&output.stdout).contains('\u{1b}')
    };
    assert!(plan(Some("always"), false), "--color always colours");
    assert!(
        plan(Some("always"), true),
        "an explicit --color always wins over NO_COLOR"
    );
    assert!(!plan(Some("never"), false));
    assert!(!plan(Some("auto"), false), "auto: stdout is a pipe here");
    assert!(!plan(None, false), "auto is the default");
}

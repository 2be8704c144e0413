//! Manifest warnings through the binary: `validate` and `plan` print them with their
//! location and go on; they never fail the command.

use std::process::Output;

use gotrue_emulator::EmulatorConfig;

const INVITED_CONFIRMED: &str =
    "version: 1\nname: site\nusers:\n  - email: alice@example.com\n    confirmed: true\n";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn validate_warns_about_confirmed_on_an_invite_and_succeeds() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("users.yaml"), INVITED_CONFIRMED).expect("manifest");
    let run = |args: &[&str]| {
        crate::support::binary::gotrue_sync()
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("run")
    };

    let human = run(&["validate", "users.yaml"]);
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    insta::assert_snapshot!(stderr(&human), @r#"
    warning: user `alice@example.com` is created by invitation, so `confirmed: true` only confirms an existing unconfirmed account: a new one is confirmed when its invitation is accepted
     --> users.yaml:5:5
      |
    5 |     confirmed: true
      |     ^
      = help: remove `confirmed` if the account does not exist yet, or set `create: password` to create it confirmed
    users.yaml is valid: 1 user, owner label "site".
    "#);

    let json = run(&["validate", "--format", "json", "users.yaml"]);
    assert_eq!(json.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(document["valid"], true);
    assert_eq!(document["warnings"][0]["line"], 5);
    assert_eq!(document["warnings"][0]["column"], 5);

    let github = run(&["validate", "--format", "github", "users.yaml"]);
    assert_eq!(github.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&github.stdout).starts_with(
            "::warning file=users.yaml,line=5,col=5::user `alice@example.com` is created by invitation"
        ),
        "{}",
        String::from_utf8_lossy(&github.stdout)
    );

    // Confirming an account created with a password is what the field is for.
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\nname: site\nusers:\n  - email: bot@example.com\n    create: password\n    password: { env: BOT_PASSWORD }\n    confirmed: true\n",
    )
    .expect("manifest");
    let quiet = run(&["validate", "users.yaml"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(!stderr(&quiet).contains("warning"), "{}", stderr(&quiet));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_prints_the_warning_and_still_plans() {
    let emulator = crate::support::emulator::start(EmulatorConfig::default()).await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("users.yaml"), INVITED_CONFIRMED).expect("manifest");
    let plan = crate::support::emulator::binary(&emulator)
        .current_dir(dir.path())
        .args(["plan", "-f", "users.yaml"])
        .output()
        .expect("run");
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let errors = stderr(&plan);
    assert!(
        errors.contains(
            "warning: user `alice@example.com` is created by invitation, so `confirmed: true` only confirms"
        ) && errors.contains("--> users.yaml:5:5"),
        "{errors}"
    );
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("alice@example.com"),
        "the plan is still shown"
    );
}

#[test]
fn warnings_are_shown_beside_the_errors_of_an_invalid_manifest() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("users.yaml"),
        "version: 1\nname: site\nusers:\n  - email: alice@example.com\n    confirmed: true\n  - email: not-an-address\n",
    )
    .expect("manifest");
    let run = |args: &[&str]| {
        crate::support::binary::gotrue_sync()
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("run")
    };

    let human = run(&["validate", "users.yaml"]);
    assert_eq!(human.status.code(), Some(1));
    let text = stderr(&human);
    let warning = text
        .find("warning: user `alice@example.com` is created by invitation")
        .unwrap_or_else(|| panic!("the warning is shown: {text}"));
    let error = text
        .find("error: ")
        .unwrap_or_else(|| panic!("the error is shown: {text}"));
    assert!(warning < error, "in document order: {text}");
    assert!(text.contains("1 problem found, and 1 warning"), "{text}");

    let json = run(&["validate", "--format", "json", "users.yaml"]);
    assert_eq!(json.status.code(), Some(1));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(document["valid"], false);
    assert_eq!(document["problems"].as_array().map(Vec::len), Some(1));
    assert_eq!(document["warnings"][0]["line"], 5);
}

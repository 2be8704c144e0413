//! `gotrue-sync smoke` against the in-process emulator: every flow passes, with and without
//! autoconfirm, and the test users are gone afterwards (unless asked to keep them).

use assert_cmd::Command;
use gotrue_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

use crate::support::binary::gotrue_sync;
use crate::support::emulator::start;

async fn emulator(autoconfirm: bool, aud: &str) -> Emulator {
    start(EmulatorConfig {
        autoconfirm,
        aud: aud.to_owned(),
        ..EmulatorConfig::default()
    })
    .await
}

/// The binary with the emulator's admin token, unless `admin` is false.
fn smoke(emulator: &Emulator, admin: bool) -> Command {
    let mut cmd = gotrue_sync();
    cmd.args(["smoke", "--url", &emulator.url(), "--interval", "10ms"]);
    if admin {
        cmd.env("GOTRUE_ADMIN_TOKEN", &emulator.config().operator_token);
    }
    cmd
}

/// The statuses of the steps of the first run of a `--json` document, by name.
fn statuses(stdout: &[u8]) -> Vec<(String, String)> {
    let document: Value = serde_json::from_slice(stdout).expect("JSON on stdout");
    document["runs"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn passed(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), "passed".to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn autoconfirming_instance_passes_without_a_mail_and_is_cleaned_up() {
    let emu = emulator(true, "").await;
    let output = smoke(&emu, true).arg("--json").output().expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut expected = passed(&["health", "settings", "signup"]);
    expected.push(("confirm".into(), "skipped".into()));
    expected.extend(passed(&[
        "login",
        "get user",
        "update user",
        "refresh",
        "logout",
        "cleanup",
    ]));
    assert_eq!(statuses(&output.stdout), expected);
    assert_eq!(emu.user_count(), 0, "the test user is deleted");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn confirmation_and_invitation_through_the_inbox_pass_with_an_audience() {
    let emu = emulator(false, "site-aud").await;
    let dir = tempfile::tempdir().expect("dir");
    let junit = dir.path().join("smoke.xml");
    let output = smoke(&emu, true)
        .args([
            "--aud",
            "site-aud",
            "--confirm-via",
            "inbox",
            "--flow",
            "signup,invite",
            "--json",
            "--junit",
        ])
        .arg(&junit)
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        statuses(&output.stdout),
        passed(&[
            "health",
            "settings",
            "signup",
            "confirm",
            "login",
            "get user",
            "update user",
            "refresh",
            "logout",
            "invite",
            "accept invite",
            "invite login",
            "cleanup",
        ])
    );
    assert_eq!(emu.user_count(), 0, "both test users are deleted");
    let xml = std::fs::read_to_string(&junit).expect("JUnit report written");
    assert!(
        xml.contains("tests=\"13\" failures=\"0\" skipped=\"0\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 13);

    // The tokens the emulator mailed were used, and appear in no output.
    let messages: Value = reqwest::get(format!("{}/_emulator/messages", emu.url()))
        .await
        .expect("inbox")
        .json()
        .await
        .expect("json");
    let tokens: Vec<&str> = messages["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["token"].as_str())
        .collect();
    assert_eq!(
        tokens.len(),
        2,
        "a confirmation and an invitation were mailed"
    );
    let everything = format!(
        "{}{}{xml}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for token in tokens {
        assert!(!everything.contains(token), "a mail token leaked");
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn confirming_through_the_admin_api_passes_and_says_it_is_weaker() {
    let emu = emulator(false, "").await;
    let output = smoke(&emu, true)
        .args(["--confirm-via", "admin"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("confirmed through the admin API with `confirm` (weaker check"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Smoke test passed: 10 passed, 0 failed, 0 skipped."),
        "{stdout}"
    );
    assert_eq!(emu.user_count(), 0);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmable_signup_fails_at_confirm_and_still_cleans_up() {
    let emu = emulator(false, "").await;
    let output = smoke(&emu, true).output().expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the instance requires e-mail confirmation"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint: pass --confirm-via inbox"),
        "{stdout}"
    );
    assert!(stdout.contains("not run: `confirm` failed"), "{stdout}");
    assert_eq!(emu.user_count(), 0, "clean-up ran after the failure");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_user_and_missing_admin_credentials_leave_the_user_and_name_it() {
    let emu = emulator(true, "").await;
    let kept = smoke(&emu, true).arg("--keep-user").output().expect("run");
    let stdout = String::from_utf8_lossy(&kept.stdout);
    assert_eq!(kept.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("kept (--keep-user): gotrue-sync-smoke+"),
        "{stdout}"
    );
    assert!(
        stdout.contains("test user(s) left on the server"),
        "{stdout}"
    );
    assert_eq!(emu.user_count(), 1);

    let without_admin = smoke(&emu, false).output().expect("run");
    let stdout = String::from_utf8_lossy(&without_admin.stdout);
    let stderr = String::from_utf8_lossy(&without_admin.stderr);
    assert_eq!(without_admin.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("no admin credentials"), "{stderr}");
    assert!(
        stdout.contains("could not clean up without admin credentials; left gotrue-sync-smoke+"),
        "{stdout}"
    );
    assert_eq!(emu.user_count(), 2);

    let invite_without_admin = smoke(&emu, false)
        .args(["--flow", "invite"])
        .output()
        .expect("run");
    assert_eq!(invite_without_admin.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&invite_without_admin.stderr).contains("need admin credentials")
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_runs_end_with_percentiles_per_step() {
    let emu = emulator(true, "").await;
    let output = smoke(&emu, true)
        .args(["--repeat", "3"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("Smoke test passed").count(), 3, "{stdout}");
    let (_, percentiles) = stdout
        .split_once("Latency over 3 runs:")
        .expect("percentiles");
    let login = percentiles
        .lines()
        .find(|l| l.trim_start().starts_with("login "))
        .expect("a login row");
    assert_eq!(login.split_whitespace().nth(1), Some("3"), "{login}");
    assert!(stdout.contains("Runs: 3 passed, 0 failed."), "{stdout}");
    assert_eq!(emu.user_count(), 0);
    emu.shutdown().await;
}

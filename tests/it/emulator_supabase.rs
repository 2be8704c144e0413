//! The real binary end to end against the supabase-flavoured emulator, reached the way a
//! hosted project is (`…/auth/v1`, a `service_role` key, flavour detected): plan and apply
//! converge, `smoke` walks both flows, and a listing whose offset pages overlap on equal
//! `created_at` is still read completely before anything is planned.

use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};
use gotrue_sync::plan::{marker_for, MARKER_KEY};
use serde_json::{json, Map, Value};

use crate::support::emulator::{start_supabase, supabase_binary};
use crate::support::write;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every user on the emulator, through its admin API as a `service_role` caller.
async fn stored_users(emulator: &Emulator) -> Vec<Value> {
    let answer: Value = reqwest::Client::new()
        .get(format!(
            "{}/admin/users?per_page=100000",
            emulator.api_url()
        ))
        .bearer_auth(emulator.admin_key())
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    answer["users"].as_array().cloned().unwrap_or_default()
}

fn by_email<'a>(users: &'a [Value], email: &str) -> &'a Value {
    users
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("{email} in {users:?}"))
}

async fn log_in(emulator: &Emulator, email: &str, password: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{}/token?grant_type=password", emulator.api_url()))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("token")
        .status()
}

const MANIFEST: &str = r#"version: 1
name: site
policy:
  prune: managed
users:
  - email: Alice@Example.com
    create: password
    password: { env: ALICE_PASSWORD }
    confirmed: true
    roles: [editor]
    user_metadata: { full_name: Alice Example }
    app_metadata: { team: growth }
  - email: bob@example.com
    roles: [viewer]
  - email: carol@example.com
    create: password
    password: { env: CAROL_PASSWORD }
    confirmed: true
    role: deployer
"#;

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_apply_converge_and_created_users_can_log_in() {
    let emulator = start_supabase(EmulatorConfig::default()).await;
    emulator
        .seed_user(SeedUser {
            email: "owner@example.com".into(),
            confirmed: true,
            ..SeedUser::default()
        })
        .expect("seed");
    let dir = tempfile::tempdir().expect("dir");
    let file = write(&dir, "users.yaml", MANIFEST);
    let run = |command: &str, extra: &[&str]| {
        supabase_binary(&emulator)
            .env("ALICE_PASSWORD", "alice-password-1")
            .env("CAROL_PASSWORD", "carol-password-1")
            .arg(command)
            .args(extra)
            .arg("-f")
            .arg(&file)
            .output()
            .expect("run")
    };
    let first = run("plan", &["--detailed-exitcode"]);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first.stderr));
    let applied = run("apply", &["--auto-approve"]);
    let applied_text = format!("{}{}", text(&applied.stdout), text(&applied.stderr));
    assert_eq!(applied.status.code(), Some(0), "{applied_text}");
    assert!(
        !applied_text.contains(&emulator.admin_key()),
        "{applied_text}"
    );

    let users = stored_users(&emulator).await;
    assert_eq!(users.len(), 4);
    let alice = by_email(&users, "alice@example.com");
    assert!(alice["email_confirmed_at"].is_string(), "{alice}");
    assert_eq!(alice["app_metadata"]["roles"], json!(["editor"]));
    assert_eq!(alice["app_metadata"]["team"], "growth");
    assert_eq!(alice["app_metadata"]["providers"], json!(["email"]));
    assert_eq!(alice["user_metadata"]["full_name"], "Alice Example");
    assert_eq!(alice["app_metadata"][MARKER_KEY], marker_for("site"));
    let bob = by_email(&users, "bob@example.com");
    assert!(bob["invited_at"].is_string() && bob.get("email_confirmed_at").is_none());
    assert_eq!(bob["app_metadata"]["roles"], json!(["viewer"]));
    assert_eq!(by_email(&users, "carol@example.com")["role"], "deployer");
    assert_eq!(
        log_in(&emulator, "alice@example.com", "alice-password-1").await,
        reqwest::StatusCode::OK,
        "a password user is confirmed and can log in"
    );

    let again = run("plan", &["--detailed-exitcode"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "nothing left to do:\n{}{}",
        text(&again.stdout),
        text(&again.stderr)
    );
    emulator.shutdown().await;
}

/// `smoke --json` against `emulator` at its hosted URL; returns the exit code, the step
/// statuses by name and stderr.
fn smoke(emulator: &Emulator, args: &[&str]) -> (Option<i32>, Vec<(String, String)>, String) {
    let output = supabase_binary(emulator)
        .args(["smoke", "--json", "--interval", "10ms"])
        .args(args)
        .output()
        .expect("run");
    let stderr = text(&output.stderr);
    let document: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {stderr}"));
    let steps = document["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|run| run["steps"].as_array().cloned().unwrap_or_default())
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (output.status.code(), steps, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_walks_signup_and_invite_with_generated_links() {
    let emulator = start_supabase(EmulatorConfig::default()).await;
    let (code, steps, stderr) = smoke(
        &emulator,
        &["--confirm-via", "generate-link", "--flow", "signup,invite"],
    );
    assert_eq!(code, Some(0), "{steps:?}\n{stderr}");
    assert!(
        steps.iter().any(|(name, _)| name.contains("invite")),
        "{steps:?}"
    );
    for (name, status) in &steps {
        assert!(
            status == "passed" || status == "skipped",
            "{name}: {status} in {steps:?}"
        );
    }
    assert!(
        !stderr.contains(&emulator.admin_key()),
        "the key is never printed"
    );
    assert_eq!(emulator.user_count(), 0, "the test users are deleted");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_passes_on_an_autoconfirming_supabase_and_through_the_inbox() {
    let emulator = start_supabase(EmulatorConfig {
        autoconfirm: true,
        ..EmulatorConfig::default()
    })
    .await;
    let (code, steps, stderr) = smoke(&emulator, &[]);
    assert_eq!(code, Some(0), "{steps:?}\n{stderr}");
    assert!(
        steps.contains(&("signup".to_owned(), "passed".to_owned())),
        "{steps:?}"
    );
    emulator.shutdown().await;

    let emulator = start_supabase(EmulatorConfig::default()).await;
    let (code, steps, stderr) = smoke(
        &emulator,
        &["--confirm-via", "inbox", "--flow", "signup,invite"],
    );
    assert_eq!(code, Some(0), "{steps:?}\n{stderr}");
    assert_eq!(emulator.user_count(), 0);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_import_with_one_created_at_is_listed_completely_before_planning() {
    const USERS: usize = 2_500;
    let emulator = start_supabase(EmulatorConfig::default()).await;
    let marker = marker_for("bulk");
    let mut app_metadata = Map::new();
    app_metadata.insert(MARKER_KEY.into(), Value::String(marker));
    // One seed call is one bulk import: every user shares its created_at.
    emulator
        .seed(
            (0..USERS)
                .map(|i| SeedUser {
                    email: format!("bulk{i}@example.com"),
                    confirmed: true,
                    app_metadata: app_metadata.clone(),
                    ..SeedUser::default()
                })
                .collect(),
        )
        .expect("seed");
    // The server itself pages with overlaps and gaps at this size.
    let client = reqwest::Client::new();
    let mut ids = std::collections::HashSet::new();
    for page in 1..=3 {
        let answer: Value = client
            .get(format!(
                "{}/admin/users?page={page}&per_page=1000",
                emulator.api_url()
            ))
            .bearer_auth(emulator.admin_key())
            .send()
            .await
            .expect("page")
            .json()
            .await
            .expect("json");
        for user in answer["users"].as_array().into_iter().flatten() {
            ids.insert(user["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert!(ids.len() < USERS, "offset pages lose users here");

    let mut manifest = String::from("version: 1\nname: bulk\npolicy:\n  prune: managed\nusers:\n");
    for i in 0..USERS {
        manifest.push_str(&format!("  - email: bulk{i}@example.com\n"));
    }
    let dir = tempfile::tempdir().expect("dir");
    let file = write(&dir, "users.yaml", &manifest);
    let planned = supabase_binary(&emulator)
        .args(["plan", "--detailed-exitcode", "--page-size", "1000", "-f"])
        .arg(&file)
        .output()
        .expect("plan");
    assert_eq!(
        planned.status.code(),
        Some(0),
        "every user was listed, so nothing is to be created:\n{}{}",
        text(&planned.stdout),
        text(&planned.stderr)
    );
    assert!(
        text(&planned.stderr).contains("listed again"),
        "the inconsistent pages were noticed: {}",
        text(&planned.stderr)
    );

    let exported = supabase_binary(&emulator)
        .args(["export", "--name", "bulk", "--page-size", "1000"])
        .output()
        .expect("export");
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let yaml = text(&exported.stdout);
    assert_eq!(yaml.matches("- email: bulk").count(), USERS, "{yaml:.300}");
    emulator.shutdown().await;
}

/// A spawned process, stopped when the test ends, even by a failed assertion.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_command_serves_the_supabase_flavour_and_prints_its_key() {
    use std::io::BufRead;
    let mut child = crate::support::binary::process()
        .args(["emulator", "--flavor", "supabase", "--port", "0"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let _running = Stopped(child);
    let banner = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.expect("line");
            let done = line.starts_with("Press Ctrl-C");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .expect("banner");
    let value_after = |prefix: &str| -> String {
        banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {banner:?}"))
            .trim()
            .to_owned()
    };
    let url = value_after("GoTrue emulator (supabase) listening on");
    let key = value_after("service_role key:");
    assert!(url.ends_with("/auth/v1"), "{url}");
    let client = reqwest::Client::new();
    let settings: Value = client
        .get(format!("{url}/settings"))
        .send()
        .await
        .expect("settings")
        .json()
        .await
        .expect("json");
    assert_eq!(settings["mailer_autoconfirm"], false);
    let listed = client
        .get(format!("{url}/admin/users"))
        .bearer_auth(&key)
        .header("apikey", &key)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.status(), reqwest::StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_owned_keys_confirmation_and_renames_converge_on_supabase() {
    let emulator = start_supabase(EmulatorConfig::default()).await;
    let client = reqwest::Client::new();
    // A self-signup (unconfirmed): supabase/auth writes `email`, `sub`, `email_verified` and
    // `phone_verified` into its metadata and `provider(s)` into its app metadata.
    let signup = client
        .post(format!("{}/signup", emulator.api_url()))
        .json(&json!({"email": "Visitor@Example.com", "password": "visitor-password"}))
        .send()
        .await
        .expect("signup");
    assert!(signup.status().is_success());
    emulator
        .seed_user(SeedUser {
            email: "old@example.com".into(),
            confirmed: true,
            ..SeedUser::default()
        })
        .expect("seed");
    let manifest = r#"version: 1
name: site
policy:
  adopt: all
  user_metadata: exact
  app_metadata: exact
users:
  - email: visitor@example.com
    confirmed: true
    roles: [member]
    user_metadata: { plan: free }
  - email: New@Example.com
    renamed_from: old@example.com
"#;
    let dir = tempfile::tempdir().expect("dir");
    let file = write(&dir, "users.yaml", manifest);
    let applied = supabase_binary(&emulator)
        .args(["apply", "--auto-approve", "-f"])
        .arg(&file)
        .output()
        .expect("apply");
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}{}",
        text(&applied.stdout),
        text(&applied.stderr)
    );
    let users = stored_users(&emulator).await;
    let visitor = by_email(&users, "visitor@example.com");
    assert!(visitor["email_confirmed_at"].is_string(), "{visitor}");
    assert_eq!(visitor["app_metadata"]["providers"], json!(["email"]));
    assert_eq!(visitor["user_metadata"]["plan"], "free");
    assert_eq!(visitor["user_metadata"]["email_verified"], true);
    assert_eq!(visitor["user_metadata"]["sub"], visitor["id"]);
    by_email(&users, "new@example.com");

    let again = supabase_binary(&emulator)
        .args(["plan", "--detailed-exitcode", "-f"])
        .arg(&file)
        .output()
        .expect("plan");
    assert_eq!(
        again.status.code(),
        Some(0),
        "server-owned keys are not fought over:\n{}{}",
        text(&again.stdout),
        text(&again.stderr)
    );
    let exported = supabase_binary(&emulator)
        .args(["export", "--name", "site"])
        .output()
        .expect("export");
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let yaml = text(&exported.stdout);
    for owned in [
        "provider",
        "email_verified",
        "phone_verified",
        "sub:",
        "authenticated",
    ] {
        assert!(!yaml.contains(owned), "{owned} exported:\n{yaml}");
    }
    emulator.shutdown().await;
}

#[test]
fn the_demo_converges_on_the_supabase_flavour() {
    let dir = tempfile::tempdir().expect("dir");
    let output = crate::support::binary::gotrue_sync()
        .current_dir(dir.path())
        .args(["demo", "--flavor", "supabase"])
        .output()
        .expect("demo");
    let stderr = text(&output.stderr);
    let shown = format!("{}{stderr}", text(&output.stdout));
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("/auth/v1"),
        "the supabase URL is shown: {shown}"
    );
    assert!(
        shown.contains("No changes. The server matches the manifest"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invites_past_the_email_rate_limit_fail_at_once_and_the_rest_is_done_later() {
    let emulator = start_supabase(EmulatorConfig {
        email_rate_limit: Some(1),
        ..EmulatorConfig::default()
    })
    .await;
    let manifest = "version: 1\nname: site\nusers:\n  - email: a@example.com\n  - email: b@example.com\n  - email: c@example.com\n";
    let dir = tempfile::tempdir().expect("dir");
    let file = write(&dir, "users.yaml", manifest);
    let started = std::time::Instant::now();
    let applied = supabase_binary(&emulator)
        .args(["apply", "--auto-approve", "-f"])
        .arg(&file)
        .output()
        .expect("apply");
    let shown = format!("{}{}", text(&applied.stdout), text(&applied.stderr));
    assert_eq!(applied.status.code(), Some(1), "{shown}");
    assert!(shown.contains("over_email_send_rate_limit"), "{shown}");
    assert!(
        shown.contains("@example.com): the server's e-mail rate limit is used up")
            && !shown.contains("limit is reached: the server's e-mail rate limit"),
        "a failed invite says once what the limit is: {shown}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "a 429 without Retry-After is not retried in a loop: {:?}",
        started.elapsed()
    );
    assert_eq!(emulator.user_count(), 1, "one mail was allowed");
    let planned = supabase_binary(&emulator)
        .args(["plan", "--detailed-exitcode", "-f"])
        .arg(&file)
        .output()
        .expect("plan");
    assert_eq!(
        planned.status.code(),
        Some(2),
        "two invitations are left to send"
    );
    emulator.shutdown().await;
}

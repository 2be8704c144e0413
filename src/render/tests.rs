use serde_json::json;

use super::*;
use crate::apply::{ApplyReport, ChangeReport, Outcome};
use crate::gotrue::RemoteUser;
use crate::manifest::validate;
use crate::plan::plan;

fn sample_plan() -> Plan {
    let manifest = validate(
        r#"version: 1
name: marketing-site
policy: { prune: managed, user_metadata: exact }
users:
  - email: alice@example.com
    roles: [admin, editor]
    user_metadata: { full_name: Alice }
    app_metadata: { team: growth }
  - email: ci-bot@example.com
    create: password
    password: { env: GOTRUE_SYNC_RENDER_PW }
    role: deployer
  - email: bob@example.com
    adopt: true
    roles: [admin]
    user_metadata:
      full_name: Robert
      prefs: { theme: dark, languages: [en, fr, de], notifications: { email: true, sms: false } }
  - email: dave@example.com
    confirmed: true
    create: password
    password: { file: secrets/dave }
"#,
        std::path::Path::new("m.yaml"),
    )
    .expect("valid")
    .manifest;
    let users: Vec<RemoteUser> = serde_json::from_value(json!([
        {"id": "b0b", "email": "Bob@example.com", "role": "", "confirmed_at": "2026-01-01T00:00:00Z",
         "app_metadata": {"provider": "email", "roles": ["viewer"]},
         "user_metadata": {"full_name": "Bob", "old": 1, "prefs": {"theme": "light", "languages": ["en", "fr", "de"], "notifications": {"email": true, "sms": false}}}},
        {"id": "dd", "email": "dave@example.com", "role": "", "app_metadata": {"provider": "email", "managed_by": "gotrue-sync:marketing-site"}, "user_metadata": {}},
        {"id": "c4r01", "email": "carol@example.com", "role": "", "app_metadata": {"provider": "email", "managed_by": "gotrue-sync:marketing-site"}, "user_metadata": {}},
        {"id": "e1", "email": "erin@example.com", "role": "", "app_metadata": {"provider": "email"}, "user_metadata": {}}
    ]))
    .expect("users");
    plan(&manifest, &users)
}

#[test]
fn human_plan_snapshot() {
    let text = plan_human(&sample_plan(), Style::plain());
    insta::assert_snapshot!(text);
}

#[test]
fn no_changes_snapshot() {
    let manifest = validate(
        "version: 1\nname: s\nusers: []\n",
        std::path::Path::new("m.yaml"),
    )
    .expect("valid")
    .manifest;
    let users: Vec<RemoteUser> =
        serde_json::from_value(json!([{"id": "1", "email": "x@example.com"}])).expect("users");
    insta::assert_snapshot!(plan_human(&plan(&manifest, &users), Style::plain()));
}

#[test]
fn summary_line_reads_like_terraform() {
    assert_eq!(
        summary_line(&sample_plan()),
        "Plan: 1 to invite, 1 to create, 2 to update, 1 to delete. 1 unmanaged user left alone."
    );
}

#[test]
fn colour_only_when_enabled() {
    let plain = plan_human(&sample_plan(), Style::plain());
    let coloured = plan_human(&sample_plan(), Style::new(true));
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[32m+\x1b[0m"));
}

#[test]
fn json_plan_is_versioned_and_has_no_secret_values() {
    let text = plan_json(&sample_plan());
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(value["format_version"], crate::plan::PLAN_FORMAT_VERSION);
    assert_eq!(value["summary"]["delete"], 1);
    let bob = value["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["email"] == "Bob@example.com"))
        .expect("bob's update");
    assert_eq!(
        bob["adopt"]["grants"],
        json!(["roles: admin"]),
        "an adoption that grants roles says so in JSON"
    );
    assert_eq!(
        value["changes"][1]["password"],
        json!({"env": "GOTRUE_SYNC_RENDER_PW"})
    );
}

#[test]
fn apply_report_snapshot() {
    let report = ApplyReport {
        results: vec![
            ChangeReport {
                action: "invite",
                email: "alice@example.com".into(),
                outcome: Outcome::Done,
                drift: vec!["app_metadata.team: wrote \"growth\", server has \"x\"".into()],
            },
            ChangeReport {
                action: "create",
                email: "ci-bot@example.com".into(),
                outcome: Outcome::Failed {
                    error: "PUT /admin/users/1 (user ci-bot@example.com): server answered 500: Error updating user".into(),
                    done: Some("created as 1, but its app metadata and roles were not written; run apply again to finish".into()),
                },
                drift: vec![],
            },
            ChangeReport {
                action: "delete",
                email: "carol@example.com".into(),
                outcome: Outcome::Skipped {
                    reason: "not started: interrupted".into(),
                },
                drift: vec![],
            },
        ],
        interrupted: true,
    };
    let lines: Vec<String> = report
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| change_line(r, i + 1, 3, Style::plain()))
        .collect();
    insta::assert_snapshot!(format!(
        "{}\n\n{}",
        lines.join("\n"),
        apply_summary(&report, Style::plain())
    ));
}

#[test]
fn markdown_plan_with_deletes_snapshot() {
    let text = plan_markdown(&sample_plan());
    assert!(text.contains("> [!WARNING]"));
    insta::assert_snapshot!(text);
}

#[test]
fn markdown_plan_without_deletes_snapshot() {
    let manifest = validate(
        "version: 1\nname: s\npolicy: { allow_admin_role: true }\nusers:\n  - email: a@example.com\n    role: admin\n  - email: b@example.com\n    roles: [editor]\n",
        std::path::Path::new("m.yaml"),
    )
    .expect("valid")
    .manifest;
    let text = plan_markdown(&plan(&manifest, &[]));
    assert!(!text.contains("deletes"));
    insta::assert_snapshot!(text);
}

#[test]
fn exported_yaml_is_a_valid_manifest_with_pending_invites_marked() {
    let users: Vec<RemoteUser> = serde_json::from_value(json!([
        {"id": "1", "email": "p@example.com", "invited_at": "2026-01-01T00:00:00Z", "app_metadata": {"provider": "email", "roles": ["a"]}},
        {"id": "2", "email": "c@example.com", "role": "admin", "confirmed_at": "2026-01-01T00:00:00Z",
         "app_metadata": {"provider": "email", "team": {"b": 1, "a": [1, 2]}}, "user_metadata": {"full_name": "C"}}
    ]))
    .expect("users");
    let text = export_yaml(&crate::export::export("site", &users, false)).expect("yaml");
    insta::assert_snapshot!(text);
    let validated = validate(&text, std::path::Path::new("export.yaml")).expect("export is valid");
    assert_eq!(validated.manifest.users.len(), 2);
    assert!(text.contains("email: p@example.com # invited (pending since 2026-01-01T00:00:00Z)"));
}

#[test]
fn progress_bar_fills_in_proportion() {
    assert_eq!(progress_bar(0, 4, 8), "[--------] 0/4");
    assert_eq!(progress_bar(1, 4, 8), "[##------] 1/4");
    assert_eq!(progress_bar(4, 4, 8), "[########] 4/4");
    assert_eq!(progress_bar(0, 0, 4), "[####] 0/0");
    assert_eq!(
        progress_bar(9, 4, 4),
        "[####] 9/4",
        "never overflows the width"
    );
}

fn smoke_report(signup_fails: bool) -> crate::smoke::SmokeReport {
    use crate::gotrue::{GotrueError, RequestLabel};
    use crate::smoke::{SmokeReport, StepFailure, StepResult, StepStatus};
    use std::time::Duration;
    let step = |name, status, ms: u64, detail: &str| StepResult {
        name,
        status,
        latency: Duration::from_micros(ms * 1000 + 400),
        detail: Some(detail.to_owned()),
        failure: None,
    };
    let mut steps = vec![
        step("health", StepStatus::Passed, 2, "GoTrue v2.0"),
        step(
            "settings",
            StepStatus::Passed,
            1,
            "autoconfirm off, signup allowed, e-mail provider enabled",
        ),
    ];
    if signup_fails {
        let error = GotrueError::Api {
            request: RequestLabel::new("POST", "/signup", Some("smoke@example.com")),
            status: 403,
            message: "Signups not allowed for this instance".into(),
        };
        steps.push(StepResult {
            name: "signup",
            status: StepStatus::Failed,
            latency: Duration::from_millis(12),
            detail: None,
            failure: Some(StepFailure::request(&error)),
        });
        for name in [
            "confirm",
            "login",
            "get user",
            "update user",
            "refresh",
            "logout",
        ] {
            steps.push(StepResult {
                latency: Duration::ZERO,
                ..step(name, StepStatus::Skipped, 0, "not run: `signup` failed")
            });
        }
        steps.push(step(
            "cleanup",
            StepStatus::Passed,
            3,
            "nothing to delete: no test user exists",
        ));
    } else {
        steps.extend([
            step("signup", StepStatus::Passed, 15, "user 1 created"),
            step(
                "confirm",
                StepStatus::Passed,
                8,
                "mail token accepted by /verify (from the emulator inbox)",
            ),
            step(
                "login",
                StepStatus::Passed,
                20,
                "token for 1 (aud \"\"), expires in 3600 s",
            ),
            step(
                "cleanup",
                StepStatus::Passed,
                3,
                "deleted smoke@example.com",
            ),
        ]);
    }
    SmokeReport {
        url: "http://127.0.0.1:9999".into(),
        email: "smoke@example.com".into(),
        steps,
        left_behind: None,
    }
}

#[test]
fn smoke_table_snapshot() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        smoke_table(&smoke_report(false), Style::plain()),
        smoke_table(&smoke_report(true), Style::plain())
    ));
}

#[test]
fn smoke_latency_table_snapshot() {
    let reports = [smoke_report(false), smoke_report(false), smoke_report(true)];
    insta::assert_snapshot!(smoke_latency_table(&reports, Style::plain()));
}

#[test]
fn smoke_junit_snapshot() {
    insta::assert_snapshot!(smoke_junit(&[smoke_report(true)]));
}

#[test]
fn smoke_json_is_versioned_with_millisecond_timings() {
    let value: serde_json::Value =
        serde_json::from_str(&smoke_json(&[smoke_report(true)])).expect("json");
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["passed"], false);
    let signup = &value["runs"][0]["steps"][2];
    assert_eq!(signup["name"], "signup");
    assert_eq!(signup["status"], "failed");
    assert_eq!(signup["latency_ms"], 12.0);
    assert_eq!(signup["failure"]["status"], 403);
    assert_eq!(value["latency"][0]["name"], "health");
}

use serde_json::json;

use super::*;
use crate::apply::{ApplyReport, ChangeReport, Outcome};
use crate::gotrue::RemoteUser;
use crate::manifest::validate;
use crate::plan::plan;

fn sample_plan() -> Plan {
    std::env::set_var("GOTRUE_SYNC_RENDER_PW", "do-not-print-me");
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
    assert!(!text.contains("do-not-print-me"));
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
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["summary"]["delete"], 1);
    assert_eq!(
        value["changes"][1]["password"],
        json!({"env": "GOTRUE_SYNC_RENDER_PW"})
    );
    assert!(!text.contains("do-not-print-me"));
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
    assert!(!text.contains("do-not-print-me"));
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

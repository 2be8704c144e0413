use std::fmt::Write as _;

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
fn json_metadata_has_one_shape_for_new_and_updated_users() {
    let planned = sample_plan();
    let value: serde_json::Value = serde_json::from_str(&plan_json(&planned)).expect("json");
    let change = |action: &str| {
        value["changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["action"] == action))
            .cloned()
            .expect("change")
    };
    let invite = change("invite");
    assert_eq!(
        invite["user_metadata"],
        json!([{"key": "full_name", "after": "Alice"}])
    );
    assert_eq!(
        invite["app_metadata"][0],
        json!({"key": "team", "after": "growth"})
    );
    let update = change("update");
    assert!(
        update["user_metadata"]
            .as_array()
            .is_some_and(|keys| keys.iter().all(|k| k["key"].is_string())),
        "{update:#}"
    );
    // The document reads back into the same plan (`apply PLAN`).
    let again: Plan = serde_json::from_value(value).expect("reads back");
    assert_eq!(again, planned);
}

#[test]
fn a_new_users_metadata_cannot_remove_or_repeat_keys() {
    let mut value: serde_json::Value =
        serde_json::from_str(&plan_json(&sample_plan())).expect("json");
    value["changes"][0]["user_metadata"] = json!([{"key": "a", "before": 1, "after": 2}]);
    let error = serde_json::from_value::<Plan>(value.clone()).expect_err("before refused");
    assert!(
        error.to_string().contains("needs `after` and no `before`"),
        "{error}"
    );
    value["changes"][0]["user_metadata"] =
        json!([{"key": "a", "after": 1}, {"key": "a", "after": 2}]);
    let error = serde_json::from_value::<Plan>(value).expect_err("repeat refused");
    assert!(error.to_string().contains("set twice"), "{error}");
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
        mail_limit: None,
        planning_conflicts: 0,
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
    let text = plan_markdown(&sample_plan(), &MarkdownOptions::default());
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
    let text = plan_markdown(&plan(&manifest, &[]), &MarkdownOptions::default());
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
    let text = export_yaml(&crate::export::export(
        "site",
        &users,
        false,
        crate::gotrue::Flavor::Netlify,
    ))
    .expect("yaml");
    insta::assert_snapshot!(text);
    let validated = validate(&text, std::path::Path::new("export.yaml")).expect("export is valid");
    assert_eq!(validated.manifest.users.len(), 2);
    assert!(
        validated.warnings.is_empty(),
        "an export validates without warnings: {:?}",
        validated.warnings
    );
    assert!(text.contains("email: p@example.com # invited (pending since 2026-01-01T00:00:00Z)"));
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

/// A manifest of `invites` new users plus `pending` listed users whose invitation is
/// pending (sent an hour apart, in reverse e-mail order so "oldest" differs from "first").
fn large_plan(invites: usize, pending: usize) -> Plan {
    let mut yaml = String::from("version: 1\nname: big-site\nusers:\n");
    for i in 0..invites {
        let _ = writeln!(
            yaml,
            "  - email: new-user-{i:05}@example.com\n    roles: [editor]\n    user_metadata: {{ full_name: New User {i} }}"
        );
    }
    let mut users = Vec::new();
    for i in 0..pending {
        let _ = writeln!(yaml, "  - email: pending-{i:05}@example.com");
        let hours_before = i64::try_from(pending - i).expect("small");
        let invited_at =
            time::OffsetDateTime::from_unix_timestamp(1_767_225_600 - hours_before * 3600)
                .expect("in range")
                .format(&time::format_description::well_known::Rfc3339)
                .expect("formats");
        users.push(json!({
            "id": format!("p{i}"), "email": format!("pending-{i:05}@example.com"), "role": "",
            "invited_at": invited_at,
            "app_metadata": {"provider": "email", "managed_by": "gotrue-sync:big-site"},
            "user_metadata": {}
        }));
    }
    let manifest = validate(&yaml, std::path::Path::new("m.yaml"))
        .expect("valid")
        .manifest;
    let users: Vec<RemoteUser> = serde_json::from_value(json!(users)).expect("users");
    plan(&manifest, &users)
}

#[test]
fn markdown_of_2000_invites_stays_within_the_default_budget() {
    let plan = large_plan(2000, 0);
    let options = MarkdownOptions {
        server_host: server_host("https://admin:hunter2@id.example.com/.netlify/identity?t=s3"),
        ..MarkdownOptions::default()
    };
    let text = plan_markdown(&plan, &options);
    assert!(
        text.len() <= DEFAULT_MARKDOWN_BUDGET,
        "{} bytes over a {DEFAULT_MARKDOWN_BUDGET}-byte budget",
        text.len()
    );
    assert!(text.starts_with("### gotrue-sync plan for `big-site` on `id.example.com`\n"));
    for secret in ["hunter2", "admin:", "netlify/identity", "s3"] {
        assert!(!text.contains(secret), "{secret} leaked into the comment");
    }
    assert!(text.contains("<details><summary>2000 to invite</summary>"));
    let last = text.lines().last().expect("a closing line");
    assert!(
        last.starts_with("**Shortened to fit 60000 bytes:**"),
        "{last}"
    );
    assert!(last.contains("`gotrue-sync plan --format human`"), "{last}");
    // The closing line's counts match what the comment shows.
    let full = text.matches(" {\n").count();
    let as_line = text
        .lines()
        .filter(|l| l.starts_with("+ invite \"") && !l.ends_with('{'))
        .count();
    let hidden = 2000 - full - as_line;
    assert!(as_line > 1000, "only {as_line} changes named");
    assert!(
        last.contains(&format!(
            "{as_line} of 2000 changes are shown as one line without their fields, {hidden} are not shown"
        )),
        "{last}"
    );
    assert!(text.contains(&format!("# … and {hidden} more, not shown here")));
}

#[test]
fn markdown_budget_holds_when_not_even_one_line_per_change_fits() {
    let plan = large_plan(2000, 30);
    for budget in [MIN_MARKDOWN_BUDGET, 20_000, 45_000] {
        let options = MarkdownOptions {
            budget,
            pending: PendingList::All,
            ..MarkdownOptions::default()
        };
        let text = plan_markdown(&plan, &options);
        assert!(text.len() <= budget, "{} > {budget}", text.len());
        assert!(text.contains("more, not shown here"));
        let last = text.lines().last().expect("a closing line");
        assert!(last.contains("are not shown"), "{last}");
    }
}

#[test]
fn markdown_under_the_budget_is_not_cut() {
    let text = plan_markdown(&large_plan(3, 0), &MarkdownOptions::default());
    assert!(!text.contains("Shortened"));
    assert!(text.contains("+ user_metadata.full_name = \"New User 2\""));
}

#[test]
fn cut_markdown_snapshot() {
    // A budget that holds the skeleton, every change as one line and a few full blocks.
    let plan = large_plan(40, 8);
    let options = MarkdownOptions {
        server_host: Some("id.example.com".into()),
        budget: MIN_MARKDOWN_BUDGET,
        pending: PendingList::default(),
    };
    let text = plan_markdown(&plan, &options);
    assert!(text.len() <= MIN_MARKDOWN_BUDGET);
    insta::assert_snapshot!(text);
}

#[test]
fn pending_invitations_summary_snapshot() {
    let plan = large_plan(0, 2000);
    let human = plan_human(&plan, Style::plain());
    let markdown = plan_markdown(&plan, &MarkdownOptions::default());
    insta::assert_snapshot!(format!("{human}\n----- markdown -----\n{markdown}"));
}

#[test]
fn verbose_names_every_pending_invitation_oldest_first() {
    let plan = large_plan(0, 40);
    let human = plan_human_with(&plan, Style::plain(), PendingList::All);
    let named: Vec<&str> = human
        .lines()
        .filter(|l| l.contains("invited (pending since"))
        .collect();
    assert_eq!(named.len(), 40);
    // pending-00000 was invited first (39 hours before pending-00039).
    assert!(named[0].contains("pending-00000@"), "{}", named[0]);
    assert!(named[39].contains("pending-00039@"), "{}", named[39]);
    assert!(human.starts_with("No changes."));
    assert!(!human.contains("-v lists all"));
    let markdown = plan_markdown(
        &plan,
        &MarkdownOptions {
            pending: PendingList::All,
            ..MarkdownOptions::default()
        },
    );
    assert_eq!(markdown.matches("invited (pending since").count(), 40);
}

#[test]
fn pending_invitations_sort_by_time_not_text() {
    let manifest = validate(
        "version: 1\nname: s\npolicy: { adopt: all }\nusers:\n  - email: a@example.com\n  - email: b@example.com\n",
        std::path::Path::new("m.yaml"),
    )
    .expect("valid")
    .manifest;
    // As text "…00.5Z" sorts before "…00Z"; as times it is half a second later.
    let users: Vec<RemoteUser> = serde_json::from_value(json!([
        {"id": "1", "email": "a@example.com", "invited_at": "2026-01-01T00:00:00.5Z"},
        {"id": "2", "email": "b@example.com", "invited_at": "2026-01-01T00:00:00Z"}
    ]))
    .expect("users");
    let text = plan_human_with(
        &plan(&manifest, &users),
        Style::plain(),
        PendingList::Oldest(1),
    );
    assert!(text.contains("Invitations not yet accepted: 2 (the oldest 1; -v lists all)"));
    assert!(text.contains("  b@example.com invited"));
    assert!(!text.contains("  a@example.com invited"));
}

#[test]
fn server_host_is_the_host_only() {
    assert_eq!(
        server_host("https://user:pw@site.example:8443/.netlify/identity?x=1#f").as_deref(),
        Some("site.example")
    );
    assert_eq!(server_host("not a url"), None);
}

#[test]
fn markdown_warning_names_twenty_deleted_users_and_counts_the_rest() {
    let manifest = validate(
        "version: 1\nname: s\npolicy: { prune: all }\nusers: []\n",
        std::path::Path::new("m.yaml"),
    )
    .expect("valid")
    .manifest;
    let users: Vec<RemoteUser> = serde_json::from_value(json!((0..30)
        .map(|i| json!({"id": format!("u{i}"), "email": format!("gone-{i:02}@example.com")}))
        .collect::<Vec<_>>()))
    .expect("users");
    let text = plan_markdown(&plan(&manifest, &users), &MarkdownOptions::default());
    let warning = text
        .lines()
        .find(|l| l.starts_with("> This plan **deletes 30 users**"))
        .expect("the delete warning");
    assert!(
        warning.contains("gone-19@example.com and 10 more (listed to delete)"),
        "{warning}"
    );
    assert!(!warning.contains("gone-20@"), "{warning}");
    // Every one is still listed in its section: the plan fits the budget whole.
    assert!(text.contains("- delete \"gone-29@example.com\" (id u29)"));
}

/// `prune: none` with one user to invite, two of this manifest's accounts no longer listed
/// in it, and one account of someone else's.
fn prune_none_plan(with_change: bool) -> Plan {
    let users_yaml = if with_change {
        "users:\n  - email: new@example.com\n"
    } else {
        "users: []\n"
    };
    let manifest = validate(
        &format!("version: 1\nname: site\npolicy: {{ prune: none }}\n{users_yaml}"),
        std::path::Path::new("m.yaml"),
    )
    .expect("valid")
    .manifest;
    let users: Vec<RemoteUser> = serde_json::from_value(json!([
        {"id": "1", "email": "left@example.com", "app_metadata": {"managed_by": "gotrue-sync:site"}},
        {"id": "2", "email": "gone@example.com", "app_metadata": {"managed_by": "gotrue-sync:site"}},
        {"id": "3", "email": "other@example.com", "app_metadata": {"managed_by": "gotrue-sync:elsewhere"}}
    ]))
    .expect("users");
    plan(&manifest, &users)
}

#[test]
fn prune_none_counts_its_own_accounts_as_managed_not_pruned() {
    let changed = prune_none_plan(true);
    let no_changes = prune_none_plan(false);
    let value: serde_json::Value = serde_json::from_str(&plan_json(&changed)).expect("json");
    assert_eq!(value["summary"]["unmanaged_left_alone"], 1);
    assert_eq!(value["summary"]["managed_not_pruned"], 2);
    insta::assert_snapshot!(format!(
        "{}\n---\n{}\n---\n{}",
        summary_line(&changed),
        plan_human(&no_changes, Style::plain()),
        plan_markdown(&changed, &MarkdownOptions::default()),
    ));
}

#[test]
fn objects_and_multi_line_strings_are_diffed_line_by_line_on_both_sides() {
    let manifest = validate(
        r#"version: 1
name: site
users:
  - email: a@example.com
    user_metadata:
      prefs: { theme: dark, font: mono, languages: [en, fr], notifications: { email: true } }
      bio: "Line one\nLine two, edited\nLine three\u0085"
      short: { a: 2 }
"#,
        std::path::Path::new("m.yaml"),
    )
    .expect("valid")
    .manifest;
    let users: Vec<RemoteUser> = serde_json::from_value(json!([
        {"id": "1", "email": "a@example.com",
         "app_metadata": {"managed_by": "gotrue-sync:site"},
         "user_metadata": {
             "prefs": {"theme": "light", "languages": ["en", "fr"]},
             "bio": "Line one\nLine two\nLine three\u{85}",
             "short": {"a": 1}
         }}
    ]))
    .expect("users");
    let text = plan_human(&plan(&manifest, &users), Style::plain());
    // Both sides of `prefs` pretty-printed: its unchanged keys are context lines, not a
    // removed one-liner against an added block.
    assert!(text.contains("            \"languages\": ["), "{text}");
    assert!(!text.contains("- {\"languages\""), "{text}");
    // Every line of a string keeps its control characters escaped.
    assert!(!text.contains('\u{85}'), "{text}");
    insta::assert_snapshot!(text);
}

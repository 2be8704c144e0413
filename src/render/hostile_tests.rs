//! Server- and manifest-provided text with terminal control sequences and bidi overrides,
//! through every human renderer: shown escaped, never obeyed.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::apply::{ApplyReport, ChangeReport, Outcome};
use crate::gotrue::{GotrueError, RemoteUser, RequestLabel};
use crate::manifest::{Manifest, Policy, UserSpec};
use crate::plan::{plan_with, PlanOptions};
use crate::smoke::{SmokeReport, StepFailure, StepResult, StepStatus};

const RED: &str = "\u{1b}[31m";

/// Fails when `text` has a control character other than a line break, or a bidi override.
fn assert_inert(text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && (c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)))
        .collect();
    assert!(bad.is_empty(), "raw {bad:?} in:\n{text}");
}

fn hostile_plan() -> crate::plan::Plan {
    let server: Vec<RemoteUser> = serde_json::from_value(json!([
        {"id": format!("1{RED}"), "email": format!("{RED}gone@example.com"),
         "confirmed_at": "2026-01-01T00:00:00Z",
         "app_metadata": {"managed_by": "gotrue-sync:site"}},
        {"id": "2", "email": "kept@example.com", "confirmed_at": "2026-01-01T00:00:00Z",
         "app_metadata": {"managed_by": "gotrue-sync:site", "roles": [format!("x{RED}")]},
         "user_metadata": {"note": "a\u{9b}2J\u{202e}b", "long": "x".repeat(70) + RED}},
        {"id": "3", "email": format!("pending\u{202e}@example.com"),
         "invited_at": format!("2026-01-01{RED}"), "app_metadata": {"managed_by": "gotrue-sync:site"}}
    ]))
    .expect("users");
    let mut kept = UserSpec::new("kept@example.com");
    kept.user_metadata = Some(
        json!({"note": "plain", "long": {"a": "y".repeat(70)}})
            .as_object()
            .cloned()
            .expect("map")
            .into(),
    );
    kept.roles = Some(vec!["editor".into()]);
    let manifest = Manifest {
        version: 1,
        name: "site".into(),
        policy: Policy::default(),
        users: vec![kept, UserSpec::new("pending\u{202e}@example.com")],
    };
    let mut plan = plan_with(&manifest, &server, &PlanOptions::default());
    plan.warnings.push(format!("the server said {RED}hello"));
    plan
}

#[test]
fn the_plans_show_server_text_escaped() {
    let plan = hostile_plan();
    let human = plan_human(&plan, Style::plain());
    assert_inert(&human);
    assert!(
        human.contains("# \\u{1b}[31mgone@example.com will be DELETED"),
        "{human}"
    );
    assert!(human.contains("(id 1\\u{1b}[31m)"), "{human}");
    assert!(human.contains("\\u{9b}2J\\u{202e}b"), "{human}");
    assert!(human.contains("-x\\u{1b}[31m"), "{human}");
    assert!(
        human.contains("pending since 2026-01-01\\u{1b}[31m"),
        "{human}"
    );
    assert!(
        human.contains("Warning: the server said \\u{1b}[31mhello"),
        "{human}"
    );
    let markdown = plan_markdown(&plan, &MarkdownOptions::default());
    assert_inert(&markdown);
    assert!(
        markdown.contains("\\u{1b}[31mgone@example.com"),
        "{markdown}"
    );
    let cut = MarkdownOptions {
        budget: MIN_MARKDOWN_BUDGET,
        ..MarkdownOptions::default()
    };
    let mut crowded = plan.clone();
    crowded.changes = std::iter::repeat_n(plan.changes.clone(), 100)
        .flatten()
        .collect();
    assert_inert(&plan_markdown(&crowded, &cut));
    let coloured = plan_human(&plan, Style::new(true));
    assert!(
        coloured.contains("\\u{1b}[31mgone@example.com") && !coloured.contains("\u{1b}[31mgone"),
        "colour does not undo the escaping: {coloured}"
    );
}

#[test]
fn apply_reports_show_server_text_escaped() {
    let report = ApplyReport {
        results: vec![
            ChangeReport {
                action: "invite",
                email: format!("{RED}a@example.com"),
                outcome: Outcome::Failed {
                    error: format!("server answered 422: {RED}boom\r"),
                    done: Some(format!("half{RED}")),
                },
                drift: vec![format!("user_metadata.x: server has \"{RED}\"")],
            },
            ChangeReport {
                action: "delete",
                email: "b@example.com".into(),
                outcome: Outcome::Skipped {
                    reason: format!("not started\u{8}\u{8}{RED}"),
                },
                drift: vec![],
            },
        ],
        interrupted: false,
        mail_limit: None,
        planning_conflicts: 0,
    };
    for (index, result) in report.results.iter().enumerate() {
        assert_inert(&change_line(result, index + 1, 2, Style::plain()));
    }
    let summary = apply_summary(&report, Style::plain());
    assert_inert(&summary);
    assert!(
        summary.contains(
            "invite \\u{1b}[31ma@example.com: server answered 422: \\u{1b}[31mboom\\u{d}"
        ),
        "{summary}"
    );
}

#[test]
fn smoke_tables_show_server_text_escaped() {
    let error = GotrueError::Api {
        request: RequestLabel::new("POST", "/signup", Some("smoke@example.com")),
        status: 400,
        message: format!("{RED}Signups \u{202e}not allowed"),
    };
    let report = SmokeReport {
        url: "http://127.0.0.1:9999".into(),
        email: "smoke@example.com".into(),
        steps: vec![
            StepResult {
                name: "health",
                status: StepStatus::Passed,
                latency: Duration::from_millis(2),
                detail: Some(format!("GoTrue {RED}v2")),
                failure: None,
            },
            StepResult {
                name: "signup",
                status: StepStatus::Failed,
                latency: Duration::from_millis(3),
                detail: None,
                failure: Some(StepFailure::request(&error)),
            },
        ],
        left_behind: Some(format!("id {RED}7")),
    };
    let table = smoke_table(&report, Style::plain());
    assert_inert(&table);
    assert!(
        table.contains("\\u{1b}[31mSignups \\u{202e}not allowed"),
        "{table}"
    );
    assert_inert(&smoke_latency_table(&[report], Style::plain()));
}

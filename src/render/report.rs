//! Apply progress lines and the final apply summary.

use std::fmt::Write;

use super::escape::escape_controls as escaped;
use super::style::Style;
use crate::apply::{ApplyReport, ChangeReport, Outcome};

/// One line per finished change, e.g. `[3/10] ok      invite alice@example.com`.
pub fn change_line(report: &ChangeReport, position: usize, total: usize, style: Style) -> String {
    let counter = style.dim(&format!("[{position}/{total}]"));
    let mut line = match &report.outcome {
        Outcome::Done => format!(
            "{counter} {} {} {}",
            style.green("ok     "),
            report.action,
            escaped(&report.email)
        ),
        Outcome::Failed { error, done } => {
            let mut text = format!(
                "{counter} {} {} {}: {}",
                style.red("FAILED "),
                report.action,
                escaped(&report.email),
                escaped(error)
            );
            if let Some(done) = done {
                let _ = write!(text, " ({})", escaped(done));
            }
            text
        }
        Outcome::Conflict { reason } => format!(
            "{counter} {} {} {}: {}",
            style.red("CONFLICT"),
            report.action,
            escaped(&report.email),
            escaped(reason)
        ),
        Outcome::Skipped { reason } => format!(
            "{counter} {} {} {}: {}",
            style.dim("skipped"),
            report.action,
            escaped(&report.email),
            escaped(reason)
        ),
    };
    for drift in &report.drift {
        let _ = write!(
            line,
            "\n        {} {}",
            style.yellow("server differs:"),
            escaped(drift)
        );
    }
    line
}

/// The closing summary: what was done, what failed, what was not started.
pub fn apply_summary(report: &ApplyReport, style: Style) -> String {
    let mut out = String::new();
    let failed: Vec<&ChangeReport> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed { .. } | Outcome::Conflict { .. }))
        .collect();
    let headline = format!(
        "Apply {}: {} done, {} failed, {} not started.",
        if report.interrupted {
            "interrupted"
        } else if failed.is_empty() && report.planning_conflicts == 0 {
            "complete"
        } else {
            "finished with errors"
        },
        report.done(),
        report.failed(),
        report.skipped()
    );
    let headline = if failed.is_empty() && report.planning_conflicts == 0 && !report.interrupted {
        style.green(&style.bold(&headline))
    } else {
        style.red(&style.bold(&headline))
    };
    let _ = writeln!(out, "{headline}");
    if report.planning_conflicts > 0 {
        let _ = writeln!(
            out,
            "{} manifest user(s) in conflict with the server were not planned (see the plan's conflicts): resolve them, then plan again.",
            report.planning_conflicts
        );
    }
    if !failed.is_empty() {
        let _ = writeln!(out, "Failed:");
        for report in failed {
            match &report.outcome {
                Outcome::Failed { error, done } => {
                    let _ = writeln!(
                        out,
                        "  - {} {}: {}",
                        report.action,
                        escaped(&report.email),
                        escaped(error)
                    );
                    if let Some(done) = done {
                        let _ = writeln!(out, "    already done: {}", escaped(done));
                    }
                }
                Outcome::Conflict { reason } => {
                    let _ = writeln!(
                        out,
                        "  - {} {}: conflict: {}",
                        report.action,
                        escaped(&report.email),
                        escaped(reason)
                    );
                }
                _ => {}
            }
        }
    }
    if report.conflicts() > 0 {
        let _ = writeln!(
            out,
            "Conflicts are not resolved by running apply again: settle each one as described, then plan again."
        );
    }
    if let Some(limit) = &report.mail_limit {
        let _ = writeln!(
            out,
            "The server's e-mail sending limit is reached: {} invitation(s) were not sent; every other change was carried out. The limit is counted per hour (supabase/auth allows 30 e-mails an hour by default, GOTRUE_RATE_LIMIT_EMAIL_SENT): run `gotrue-sync apply` again in an hour to send the rest.",
            limit.invitations_left
        );
    } else if report.failed() > report.conflicts() || report.skipped() > 0 {
        let _ = writeln!(
            out,
            "Run `gotrue-sync apply` again to converge: it plans only what is still missing."
        );
    }
    out
}

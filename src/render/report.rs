//! Apply progress lines and the final apply summary.

use std::fmt::Write;

use super::style::Style;
use crate::apply::{ApplyReport, ChangeReport, Outcome};

/// The progress bar shown under the change lines on a terminal: `[#####-----] 12/40`.
pub fn progress_bar(finished: usize, total: usize, width: usize) -> String {
    let filled = (finished.min(total) * width)
        .checked_div(total)
        .unwrap_or(width);
    format!(
        "[{}{}] {finished}/{total}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    )
}

/// One line per finished change, e.g. `[3/10] ok      invite alice@example.com`.
pub fn change_line(report: &ChangeReport, position: usize, total: usize, style: Style) -> String {
    let counter = style.dim(&format!("[{position}/{total}]"));
    let mut line = match &report.outcome {
        Outcome::Done => format!(
            "{counter} {} {} {}",
            style.green("ok     "),
            report.action,
            report.email
        ),
        Outcome::Failed { error, done } => {
            let mut text = format!(
                "{counter} {} {} {}: {error}",
                style.red("FAILED "),
                report.action,
                report.email
            );
            if let Some(done) = done {
                let _ = write!(text, " ({done})");
            }
            text
        }
        Outcome::Conflict { reason } => format!(
            "{counter} {} {} {}: {reason}",
            style.red("CONFLICT"),
            report.action,
            report.email
        ),
        Outcome::Skipped { reason } => format!(
            "{counter} {} {} {}: {reason}",
            style.dim("skipped"),
            report.action,
            report.email
        ),
    };
    for drift in &report.drift {
        let _ = write!(
            line,
            "\n        {} {drift}",
            style.yellow("server differs:")
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
        } else if failed.is_empty() {
            "complete"
        } else {
            "finished with errors"
        },
        report.done(),
        report.failed(),
        report.skipped()
    );
    let headline = if failed.is_empty() && !report.interrupted {
        style.green(&style.bold(&headline))
    } else {
        style.red(&style.bold(&headline))
    };
    let _ = writeln!(out, "{headline}");
    if !failed.is_empty() {
        let _ = writeln!(out, "Failed:");
        for report in failed {
            match &report.outcome {
                Outcome::Failed { error, done } => {
                    let _ = writeln!(out, "  - {} {}: {error}", report.action, report.email);
                    if let Some(done) = done {
                        let _ = writeln!(out, "    already done: {done}");
                    }
                }
                Outcome::Conflict { reason } => {
                    let _ = writeln!(
                        out,
                        "  - {} {}: conflict: {reason}",
                        report.action, report.email
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
    if report.failed() > report.conflicts() || report.skipped() > 0 {
        let _ = writeln!(
            out,
            "Run `gotrue-sync apply` again to converge: it plans only what is still missing."
        );
    }
    out
}

//! The smoke test's human table, its percentile table and its JSON document.

use std::fmt::Write;
use std::time::Duration;

use serde_json::json;

use super::escape::escape_controls as escaped;
use super::style::Style;
use crate::smoke::{latencies, SmokeReport, StepLatency, StepResult, StepStatus};

/// Version of the `smoke --json` document.
pub const SMOKE_FORMAT_VERSION: u32 = 1;

/// Width of the step-name column (the longest name is `accept invite`).
const NAME_WIDTH: usize = 14;

/// One run as a table: step, status, latency and what was checked, or the server's own
/// error with a hint.
pub fn smoke_table(report: &SmokeReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Smoke test of {} as {}\n",
        escaped(&report.url),
        style.bold(&escaped(&report.email))
    );
    let _ = writeln!(
        out,
        "  {:<NAME_WIDTH$} {:<7} {:>9}  DETAIL",
        "STEP", "STATUS", "LATENCY"
    );
    for step in &report.steps {
        write_step(&mut out, step, style);
    }
    let (passed, failed, skipped) = (
        report.count(StepStatus::Passed),
        report.count(StepStatus::Failed),
        report.count(StepStatus::Skipped),
    );
    let verdict = if report.passed() {
        style.green("Smoke test passed")
    } else {
        style.red("Smoke test failed")
    };
    let _ = writeln!(
        out,
        "\n{verdict}: {passed} passed, {failed} failed, {skipped} skipped."
    );
    if let Some(left) = &report.left_behind {
        let _ = writeln!(
            out,
            "{} test user(s) left on the server: {}",
            style.yellow("Note:"),
            escaped(left)
        );
    }
    out
}

fn write_step(out: &mut String, step: &StepResult, style: Style) {
    // Pad before colouring, so escape codes do not upset the columns.
    let (status, latency) = match step.status {
        StepStatus::Passed => (style.green(&format!("{:<7}", "ok")), millis(step.latency)),
        StepStatus::Failed => (style.red(&format!("{:<7}", "FAILED")), millis(step.latency)),
        StepStatus::Skipped => (style.dim(&format!("{:<7}", "skipped")), "-".to_owned()),
    };
    let detail = match &step.failure {
        Some(failure) => {
            let mut text = String::new();
            if let Some(request) = &failure.request {
                let _ = write!(text, "{}: ", escaped(request));
            }
            if let Some(status) = failure.status {
                let _ = write!(text, "{status} ");
            }
            text.push_str(&escaped(&failure.message));
            text
        }
        None => escaped(step.detail.as_deref().unwrap_or_default()).into_owned(),
    };
    let _ = writeln!(
        out,
        "  {:<NAME_WIDTH$} {status} {latency:>9}  {detail}",
        step.name
    );
    if let Some(hint) = step.failure.as_ref().and_then(|f| f.hint.as_ref()) {
        let indent = NAME_WIDTH + 2 + 1 + 7 + 1 + 9 + 2;
        let _ = writeln!(
            out,
            "{:indent$}{} {}",
            "",
            style.yellow("hint:"),
            escaped(hint)
        );
    }
}

/// p50/p95 per step over several runs, and how many runs passed.
pub fn smoke_latency_table(reports: &[SmokeReport], style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Latency over {} runs:\n", reports.len());
    let _ = writeln!(
        out,
        "  {:<NAME_WIDTH$} {:>5} {:>7} {:>9} {:>9}",
        "STEP", "RUNS", "FAILED", "P50", "P95"
    );
    for StepLatency {
        name,
        runs,
        failures,
        p50,
        p95,
    } in latencies(reports)
    {
        let _ = writeln!(
            out,
            "  {name:<NAME_WIDTH$} {runs:>5} {failures:>7} {:>9} {:>9}",
            millis(p50),
            millis(p95)
        );
    }
    let passed = reports.iter().filter(|r| r.passed()).count();
    let failed = reports.len() - passed;
    let line = format!("Runs: {} passed, {} failed.", passed, failed);
    let _ = writeln!(
        out,
        "\n{}",
        if failed == 0 {
            style.green(&line)
        } else {
            style.red(&line)
        }
    );
    out
}

/// The `--json` document: every run with its steps, and the percentiles per step.
pub fn smoke_json(reports: &[SmokeReport]) -> String {
    let document = json!({
        "format_version": SMOKE_FORMAT_VERSION,
        "passed": reports.iter().all(SmokeReport::passed),
        "runs": reports,
        "latency": latencies(reports),
    });
    format!("{document:#}")
}

fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

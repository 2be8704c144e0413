//! The smoke test as JUnit XML (`--junit FILE`): one test suite per run, one test case per
//! step, so CI dashboards chart each step's history.

use std::fmt::Write;

use crate::smoke::{SmokeReport, StepStatus};

/// The JUnit XML document for `reports`.
pub fn smoke_junit(reports: &[SmokeReport]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let count = |status| -> usize { reports.iter().map(|r| r.count(status)).sum() };
    let total_time: f64 = reports
        .iter()
        .flat_map(|r| &r.steps)
        .map(|s| s.latency.as_secs_f64())
        .sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"gotrue-sync smoke\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{total_time:.3}\">",
        reports.iter().map(|r| r.steps.len()).sum::<usize>(),
        count(StepStatus::Failed),
        count(StepStatus::Skipped),
    );
    for (index, report) in reports.iter().enumerate() {
        let time: f64 = report.steps.iter().map(|s| s.latency.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"smoke run {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{time:.3}\" hostname=\"{}\">",
            index + 1,
            report.steps.len(),
            report.count(StepStatus::Failed),
            report.count(StepStatus::Skipped),
            escape(&report.url),
        );
        for step in &report.steps {
            let open = format!(
                "    <testcase classname=\"gotrue-sync.smoke\" name=\"{}\" time=\"{:.3}\"",
                escape(step.name),
                step.latency.as_secs_f64()
            );
            match step.status {
                StepStatus::Passed => {
                    let _ = writeln!(out, "{open}/>");
                }
                StepStatus::Skipped => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(step.detail.as_deref().unwrap_or("skipped"))
                    );
                }
                StepStatus::Failed => {
                    let failure = step.failure.as_ref();
                    let message = failure.map_or("failed", |f| f.message.as_str());
                    let mut body = String::new();
                    if let Some(f) = failure {
                        if let Some(request) = &f.request {
                            let _ = writeln!(body, "request: {request}");
                        }
                        if let Some(status) = f.status {
                            let _ = writeln!(body, "status: {status}");
                        }
                        let _ = writeln!(body, "message: {}", f.message);
                        if let Some(hint) = &f.hint {
                            let _ = writeln!(body, "hint: {hint}");
                        }
                    }
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(message),
                        escape(&body)
                    );
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for XML attributes and content, and drops the control characters XML 1.0
/// cannot carry at all.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b>&\"c\" 'd'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;\n"
        );
    }
}

//! Every user-facing format of plans and reports. Nothing else prints.

mod export_yaml;
mod plan_human;
mod plan_markdown;
mod printer;
mod report;
mod smoke;
mod smoke_junit;
mod style;

pub use export_yaml::export_yaml;
pub use plan_human::{
    change_block, plan_human, plan_human_with, summary_line, PendingList, PENDING_NAMED,
};
pub use plan_markdown::{
    plan_markdown, server_host, MarkdownOptions, DEFAULT_MARKDOWN_BUDGET, MIN_MARKDOWN_BUDGET,
};
pub use printer::{Printer, PrinterSettings, Sink};
pub use report::{apply_summary, change_line, progress_bar};
pub use smoke::{smoke_json, smoke_latency_table, smoke_table, SMOKE_FORMAT_VERSION};
pub use smoke_junit::smoke_junit;
pub use style::Style;

use crate::plan::Plan;

/// The plan as the versioned JSON document of `--json` and `--out`.
pub fn plan_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;

//! `gotrue-sync show PLAN`: a saved plan, as text, JSON or Markdown.

use std::path::PathBuf;

use clap::Args;

use super::error::{CliError, ExitStatus};
use super::plan::PlanFormat;
use crate::ops::plan::read_plan;
use crate::render::{plan_human, plan_json, plan_markdown, MarkdownOptions, Printer};

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human, env = "GOTRUE_SYNC_FORMAT")]
    pub format: PlanFormat,
}

/// Prints the saved plan; touches no server.
pub fn run(args: &ShowArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let plan = read_plan(&args.plan)?;
    printer.document(&match args.format {
        PlanFormat::Human => plan_human(&plan, printer.out_style()),
        PlanFormat::Json => plan_json(&plan),
        PlanFormat::Markdown => plan_markdown(&plan, &MarkdownOptions::default()),
    })?;
    Ok(ExitStatus::Success)
}

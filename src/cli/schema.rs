//! `gotrue-sync schema`: print the manifest's JSON Schema, or the plan document's.

use clap::Args;

use super::error::{CliError, ExitStatus};
use crate::manifest::manifest_schema_text;
use crate::plan::plan_schema_text;
use crate::render::Printer;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the schema of the JSON plan (`plan --json`, `plan --out`) instead of the
    /// manifest's.
    #[arg(long)]
    pub plan: bool,
}

/// Prints the schema committed as `schema/manifest.schema.json` (or, with `--plan`,
/// `schema/plan.schema.json`).
pub fn run(args: &SchemaArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let text = if args.plan {
        plan_schema_text()
    } else {
        manifest_schema_text()
    };
    printer.document(&text)?;
    Ok(ExitStatus::Success)
}

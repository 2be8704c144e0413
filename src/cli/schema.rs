//! `gotrue-sync schema`: print the manifest's JSON Schema.

use super::error::{CliError, ExitStatus};
use crate::manifest::manifest_schema_text;
use crate::render::Printer;

/// Prints the schema committed as `schema/manifest.schema.json`.
pub fn run(printer: &Printer) -> Result<ExitStatus, CliError> {
    printer.document(&manifest_schema_text())?;
    Ok(ExitStatus::Success)
}

//! `gotrue-sync schema`: print the manifest's JSON Schema.

use super::error::{CliError, EXIT_OK};
use crate::manifest::manifest_schema_text;
use crate::render::Printer;

/// Prints the schema committed as `schema/manifest.schema.json`.
pub fn run(printer: &Printer) -> Result<u8, CliError> {
    printer.document(&manifest_schema_text());
    Ok(EXIT_OK)
}

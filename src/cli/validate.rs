//! `gotrue-sync validate`: check a manifest without touching a server.

use std::path::PathBuf;

use clap::Args;

use super::error::{CliError, EXIT_OK};
use crate::manifest;
use crate::render::Printer;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifest file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
}

/// Validates the manifest and reports every problem at once.
pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<u8, CliError> {
    let loaded = manifest::load(&args.file)?;
    let count = loaded.manifest.users.len();
    printer.status(&format!(
        "{} is valid: {count} user{}, owner label {:?}.",
        args.file.display(),
        if count == 1 { "" } else { "s" },
        loaded.manifest.name
    ));
    Ok(EXIT_OK)
}

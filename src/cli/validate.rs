//! `gotrue-sync validate`: check a manifest without touching a server.

use std::path::PathBuf;

use clap::Args;

use super::error::{CliError, ExitStatus};
use crate::manifest;
use crate::render::Printer;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (all *.yaml/*.yml in them); repeat -f or list several.
    #[arg(short = 'f', long = "file", value_name = "FILE", num_args = 1.., required = true)]
    pub files: Vec<PathBuf>,
}

/// Validates the manifest and reports every problem at once.
pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let loaded = manifest::load_all(&args.files)?;
    let count = loaded.manifest.users.len();
    printer.status(&format!(
        "{} is valid: {count} user{}, owner label {:?}.",
        loaded
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        if count == 1 { "" } else { "s" },
        loaded.manifest.name
    ))?;
    Ok(ExitStatus::Success)
}

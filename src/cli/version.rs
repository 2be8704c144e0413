//! `gotrue-sync version [--json]`.

use clap::Args;
use serde_json::json;

use super::error::{CliError, ExitStatus};
use crate::render::Printer;

/// Arguments of `version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print `{"version", "commit", "target"}` as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The commit the binary was built from (`unknown` outside a git checkout); set by build.rs.
const COMMIT: &str = env!("GOTRUE_SYNC_COMMIT");
/// The target triple; set by build.rs.
const TARGET: &str = env!("GOTRUE_SYNC_TARGET");

/// Prints the version.
pub fn run(args: &VersionArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let version = env!("CARGO_PKG_VERSION");
    printer.document(&if args.json {
        json!({"version": version, "commit": COMMIT, "target": TARGET}).to_string()
    } else {
        format!("gotrue-sync {version} (commit {COMMIT}, {TARGET})")
    })?;
    Ok(ExitStatus::Success)
}

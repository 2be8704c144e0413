//! `gotrue-sync export`: write the server's users as a manifest, to adopt an instance.

use std::path::PathBuf;

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, EXIT_OK};
use crate::export::export;
use crate::render::{export_yaml, Printer};

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The owner label of the new manifest (its users get `managed_by: gotrue-sync:NAME` on
    /// the first apply).
    #[arg(long)]
    pub name: String,
    /// Only users already marked as managed by NAME.
    #[arg(long)]
    pub managed_only: bool,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs `export`.
pub async fn run(args: &ExportArgs, printer: &Printer) -> Result<u8, CliError> {
    let client = args.server.admin_client(8)?;
    printer.status(&format!("Listing users of {} ...", client.base_url()));
    let listing = client.list_users().await?;
    for warning in &listing.warnings {
        printer.warn(warning);
    }
    let exported = export(
        &args.name,
        &listing.users,
        args.managed_only,
        client.flavor().await?,
    );
    for warning in &exported.warnings {
        printer.warn(warning);
    }
    let text =
        export_yaml(&exported).map_err(|e| CliError::Usage(format!("cannot write YAML: {e}")))?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
            printer.status(&format!(
                "Exported {} users to {} ({} pending invitations).",
                exported.manifest.users.len(),
                path.display(),
                exported.pending.len()
            ));
        }
        None => printer.document(&text),
    }
    Ok(EXIT_OK)
}

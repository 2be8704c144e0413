//! `gotrue-sync export`: write the server's users as a manifest, to adopt an instance.

use std::path::PathBuf;

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, ExitStatus};
use super::output::Show;
use crate::gotrue::LimitMode;
use crate::ops::export::{export, ExportRequest};
use crate::render::{export_yaml, Printer};

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The owner label of the new manifest (its users get `managed_by: gotrue-sync:NAME` on
    /// the first apply).
    #[arg(long, env = "GOTRUE_SYNC_NAME")]
    pub name: String,
    /// Only users already marked as managed by NAME.
    #[arg(long, env = "GOTRUE_SYNC_MANAGED_ONLY")]
    pub managed_only: bool,
    /// Write to this file instead of stdout.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        env = "GOTRUE_SYNC_OUTPUT"
    )]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs `export`.
pub async fn run(args: &ExportArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let client =
        args.server
            .admin_client(&args.server.transport(8, LimitMode::Adaptive)?, 8, printer)?;
    let request = ExportRequest {
        name: args.name.clone(),
        managed_only: args.managed_only,
    };
    let exported = export(&client, &request, &Show::new(printer)).await?;
    let text = export_yaml(&exported).map_err(CliError::ExportYaml)?;
    match &args.output {
        Some(path) => {
            crate::private_file::write_private(path, text.as_bytes()).map_err(|source| {
                CliError::WriteFile {
                    what: "the manifest",
                    path: path.clone(),
                    source,
                }
            })?;
            printer.status(&format!(
                "Exported {} users to {} ({} pending invitations).",
                exported.manifest.users.len(),
                path.display(),
                exported.pending.len()
            ))?;
        }
        None => printer.document(&text)?,
    }
    Ok(ExitStatus::Success)
}

//! Export: the server's users as a manifest.

use super::plan::list;
use super::{Event, Observer, OpsError};
use crate::export::{export as build_export, Export};
use crate::gotrue::AdminClient;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The owner label of the new manifest.
    pub name: String,
    /// Only users already marked as managed by `name`.
    pub managed_only: bool,
}

/// Runs `export`: lists the server and builds the manifest (warnings go to the observer).
pub async fn export(
    client: &AdminClient,
    request: &ExportRequest,
    observer: &dyn Observer,
) -> Result<Export, OpsError> {
    let users = list(client, observer).await?;
    let exported = build_export(&request.name, &users, request.managed_only);
    for warning in &exported.warnings {
        observer
            .event(Event::Warning(warning))
            .map_err(OpsError::Output)?;
    }
    Ok(exported)
}

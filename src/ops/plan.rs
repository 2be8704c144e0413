//! Plan: load the manifest → check its secrets → list the server → plan → fingerprint; and
//! the saved plan file of `plan --out` / `apply PLAN`.

use std::path::{Path, PathBuf};

use super::{Event, Observer, OpsError, PlanFileError};
use crate::apply::check_secrets;
use crate::gotrue::AdminClient;
use crate::manifest::{self, LoadedManifest};
use crate::plan::{plan_with, record_server_fingerprint, Plan, PlanOptions, PLAN_FORMAT_VERSION};
use crate::render::plan_json;

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Manifest files or directories.
    pub files: Vec<PathBuf>,
    /// Options of the plan (re-invitations, the current time).
    pub options: PlanOptions,
    /// Record the server fingerprint (for a saved or JSON plan).
    pub fingerprint: bool,
    /// Save the plan here for `apply PLAN`.
    pub save_to: Option<PathBuf>,
}

/// A plan and the manifest it was made from.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The manifest.
    pub loaded: LoadedManifest,
    /// The plan.
    pub plan: Plan,
    /// The server's users the plan was made against.
    pub listing: Vec<crate::gotrue::RemoteUser>,
}

/// Runs `plan`: loads and validates the manifest, checks that every secret it references
/// can be read (before touching the server), lists the server and plans; saves the plan when
/// asked.
pub async fn plan(
    client: &AdminClient,
    request: &PlanRequest,
    observer: &dyn Observer,
) -> Result<Planned, OpsError> {
    let planned = load_and_plan(
        client,
        &request.files,
        &request.options,
        request.fingerprint || request.save_to.is_some(),
        observer,
    )
    .await?;
    if let Some(path) = &request.save_to {
        let dir = planned.loaded.base_dir();
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        // Only the saved copy says where its secrets are read from.
        let mut saved = planned.plan.clone();
        saved.secrets_dir = Some(dir.display().to_string());
        save_plan(&saved, path)?;
        observer
            .event(Event::PlanSaved { path })
            .map_err(OpsError::Output)?;
    }
    Ok(planned)
}

/// Loads the manifest, checks its secrets, lists the server and plans. `fingerprint`: also
/// record the server fingerprint.
pub(crate) async fn load_and_plan(
    client: &AdminClient,
    files: &[PathBuf],
    options: &PlanOptions,
    fingerprint: bool,
    observer: &dyn Observer,
) -> Result<Planned, OpsError> {
    let loaded = manifest::load_all(files)?;
    for warning in &loaded.warnings {
        observer
            .event(Event::ManifestWarning(warning))
            .map_err(OpsError::Output)?;
    }
    let secrets = loaded
        .manifest
        .users
        .iter()
        .filter_map(|u| u.password.as_ref().map(|p| (u.email.as_str(), p)));
    check_secrets(secrets, &loaded.base_dir(), &crate::secret::SystemSecrets)?;
    let users = list(client, observer).await?;
    let flavor = client.flavor().await?;
    let mut options = PlanOptions {
        flavor,
        ..options.clone()
    };
    options.target.flavor = flavor.name().to_owned();
    let mut plan = plan_with(&loaded.manifest, &users, &options);
    if fingerprint {
        record_server_fingerprint(&mut plan, &users);
    }
    Ok(Planned {
        loaded,
        plan,
        listing: users,
    })
}

/// Lists every user, passing the listing's warnings on.
pub(crate) async fn list(
    client: &AdminClient,
    observer: &dyn Observer,
) -> Result<Vec<crate::gotrue::RemoteUser>, OpsError> {
    observer
        .event(Event::Listing {
            url: client.base_url(),
        })
        .map_err(OpsError::Output)?;
    let listing = client.list_users().await?;
    for warning in &listing.warnings {
        observer
            .event(Event::Warning(warning))
            .map_err(OpsError::Output)?;
    }
    Ok(listing.users)
}

/// Writes `plan` as the JSON document `apply PLAN` reads.
pub fn save_plan(plan: &Plan, path: &Path) -> Result<(), OpsError> {
    crate::private_file::write_private(path, plan_json(plan).as_bytes()).map_err(|source| {
        OpsError::WritePlan {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Reads a plan saved with `plan --out`, refusing other format versions.
pub fn read_plan(path: &Path) -> Result<Plan, OpsError> {
    parse_plan_file(path).map_err(|source| OpsError::ReadPlan {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_plan_file(path: &Path) -> Result<Plan, PlanFileError> {
    let text = std::fs::read_to_string(path).map_err(PlanFileError::Read)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(PlanFileError::NotJson)?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(PLAN_FORMAT_VERSION)) {
        return Err(PlanFileError::UnsupportedVersion {
            found: version.map_or_else(|| "(missing)".to_owned(), |v| v.to_string()),
        });
    }
    serde_json::from_value(value).map_err(PlanFileError::Invalid)
}

//! `gotrue-sync plan`: show what apply would change.

use std::path::{Path, PathBuf};

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, EXIT_CHANGES, EXIT_OK};
use crate::apply::check_secrets;
use crate::gotrue::AdminClient;
use crate::manifest::{self, LoadedManifest};
use crate::plan::{plan, Plan};
use crate::render::{plan_human, plan_json, Printer};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The manifest file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// Print the plan as a versioned JSON document.
    #[arg(long)]
    pub json: bool,
    /// Save the plan (with a fingerprint of the server state) for `apply PLAN`.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes (0 when none), for drift detection.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// List pages fetched at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Loads and validates the manifest, checks its secrets, lists the server and plans.
pub async fn load_and_plan(
    file: &Path,
    client: &AdminClient,
    printer: &Printer,
) -> Result<(LoadedManifest, Plan), CliError> {
    let loaded = manifest::load(file)?;
    let secrets = loaded
        .manifest
        .users
        .iter()
        .filter_map(|u| u.password.as_ref().map(|p| (u.email.as_str(), p)));
    check_secrets(secrets, &loaded.base_dir())?;
    printer.status(&format!("Listing users of {} ...", client.base_url()));
    let listing = client.list_users().await?;
    for warning in &listing.warnings {
        printer.warn(warning);
    }
    let plan = plan(&loaded.manifest, &listing.users);
    Ok((loaded, plan))
}

/// Runs `plan`.
pub async fn run(args: &PlanArgs, printer: &Printer) -> Result<u8, CliError> {
    let client = args.server.admin_client(usize::from(args.parallelism))?;
    let (loaded, mut plan) = load_and_plan(&args.file, &client, printer).await?;
    if args.json {
        printer.document(&plan_json(&plan));
    } else {
        printer.document(&plan_human(&plan, printer.out_style()));
    }
    if let Some(out) = &args.out {
        let dir = std::fs::canonicalize(loaded.base_dir()).unwrap_or_else(|_| loaded.base_dir());
        plan.secrets_dir = Some(dir.display().to_string());
        save_plan(&plan, out)?;
        printer.status(&format!(
            "Saved the plan to {}. Apply it with: gotrue-sync apply {}",
            out.display(),
            out.display()
        ));
    }
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn save_plan(plan: &Plan, path: &Path) -> Result<(), CliError> {
    std::fs::write(path, plan_json(plan)).map_err(|e| CliError::PlanFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads a plan saved with `plan --out`.
pub fn read_plan(path: &Path) -> Result<Plan, CliError> {
    let error = |reason: String| CliError::PlanFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| error(format!("not a plan file: {e}")))?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(crate::plan::PLAN_FORMAT_VERSION)) {
        return Err(error(format!(
            "unsupported plan format_version {}; make the plan again with this version of gotrue-sync",
            version.map_or_else(|| "(missing)".to_owned(), |v| v.to_string())
        )));
    }
    serde_json::from_value(value).map_err(|e| error(format!("invalid plan: {e}")))
}

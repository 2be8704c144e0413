//! `gotrue-sync plan`: show what apply would change.

use std::path::{Path, PathBuf};

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, EXIT_CHANGES, EXIT_OK};
use crate::apply::check_secrets;
use crate::gotrue::AdminClient;
use crate::identity::Collation;
use crate::manifest::{self, LoadedManifest};
use crate::plan::{plan_with, record_server_fingerprint, Plan, PlanOptions, Target};
use crate::render::{plan_human, plan_json, plan_markdown, Printer};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files or directories (all *.yaml/*.yml in them); repeat -f or list several.
    #[arg(short = 'f', long = "file", value_name = "FILE", num_args = 1.., required = true)]
    pub files: Vec<PathBuf>,
    /// Output format: human (default), json (versioned document) or markdown (a pull-request
    /// comment).
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
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
    pub reinvite: ReinviteArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Terraform-style text.
    Human,
    /// The versioned JSON plan document.
    Json,
    /// A Markdown pull-request comment.
    Markdown,
}

/// Re-sending stale invitations.
#[derive(Debug, Clone, Args)]
pub struct ReinviteArgs {
    /// Re-send invitations pending longer than this (e.g. 7d): the pending account is
    /// deleted and invited again, counted against max_deletes.
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
    pub reinvite_pending_older_than: Option<std::time::Duration>,
}

impl ReinviteArgs {
    /// Plan options for `server`, with the current time read here so the plan itself stays
    /// pure. Every server is netlify/gotrue until the flavour can be chosen.
    pub fn plan_options(&self, server: &ServerArgs) -> PlanOptions {
        PlanOptions {
            reinvite_pending_older_than: self.reinvite_pending_older_than,
            now: crate::gotrue::unix_now(),
            collation: Collation::Utf8mb4UnicodeCi,
            target: Target::new(&server.url, server.aud.as_deref(), "netlify"),
            ..PlanOptions::default()
        }
    }
}

/// Loads and validates the manifest, checks its secrets, lists the server and plans.
/// Loads the manifest, checks its secrets, lists the server and plans. `fingerprint`: also
/// record the server fingerprint (for a saved or JSON plan).
pub async fn load_and_plan(
    files: &[PathBuf],
    client: &AdminClient,
    options: &PlanOptions,
    fingerprint: bool,
    printer: &Printer,
) -> Result<(LoadedManifest, Plan), CliError> {
    let loaded = manifest::load_all(files)?;
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
    let mut plan = plan_with(&loaded.manifest, &listing.users, options);
    if fingerprint {
        record_server_fingerprint(&mut plan, &listing.users);
    }
    Ok((loaded, plan))
}

/// Runs `plan`.
pub async fn run(args: &PlanArgs, printer: &Printer) -> Result<u8, CliError> {
    let client = args.server.admin_client(usize::from(args.parallelism))?;
    let format = if args.json {
        PlanFormat::Json
    } else {
        args.format
    };
    let fingerprint = args.out.is_some() || format == PlanFormat::Json;
    let (loaded, mut plan) = load_and_plan(
        &args.files,
        &client,
        &args.reinvite.plan_options(&args.server),
        fingerprint,
        printer,
    )
    .await?;
    printer.document(&match format {
        PlanFormat::Human => plan_human(&plan, printer.out_style()),
        PlanFormat::Json => plan_json(&plan),
        PlanFormat::Markdown => plan_markdown(&plan),
    });
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
    Ok(if !plan.conflicts.is_empty() {
        super::error::EXIT_ERROR
    } else if args.detailed_exitcode && plan.summary.has_changes() {
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

//! `gotrue-sync plan`: show what apply would change.

use std::path::PathBuf;

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, ExitStatus};
use super::output::Show;
use crate::gotrue::LimitMode;
use crate::ops::plan::{plan, PlanRequest};
use crate::plan::{PlanOptions, Target};
use crate::render::{
    plan_human_with, plan_json, plan_markdown, server_host, MarkdownOptions, PendingList, Printer,
    DEFAULT_MARKDOWN_BUDGET, MIN_MARKDOWN_BUDGET,
};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files or directories (all *.yaml/*.yml in them).
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,
    /// The same as the positional FILEs; repeat -f or list several.
    #[arg(short = 'f', long = "file", value_name = "FILE", num_args = 1.., env = "GOTRUE_SYNC_FILE", value_delimiter = ',')]
    pub files: Vec<PathBuf>,
    /// Output format: human (default), json (versioned document) or markdown (a pull-request
    /// comment).
    #[arg(long, value_enum, default_value_t = PlanFormat::Human, env = "GOTRUE_SYNC_FORMAT")]
    pub format: PlanFormat,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// The most bytes --format markdown may take: larger plans show changes as one line,
    /// then count what still does not fit (a GitHub comment holds 65,536 characters).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MARKDOWN_BUDGET as u64,
          value_parser = clap::value_parser!(u64).range(MIN_MARKDOWN_BUDGET as u64..))]
    pub markdown_budget: u64,
    /// Save the plan (with a fingerprint of the server state) for `apply PLAN`.
    #[arg(long, value_name = "PLAN", env = "GOTRUE_SYNC_OUT")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes (0 when none), for drift detection.
    #[arg(long, env = "GOTRUE_SYNC_DETAILED_EXITCODE")]
    pub detailed_exitcode: bool,
    /// List pages fetched at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..), env = "GOTRUE_SYNC_PARALLELISM")]
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
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration, env = "GOTRUE_SYNC_REINVITE_PENDING_OLDER_THAN")]
    pub reinvite_pending_older_than: Option<std::time::Duration>,
}

impl ReinviteArgs {
    /// Plan options for `server`, with the current time read here so the plan itself stays
    /// pure. Every server is netlify/gotrue until the flavour can be chosen.
    pub fn plan_options(&self, server: &ServerArgs) -> PlanOptions {
        PlanOptions {
            reinvite_pending_older_than: self.reinvite_pending_older_than,
            now: crate::gotrue::unix_now(),
            target: Target::new(&server.url, server.aud.as_deref(), "netlify"),
            ..PlanOptions::default()
        }
    }
}

/// Runs `plan`; `verbose` (`-v`) names every pending invitation.
pub async fn run(args: &PlanArgs, verbose: u8, printer: &Printer) -> Result<ExitStatus, CliError> {
    let files = super::manifest_paths(&args.paths, &args.files)?;
    let parallelism = usize::from(args.parallelism);
    let client = args.server.admin_client(
        &args.server.transport(parallelism, LimitMode::Adaptive)?,
        parallelism,
        printer,
    )?;
    let format = if args.json {
        PlanFormat::Json
    } else {
        args.format
    };
    let request = PlanRequest {
        files,
        options: args.reinvite.plan_options(&args.server),
        fingerprint: format == PlanFormat::Json,
        save_to: args.out.clone(),
    };
    let planned = plan(&client, &request, &Show::new(printer)).await?;
    printer.document(&match format {
        PlanFormat::Human => plan_human_with(
            &planned.plan,
            printer.out_style(),
            PendingList::for_verbosity(verbose),
        ),
        PlanFormat::Json => plan_json(&planned.plan),
        PlanFormat::Markdown => plan_markdown(
            &planned.plan,
            &MarkdownOptions {
                server_host: server_host(client.base_url()),
                budget: usize::try_from(args.markdown_budget).unwrap_or(usize::MAX),
                pending: PendingList::for_verbosity(verbose),
            },
        ),
    })?;
    let status = if !planned.plan.conflicts.is_empty() {
        ExitStatus::Error
    } else if args.detailed_exitcode && planned.plan.summary.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    // The manifest, the listing and the plan live until the process exits, which returns
    // their memory at once: freeing a million users one allocation at a time first would
    // only add seconds to the run (BENCHMARKS.md).
    std::mem::forget(planned);
    Ok(status)
}

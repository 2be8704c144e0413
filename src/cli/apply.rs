//! `gotrue-sync apply`: show the plan, get approval, carry it out.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, ExitStatus};
use super::output::Show;
use super::plan::ReinviteArgs;
use crate::gotrue::LimitMode;
use crate::ops::apply::{apply, ApplyOutcome, ApplyRequest, PlanSource, Prompter};
use crate::ops::{Interrupts, OpsError};
use crate::render::{apply_summary, Printer};

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`; it is applied exactly as saved.
    #[arg(
        value_name = "PLAN",
        conflicts_with = "files",
        required_unless_present = "files"
    )]
    pub plan: Option<PathBuf>,
    /// Manifest files or directories (plans and applies in one go).
    #[arg(short = 'f', long = "file", value_name = "FILE", num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, env = "GOTRUE_SYNC_AUTO_APPROVE")]
    pub auto_approve: bool,
    /// Allow up to this many deletes (default: the manifest's policy.max_deletes; for a saved
    /// PLAN the built-in default, never the number in the file).
    #[arg(long, value_name = "N", env = "GOTRUE_SYNC_MAX_DELETES")]
    pub max_deletes: Option<u32>,
    /// Allow a saved PLAN to set a user's `role`, any of which may open the server's admin
    /// API (a manifest allows admin roles with policy.allow_admin_role).
    #[arg(long)]
    pub allow_admin_role: bool,
    /// Most requests in flight at once. The number used adapts to the server: it starts at
    /// one and grows while answers stay fast, and drops on 429, 5xx or climbing latency.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..), env = "GOTRUE_SYNC_PARALLELISM")]
    pub parallelism: u16,
    /// Keep --parallelism requests in flight instead of following the server's latency
    /// (still halved while the server refuses requests with 429 or 5xx): for measurements,
    /// and for servers whose latency says nothing about their load.
    #[arg(long, env = "GOTRUE_SYNC_FIXED_PARALLELISM")]
    pub fixed_parallelism: bool,
    /// Stop starting new changes after the first failure.
    #[arg(long, env = "GOTRUE_SYNC_FAIL_FAST")]
    pub fail_fast: bool,
    #[command(flatten)]
    pub reinvite: ReinviteArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs `apply`.
pub async fn run(
    args: &ApplyArgs,
    printer: &Printer,
    verbose: bool,
) -> Result<ExitStatus, CliError> {
    let parallelism = usize::from(args.parallelism);
    let in_flight = if args.fixed_parallelism {
        LimitMode::Fixed
    } else {
        LimitMode::Adaptive
    };
    let client = args.server.admin_client(
        &args.server.transport(parallelism, in_flight)?,
        parallelism,
        printer,
    )?;
    let source = match (&args.plan, args.files.as_slice()) {
        (Some(path), _) => PlanSource::Saved(path.clone()),
        (None, [_, ..]) => PlanSource::Manifest {
            files: super::manifest_paths(&[], &args.files)?,
            options: args.reinvite.plan_options(&args.server),
        },
        (None, []) => return Err(CliError::Usage("give a saved PLAN or -f FILE".into())),
    };
    let request = ApplyRequest {
        source,
        auto_approve: args.auto_approve,
        max_deletes: args.max_deletes,
        target: args.reinvite.plan_options(&args.server).target,
        allow_admin_role: args.allow_admin_role,
        parallelism: usize::from(args.parallelism),
        fail_fast: args.fail_fast,
    };
    let mut interrupts = Interrupts::ctrl_c();
    let outcome = apply(
        &client,
        &request,
        &TerminalPrompter { printer },
        &Show::with_progress(printer).listing_skipped(verbose),
        &mut interrupts,
    )
    .await?;
    let style = printer.err_style();
    Ok(match outcome {
        ApplyOutcome::NoChanges { conflicts: 0 } => ExitStatus::Success,
        ApplyOutcome::NoChanges { .. } => ExitStatus::Error,
        ApplyOutcome::Declined => {
            printer.error("Apply cancelled: nothing was changed.")?;
            ExitStatus::Error
        }
        ApplyOutcome::Cancelled => {
            // The Ctrl-C may have come at the prompt, after "Enter a value: ".
            printer.report("\n")?;
            printer.error("Apply cancelled: nothing was changed.")?;
            ExitStatus::Interrupted
        }
        ApplyOutcome::Applied(report) => {
            printer.report(&format!("\n{}", apply_summary(&report, style)))?;
            if report.skipped() > 0 && !verbose {
                printer.status("(-v lists the changes not started)")?;
            }
            if report.interrupted {
                ExitStatus::Interrupted
            } else if report.failed() > 0 || report.planning_conflicts > 0 {
                ExitStatus::Error
            } else {
                ExitStatus::Success
            }
        }
        ApplyOutcome::Abandoned {
            finished,
            unknown,
            total,
        } => {
            let mut text = format!(
                "\nApply abandoned by a second Ctrl-C: {} of {total} changes finished; {} were in flight and may or may not have happened:\n",
                finished.len(),
                unknown.len()
            );
            for change in &unknown {
                text.push_str(&format!(
                    "  - {} {}\n",
                    change.action,
                    crate::render::escape_controls(&change.email)
                ));
            }
            text.push_str("Run `gotrue-sync plan` to see what is still to do.\n");
            printer.report(&style.red(&text))?;
            ExitStatus::Interrupted
        }
    })
}

/// Asks for `yes` on the terminal. Without one, refuses: nobody has seen the plan.
struct TerminalPrompter<'a> {
    printer: &'a Printer,
}

impl Prompter for TerminalPrompter<'_> {
    async fn approve(&self) -> Result<bool, OpsError> {
        if !std::io::stdin().is_terminal() {
            return Err(OpsError::NoTerminal);
        }
        let style = self.printer.err_style();
        self.printer
            .prompt(&format!(
                "{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
                style.bold("Do you want to perform these actions?")
            ))
            .map_err(OpsError::Output)?;
        // Read on a thread of its own, so that a Ctrl-C can end the wait: the workflow
        // stops waiting, and the process exits without joining the thread.
        let (sender, answer) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::stdin().lock().read_line(&mut line).map(|_| line);
            let _ = sender.send(read);
        });
        match answer.await {
            Ok(Ok(line)) => Ok(line.trim() == "yes"),
            Ok(Err(error)) => Err(OpsError::Prompt(error)),
            Err(_) => Err(OpsError::Prompt(std::io::Error::other(
                "the thread reading the answer stopped",
            ))),
        }
    }
}

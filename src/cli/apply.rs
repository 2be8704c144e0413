//! `gotrue-sync apply`: show the plan, get approval, carry it out.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use super::plan::{load_and_plan, read_plan, ReinviteArgs};
use crate::apply::{
    check_deletes, check_fresh, check_saved_plan, check_secrets, execute, plan_secrets,
    ApplyOptions,
};
use crate::manifest::Policy;
use crate::plan::server_fingerprint;
use crate::render::{apply_summary, change_line, plan_human, progress_bar, Printer};

/// Characters of the progress bar drawn on a terminal.
const PROGRESS_WIDTH: usize = 30;

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
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow up to this many deletes (default: the manifest's policy.max_deletes; for a saved
    /// PLAN the built-in default, never the number in the file).
    #[arg(long, value_name = "N")]
    pub max_deletes: Option<u32>,
    /// Allow a saved PLAN to give the admin role (a manifest allows it with
    /// policy.allow_admin_role).
    #[arg(long)]
    pub allow_admin_role: bool,
    /// Changes in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// Stop starting new changes after the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    #[command(flatten)]
    pub reinvite: ReinviteArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs `apply`.
pub async fn run(args: &ApplyArgs, printer: &Printer) -> Result<u8, CliError> {
    let client = args.server.admin_client(usize::from(args.parallelism))?;
    let (plan, secrets_dir, max_deletes) = match (&args.plan, args.files.as_slice()) {
        (Some(path), _) => {
            let plan = read_plan(path)?;
            let configured = args.reinvite.plan_options(&args.server).target;
            check_saved_plan(&plan, &configured, args.allow_admin_role)?;
            let dir = PathBuf::from(plan.secrets_dir.clone().unwrap_or_else(|| ".".into()));
            check_secrets(plan_secrets(&plan), &dir)?;
            printer.status(&format!(
                "Checking that the server has not changed since {} was made ...",
                path.display()
            ));
            let listing = client.list_users().await?;
            check_fresh(&plan, &listing.users)?;
            let now = server_fingerprint(&listing.users);
            match &plan.server.fingerprint {
                Some(then) if *then == now => {
                    printer.status("The server has not changed since the plan was made.");
                }
                Some(_) => printer.status(&format!(
                    "The server changed since the plan was made ({} users then, {} now), but none of the users this plan touches did.",
                    plan.server.users,
                    listing.users.len()
                )),
                None => {}
            }
            let max_deletes = args.max_deletes.unwrap_or(Policy::default().max_deletes);
            (plan, dir, max_deletes)
        }
        (None, [_, ..]) => {
            let (loaded, plan) = load_and_plan(
                &args.files,
                &client,
                &args.reinvite.plan_options(&args.server),
                false,
                printer,
            )
            .await?;
            let max_deletes = args.max_deletes.unwrap_or(plan.policy.max_deletes);
            (plan, loaded.base_dir(), max_deletes)
        }
        (None, []) => return Err(CliError::Usage("give a saved PLAN or -f FILE".into())),
    };

    printer.document(&plan_human(&plan, printer.out_style()));
    let conflicts = if plan.conflicts.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    };
    if !plan.summary.has_changes() {
        return Ok(conflicts);
    }
    check_deletes(&plan, max_deletes)?;
    if !args.auto_approve && !approved(printer)? {
        printer.error("Apply cancelled: nothing was changed.");
        return Ok(EXIT_ERROR);
    }

    let cancel = Arc::new(AtomicBool::new(false));
    let watcher = {
        let cancel = Arc::clone(&cancel);
        let printer = printer.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::SeqCst);
                printer.warn("interrupted: finishing the requests in flight, starting no new ones");
            }
        })
    };
    let options = ApplyOptions {
        parallelism: usize::from(args.parallelism),
        fail_fast: args.fail_fast,
        secrets_dir,
        cancel,
    };
    let total = plan.changes.len();
    let mut position = 0;
    let style = printer.err_style();
    printer.progress(&progress_bar(0, total, PROGRESS_WIDTH));
    let report = execute(&plan, &client, &options, |result| {
        position += 1;
        printer.status(&change_line(result, position, total, style));
        printer.progress(&progress_bar(position, total, PROGRESS_WIDTH));
    })
    .await;
    watcher.abort();
    printer.report(&format!("\n{}", apply_summary(&report, style)));
    Ok(if report.interrupted {
        EXIT_INTERRUPTED
    } else if report.failed() > 0 {
        EXIT_ERROR
    } else {
        conflicts
    })
}

/// Asks for `yes` on a terminal. Without one, refuses: nobody has seen the plan.
fn approved(printer: &Printer) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "refusing to apply without confirmation: stdin is not a terminal. Review the plan, then pass --auto-approve".into(),
        ));
    }
    let style = printer.err_style();
    eprint!(
        "{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
        style.bold("Do you want to perform these actions?")
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
    Ok(answer.trim() == "yes")
}

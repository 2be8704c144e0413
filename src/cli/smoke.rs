//! `gotrue-sync smoke`: walk the visitor flow against an instance and report every step.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::connect::ServerArgs;
use super::error::{CliError, ExitStatus};
use crate::gotrue::{Flavor, GotrueError, LimitMode, UserClient};
use crate::ops::smoke::{smoke, SmokeRequest};
use crate::ops::{Event, Observer};
use crate::render::{smoke_json, smoke_junit, smoke_latency_table, smoke_table, Printer};
use crate::secret::{Secret, SecretSource, SystemSecrets};
use crate::smoke::{ConfirmVia, Flow, SmokeOptions};

/// Arguments of `smoke`.
#[derive(Debug, Args)]
pub struct SmokeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Domain of the test addresses: gotrue-sync-smoke+RANDOM@DOMAIN.
    #[arg(long, default_value = "example.com", env = "GOTRUE_SYNC_EMAIL_DOMAIN")]
    pub email_domain: String,
    /// Where the confirmation (and invitation) token comes from when the instance does not
    /// autoconfirm: `inbox` (the emulator), `command:CMD` (run with `sh -c`, given the address
    /// as $1 and in GOTRUE_SMOKE_EMAIL; prints the token or the link) or `admin` (confirm
    /// through the admin API: a weaker check) or `generate-link` (Supabase: the admin API hands
    /// out the mail's token without sending it).
    #[arg(long, value_name = "SOURCE", env = "GOTRUE_SYNC_CONFIRM_VIA")]
    pub confirm_via: Option<ConfirmVia>,
    /// The flows to walk; `invite` needs admin credentials and a mail source.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "signup",
        env = "GOTRUE_SYNC_FLOW"
    )]
    pub flow: Vec<FlowArg>,
    /// Keep the test users (for debugging) instead of deleting them.
    #[arg(long, env = "GOTRUE_SYNC_KEEP_USER")]
    pub keep_user: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE", env = "GOTRUE_SYNC_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Run this many times (synthetic monitoring); p50/p95 per step are shown at the end.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), env = "GOTRUE_SYNC_REPEAT")]
    pub repeat: u32,
    /// Pause between repeated runs.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, env = "GOTRUE_SYNC_INTERVAL")]
    pub interval: Duration,
}

/// `--flow` values: the command-line face of [`Flow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlowArg {
    /// Signup, confirm, login, read and update the user, refresh, logout.
    Signup,
    /// Admin invite, accept with a password, login.
    Invite,
}

impl From<FlowArg> for Flow {
    fn from(flow: FlowArg) -> Self {
        match flow {
            FlowArg::Signup => Flow::Signup,
            FlowArg::Invite => Flow::Invite,
        }
    }
}

/// Runs `smoke`: exit 0 when every step of every run passed, 1 otherwise.
pub async fn run(args: &SmokeArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let transport = args.server.transport(1, LimitMode::Adaptive)?;
    let admin = args.server.optional_admin_client(&transport, 1, printer)?;
    let flows: Vec<Flow> = args.flow.iter().copied().map(Flow::from).collect();
    let needs_admin = flows.contains(&Flow::Invite)
        || matches!(
            args.confirm_via,
            Some(ConfirmVia::Admin | ConfirmVia::GenerateLink)
        );
    if needs_admin && admin.is_none() {
        return Err(CliError::Usage(format!(
            "--flow invite and --confirm-via admin or generate-link need admin credentials. {}",
            super::connect::CREDENTIAL_HELP
        )));
    }
    if admin.is_none() {
        printer.warn("no admin credentials: the test user cannot be deleted afterwards")?;
    }
    // The project's publishable (or anon) key, which Supabase's hosted gateway wants in an
    // `apikey` header on every visitor request; from the environment only, like every key.
    let apikey = SystemSecrets
        .var("GOTRUE_API_KEY")
        .filter(|key| !key.is_empty())
        .map(Secret::new);
    let user = UserClient::with_transport(transport).with_apikey(apikey);
    let flavor = match user.resolve_flavor(args.server.flavor).await {
        Ok(flavor) => flavor,
        // The server did not answer `GET /settings`: the run's own settings step reports it,
        // and its failure blocks every flow, so no request depends on the flavour.
        Err(GotrueError::Api { .. } | GotrueError::Transport { .. }) => Flavor::default(),
        Err(other) => return Err(other.into()),
    };
    let user = user.with_flavor(flavor);
    let admin = admin
        .map(|admin| admin.with_flavor(flavor.into()))
        .transpose()?;
    let request = SmokeRequest {
        options: SmokeOptions {
            email_domain: args.email_domain.clone(),
            confirm_via: args.confirm_via.clone(),
            flows,
            keep_user: args.keep_user,
        },
        repeat: args.repeat,
        interval: args.interval,
    };
    let show = ShowRuns { args, printer };
    let reports = smoke(&user, admin.as_ref(), &request, &show).await?;
    if args.repeat > 1 && !args.json {
        printer.document(&smoke_latency_table(&reports, printer.out_style()))?;
    }
    if args.json {
        printer.document(&smoke_json(&reports))?;
    }
    if let Some(path) = &args.junit {
        crate::private_file::write_private(path, smoke_junit(&reports).as_bytes()).map_err(
            |source| CliError::WriteFile {
                what: "the JUnit report",
                path: path.clone(),
                source,
            },
        )?;
    }
    Ok(if reports.iter().all(|r| r.passed()) {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}

/// Each run's table: the document, or progress on stderr when `--json` is the document.
struct ShowRuns<'a> {
    args: &'a SmokeArgs,
    printer: &'a Printer,
}

impl Observer for ShowRuns<'_> {
    fn event(&self, event: Event<'_>) -> io::Result<()> {
        let Event::SmokeRun { report, round } = event else {
            return Ok(());
        };
        let (args, printer) = (self.args, self.printer);
        if args.repeat > 1 {
            printer.status(&format!("Run {round} of {}:", args.repeat))?;
        }
        if args.json {
            printer.status(&smoke_table(report, printer.err_style()))
        } else {
            printer.document(&smoke_table(report, printer.out_style()))
        }
    }
}

//! Command-line parsing (clap) and the edge that turns workflow results into output and exit
//! statuses. Each command lives in its own file: arguments → options → one call into
//! [`crate::ops`] → render → [`ExitStatus`].

mod apply;
mod connect;
mod demo;
mod emulator;
mod error;
mod export;
mod output;
mod plan;
mod schema;
mod smoke;
mod validate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

pub use error::{render_chain, CliError, ExitStatus};

use crate::render::{Printer, PrinterSettings, Style};

/// Manage the users of a GoTrue (Netlify Identity) server as code.
#[derive(Debug, Parser)]
#[command(name = "gotrue-sync", version, about, long_about = None, after_help = connect::CREDENTIAL_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors, warnings and the requested document.
    #[arg(short, long, global = true)]
    quiet: bool,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream, given whether it is a terminal and whether `NO_COLOR` is set.
    fn colour(self, is_terminal: bool, no_color: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a manifest and report every problem with its location.
    Validate(validate::ValidateArgs),
    /// Show what apply would change (read-only).
    Plan(plan::PlanArgs),
    /// Carry out a plan, after showing it and asking for approval.
    Apply(apply::ApplyArgs),
    /// Write the server's users as a manifest (adopt an existing instance).
    Export(export::ExportArgs),
    /// Print the manifest's JSON Schema.
    Schema,
    /// Run a local GoTrue-compatible server (in memory; mail kept in an inbox).
    Emulator(emulator::EmulatorArgs),
    /// Plan, apply and plan again against a seeded in-process emulator.
    Demo(demo::DemoArgs),
    /// Walk signup, confirm, login, refresh and logout against an instance; report each step.
    Smoke(smoke::SmokeArgs),
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let err_terminal = std::io::stderr().is_terminal();
    init_logging(cli.verbose);
    let printer = Printer::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        PrinterSettings {
            out_style: Style::new(cli.color.colour(std::io::stdout().is_terminal(), no_color)),
            err_style: Style::new(cli.color.colour(err_terminal, no_color)),
            quiet: cli.quiet,
            err_terminal,
        },
    );
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
        .and_then(|runtime| runtime.block_on(dispatch(&cli, &printer)));
    finish(result, &printer).into()
}

async fn dispatch(cli: &Cli, printer: &Printer) -> Result<ExitStatus, CliError> {
    match &cli.command {
        Command::Validate(args) => validate::run(args, printer),
        Command::Plan(args) => plan::run(args, cli.verbose, printer).await,
        Command::Apply(args) => apply::run(args, printer).await,
        Command::Export(args) => export::run(args, printer).await,
        Command::Schema => schema::run(printer),
        Command::Emulator(args) => emulator::run(args, printer).await,
        Command::Demo(args) => demo::run(args, printer).await,
        Command::Smoke(args) => smoke::run(args, printer).await,
    }
}

/// The one place an error is reported. A closed stdout (`gotrue-sync plan | head`) ends
/// quietly with success: the reader has what it wanted. Any other failed write is an error.
fn finish(result: Result<ExitStatus, CliError>, printer: &Printer) -> ExitStatus {
    let error = match result {
        Ok(status) => return status,
        Err(error) => error,
    };
    if error
        .output_error()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    {
        return ExitStatus::Success;
    }
    // If even the error cannot be written, the exit status is all that is left.
    let _ = match error.diagnostics() {
        Some(diagnostics) => printer.report(&format!("{diagnostics}\n")),
        None => printer.error(&render_chain(&error)),
    };
    ExitStatus::Error
}

/// Logs go to stderr; only this crate's events are shown, so that even `-vvv` cannot print
/// an HTTP library's view of request headers (which carry the bearer token).
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::new(format!("warn,gotrue_sync={level}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

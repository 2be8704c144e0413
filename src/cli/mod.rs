//! Command-line parsing (clap) and the edge that turns library results into output and exit
//! codes. Each command lives in its own file and only calls into the library.

mod apply;
mod connect;
mod demo;
mod emulator;
mod error;
mod export;
mod plan;
mod schema;
mod smoke;
mod validate;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

pub use error::{CliError, EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};

use crate::render::{ColorChoice, Printer};

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
pub fn main() -> u8 {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let printer = Printer::new(cli.color, cli.quiet);
    if let Command::Demo(args) = &cli.command {
        // Before the runtime starts any thread: setting the environment is only sound while
        // the process has one thread.
        for variable in demo::missing_secret_variables(args) {
            std::env::set_var(&variable, gotrue_emulator::random_secret());
            printer.status(&format!(
                "demo: {variable} is not set; using a throwaway value for the emulator"
            ));
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            printer.error(&format!("cannot start the async runtime: {error}"));
            return EXIT_ERROR;
        }
    };
    let result = runtime.block_on(dispatch(&cli, &printer));
    match result {
        Ok(code) => code,
        // Manifest diagnostics carry their own `error:` headings and snippets.
        Err(CliError::Manifest(error @ crate::manifest::ManifestError::Invalid { .. })) => {
            printer.report(&format!("{error}\n"));
            EXIT_ERROR
        }
        Err(error) => {
            printer.error(&error.to_string());
            error.exit_code()
        }
    }
}

async fn dispatch(cli: &Cli, printer: &Printer) -> Result<u8, CliError> {
    match &cli.command {
        Command::Validate(args) => validate::run(args, printer),
        Command::Plan(args) => plan::run(args, printer).await,
        Command::Apply(args) => apply::run(args, printer).await,
        Command::Export(args) => export::run(args, printer).await,
        Command::Schema => schema::run(printer),
        Command::Emulator(args) => emulator::run(args, printer).await,
        Command::Demo(args) => demo::run(args, printer).await,
        Command::Smoke(args) => smoke::run(args, printer).await,
    }
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

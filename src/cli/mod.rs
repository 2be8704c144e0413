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
mod show;
mod smoke;
mod validate;
mod version;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use error::{render_chain, CliError, ExitStatus};

use crate::render::{Printer, PrinterSettings, Style};

/// Manage the users of a GoTrue (Netlify Identity) server as code.
#[derive(Debug, Parser)]
#[command(name = "gotrue-sync", version, about, long_about = None, after_help = connect::CREDENTIAL_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour output (the logs too); `auto` honours NO_COLOR.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "GOTRUE_SYNC_COLOR")]
    color: ColorChoice,
    /// More detail on stderr: -v lists skipped changes and logs each request, -vv debug,
    /// -vvv trace. GOTRUE_SYNC_LOG (or RUST_LOG) sets a log filter instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors, warnings and the requested document.
    #[arg(short, long, global = true, env = "GOTRUE_SYNC_QUIET")]
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
    /// Print the manifest's JSON Schema (or, with --plan, the JSON plan's).
    Schema(schema::SchemaArgs),
    /// Run a local GoTrue-compatible server (in memory; mail kept in an inbox).
    Emulator(emulator::EmulatorArgs),
    /// Plan, apply and plan again against a seeded in-process emulator.
    Demo(demo::DemoArgs),
    /// Walk signup, confirm, login, refresh and logout against an instance; report each step.
    Smoke(smoke::SmokeArgs),
    /// Show a plan saved with `plan --out`, as text, JSON or Markdown.
    Show(show::ShowArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from these definitions: `gotrue-sync man >
    /// gotrue-sync.1`.
    Man,
    /// Print the version, the commit it was built from and the target.
    Version(version::VersionArgs),
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error).into(),
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let err_terminal = std::io::stderr().is_terminal();
    let err_colour = cli.color.colour(err_terminal, no_color);
    let printer = Printer::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        PrinterSettings {
            out_style: Style::new(cli.color.colour(std::io::stdout().is_terminal(), no_color)),
            err_style: Style::new(err_colour),
            quiet: cli.quiet,
            err_terminal,
        },
    );
    if let Err(problem) = init_logging(cli.verbose, err_colour) {
        let _ = printer.warn(&problem);
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
        .and_then(|runtime| runtime.block_on(dispatch(&cli, &printer)));
    finish(result, &cli, &printer).into()
}

/// Clap's errors exit 1 like every other error (clap's own 2 would read as "changes" to a
/// drift job); `--help` and `--version` are not errors and exit 0.
fn usage_error(error: &clap::Error) -> ExitStatus {
    let printer = Printer::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        PrinterSettings {
            out_style: Style::plain(),
            err_style: Style::plain(),
            quiet: false,
            err_terminal: false,
        },
    );
    let text = error.render().to_string();
    if error.use_stderr() {
        let _ = printer.report(&text);
        ExitStatus::Error
    } else {
        let _ = printer.document(&text);
        ExitStatus::Success
    }
}

async fn dispatch(cli: &Cli, printer: &Printer) -> Result<ExitStatus, CliError> {
    match &cli.command {
        Command::Validate(args) => validate::run(args, printer),
        Command::Plan(args) => plan::run(args, cli.verbose, printer).await,
        Command::Apply(args) => apply::run(args, printer, cli.verbose > 0).await,
        Command::Export(args) => export::run(args, printer).await,
        Command::Schema(args) => schema::run(args, printer),
        Command::Emulator(args) => emulator::run(args, printer).await,
        Command::Demo(args) => demo::run(args, printer).await,
        Command::Smoke(args) => smoke::run(args, printer).await,
        Command::Show(args) => show::run(args, printer),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "gotrue-sync", &mut script);
            printer.document(&String::from_utf8_lossy(&script))?;
            Ok(ExitStatus::Success)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(CliError::Output)?;
            printer.document(&String::from_utf8_lossy(&page))?;
            Ok(ExitStatus::Success)
        }
        Command::Version(args) => version::run(args, printer),
    }
}

/// The server arguments of the command, for hints that name the URL.
fn server_args(command: &Command) -> Option<&connect::ServerArgs> {
    match command {
        Command::Plan(args) => Some(&args.server),
        Command::Apply(args) => Some(&args.server),
        Command::Export(args) => Some(&args.server),
        Command::Smoke(args) => Some(&args.server),
        _ => None,
    }
}

/// Manifest paths given as positional arguments and with `-f`, in that order; at least one.
/// A saved plan given where a manifest is expected is named as such.
fn manifest_paths(positional: &[PathBuf], flagged: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let paths: Vec<PathBuf> = positional.iter().chain(flagged).cloned().collect();
    if paths.is_empty() {
        return Err(CliError::Usage(
            "no manifest given: name its files or directories, e.g. `identity/` or `-f identity/users.yaml`".into(),
        ));
    }
    if let Some(plan) = paths.iter().find(|path| looks_like_saved_plan(path)) {
        return Err(CliError::Usage(format!(
            "{0} is a saved plan, not a manifest: apply it with `gotrue-sync apply {0}`, or read it with `gotrue-sync show {0}`",
            plan.display()
        )));
    }
    Ok(paths)
}

/// A `.json` file holding a `format_version`: what `plan --out` writes.
fn looks_like_saved_plan(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
        && std::fs::read_to_string(path).is_ok_and(|text| text.contains("\"format_version\""))
}

/// The one place an error is reported. A closed stdout (`gotrue-sync plan | head`) ends
/// quietly with success: the reader has what it wanted. Any other failed write is an error.
fn finish(result: Result<ExitStatus, CliError>, cli: &Cli, printer: &Printer) -> ExitStatus {
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
    let url = server_args(&cli.command).map(|server| server.url.as_str());
    let credential = server_args(&cli.command)
        .and_then(|_| connect::credential_source(&crate::secret::SystemSecrets));
    // If even the error cannot be written, the exit status is all that is left.
    let _ = match error.diagnostics() {
        Some(diagnostics) => printer.diagnostics(&format!("{diagnostics}\n")),
        None => printer.error(&render_chain(&error)),
    };
    if let Some(hint) = error::hint(&error, url, credential) {
        let _ = printer.report(&format!("  {} {hint}\n", printer.err_style().bold("hint:")));
    }
    ExitStatus::Error
}

/// Logs go to stderr, coloured only when stderr is. `GOTRUE_SYNC_LOG` (or `RUST_LOG`) is a
/// filter; without one, `-v` sets the level. Only this crate's events are ever shown, so that
/// no filter can print an HTTP library's view of request headers (which carry the token).
fn init_logging(verbose: u8, ansi: bool) -> Result<(), String> {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let default = format!("gotrue_sync={level}");
    let (filter, problem) = match ["GOTRUE_SYNC_LOG", "RUST_LOG"].iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (*name, v))
    }) {
        Some((name, text)) => match EnvFilter::try_new(&text) {
            Ok(filter) => (filter, None),
            Err(error) => (
                EnvFilter::new(&default),
                Some(format!(
                    "{name}={text:?} is not a log filter ({error}); using {default}"
                )),
            ),
        },
        None => (EnvFilter::new(&default), None),
    };
    let only_ours = tracing_subscriber::filter::filter_fn(|metadata| {
        metadata.target().starts_with("gotrue_sync")
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .with_filter(only_ours)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
    problem.map_or(Ok(()), Err)
}

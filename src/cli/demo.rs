//! `gotrue-sync demo`: the whole loop — plan, apply, plan again — against a seeded emulator
//! started in this process, so a first-time user sees the tool work without any set-up.

use std::path::PathBuf;

use clap::Args;

use super::error::{CliError, ExitStatus};
use super::output::Show;
use crate::gotrue::Flavor;
use crate::ops::demo::{demo, DemoManifest};
use crate::render::Printer;

/// The example manifest the demo uses by default, when run inside the repository.
const EXAMPLE_PATH: &str = "examples/users.yaml";

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Manifest files or directories to demonstrate with (default: examples/users.yaml, or
    /// the same example built into the binary when that file is not there).
    #[arg(short = 'f', long = "file", value_name = "FILE", num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Which server the in-process emulator plays: netlify/gotrue or supabase/auth.
    #[arg(long, value_enum, default_value_t = Flavor::Netlify)]
    pub flavor: Flavor,
}

/// Runs the demo.
pub async fn run(args: &DemoArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let manifest = if !args.files.is_empty() {
        DemoManifest::Files(args.files.clone())
    } else if std::path::Path::new(EXAMPLE_PATH).is_file() {
        DemoManifest::Files(vec![PathBuf::from(EXAMPLE_PATH)])
    } else {
        DemoManifest::Embedded
    };
    let outcome = demo(&manifest, args.flavor, &Show::new(printer)).await?;
    Ok(if outcome.failed > 0 {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}

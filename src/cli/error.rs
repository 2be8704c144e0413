//! The one error type the CLI reports, and the exit code each kind means.

use std::path::PathBuf;

use crate::apply::ApplyRefusal;
use crate::gotrue::GotrueError;
use crate::manifest::ManifestError;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: error, refused, or a change failed.
pub const EXIT_ERROR: u8 = 1;
/// Exit code with `--detailed-exitcode`: the plan has changes.
pub const EXIT_CHANGES: u8 = 2;
/// Exit code: stopped by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Everything that can end a command early.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The manifest could not be read or has problems.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A request to GoTrue failed.
    #[error(transparent)]
    Gotrue(#[from] GotrueError),
    /// Apply refused to start.
    #[error(transparent)]
    Refused(#[from] ApplyRefusal),
    /// A saved plan file could not be read or written.
    #[error("plan file {}: {reason}", path.display())]
    PlanFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The emulator failed.
    #[error(transparent)]
    Emulator(#[from] gotrue_emulator::EmulatorError),
    /// Bad combination of arguments or settings.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        EXIT_ERROR
    }
}

//! Why a workflow stopped.

use std::io;
use std::path::PathBuf;

use crate::apply::ApplyRefusal;
use crate::gotrue::GotrueError;
use crate::manifest::ManifestError;
use gotrue_emulator::EmulatorError;

/// Everything that can end a workflow early. Each variant keeps its cause as the error
/// source, so the command line can print the whole chain once.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The manifest could not be read or has problems.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A request to GoTrue failed.
    #[error(transparent)]
    Gotrue(#[from] GotrueError),
    /// Apply refused to start.
    #[error(transparent)]
    Refused(#[from] ApplyRefusal),
    /// A saved plan could not be read.
    #[error("cannot use the plan file {}", path.display())]
    ReadPlan {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: PlanFileError,
    },
    /// A plan could not be saved.
    #[error("cannot write the plan file {}", path.display())]
    WritePlan {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The in-process emulator (demo) failed.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// Approval was needed, but there is nobody to ask.
    #[error("refusing to apply without confirmation: stdin is not a terminal. Review the plan, then pass --auto-approve")]
    NoTerminal,
    /// The answer to the approval prompt could not be read.
    #[error("cannot read the answer to the approval prompt")]
    Prompt(#[source] io::Error),
    /// Output could not be written (the observer's writer failed).
    #[error("cannot write output")]
    Output(#[source] io::Error),
    /// The demo could not set up its scratch directory (throwaway passwords, the example).
    #[error("cannot prepare the demo's scratch directory {}", path.display())]
    DemoScratch {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// What is wrong with a saved plan file.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// It could not be read.
    #[error(transparent)]
    Read(io::Error),
    /// It is not JSON at all.
    #[error("not a plan file")]
    NotJson(#[source] serde_json::Error),
    /// It was made by another version of gotrue-sync.
    #[error("unsupported plan format_version {found}; make the plan again with this version of gotrue-sync")]
    UnsupportedVersion {
        /// The version found, or `(missing)`.
        found: String,
    },
    /// It is JSON of the right version but not a plan.
    #[error("invalid plan")]
    Invalid(#[source] serde_json::Error),
}

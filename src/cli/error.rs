//! The one error type the command line reports, the exit statuses, and the one place an
//! error is turned into text.

use std::error::Error;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::gotrue::GotrueError;
use crate::manifest::ManifestError;
use crate::ops::OpsError;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done (and, under `--detailed-exitcode`, no changes).
    Success,
    /// 1: any error, usage errors included; refused; a change failed.
    Error,
    /// 2: `plan --detailed-exitcode` found changes.
    Changes,
    /// 130: a Ctrl-C stopped something.
    Interrupted,
}

impl ExitStatus {
    /// The numeric status.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::Changes => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// Everything that can end a command early.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A workflow failed.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// A bad combination of arguments or settings.
    #[error("{0}")]
    Usage(String),
    /// A file the command writes (export, JUnit report) could not be written.
    #[error("cannot write {what} {}", path.display())]
    WriteFile {
        /// What the file is.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The exported manifest could not be serialized.
    #[error("cannot write the manifest as YAML: {0}")]
    ExportYaml(String),
    /// Output could not be written.
    #[error("cannot write output")]
    Output(#[from] io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
}

impl From<GotrueError> for CliError {
    fn from(error: GotrueError) -> Self {
        CliError::Ops(error.into())
    }
}

impl From<ManifestError> for CliError {
    fn from(error: ManifestError) -> Self {
        CliError::Ops(error.into())
    }
}

impl CliError {
    /// The I/O error behind a failed write of output, if that is what this is.
    pub fn output_error(&self) -> Option<&io::Error> {
        match self {
            CliError::Output(error) | CliError::Ops(OpsError::Output(error)) => Some(error),
            _ => None,
        }
    }

    /// Manifest diagnostics, which carry their own `error:` headings and snippets.
    pub fn diagnostics(&self) -> Option<&ManifestError> {
        match self {
            CliError::Ops(OpsError::Manifest(error @ ManifestError::Invalid { .. })) => Some(error),
            _ => None,
        }
    }
}

/// The error and its causes on one line, each cause once: a cause whose text the message
/// already contains (many messages embed their cause) is not repeated.
pub fn render_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::PlanFileError;

    #[test]
    fn exit_statuses_are_the_documented_numbers() {
        let codes: Vec<u8> = [
            ExitStatus::Success,
            ExitStatus::Error,
            ExitStatus::Changes,
            ExitStatus::Interrupted,
        ]
        .into_iter()
        .map(ExitStatus::code)
        .collect();
        assert_eq!(codes, [0, 1, 2, 130]);
    }

    #[test]
    fn the_chain_names_every_cause_once() {
        let error = CliError::Ops(OpsError::ReadPlan {
            path: PathBuf::from("plan.json"),
            source: PlanFileError::Read(io::Error::new(io::ErrorKind::NotFound, "gone")),
        });
        assert_eq!(
            render_chain(&error),
            "cannot use the plan file plan.json: gone"
        );

        let error = CliError::Ops(OpsError::Manifest(ManifestError::Read {
            path: PathBuf::from("users.yaml"),
            source: io::Error::new(io::ErrorKind::NotFound, "gone"),
        }));
        assert_eq!(
            render_chain(&error),
            "cannot read manifest users.yaml: gone"
        );
    }

    #[test]
    fn output_errors_are_found_through_the_workflow_error() {
        let broken = || io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(CliError::Output(broken()).output_error().is_some());
        assert!(CliError::Ops(OpsError::Output(broken()))
            .output_error()
            .is_some());
        assert!(CliError::Usage("x".into()).output_error().is_none());
    }
}

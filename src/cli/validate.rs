//! `gotrue-sync validate`: check a manifest without touching a server.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::error::{CliError, ExitStatus};
use super::manifest_paths;
use crate::manifest::{self, Diagnostic, ManifestError, Severity};
use crate::ops::OpsError;
use crate::render::Printer;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (all *.yaml/*.yml in them).
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,
    /// The same as the positional FILEs; repeat -f or list several.
    #[arg(short = 'f', long = "file", value_name = "FILE", num_args = 1.., env = "GOTRUE_SYNC_FILE", value_delimiter = ',')]
    pub files: Vec<PathBuf>,
    /// How to report problems: human (snippets on stderr), json (a document on stdout) or
    /// github (workflow annotations on stdout, shown on the pull request's diff).
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human, env = "GOTRUE_SYNC_VALIDATE_FORMAT")]
    pub format: ValidateFormat,
}

/// Output formats of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    /// Diagnostics with snippets, on stderr.
    Human,
    /// `{"valid": …, "problems": [{file, line, column, message, hint}]}` on stdout, and for
    /// a valid manifest its `warnings` in the same form.
    Json,
    /// `::error file=…,line=…,col=…::…` lines for GitHub Actions.
    Github,
}

/// Validates the manifest and reports every problem at once.
pub fn run(args: &ValidateArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let files = manifest_paths(&args.paths, &args.files)?;
    let diagnostics = match manifest::load_all(&files) {
        Ok(loaded) => {
            let count = loaded.manifest.users.len();
            let names = loaded
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            match args.format {
                ValidateFormat::Json => printer.document(&pretty(&json!({
                    "valid": true,
                    "files": loaded.files,
                    "users": count,
                    "name": loaded.manifest.name,
                    "problems": [],
                    "warnings": loaded.warnings.iter().map(problem_json).collect::<Vec<_>>(),
                })))?,
                ValidateFormat::Github if !loaded.warnings.is_empty() => {
                    printer.document(&github_annotations(&loaded.warnings))?
                }
                ValidateFormat::Github => {}
                ValidateFormat::Human => {
                    for warning in &loaded.warnings {
                        printer.diagnostics(&warning.to_string())?;
                    }
                }
            }
            printer.status(&format!(
                "{names} is valid: {count} user{}, owner label {:?}.",
                if count == 1 { "" } else { "s" },
                loaded.manifest.name
            ))?;
            return Ok(ExitStatus::Success);
        }
        Err(ManifestError::Invalid { diagnostics, .. }) if args.format != ValidateFormat::Human => {
            diagnostics
        }
        Err(error) => return Err(CliError::Ops(OpsError::Manifest(error))),
    };
    printer.document(&match args.format {
        ValidateFormat::Json => {
            let (warnings, problems): (Vec<_>, Vec<_>) = diagnostics
                .iter()
                .partition(|d| d.severity == Severity::Warning);
            pretty(&json!({
                "valid": false,
                "problems": problems.into_iter().map(problem_json).collect::<Vec<_>>(),
                "warnings": warnings.into_iter().map(problem_json).collect::<Vec<_>>(),
            }))
        }
        _ => github_annotations(&diagnostics),
    })?;
    Ok(ExitStatus::Error)
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn problem_json(diagnostic: &Diagnostic) -> serde_json::Value {
    let location = &diagnostic.location;
    json!({
        "file": location.file,
        "line": location.line,
        "column": location.column,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
    })
}

/// One `::error` (or `::warning`) workflow command per problem. GitHub reads `%`, CR and
/// LF escaped in the message, and also `:` and `,` in property values.
pub fn github_annotations(diagnostics: &[Diagnostic]) -> String {
    let data = |text: &str| {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |text: &str| data(text).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for diagnostic in diagnostics {
        let location = &diagnostic.location;
        let mut message = diagnostic.message.clone();
        if let Some(hint) = &diagnostic.hint {
            message.push_str(&format!("\nhelp: {hint}"));
        }
        out.push_str(&format!(
            "::{} file={},line={},col={}::{}\n",
            diagnostic.severity.label(),
            property(&location.file.display().to_string()),
            location.line,
            location.column,
            data(&message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::manifest::SourceLocation;

    #[test]
    fn annotations_escape_what_github_reads_as_syntax() {
        let mut diagnostic = Diagnostic::new(
            SourceLocation::new(Path::new("id,entity/users:1.yaml"), 4, 12),
            "100% wrong",
            "",
        );
        diagnostic.hint = Some("write it\nagain".into());
        insta::assert_snapshot!(github_annotations(&[diagnostic]), @"::error file=id%2Centity/users%3A1.yaml,line=4,col=12::100%25 wrong%0Ahelp: write it%0Aagain");
    }
}

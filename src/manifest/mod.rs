//! The manifest: YAML → validated, typed [`Manifest`], with every problem located.

mod diagnostic;
mod files;
mod model;
mod schema;
mod validate;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use diagnostic::{
    did_you_mean, is_secret_like_key, Diagnostic, Severity, SourceLines, SourceLocation,
};
pub use files::{expand, load_all, MAX_MANIFEST_BYTES};
pub use model::{
    opens_admin_api, AdoptMode, CreateMode, Manifest, MetadataMode, Policy, PruneMode, SecretRef,
    UserSpec, ADMIN_GROUP, ADMIN_ROLES, SUPPORTED_VERSION,
};
pub use schema::{manifest_schema, manifest_schema_text};
pub use validate::{
    admin_role_problems, validate, validate_file, FileValidation, RoleUse, Validated,
};
pub(crate) use yaml::readers_agree;

/// A manifest read from a file and validated.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// The file it was read from.
    pub path: PathBuf,
    /// The validated manifest.
    pub manifest: Manifest,
    /// Every file the manifest was read from.
    pub files: Vec<PathBuf>,
    /// Things in the manifest that do not do what they seem to, in file order.
    pub warnings: Vec<Diagnostic>,
}

impl LoadedManifest {
    /// The directory relative `file:` secret references are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The path names a device, a FIFO or something else that is not a regular file.
    #[error("cannot read manifest {}: not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than any manifest.
    #[error("cannot read manifest {}: larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The bound, [`MAX_MANIFEST_BYTES`].
        limit: u64,
    },
    /// A directory holds no manifest files.
    #[error("no *.yaml or *.yml files in {}", path.display())]
    NoFiles {
        /// The directory.
        path: PathBuf,
    },
    /// The file was read but has problems.
    #[error("{}", DiagnosticList(diagnostics))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
}

struct DiagnosticList<'a>(&'a [Diagnostic]);

impl fmt::Display for DiagnosticList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        let warnings = self
            .0
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count();
        let errors = self.0.len() - warnings;
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(f, "{errors} problem{} found", plural(errors))?;
        if warnings > 0 {
            write!(f, ", and {warnings} warning{}", plural(warnings))?;
        }
        Ok(())
    }
}

/// Reads and validates the manifest at `path` (a file or a directory of files).
pub fn load(path: &Path) -> Result<LoadedManifest, ManifestError> {
    load_all(&[path.to_path_buf()])
}

//! Secret values (passwords, tokens) that must never reach output, logs or errors.

use std::fmt;
use std::path::Path;

use crate::manifest::SecretRef;

/// A secret string. `Debug` and `Display` print `(sensitive)`; the value is only reachable
/// through [`Secret::expose`], which request builders call at the last moment.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for building a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

/// Serializes the real value: only wire request bodies serialize a `Secret`.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Reads a secret from a response body (an access token).
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Why a secret reference could not be resolved. Names the reference, never a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The environment variable is not set (or not valid UTF-8).
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The environment variable is set but empty.
    #[error("environment variable {0} is empty")]
    EmptyEnv(String),
    /// The file could not be read.
    #[error("cannot read secret file {path}: {reason}")]
    File {
        /// The file as written in the manifest.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The file is empty.
    #[error("secret file {0} is empty")]
    EmptyFile(String),
}

/// The largest password file read: a password is a line, and the bound keeps a mistaken
/// reference (a device, a log, a disk image) from being read into memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 4096;

/// Resolves a manifest secret reference; relative files are read from `base_dir`. Empty and
/// whitespace-only values are refused: they are never the password someone meant.
pub fn resolve(reference: &SecretRef, base_dir: &Path) -> Result<Secret, SecretError> {
    match reference {
        SecretRef::Env { env } => match std::env::var(env) {
            Ok(value) if value.trim().is_empty() => Err(SecretError::EmptyEnv(env.clone())),
            Ok(value) => Ok(Secret(value)),
            Err(_) => Err(SecretError::MissingEnv(env.clone())),
        },
        SecretRef::File { file } => {
            let text =
                read_secret_file(&base_dir.join(file)).map_err(|reason| SecretError::File {
                    path: file.clone(),
                    reason,
                })?;
            let value = text.trim_end_matches(['\n', '\r']);
            if value.trim().is_empty() {
                return Err(SecretError::EmptyFile(file.clone()));
            }
            Ok(Secret(value.to_owned()))
        }
    }
}

/// Reads a regular file of at most [`MAX_SECRET_FILE_BYTES`]. The type is checked before
/// opening, since opening a FIFO for reading waits for a writer that may never come.
fn read_secret_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    if metadata.len() > MAX_SECRET_FILE_BYTES {
        return Err(format!("larger than {MAX_SECRET_FILE_BYTES} bytes"));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!("larger than {MAX_SECRET_FILE_BYTES} bytes"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "(sensitive) (sensitive)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn resolves_files_relative_to_the_manifest() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw"), "s3cret\n").expect("write");
        let found = resolve(&SecretRef::File { file: "pw".into() }, dir.path()).expect("read");
        assert_eq!(found.expose(), "s3cret");
        let missing = resolve(
            &SecretRef::File {
                file: "nope".into(),
            },
            dir.path(),
        );
        assert!(matches!(missing, Err(SecretError::File { .. })));
        let unset = resolve(
            &SecretRef::Env {
                env: "GOTRUE_SYNC_TEST_SURELY_UNSET".into(),
            },
            dir.path(),
        );
        assert_eq!(
            unset,
            Err(SecretError::MissingEnv(
                "GOTRUE_SYNC_TEST_SURELY_UNSET".into()
            ))
        );
    }

    fn file_error(dir: &Path, name: &str) -> SecretError {
        let started = std::time::Instant::now();
        let found = resolve(&SecretRef::File { file: name.into() }, dir).expect_err("refused");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name} took {:?}",
            started.elapsed()
        );
        found
    }

    #[test]
    fn only_small_regular_files_with_a_password_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("blank"), "  \t\n").expect("write");
        std::fs::write(dir.path().join("empty"), "").expect("write");
        std::fs::write(dir.path().join("big"), "x".repeat(5000)).expect("write");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());

        assert_eq!(
            file_error(dir.path(), "blank"),
            SecretError::EmptyFile("blank".into())
        );
        assert_eq!(
            file_error(dir.path(), "empty"),
            SecretError::EmptyFile("empty".into())
        );
        assert_eq!(
            file_error(dir.path(), "big").to_string(),
            "cannot read secret file big: larger than 4096 bytes"
        );
        assert_eq!(
            file_error(dir.path(), "fifo").to_string(),
            "cannot read secret file fifo: not a regular file"
        );
        assert_eq!(
            file_error(dir.path(), "/dev/zero").to_string(),
            "cannot read secret file /dev/zero: not a regular file"
        );
        assert_eq!(
            file_error(dir.path(), ".").to_string(),
            "cannot read secret file .: not a regular file"
        );
    }
}

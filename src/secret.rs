//! Secret values (passwords, tokens) that must never reach output, logs or errors: the
//! [`Secret`] wrapper, the manifest's [`SecretRef`], where secrets are read from
//! ([`SecretSource`]) and the run's [`Redactor`]. A leaf: it imports nothing of the crate.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// Where a secret comes from. Secrets stay references until a request is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SecretRef {
    /// Read from an environment variable.
    Env {
        /// Name of the environment variable.
        env: String,
    },
    /// Read from a file (trailing newline stripped); relative paths are relative to the
    /// manifest's directory.
    File {
        /// Path of the file.
        file: String,
    },
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env { env } => write!(f, "env:{env}"),
            SecretRef::File { file } => write!(f, "file:{file}"),
        }
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

/// Where secret values are read from: the process environment and files by default
/// ([`SystemSecrets`]), a fixed map in tests and the demo ([`MapSecrets`]). Nothing in the
/// crate sets environment variables; a value that should "be set" comes from a source.
pub trait SecretSource: Send + Sync + fmt::Debug {
    /// The value of variable `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
    /// The content of the file at `path`, or why it cannot be read.
    fn read_file(&self, path: &Path) -> Result<String, String>;
}

/// The largest password file read: a password is a line, and the bound keeps a mistaken
/// reference (a device, a log, a disk image) from being read into memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 4096;

/// The process environment and the file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSecrets;

impl SecretSource for SystemSecrets {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        read_secret_file(path)
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

/// Variables from a map, falling back to another source (files, and variables the map does
/// not hold) — how the demo supplies throwaway values and tests supply their own.
#[derive(Debug, Clone)]
pub struct MapSecrets {
    vars: HashMap<String, String>,
    fallback: Arc<dyn SecretSource>,
}

impl MapSecrets {
    /// A source holding `vars`, then whatever `fallback` holds.
    pub fn new(vars: HashMap<String, String>, fallback: Arc<dyn SecretSource>) -> Self {
        MapSecrets { vars, fallback }
    }

    /// A source holding only `vars` (files are still read from disk).
    pub fn only(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        MapSecrets::new(vars.into_iter().collect(), Arc::new(NoVariables))
    }
}

impl SecretSource for MapSecrets {
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .cloned()
            .or_else(|| self.fallback.var(name))
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        self.fallback.read_file(path)
    }
}

/// Files from disk, no variables at all.
#[derive(Debug, Clone, Copy)]
struct NoVariables;

impl SecretSource for NoVariables {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }

    fn read_file(&self, path: &Path) -> Result<String, String> {
        read_secret_file(path)
    }
}

/// Resolves a manifest secret reference from `source`; relative files are read from
/// `base_dir`. Empty and whitespace-only values are refused: they are never the password
/// someone meant.
pub fn resolve(
    reference: &SecretRef,
    base_dir: &Path,
    source: &dyn SecretSource,
) -> Result<Secret, SecretError> {
    match reference {
        SecretRef::Env { env } => match source.var(env) {
            Some(value) if value.trim().is_empty() => Err(SecretError::EmptyEnv(env.clone())),
            Some(value) => Ok(Secret(value)),
            None => Err(SecretError::MissingEnv(env.clone())),
        },
        SecretRef::File { file } => {
            let path = base_dir.join(file);
            let text = source
                .read_file(&path)
                .map_err(|reason| SecretError::File {
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

/// What replaces a secret value in text.
pub const REDACTED: &str = "(redacted)";

/// Values shorter than this are not searched for: replacing every `ab` in a message would
/// destroy it and tell an onlooker which two letters the secret is made of.
const MIN_REDACTED_LEN: usize = 4;

/// Every secret value of the run (resolved passwords, admin token, JWT secret, minted and
/// received tokens, confirmation and invitation tokens), so that any text that may carry a
/// server's words — which can echo a request body — is cleaned before it is shown. Clones
/// share one set.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<Vec<String>>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor(..)")
    }
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Remembers `secret` for the rest of the run.
    pub fn add(&self, secret: &Secret) {
        self.add_value(secret.expose());
    }

    fn add_value(&self, value: &str) {
        if value.len() < MIN_REDACTED_LEN {
            return;
        }
        let mut values = match self.values.write() {
            Ok(values) => values,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !values.iter().any(|known| known == value) {
            values.push(value.to_owned());
            // Longest first, so a secret that contains another is replaced whole.
            values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// `text` with every known secret value, and its URL- and JSON-escaped forms (as an
    /// echoed form or JSON body would show it), replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let values = match self.values.read() {
            Ok(values) => values,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = text.to_owned();
        for value in values.iter() {
            for form in [
                value.clone(),
                form_encode(value),
                json_escape(value),
                form_encode(value).replace("%20", "+"),
            ] {
                if out.contains(&form) {
                    out = out.replace(&form, REDACTED);
                }
            }
        }
        out
    }
}

/// `application/x-www-form-urlencoded` form of a value, as `/token` bodies carry it.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The value as it appears inside a JSON string.
fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
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
        let found = resolve(
            &SecretRef::File { file: "pw".into() },
            dir.path(),
            &SystemSecrets,
        )
        .expect("read");
        assert_eq!(found.expose(), "s3cret");
        let missing = resolve(
            &SecretRef::File {
                file: "nope".into(),
            },
            dir.path(),
            &SystemSecrets,
        );
        assert!(matches!(missing, Err(SecretError::File { .. })));
    }

    #[test]
    fn variables_come_from_the_source_not_the_process() {
        let source = MapSecrets::only([("PW".to_owned(), "from-the-map".to_owned())]);
        let env = |name: &str| SecretRef::Env { env: name.into() };
        let dir = Path::new(".");
        assert_eq!(
            resolve(&env("PW"), dir, &source).expect("set").expose(),
            "from-the-map"
        );
        // PATH is set in every process; a map source without it does not see it.
        assert_eq!(
            resolve(&env("PATH"), dir, &source),
            Err(SecretError::MissingEnv("PATH".into()))
        );
        let empty = MapSecrets::only([("E".to_owned(), String::new())]);
        assert_eq!(
            resolve(&env("E"), dir, &empty),
            Err(SecretError::EmptyEnv("E".into()))
        );
    }

    fn file_error(dir: &Path, name: &str) -> SecretError {
        let started = std::time::Instant::now();
        let found = resolve(&SecretRef::File { file: name.into() }, dir, &SystemSecrets)
            .expect_err("refused");
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

    #[test]
    fn the_redactor_replaces_every_known_value_in_its_echoed_forms() {
        let redactor = Redactor::new();
        redactor.add(&Secret::new("p@ss word+1"));
        redactor.add(&Secret::new("tok\"en-42"));
        redactor.add(&Secret::new("ab"));
        let clone = redactor.clone();
        let echoed = r#"bad request: {"password":"p@ss word+1"} grant_type=password&password=p%40ss+word%2B1 token "tok\"en-42" ab"#;
        assert_eq!(
            clone.redact(echoed),
            r#"bad request: {"password":"(redacted)"} grant_type=password&password=(redacted) token "(redacted)" ab"#
        );
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let redactor = Redactor::new();
        redactor.add(&Secret::new("abcd"));
        redactor.add(&Secret::new("xxabcdxx"));
        assert_eq!(
            redactor.redact("[xxabcdxx] [abcd]"),
            "[(redacted)] [(redacted)]"
        );
    }
}

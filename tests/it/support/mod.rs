//! What the integration tests share, one copy each: the binary runner, the emulator fixture,
//! user builders and the wiremock helpers.

pub mod binary;
pub mod emulator;
pub mod mock;
pub mod users;

use std::path::PathBuf;

/// Writes `text` to the file `name` in `dir` and returns its path.
pub fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

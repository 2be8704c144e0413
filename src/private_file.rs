//! Files gotrue-sync writes that hold personal data (saved plans, exports, smoke reports):
//! readable by the owner only (0600 on Unix) and replaced atomically, so a reader never sees
//! half a file and a failed write leaves the previous file as it was.

use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to `path`: 0600, atomically (a temporary file in the same directory,
/// then a rename over `path`).
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_private_with(path, |file| file.write_all(contents))
}

/// [`write_private`] with the contents written by `fill`. When `fill` or any later step
/// fails, the temporary file is removed and `path` is untouched.
pub fn write_private_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    // tempfile creates the file 0600 with O_EXCL and deletes it on drop unless persisted.
    let mut temporary = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)?;
    fill(temporary.as_file_mut())?;
    // On disk before the rename: after a crash the name holds the old or the new contents.
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests;

//! Writing output through the real binary: a reader that went away is not an error; a
//! failed write is.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::Stdio;

use crate::support::binary::process;

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    // A socket whose other end is already closed: every write fails with a broken pipe, as
    // with `gotrue-sync schema | head -c0`, without a race against the reader.
    let (ours, theirs) = UnixStream::pair().expect("socket pair");
    drop(ours);
    let output = process()
        .arg("schema")
        .stdout(Stdio::from(OwnedFd::from(theirs)))
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn a_full_disk_is_an_error_with_a_message() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = process()
        .arg("schema")
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot write output: No space left on device"),
        "{stderr}"
    );
}

use std::io::Write;

use super::*;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn writes_the_contents() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("plan.json");
    write_private(&path, b"{}\n").expect("write");
    assert_eq!(std::fs::read(&path).expect("read"), b"{}\n");
    assert_eq!(entries(dir.path()), ["plan.json"], "no temporary file left");
}

#[cfg(unix)]
#[test]
fn a_new_file_is_owner_only() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("export.yaml");
    write_private(&path, b"users: []\n").expect("write");
    assert_eq!(mode(&path), 0o600);
}

#[cfg(unix)]
#[test]
fn replacing_a_world_readable_file_makes_it_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("smoke.xml");
    std::fs::write(&path, "old").expect("old file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    write_private(&path, b"new").expect("write");
    assert_eq!(std::fs::read(&path).expect("read"), b"new");
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn a_write_failing_half_way_leaves_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("plan.json");
    std::fs::write(&path, "the old plan").expect("old file");
    let error = write_private_with(&path, |file| {
        file.write_all(b"half of the new")?;
        Err(io::Error::other("disk full"))
    })
    .expect_err("the write fails");
    assert_eq!(error.to_string(), "disk full");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "the old plan"
    );
    assert_eq!(entries(dir.path()), ["plan.json"], "no temporary file left");
}

#[test]
fn a_failing_rename_leaves_the_target_and_no_temporary() {
    let dir = tempfile::tempdir().expect("dir");
    // A non-empty directory cannot be replaced by a file.
    let target = dir.path().join("out");
    std::fs::create_dir(&target).expect("dir");
    std::fs::write(target.join("keep"), "kept").expect("file");
    write_private(&target, b"plan").expect_err("cannot replace a directory");
    assert_eq!(
        std::fs::read_to_string(target.join("keep")).expect("kept"),
        "kept"
    );
    assert_eq!(entries(dir.path()), ["out"], "no temporary file left");
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("no-such-dir").join("plan.json");
    let error = write_private(&path, b"plan").expect_err("no directory");
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
}

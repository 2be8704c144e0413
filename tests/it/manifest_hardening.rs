//! Hostile or mistaken manifest input through the binary: files that are not manifests,
//! devices and FIFOs, secrets in snippets. Each is refused with exit 1, quickly, without
//! echoing a secret and before any request reaches the server.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::binary::against;
use crate::support::mock::requests;

const SECRET: &str = "Sup3rS3cret!";

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    server
}

/// Runs the binary with `args` against `server`, and checks it fails with exit 1, within a
/// few seconds, having sent nothing. Returns stdout and stderr together.
async fn refused(server: &MockServer, args: &[&std::ffi::OsStr]) -> String {
    let started = Instant::now();
    let output = against(&server.uri(), "operator-token")
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    let sent = requests(server).await;
    assert!(sent.is_empty(), "{} requests sent", sent.len());
    text
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_of_a_directory_does_not_show_a_secrets_file_beside_the_manifest() {
    let dir = tempfile::tempdir().expect("dir");
    write(
        dir.path(),
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: a@example.com\n",
    );
    write(
        dir.path(),
        "secrets.yaml",
        &format!("monitor_bot_password: {SECRET}\nother: {SECRET}\n"),
    );
    let server = server().await;
    let text = refused(
        &server,
        &["validate".as_ref(), "-f".as_ref(), dir.path().as_os_str()],
    )
    .await;
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        text.contains("secrets.yaml is not a gotrue-sync manifest"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_of_a_password_file_does_not_print_the_password() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server().await;
    for content in [format!("{SECRET}\n"), format!("{SECRET}: x: y\n")] {
        let file = write(dir.path(), "bot.password", &content);
        let text = refused(&server, &["plan".as_ref(), "-f".as_ref(), file.as_os_str()]).await;
        assert!(!text.contains("Sup3r"), "{text}");
        assert!(text.contains("not a gotrue-sync manifest"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_and_fifos_are_refused_as_manifests_without_blocking() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server().await;
    let fifo = fifo(dir.path());
    for path in [Path::new("/dev/zero"), fifo.as_path()] {
        for command in ["validate", "plan"] {
            let text = refused(
                &server,
                &[command.as_ref(), "-f".as_ref(), path.as_os_str()],
            )
            .await;
            assert!(text.contains("not a regular file"), "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_file_that_is_a_device_a_fifo_or_blank_is_refused_before_any_request() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server().await;
    let fifo = fifo(dir.path());
    let blank = write(dir.path(), "blank.password", " \n");
    for (secret, expected) in [
        (Path::new("/dev/zero"), "not a regular file"),
        (fifo.as_path(), "not a regular file"),
        (blank.as_path(), "is empty"),
    ] {
        let manifest = write(
            dir.path(),
            "users.yaml",
            &format!(
                "version: 1\nname: site\nusers:\n  - email: bot@example.com\n    create: password\n    password: {{ file: {} }}\n",
                secret.display()
            ),
        );
        let text = refused(
            &server,
            &["plan".as_ref(), "-f".as_ref(), manifest.as_os_str()],
        )
        .await;
        assert!(text.contains(expected), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_under_a_misspelt_key_is_masked_in_the_output() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server().await;
    for line in [
        format!("pasword: {SECRET}"),
        format!("Password: {SECRET}"),
        format!("passwd: {SECRET}"),
        format!("password: {SECRET}: horse"),
        format!("password: \"{SECRET}"),
    ] {
        let manifest = write(
            dir.path(),
            "users.yaml",
            &format!(
                "version: 1\nname: site\nusers:\n  - email: bot@example.com\n    create: password\n    {line}\n"
            ),
        );
        let text = refused(
            &server,
            &["validate".as_ref(), "-f".as_ref(), manifest.as_os_str()],
        )
        .await;
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("(sensitive)"), "{text}");
    }
}

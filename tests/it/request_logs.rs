//! `-v` logs every request with its status and time, `-vv` adds the bodies, redacted; the
//! credential never appears, in headers or anywhere else.

use gotrue_emulator::EmulatorConfig;

use crate::support::emulator::{binary, start};
use crate::support::write;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_show_each_request_and_never_the_credential() {
    let emulator = start(EmulatorConfig::default()).await;
    let token = emulator.config().operator_token.clone();
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write(
        &dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: a@example.com\n",
    );
    let run = |verbosity: &str| {
        let output = binary(&emulator)
            .args(["plan", verbosity, "--color", "never", "-f"])
            .arg(&manifest)
            .output()
            .expect("plan");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let info = run("-v");
    let listing = info
        .lines()
        .find(|line| line.contains("GET /admin/users") && line.contains("answered"))
        .unwrap_or_else(|| panic!("no listing line in:\n{info}"));
    assert!(listing.contains("status=200"), "{listing}");
    assert!(listing.contains("ms="), "{listing}");
    assert!(!info.contains("\"users\""), "-v shows no bodies:\n{info}");

    let debug = run("-vv");
    assert!(
        debug
            .lines()
            .any(|l| l.contains("answer") && l.contains("\"users\"")),
        "-vv shows the answer:\n{debug}"
    );
    for text in [&info, &debug] {
        assert!(!text.contains(&token), "the credential leaked:\n{text}");
        assert!(
            !text.to_ascii_lowercase().contains("authorization"),
            "{text}"
        );
    }
    emulator.shutdown().await;
}

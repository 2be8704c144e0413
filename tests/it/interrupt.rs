//! Ctrl-C during `apply`: no new work is started, the requests in flight finish, the summary
//! says exactly what was done, the exit code is 130, and a re-run converges.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use gotrue_emulator::EmulatorConfig;

use crate::support::binary::process;
use crate::support::emulator::start;

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_finishes_in_flight_work_reports_it_exits_130_and_a_re_run_converges() {
    // Latency makes each invite take a noticeable time, so the signal lands mid-apply.
    let emulator = start(EmulatorConfig {
        latency: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("users.yaml");
    let mut yaml = String::from("version: 1\nname: site\nusers:\n");
    for i in 0..40 {
        yaml.push_str(&format!("  - email: user{i:02}@example.com\n"));
    }
    std::fs::write(&file, yaml).expect("manifest");

    let command = |args: &[&str]| {
        let mut command = process();
        command
            .env("GOTRUE_URL", emulator.url())
            .env("GOTRUE_ADMIN_TOKEN", &emulator.config().operator_token)
            .args(args)
            .arg(&file);
        command
    };
    let mut child = command(&["apply", "--auto-approve", "--parallelism", "1", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id().to_string();
    let stderr = child.stderr.take().expect("stderr");
    // Read stderr on a thread: interrupt after the first finished change (the handler is
    // installed by then), and keep every line for the assertions.
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut signalled = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !signalled && line.contains("[1/40] ok") {
                let sent = Command::new("kill").args(["-INT", &pid]).status();
                assert!(sent.is_ok_and(|s| s.success()), "kill -INT");
                signalled = true;
            }
            lines.push(line);
        }
        lines
    });
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    let stderr = reader.join().expect("reader").join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: finishing the requests in flight"),
        "{stderr}"
    );

    let done = emulator.user_count();
    assert!(
        (1..40).contains(&done),
        "some but not all invites were sent: {done}"
    );
    let headline = format!(
        "Apply interrupted: {done} done, 0 failed, {} not started.",
        40 - done
    );
    assert!(
        stderr.contains(&headline),
        "the summary matches the server, every started change finished: {headline}\n{stderr}"
    );

    let rerun = command(&["apply", "--auto-approve", "-f"])
        .output()
        .expect("re-run");
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert_eq!(emulator.user_count(), 40);
    let plan = command(&["plan", "--detailed-exitcode", "-f"])
        .output()
        .expect("plan");
    assert_eq!(plan.status.code(), Some(0), "converged");
    emulator.shutdown().await;
}

//! The binary on a pseudo-terminal, as a person sees it: the approval prompt, the progress
//! line, and Ctrl-C typed at the keyboard (the terminal sends SIGINT to the process group).

use std::time::Duration;

use gotrue_emulator::{Emulator, EmulatorConfig};
use rexpect::process::WaitStatus;
use rexpect::session::{spawn_with_options, Options, PtySession};

use crate::support::emulator::start;
use crate::support::write;

/// Emulator with `latency` per response and a manifest inviting `count` users.
async fn setup(latency: Duration, count: usize) -> (Emulator, tempfile::TempDir) {
    let emulator = start(EmulatorConfig {
        latency,
        ..EmulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let mut yaml = String::from("version: 1\nname: site\nusers:\n");
    for i in 0..count {
        yaml.push_str(&format!("  - email: user{i:02}@example.com\n"));
    }
    write(&dir, "users.yaml", &yaml);
    (emulator, dir)
}

fn spawn(emulator: &Emulator, dir: &tempfile::TempDir, args: &[&str]) -> PtySession {
    let mut command = crate::support::binary::process();
    command
        .current_dir(dir.path())
        .env("GOTRUE_URL", emulator.url())
        .env("GOTRUE_ADMIN_TOKEN", &emulator.config().operator_token)
        .args(args);
    spawn_with_options(
        command,
        Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn on a pty")
}

fn exit_code(session: &PtySession) -> Option<i32> {
    match session.process().wait() {
        Ok(WaitStatus::Exited(_, code)) => Some(code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_prompt_says_the_apply_was_cancelled() {
    let (emulator, dir) = setup(Duration::ZERO, 3).await;
    let mut session = spawn(&emulator, &dir, &["apply", "-f", "users.yaml"]);
    let code = tokio::task::spawn_blocking(move || {
        session.exp_string("Plan: 3 to invite").expect("the plan");
        session.exp_string("Enter a value:").expect("the prompt");
        session.send_control('c').expect("ctrl-c");
        session
            .exp_string("Apply cancelled: nothing was changed.")
            .expect("the cancellation");
        exit_code(&session)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(130));
    assert_eq!(emulator.user_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_other_than_yes_changes_nothing() {
    let (emulator, dir) = setup(Duration::ZERO, 3).await;
    let mut session = spawn(&emulator, &dir, &["apply", "-f", "users.yaml"]);
    let code = tokio::task::spawn_blocking(move || {
        session.exp_string("Enter a value:").expect("the prompt");
        session.send_line("y").expect("answer");
        session
            .exp_string("Apply cancelled: nothing was changed.")
            .expect("the cancellation");
        exit_code(&session)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(1));
    assert_eq!(emulator.user_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_shows_progress_and_two_ctrl_cs_stop_at_once_naming_the_changes_in_flight() {
    let (emulator, dir) = setup(Duration::from_millis(150), 40).await;
    let mut session = spawn(
        &emulator,
        &dir,
        &["apply", "-f", "users.yaml", "--parallelism", "2"],
    );
    let (code, notice) = tokio::task::spawn_blocking(move || {
        session.exp_string("Enter a value:").expect("the prompt");
        session.send_line("yes").expect("answer");
        session.exp_string("[1/40] ok").expect("a finished change");
        session
            .exp_string("/40 changes")
            .expect("the progress line, with rate, elapsed time and time left");
        session.send_control('c').expect("first ctrl-c");
        session
            .exp_string("interrupted: finishing the requests in flight")
            .expect("the first notice");
        session.send_control('c').expect("second ctrl-c");
        let notice = session
            .exp_string("Run `gotrue-sync plan` to see what is still to do.")
            .expect("the abandonment");
        (exit_code(&session), notice)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(130));
    assert!(
        notice.contains("Apply abandoned by a second Ctrl-C")
            && notice.contains("may or may not have happened:")
            && notice.contains("  - invite user"),
        "{notice}"
    );
    assert!(emulator.user_count() < 40);
}

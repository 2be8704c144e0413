//! The workflows of `src/ops` driven as a library, against the emulator over real HTTP:
//! approval, both Ctrl-Cs, saved plans and the demo, without clap or a terminal.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::Duration;

use gotrue_emulator::{Emulator, EmulatorConfig};
use gotrue_sync::gotrue::{AdminClient, ClientOptions, Flavor};
use gotrue_sync::ops::apply::{apply, ApplyOutcome, ApplyRequest, NoPrompt, PlanSource, Prompter};
use gotrue_sync::ops::demo::{demo, DemoManifest};
use gotrue_sync::ops::plan::{plan, PlanRequest};
use gotrue_sync::ops::{Event, InterruptHandle, Interrupts, Observer, OpsError, Silent};
use gotrue_sync::plan::PlanOptions;

use crate::support::emulator::{admin, start};
use crate::support::write;

async fn emulator(latency: Duration) -> Emulator {
    start(EmulatorConfig {
        latency,
        ..EmulatorConfig::default()
    })
    .await
}

fn client(emulator: &Emulator) -> AdminClient {
    admin(emulator, ClientOptions::default())
}

/// A manifest inviting `count` users.
fn manifest(dir: &tempfile::TempDir, count: usize) -> PathBuf {
    let mut yaml = String::from("version: 1\nname: site\nusers:\n");
    for i in 0..count {
        yaml.push_str(&format!("  - email: user{i:02}@example.com\n"));
    }
    write(dir, "users.yaml", &yaml)
}

fn request(source: PlanSource, auto_approve: bool, parallelism: usize) -> ApplyRequest {
    ApplyRequest {
        source,
        auto_approve,
        max_deletes: None,
        target: Default::default(),
        allow_admin_role: false,
        parallelism,
        fail_fast: false,
    }
}

fn from_manifest(path: &std::path::Path) -> PlanSource {
    PlanSource::Manifest {
        files: vec![path.to_path_buf()],
        options: PlanOptions::default(),
    }
}

/// Answers the prompt with a fixed answer, counting the questions.
struct Answer {
    yes: bool,
    asked: Cell<u32>,
}

impl Prompter for Answer {
    async fn approve(&self) -> Result<bool, OpsError> {
        self.asked.set(self.asked.get() + 1);
        Ok(self.yes)
    }
}

/// Never answers: the user walked away (or pressed Ctrl-C).
struct NeverAnswers;

impl Prompter for NeverAnswers {
    async fn approve(&self) -> Result<bool, OpsError> {
        std::future::pending().await
    }
}

/// Sends `interrupts` Ctrl-Cs when the first change finishes, and counts the events seen.
struct InterruptAfterFirst {
    handle: InterruptHandle,
    interrupts: u32,
    notices: Cell<u32>,
}

impl Observer for InterruptAfterFirst {
    fn event(&self, event: Event<'_>) -> std::io::Result<()> {
        match event {
            Event::ChangeFinished { position: 1, .. } => {
                for _ in 0..self.interrupts {
                    self.handle.interrupt();
                }
            }
            Event::Interrupted => self.notices.set(self.notices.get() + 1),
            _ => {}
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_declined_prompt_changes_nothing_and_an_accepted_one_applies() {
    let emulator = emulator(Duration::ZERO).await;
    let admin = client(&emulator);
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir, 3);
    let (_, mut interrupts) = Interrupts::manual();

    let no = Answer {
        yes: false,
        asked: Cell::new(0),
    };
    let outcome = apply(
        &admin,
        &request(from_manifest(&file), false, 8),
        &no,
        &Silent,
        &mut interrupts,
    )
    .await
    .expect("apply");
    assert!(matches!(outcome, ApplyOutcome::Declined), "{outcome:?}");
    assert_eq!((no.asked.get(), emulator.user_count()), (1, 0));

    let yes = Answer {
        yes: true,
        asked: Cell::new(0),
    };
    let outcome = apply(
        &admin,
        &request(from_manifest(&file), false, 8),
        &yes,
        &Silent,
        &mut interrupts,
    )
    .await
    .expect("apply");
    let ApplyOutcome::Applied(report) = outcome else {
        panic!("applied: {outcome:?}");
    };
    assert_eq!((report.done(), emulator.user_count()), (3, 3));

    let outcome = apply(
        &admin,
        &request(from_manifest(&file), false, 8),
        &yes,
        &Silent,
        &mut interrupts,
    )
    .await
    .expect("apply");
    assert!(
        matches!(outcome, ApplyOutcome::NoChanges { conflicts: 0 }),
        "{outcome:?}"
    );
    assert_eq!(
        yes.asked.get(),
        1,
        "no question when there is nothing to do"
    );
}

#[tokio::test]
async fn without_a_terminal_or_auto_approve_apply_refuses() {
    let emulator = emulator(Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir, 1);
    let (_, mut interrupts) = Interrupts::manual();
    let result = apply(
        &client(&emulator),
        &request(from_manifest(&file), false, 8),
        &NoPrompt,
        &Silent,
        &mut interrupts,
    )
    .await;
    assert!(matches!(result, Err(OpsError::NoTerminal)), "{result:?}");
    assert_eq!(emulator.user_count(), 0);
}

#[tokio::test]
async fn ctrl_c_at_the_prompt_cancels_before_any_change() {
    let emulator = emulator(Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir, 2);
    let (handle, mut interrupts) = Interrupts::manual();
    let admin = client(&emulator);
    let apply_request = request(from_manifest(&file), false, 8);
    let run = apply(
        &admin,
        &apply_request,
        &NeverAnswers,
        &Silent,
        &mut interrupts,
    );
    let interrupt = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        handle.interrupt();
    };
    let (outcome, ()) = tokio::join!(run, interrupt);
    let outcome = outcome.expect("apply");
    assert!(matches!(outcome, ApplyOutcome::Cancelled), "{outcome:?}");
    assert_eq!(emulator.user_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_ctrl_c_lets_started_changes_finish_and_skips_the_rest() {
    let emulator = emulator(Duration::from_millis(50)).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir, 20);
    let (handle, mut interrupts) = Interrupts::manual();
    let observer = InterruptAfterFirst {
        handle,
        interrupts: 1,
        notices: Cell::new(0),
    };
    let outcome = apply(
        &client(&emulator),
        &request(from_manifest(&file), true, 2),
        &NoPrompt,
        &observer,
        &mut interrupts,
    )
    .await
    .expect("apply");
    let ApplyOutcome::Applied(report) = outcome else {
        panic!("applied: {outcome:?}");
    };
    assert!(report.interrupted);
    assert_eq!(observer.notices.get(), 1);
    assert_eq!(
        report.done(),
        emulator.user_count(),
        "the report matches the server"
    );
    assert!(report.skipped() > 0 && report.done() < 20, "{report:?}");
    assert_eq!(report.done() + report.skipped(), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_abandons_the_changes_in_flight_and_names_them() {
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir, 20);
    let (handle, mut interrupts) = Interrupts::manual();
    let observer = InterruptAfterFirst {
        handle,
        interrupts: 2,
        notices: Cell::new(0),
    };
    let outcome = apply(
        &client(&emulator),
        &request(from_manifest(&file), true, 4),
        &NoPrompt,
        &observer,
        &mut interrupts,
    )
    .await
    .expect("apply");
    let ApplyOutcome::Abandoned {
        finished,
        unknown,
        total,
    } = outcome
    else {
        panic!("abandoned: {outcome:?}");
    };
    assert_eq!(total, 20);
    assert_eq!(
        observer.notices.get(),
        1,
        "one notice, for the first Ctrl-C"
    );
    // At most `parallelism` changes are in flight; the slot freed by the first one is
    // refilled before the interrupts are read.
    assert!(!unknown.is_empty(), "invites were in flight");
    assert!(unknown.len() <= 4, "{unknown:?}");
    assert!(finished.len() + unknown.len() < total);
    for change in &unknown {
        assert_eq!(change.action, "invite");
        assert!(
            finished.iter().all(|f| f.email != change.email),
            "{change:?} is both finished and unknown"
        );
    }
}

#[tokio::test]
async fn a_saved_plan_applies_when_the_server_has_not_changed() {
    let emulator = emulator(Duration::ZERO).await;
    let admin = client(&emulator);
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(&dir, 2);
    let saved = dir.path().join("plan.json");
    let planned = plan(
        &admin,
        &PlanRequest {
            files: vec![file],
            options: PlanOptions::default(),
            fingerprint: false,
            save_to: Some(saved.clone()),
        },
        &Silent,
    )
    .await
    .expect("plan");
    assert_eq!(planned.plan.changes.len(), 2);
    assert!(
        planned.plan.secrets_dir.is_none(),
        "only the saved copy records where secrets are read from"
    );
    let (_, mut interrupts) = Interrupts::manual();
    let outcome = apply(
        &admin,
        &request(PlanSource::Saved(saved), true, 8),
        &NoPrompt,
        &Silent,
        &mut interrupts,
    )
    .await
    .expect("apply");
    assert!(
        matches!(&outcome, ApplyOutcome::Applied(report) if report.done() == 2),
        "{outcome:?}"
    );
    assert_eq!(emulator.user_count(), 2);
}

#[tokio::test]
async fn the_demo_runs_on_the_embedded_example_without_any_environment() {
    for flavor in Flavor::ALL {
        let outcome = demo(&DemoManifest::Embedded, flavor, &Silent)
            .await
            .expect("demo");
        assert_eq!(outcome.failed, 0, "{flavor}");
    }
}

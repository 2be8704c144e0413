//! The property that crosses plan and apply: applying a plan converges, so planning again
//! finds nothing to do. Lives with apply, which it drives; the strategies are the plan's.

use proptest::prelude::*;

use super::fake::FakeServer;
use super::{execute, ApplyOptions, Outcome};
use crate::gotrue::RemoteUser;
use crate::plan::strategies::{scenario, PASSWORD_FILE};
use crate::plan::{plan, Plan};

/// Applies `plan` to a fake server holding `users` and returns the users afterwards. The
/// generated password users read their secret from a file, passed in through the apply
/// options rather than the process environment.
fn apply_to(plan: &Plan, users: Vec<RemoteUser>) -> Vec<RemoteUser> {
    let secrets = tempfile::tempdir().expect("tempdir");
    std::fs::write(secrets.path().join(PASSWORD_FILE), "pw-for-tests").expect("secret file");
    let options = ApplyOptions {
        secrets_dir: secrets.path().to_path_buf(),
        ..ApplyOptions::default()
    };
    let server = FakeServer::with_users(users);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let report = runtime.block_on(execute(plan, &server, &options, |_| {}));
    assert!(
        report.results.iter().all(|r| r.outcome == Outcome::Done),
        "{report:?}"
    );
    server.snapshot()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn applying_a_plan_converges((desired, actual) in scenario()) {
        let first = plan(&desired, &actual);
        let after = apply_to(&first, actual);
        let second = plan(&desired, &after);
        prop_assert!(!second.summary.has_changes(), "second plan not empty: {:#?}", second.changes);
    }
}

use std::sync::atomic::Ordering;

use serde_json::json;

use super::*;
use crate::apply::fake::FakeServer;
use crate::apply::{check_deletes, check_fresh, ApplyRefusal};
use crate::manifest::{validate, Manifest};
use crate::plan::plan;

fn manifest(yaml: &str) -> Manifest {
    validate(yaml, std::path::Path::new("m.yaml"))
        .expect("valid")
        .manifest
}

fn run(plan: &Plan, server: &FakeServer, options: &ApplyOptions) -> ApplyReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(execute(plan, server, options, |_| {}))
}

const THREE_INVITES: &str = "version: 1\nname: s\nusers:\n  - email: a@example.com\n    roles: [x]\n  - email: b@example.com\n  - email: c@example.com\n";

#[test]
fn invites_then_writes_app_metadata() {
    let server = FakeServer::default();
    let plan = plan(&manifest(THREE_INVITES), &[]);
    let report = run(&plan, &server, &ApplyOptions::default());
    assert_eq!(report.done(), 3);
    let log = server.log.lock().expect("log").clone();
    assert_eq!(
        log.iter().filter(|l| l.as_str() == "POST /invite").count(),
        3
    );
    assert_eq!(log.iter().filter(|l| l.starts_with("PUT ")).count(), 3);
    let users = server.snapshot();
    let a = users
        .iter()
        .find(|u| u.email == "a@example.com")
        .expect("a");
    assert_eq!(a.app_metadata.value("roles"), Some(json!(["x"])));
    assert_eq!(
        a.app_metadata.value("managed_by"),
        Some(json!("gotrue-sync:s"))
    );
}

#[test]
fn one_failure_does_not_stop_the_others_and_rerun_converges() {
    let mut server = FakeServer {
        failing: vec!["b@example.com".into()],
        ..FakeServer::default()
    };
    let desired = manifest(THREE_INVITES);
    let report = run(&plan(&desired, &[]), &server, &ApplyOptions::default());
    assert_eq!((report.done(), report.failed()), (2, 1));
    let failed = report
        .results
        .iter()
        .find(|r| r.email == "b@example.com")
        .expect("b");
    let Outcome::Failed { error, .. } = &failed.outcome else {
        panic!("b failed")
    };
    assert!(
        error.contains("b@example.com") && error.contains("POST /invite"),
        "{error}"
    );

    server.failing.clear();
    let second = plan(&desired, &server.snapshot());
    assert_eq!(second.summary.invite, 1);
    run(&second, &server, &ApplyOptions::default());
    assert!(!plan(&desired, &server.snapshot()).summary.has_changes());
}

#[test]
fn fail_fast_skips_changes_not_yet_started() {
    let server = FakeServer {
        failing: vec!["a@example.com".into()],
        ..FakeServer::default()
    };
    let options = ApplyOptions {
        parallelism: 1,
        fail_fast: true,
        ..ApplyOptions::default()
    };
    let report = run(&plan(&manifest(THREE_INVITES), &[]), &server, &options);
    assert_eq!((report.failed(), report.skipped()), (1, 2));
}

#[test]
fn cancellation_stops_scheduling_and_is_reported() {
    let server = FakeServer::default();
    let options = ApplyOptions::default();
    options.cancel.store(true, Ordering::SeqCst);
    let report = run(&plan(&manifest(THREE_INVITES), &[]), &server, &options);
    assert!(report.interrupted);
    assert_eq!(report.skipped(), 3);
    assert!(server.snapshot().is_empty());
}

#[test]
fn password_create_reads_the_secret_and_sends_two_requests() {
    // A file secret, found through the options: no process-wide variable to race on.
    let secrets = tempfile::tempdir().expect("tempdir");
    std::fs::write(secrets.path().join("bot-password"), "pw").expect("secret file");
    let options = ApplyOptions {
        secrets_dir: secrets.path().to_path_buf(),
        ..ApplyOptions::default()
    };
    let server = FakeServer::default();
    let desired = manifest("version: 1\nname: s\nusers:\n  - email: bot@example.com\n    create: password\n    password: { file: bot-password }\n    role: deployer\n");
    let report = run(&plan(&desired, &[]), &server, &options);
    assert_eq!(report.done(), 1, "{report:?}");
    let users = server.snapshot();
    assert_eq!(users[0].role, "deployer");
    assert!(users[0].confirmed_at.is_some());
    let log = server.log.lock().expect("log").clone();
    assert_eq!(
        log[0], "GET /admin/users",
        "the preconditions are read first"
    );
    assert_eq!(log[1], "POST /admin/users");
    assert!(log[2].starts_with("PUT /admin/users/"));
}

#[test]
fn missing_secret_fails_that_change_without_a_request() {
    let server = FakeServer::default();
    let desired = manifest("version: 1\nname: s\nusers:\n  - email: bot@example.com\n    create: password\n    password: { env: GOTRUE_SYNC_SURELY_UNSET_VAR }\n");
    let report = run(&plan(&desired, &[]), &server, &ApplyOptions::default());
    assert_eq!(report.failed(), 1);
    assert_eq!(
        *server.log.lock().expect("log"),
        vec!["GET /admin/users".to_owned()],
        "nothing but the precondition listing"
    );
}

#[test]
fn an_address_taken_after_the_plan_is_a_conflict_and_is_not_sent() {
    let server = FakeServer::default();
    let planned = plan(&manifest(THREE_INVITES), &[]);
    // Someone signs up on one of the addresses between plan and apply.
    let taken = planned.changes[0].email().to_uppercase();
    run(
        &plan(
            &manifest(&format!(
                "version: 1\nname: other\nusers:\n  - email: {taken}\n"
            )),
            &[],
        ),
        &server,
        &ApplyOptions::default(),
    );
    server.log.lock().expect("log").clear();
    let report = run(&planned, &server, &ApplyOptions::default());
    assert_eq!(report.conflicts(), 1, "{report:?}");
    assert_eq!(report.done(), 2);
    let log = server.log.lock().expect("log").clone();
    assert_eq!(
        log.iter().filter(|l| l.starts_with("POST /invite")).count(),
        2,
        "the taken address is not invited: {log:?}"
    );
    assert_eq!(
        server.snapshot().len(),
        3,
        "no second account on one address"
    );
}

#[test]
fn delete_bound_and_staleness_refuse() {
    let server = FakeServer::default();
    let run_once = plan(&manifest(THREE_INVITES), &[]);
    run(&run_once, &server, &ApplyOptions::default());
    let users = server.snapshot();
    let empty = manifest("version: 1\nname: s\npolicy: { max_deletes: 2 }\nusers: []\n");
    let deletes = plan(&empty, &users);
    assert!(matches!(
        check_deletes(&deletes, 2),
        Err(ApplyRefusal::TooManyDeletes { deletes: 3, max: 2 })
    ));
    assert!(check_deletes(&deletes, 3).is_ok());
    assert!(check_fresh(&deletes, &users).is_ok());
    let mut changed = users.clone();
    let mut touched = changed[1].user_metadata.to_map();
    touched.insert("touched".into(), json!(true));
    changed[1].user_metadata = touched.into();
    let Err(ApplyRefusal::Stale { changed }) = check_fresh(&deletes, &changed) else {
        panic!("expected stale")
    };
    assert_eq!(changed, vec![format!("{} was modified", users[1].email)]);
}

#[test]
fn drift_is_reported_when_the_server_answers_differently() {
    let request = UpdateUserRequest {
        app_metadata: Some(
            json!({"team": "a", "gone": null})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        ..Default::default()
    };
    let answer: RemoteUser = serde_json::from_value(
        json!({"id": "1", "email": "a@example.com", "app_metadata": {"team": "b", "gone": 1}}),
    )
    .expect("user");
    let drift = drift_of(&request, &answer);
    assert_eq!(
        drift,
        vec![
            "app_metadata.team: wrote \"a\", server has \"b\"",
            "app_metadata.gone: wrote null, server has 1"
        ]
    );
}

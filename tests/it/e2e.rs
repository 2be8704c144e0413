//! End to end over real HTTP against the in-process emulator: plan → apply → plan converges,
//! drift is detected, pages are walked at scale, and the contract the wiremock tests assume
//! is the one the emulator serves.

use std::path::{Path, PathBuf};

use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};
use gotrue_sync::apply::{execute, ApplyOptions, Outcome};
use gotrue_sync::emulator_seed::seeds_from_manifest;
use gotrue_sync::gotrue::{AdminClient, ClientOptions, RemoteUser, UpdateUserRequest};
use gotrue_sync::manifest::load;
use gotrue_sync::ops::apply::{apply, ApplyOutcome, ApplyRequest, NoPrompt, PlanSource};
use gotrue_sync::ops::plan::{plan as plan_files, PlanRequest};
use gotrue_sync::ops::{Interrupts, Silent};
use gotrue_sync::plan::plan;
use gotrue_sync::plan::PlanOptions;
use serde_json::{json, Map, Value};

use crate::support::emulator::{admin, binary, seeded, start};
use crate::support::users::{map, seed};
use crate::support::write;

async fn emulator() -> Emulator {
    start(EmulatorConfig::default()).await
}

fn client(emulator: &Emulator, page_size: u32) -> AdminClient {
    admin(
        emulator,
        ClientOptions {
            page_size,
            ..ClientOptions::default()
        },
    )
}

fn write_manifest(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    write(dir, "users.yaml", text)
}

async fn converge(file: &Path, admin: &AdminClient) -> gotrue_sync::plan::Plan {
    let request = PlanRequest {
        files: vec![file.to_path_buf()],
        options: PlanOptions::default(),
        fingerprint: false,
        save_to: None,
    };
    let first = plan_files(admin, &request, &Silent)
        .await
        .expect("plan")
        .plan;
    let apply_request = ApplyRequest {
        source: PlanSource::Manifest {
            files: request.files.clone(),
            options: PlanOptions::default(),
        },
        auto_approve: true,
        max_deletes: None,
        target: Default::default(),
        allow_admin_role: false,
        parallelism: 8,
        fail_fast: false,
    };
    let (_, mut interrupts) = Interrupts::manual();
    let outcome = apply(admin, &apply_request, &NoPrompt, &Silent, &mut interrupts)
        .await
        .expect("apply");
    match outcome {
        ApplyOutcome::Applied(report) => assert!(
            report
                .results
                .iter()
                .all(|r| r.outcome == Outcome::Done && r.drift.is_empty()),
            "{report:#?}"
        ),
        ApplyOutcome::NoChanges { .. } => assert!(!first.summary.has_changes()),
        other => panic!("unexpected outcome: {other:?}"),
    }
    let second = plan_files(admin, &request, &Silent)
        .await
        .expect("plan")
        .plan;
    assert!(
        !second.summary.has_changes(),
        "not converged: {:#?}",
        second.changes
    );
    first
}

#[tokio::test]
async fn plan_apply_plan_converges_for_every_kind_of_change_and_prune_policy() {
    let marker = "gotrue-sync:e2e";
    let emulator = seeded([
        seed(
            "adopt@example.com",
            json!({"provider": "email", "roles": ["viewer"]}),
            json!({"full_name": "Old"}),
        ),
        seed(
            "gone@example.com",
            json!({"provider": "email", "managed_by": marker}),
            json!({}),
        ),
        seed(
            "stranger@example.com",
            json!({"provider": "email"}),
            json!({}),
        ),
    ])
    .await;
    let admin = client(&emulator, 2);
    let dir = tempfile::tempdir().expect("dir");
    // A file secret next to the manifest: apply reads it from there, with no process-wide
    // environment variable for parallel tests to race on.
    write(&dir, "bot-password", "e2e-bot-password\n");

    let managed = write_manifest(
        &dir,
        "version: 1\nname: e2e\npolicy: { prune: managed }\nusers:\n  - email: new@example.com\n    roles: [editor]\n    user_metadata: { full_name: New }\n  - email: bot@example.com\n    create: password\n    password: { file: bot-password }\n    role: deployer\n    app_metadata: { team: ops }\n  - email: ADOPT@example.com\n    adopt: true\n    roles: [admin]\n    user_metadata: { full_name: Adopted }\n",
    );
    let first = converge(&managed, &admin).await;
    assert_eq!(
        (
            first.summary.invite,
            first.summary.create,
            first.summary.update,
            first.summary.delete
        ),
        (1, 1, 1, 1)
    );
    let users = admin.list_users().await.expect("list").users;
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    assert!(
        !emails.contains(&"gone@example.com") && emails.contains(&"stranger@example.com"),
        "{emails:?}"
    );
    let bot = users
        .iter()
        .find(|u| u.email == "bot@example.com")
        .expect("bot");
    assert_eq!(bot.role, "deployer");
    assert_eq!(bot.app_metadata.value("managed_by"), Some(json!(marker)));

    // The bot can log in with the password the manifest referenced.
    let response = reqwest::Client::new()
        .post(format!("{}/token", emulator.url()))
        .form(&[
            ("grant_type", "password"),
            ("username", "bot@example.com"),
            ("password", "e2e-bot-password"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 200);

    let exact = write_manifest(
        &dir,
        "version: 1\nname: e2e\npolicy: { prune: none, user_metadata: exact }\nusers:\n  - email: adopt@example.com\n    user_metadata: {}\n",
    );
    let second = converge(&exact, &admin).await;
    assert_eq!(second.summary.delete, 0, "prune: none never deletes");

    let all = write_manifest(&dir, "version: 1\nname: e2e\npolicy: { prune: all, max_deletes: 100 }\nusers:\n  - email: bot@example.com\n");
    converge(&all, &admin).await;
    let left: Vec<String> = admin
        .list_users()
        .await
        .expect("list")
        .users
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(left, vec!["bot@example.com"]);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_behind_the_tools_back_makes_plan_exit_2_and_shows_it() {
    let emulator = emulator().await;
    let admin = client(&emulator, 1000);
    let dir = tempfile::tempdir().expect("dir");
    let file = write_manifest(&dir, "version: 1\nname: drift\nusers:\n  - email: a@example.com\n    roles: [editor]\n    user_metadata: { plan: pro }\n");
    converge(&file, &admin).await;

    let run = |file: &Path| {
        binary(&emulator)
            .args(["plan", "--detailed-exitcode", "--color", "never", "-f"])
            .arg(file)
            .output()
            .expect("run")
    };
    let clean = run(&file);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    let user = admin.list_users().await.expect("list").users.remove(0);
    let mut change = Map::new();
    change.insert("plan".into(), json!("free"));
    let request = UpdateUserRequest {
        user_metadata: Some(change),
        ..UpdateUserRequest::default()
    };
    admin
        .update_user(&user.id, &user.email, &request)
        .await
        .expect("drift");

    let drifted = run(&file);
    assert_eq!(drifted.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&drifted.stdout);
    assert!(
        stdout.contains("~ user_metadata.plan = \"free\" -> \"pro\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("Plan: 0 to invite, 0 to create, 1 to update, 0 to delete."),
        "{stdout}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_seeded_users_plan_correctly_across_pages() {
    let emulator = emulator().await;
    for i in 0..10_000 {
        emulator
            .seed_user(SeedUser {
                email: format!("user{i:05}@example.com"),
                confirmed: true,
                app_metadata: map(json!({"provider": "email", "managed_by": "gotrue-sync:scale"})),
                ..SeedUser::default()
            })
            .expect("seed");
    }
    let admin = client(&emulator, 1000);
    let listing = admin.list_users().await.expect("list");
    assert_eq!(listing.users.len(), 10_000);
    assert_eq!(listing.total, Some(10_000));
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    assert_eq!(
        admin.requests_sent(),
        10,
        "ceil(10000 / 1000) list requests"
    );

    let mut yaml = String::from("version: 1\nname: scale\npolicy: { max_deletes: 1000 }\nusers:\n");
    for i in 0..9_990 {
        yaml.push_str(&format!("  - email: user{i:05}@example.com\n"));
    }
    let dir = tempfile::tempdir().expect("dir");
    let manifest = load(&write_manifest(&dir, &yaml)).expect("valid").manifest;
    let result = plan(&manifest, &listing.users);
    assert_eq!(result.summary.unchanged, 9_990);
    assert_eq!(result.summary.delete, 10);
    emulator.shutdown().await;
}

/// The wiremock tests hand-write GoTrue's answers; this checks the emulator, written from
/// the same contract independently, answers the client's requests in the same shapes.
#[tokio::test]
async fn the_emulator_answers_in_the_shapes_the_contract_tests_assume() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    let token = emulator.config().operator_token.clone();
    let admin = client(&emulator, 1);

    let created = http
        .post(format!("{}/admin/users", emulator.url()))
        .bearer_auth(&token)
        .json(&json!({"email": "Shape@example.com", "password": "pw", "confirm": true, "app_metadata": {"dropped": true}}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 200);
    let created: Value = created.json().await.expect("json");
    assert_eq!(
        created["app_metadata"],
        json!({"provider": "email"}),
        "create ignores app_metadata"
    );
    let user: RemoteUser =
        serde_json::from_value(created.clone()).expect("the client reads the user");
    for key in [
        "id",
        "aud",
        "role",
        "email",
        "confirmed_at",
        "created_at",
        "updated_at",
        "app_metadata",
        "user_metadata",
    ] {
        assert!(created.get(key).is_some(), "missing {key}: {created}");
    }

    let duplicate = http
        .post(format!("{}/admin/users", emulator.url()))
        .bearer_auth(&token)
        .json(&json!({"email": "shape@EXAMPLE.com", "password": "pw"}))
        .send()
        .await
        .expect("duplicate");
    assert_eq!(duplicate.status(), 422);
    let body: Value = duplicate.json().await.expect("json");
    assert_eq!(
        body,
        json!({"code": 422, "msg": "Email address already registered by another user"})
    );

    let mut patch = Map::new();
    patch.insert("roles".into(), json!(["a"]));
    patch.insert("provider".into(), Value::Null);
    let updated = admin
        .update_user(
            &user.id,
            &user.email,
            &UpdateUserRequest {
                app_metadata: Some(patch),
                ..UpdateUserRequest::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(
        Value::Object(updated.app_metadata.to_map()),
        json!({"roles": ["a"]}),
        "null deletes, others merge"
    );

    let page = http
        .get(format!("{}/admin/users?page=1&per_page=1", emulator.url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    assert_eq!(page.headers()["x-total-count"], "1");
    let body: Value = page.json().await.expect("json");
    assert!(body["users"].is_array() && body.get("aud").is_some());

    let token_error = http
        .post(format!("{}/token", emulator.url()))
        .form(&[
            ("grant_type", "password"),
            ("username", "nobody@example.com"),
            ("password", "x"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(token_error.status(), 400);
    let body: Value = token_error.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");

    let unauthorized = http
        .get(format!("{}/admin/users", emulator.url()))
        .send()
        .await
        .expect("list");
    assert_eq!(unauthorized.status(), 401);
    let body: Value = unauthorized.json().await.expect("json");
    assert_eq!(
        body,
        json!({"code": 401, "msg": "This endpoint requires a Bearer token"})
    );
    emulator.shutdown().await;
}

/// The request count is the physical limit of a reconciler: listing N users takes
/// ceil(N / page size) requests and each new user two (create or invite, then the PUT of app
/// metadata the server ignores on create). Apply must send exactly that, no more.
#[tokio::test]
async fn apply_sends_exactly_the_minimum_number_of_requests() {
    let emulator = emulator().await;
    for i in 0..25 {
        emulator
            .seed_user(SeedUser {
                email: format!("old{i:02}@example.com"),
                confirmed: true,
                app_metadata: map(json!({"provider": "email", "managed_by": "gotrue-sync:count"})),
                ..SeedUser::default()
            })
            .expect("seed");
    }
    let admin = client(&emulator, 10);
    let dir = tempfile::tempdir().expect("dir");
    let mut yaml = String::from("version: 1\nname: count\npolicy: { max_deletes: 100 }\nusers:\n");
    for i in 0..20 {
        yaml.push_str(&format!("  - email: old{i:02}@example.com\n"));
    }
    for i in 0..30 {
        yaml.push_str(&format!(
            "  - email: new{i:02}@example.com\n    roles: [member]\n"
        ));
    }
    for i in 0..5 {
        yaml.push_str(&format!(
            "  - email: old{:02}@example.com\n    user_metadata: {{ n: {i} }}\n",
            20 + i
        ));
    }
    let manifest = load(&write_manifest(&dir, &yaml)).expect("valid").manifest;
    let listing = admin.list_users().await.expect("list");
    assert_eq!(admin.requests_sent(), 3, "ceil(25 / 10) pages");
    let planned = plan(&manifest, &listing.users);
    assert_eq!((planned.summary.invite, planned.summary.update), (30, 5));
    let options = ApplyOptions {
        parallelism: 4,
        ..ApplyOptions::default()
    };
    let report = execute(&planned, &admin, &options, |_| {}).await;
    assert_eq!(report.done(), 35);
    assert_eq!(
        admin.requests_sent(),
        3 + 3 + 2 * 30 + 5,
        "list pages, the same again to check preconditions, 2 per invite, 1 per update"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_emulator_seeded_from_a_manifest_plans_empty_against_it() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write_manifest(
        &dir,
        "version: 1\nname: seeded\npolicy: { user_metadata: exact }\nusers:\n  - email: Alice@Example.com\n    roles: [admin, editor]\n    user_metadata: { full_name: Alice, gone: null }\n    app_metadata: { team: growth }\n  - email: bot@example.com\n    create: password\n    password: { env: SEEDED_BOT_PASSWORD_NEVER_SET }\n    role: deployer\n  - email: pending@example.com\n    confirmed: false\n",
    );
    let emulator = start(EmulatorConfig {
        seed_users: seeds_from_manifest(&file)
            .expect("the manifest's users, needing none of its secrets"),
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(emulator.user_count(), 3);
    let admin = client(&emulator, 1000);
    let users = admin.list_users().await.expect("list").users;
    let manifest = load(&file).expect("valid").manifest;
    let planned = plan(&manifest, &users);
    assert!(!planned.summary.has_changes(), "{:#?}", planned.changes);
    let alice = users
        .iter()
        .find(|u| u.email == "Alice@Example.com")
        .expect("spelled as in the manifest");
    assert_eq!(
        alice.app_metadata.to_map()["managed_by"],
        json!("gotrue-sync:seeded")
    );
    assert_eq!(alice.app_metadata.to_map()["provider"], json!("email"));
    assert!(alice.confirmed_at.is_some());
    let pending = users
        .iter()
        .find(|u| u.email == "pending@example.com")
        .expect("seeded");
    assert!(pending.confirmed_at.is_none());

    let broken = write_manifest(
        &dir,
        "version: 1\nname: x\nusers:\n  - email: not-an-address\n",
    );
    let refused = seeds_from_manifest(&broken).expect_err("an invalid manifest is refused");
    assert!(refused.to_string().contains("users.yaml"), "{refused}");
    emulator.shutdown().await;
}

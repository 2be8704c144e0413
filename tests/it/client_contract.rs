//! The admin client's contract with GoTrue, request by request, against wiremock on
//! 127.0.0.1: pagination, audiences, the three kinds of admin credentials, the two-request
//! create, minimal updates, both error shapes, retries and the ambiguous-create rule, partial
//! failure, stale saved plans, and secrets kept out of Debug output and errors.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gotrue_sync::apply::{execute, ApplyOptions, Outcome};
use gotrue_sync::gotrue::{
    AdminClient, AdminCredentials, ClientOptions, InviteRequest, RetryPolicy, UpdateUserRequest,
};
use gotrue_sync::manifest::load;
use gotrue_sync::plan::plan;
use gotrue_sync::secret::Secret;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::binary::against;
use crate::support::mock::{list_returns, page, requests};
use crate::support::users::{managed_by_site, user};

const TOKEN: &str = "operator-token-NEVER-PRINTED";
const JWT_SECRET: &str = "jwt-secret-NEVER-PRINTED";
const ADMIN_PASSWORD: &str = "admin-password-NEVER-PRINTED";

fn options() -> ClientOptions {
    ClientOptions {
        page_size: 2,
        // Short back-off so that retry tests stay fast; Retry-After may still be honoured up
        // to max_delay.
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        },
        ..ClientOptions::default()
    }
}

fn client(
    server: &MockServer,
    credentials: AdminCredentials,
    options: ClientOptions,
) -> AdminClient {
    AdminClient::new(&server.uri(), credentials, options).expect("client")
}

fn token_client(server: &MockServer) -> AdminClient {
    client(
        server,
        AdminCredentials::Token(Secret::new(TOKEN)),
        options(),
    )
}

fn manifest(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    crate::support::write(dir, "users.yaml", text)
}

/// An invitation of `email` with no metadata.
fn invite(email: &str) -> InviteRequest {
    InviteRequest {
        email: email.into(),
        data: None,
    }
}

/// Expects exactly one look-up of `email` (`GET /admin/users?filter=`), answering `users`.
async fn expect_lookup(server: &MockServer, email: &str, users: Vec<Value>) {
    let total = users.len();
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .and(query_param("filter", email))
        .respond_with(page(users, total))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn listing_counts_pages_from_x_total_count_and_never_follows_link() {
    let server = MockServer::start().await;
    let a = user("1", "a@example.com", json!({}), json!({}));
    let b = user("2", "b@example.com", json!({}), json!({}));
    let c = user("3", "c@example.com", json!({}), json!({}));
    let d = user("4", "d@example.com", json!({}), json!({}));
    let link = "</bogus/admin/users?page=2&per_page=2>; rel=\"next\"";
    for (number, users) in [(1, vec![a, b.clone()]), (2, vec![b, c]), (3, vec![d])] {
        Mock::given(method("GET"))
            .and(path("/admin/users"))
            .and(query_param("page", number.to_string().as_str()))
            .and(query_param("per_page", "2"))
            .respond_with(page(users, 5).insert_header("Link", link))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(path("/bogus/admin/users"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;

    let listing = token_client(&server).list_users().await.expect("list");
    let ids: Vec<&str> = listing.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        ids,
        ["1", "2", "3", "4"],
        "pages in order, duplicates dropped"
    );
    assert_eq!(listing.total, Some(5));
    assert_eq!(listing.warnings.len(), 2, "{:?}", listing.warnings);
    assert!(listing.warnings[0].contains("appeared on two pages"));
    assert!(listing.warnings[1].contains("reported 5 users but 4 were listed"));
}

#[tokio::test]
async fn the_audience_goes_in_x_jwt_aud_on_every_request_and_only_when_set() {
    let server = MockServer::start().await;
    list_returns(
        &server,
        vec![user("1", "a@example.com", json!({}), json!({}))],
    )
    .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "1",
            "a@example.com",
            json!({}),
            json!({}),
        )))
        .mount(&server)
        .await;
    let with_aud = client(
        &server,
        AdminCredentials::Token(Secret::new(TOKEN)),
        ClientOptions {
            aud: Some("site-aud".into()),
            ..options()
        },
    );
    with_aud.list_users().await.expect("list");
    with_aud
        .update_user("1", "a@example.com", &UpdateUserRequest::default())
        .await
        .expect("update");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(
            request.headers.get("x-jwt-aud").map(|v| v.as_bytes()),
            Some(&b"site-aud"[..])
        );
    }
    server.reset().await;
    list_returns(&server, vec![]).await;
    token_client(&server).list_users().await.expect("list");
    let sent = requests(&server).await;
    assert!(sent[0].headers.get("x-jwt-aud").is_none());
}

#[tokio::test]
async fn a_jwt_secret_mints_an_hs256_admin_token_for_the_audience() {
    let server = MockServer::start().await;
    list_returns(&server, vec![]).await;
    let admin = client(
        &server,
        AdminCredentials::JwtSecret(Secret::new(JWT_SECRET)),
        ClientOptions {
            aud: Some("site-aud".into()),
            ..options()
        },
    );
    admin.list_users().await.expect("list");
    let sent = requests(&server).await;
    let bearer = sent[0]
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("a bearer token");
    let parts: Vec<&str> = bearer.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
    assert_eq!(header["alg"], "HS256");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    assert_eq!(claims["sub"], "0", "GoTrue's admin check wants sub 0");
    assert_eq!(claims["aud"], "site-aud");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(claims["exp"]
        .as_u64()
        .is_some_and(|exp| exp > now && exp < now + 24 * 3600));
    // Signed with the raw bytes of the secret, as GoTrue verifies it.
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).expect("key");
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
    mac.verify_slice(&signature)
        .expect("a valid HS256 signature");
}

#[tokio::test]
async fn password_credentials_log_in_once_with_a_form_and_use_that_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "grant_type=password&username=ops%40example.com&password={ADMIN_PASSWORD}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "login-access-token", "token_type": "bearer",
            "expires_in": 3600, "refresh_token": "r"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .and(header("authorization", "Bearer login-access-token"))
        .respond_with(page(
            vec![user("1", "a@example.com", json!({}), json!({}))],
            1,
        ))
        .expect(3)
        .mount(&server)
        .await;
    let admin = client(
        &server,
        AdminCredentials::Password {
            email: "ops@example.com".into(),
            password: Secret::new(ADMIN_PASSWORD),
        },
        options(),
    );
    for _ in 0..3 {
        admin.list_users().await.expect("list");
    }
    assert_eq!(admin.requests_sent(), 4, "one login, three listings");
}

#[tokio::test]
async fn an_update_sends_only_what_differs_and_null_for_removed_keys() {
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(
        &dir,
        "version: 1\nname: site\npolicy: { user_metadata: exact }\nusers:\n  - email: a@example.com\n    roles: [editor, admin]\n    user_metadata: { name: A }\n",
    );
    let server = MockServer::start().await;
    let stored = user(
        "1",
        "a@example.com",
        json!({"provider": "email", "roles": ["editor"], "managed_by": "gotrue-sync:site", "team": "x"}),
        json!({"name": "A", "old": "stale"}),
    );
    list_returns(&server, vec![stored]).await;
    let answer = user(
        "1",
        "a@example.com",
        json!({"provider": "email", "roles": ["editor", "admin"], "managed_by": "gotrue-sync:site", "team": "x"}),
        json!({"name": "A"}),
    );
    Mock::given(method("PUT"))
        .and(path("/admin/users/1"))
        .and(body_json(json!({
            "app_metadata": {"roles": ["editor", "admin"]},
            "user_metadata": {"old": null}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let admin = token_client(&server);
    let desired = load(&file).expect("manifest").manifest;
    let planned = plan(&desired, &admin.list_users().await.expect("list").users);
    let report = execute(&planned, &admin, &ApplyOptions::default(), |_| {}).await;
    assert_eq!(report.done(), 1, "{report:?}");
    assert!(report.results[0].drift.is_empty());
}

#[tokio::test]
async fn create_and_invite_are_each_followed_by_a_put_of_app_metadata() {
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(
        &dir,
        "version: 1\nname: site\nusers:\n  - email: bot@example.com\n    create: password\n    password: { file: bot.password }\n    roles: [deployer]\n  - email: new@example.com\n    roles: [editor]\n    user_metadata: { name: New }\n",
    );
    std::fs::write(
        dir.path().join("bot.password"),
        "bot-password-NEVER-PRINTED\n",
    )
    .expect("password file");
    let server = MockServer::start().await;
    list_returns(&server, vec![]).await;
    Mock::given(method("POST"))
        .and(path("/admin/users"))
        .and(body_json(json!({
            "email": "bot@example.com", "password": "bot-password-NEVER-PRINTED", "confirm": true
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "b",
            "bot@example.com",
            json!({"provider": "email"}),
            json!({}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .and(body_json(
            json!({"email": "new@example.com", "data": {"name": "New"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "n",
            "new@example.com",
            json!({"provider": "email"}),
            json!({"name": "New"}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    for (id, roles) in [("b", "deployer"), ("n", "editor")] {
        let app = json!({"roles": [roles], "managed_by": "gotrue-sync:site"});
        Mock::given(method("PUT"))
            .and(path(format!("/admin/users/{id}")))
            .and(body_json(json!({ "app_metadata": app })))
            .respond_with(ResponseTemplate::new(200).set_body_json(user(
                id,
                "x@example.com",
                app.clone(),
                json!({"name": "New"}),
            )))
            .expect(1)
            .mount(&server)
            .await;
    }
    let admin = token_client(&server);
    let desired = load(&file).expect("manifest").manifest;
    let planned = plan(&desired, &[]);
    let options = ApplyOptions {
        secrets_dir: dir.path().to_path_buf(),
        ..ApplyOptions::default()
    };
    let report = execute(&planned, &admin, &options, |_| {}).await;
    assert_eq!(report.done(), 2, "{report:?}");
}

#[tokio::test]
async fn both_error_shapes_name_the_request_the_user_and_the_servers_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(ResponseTemplate::new(422).set_body_json(
            json!({"code": 422, "msg": "Email address already registered by another user"}),
        ))
        .mount(&server)
        .await;
    let error = token_client(&server)
        .invite_user(&invite("taken@example.com"))
        .await
        .expect_err("422");
    assert_eq!(
        error.to_string(),
        "POST /invite (user taken@example.com): server answered 422: Email address already registered by another user"
    );

    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "No user found with that email, or password invalid."
        })))
        .mount(&server)
        .await;
    let with_password = client(
        &server,
        AdminCredentials::Password {
            email: "ops@example.com".into(),
            password: Secret::new(ADMIN_PASSWORD),
        },
        options(),
    );
    let error = with_password.list_users().await.expect_err("login refused");
    assert_eq!(
        error.to_string(),
        "POST /token (user ops@example.com): server answered 400: invalid_grant: No user found with that email, or password invalid."
    );
    assert!(!format!("{error} {error:?}").contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_a_503_page_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"code": 429, "msg": "Rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    let a = user("1", "a@example.com", json!({}), json!({}));
    let b = user("2", "b@example.com", json!({}), json!({}));
    let c = user("3", "c@example.com", json!({}), json!({}));
    Mock::given(method("GET"))
        .and(query_param("page", "1"))
        .respond_with(page(vec![a, b], 3))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("page", "2"))
        .respond_with(page(vec![c], 3))
        .mount(&server)
        .await;
    let admin = token_client(&server);
    let started = Instant::now();
    let listing = admin.list_users().await.expect("list after retries");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 is honoured"
    );
    assert_eq!(listing.users.len(), 3);
    assert_eq!(
        admin.requests_sent(),
        5,
        "429 + page 1, then 503, 503 + page 2"
    );
}

#[tokio::test]
async fn an_ambiguous_invite_is_looked_up_before_it_is_ever_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let invited = user(
        "9",
        "new@example.com",
        json!({"provider": "email"}),
        json!({}),
    );
    expect_lookup(&server, "new@example.com", vec![invited]).await;
    let found = token_client(&server)
        .invite_user(&invite("new@example.com"))
        .await
        .expect("the lookup finds the invited user");
    assert_eq!(found.id, "9");
}

#[tokio::test]
async fn an_ambiguous_invite_that_did_not_land_is_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(ResponseTemplate::new(504))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "9",
            "new@example.com",
            json!({}),
            json!({}),
        )))
        .mount(&server)
        .await;
    expect_lookup(&server, "new@example.com", vec![]).await;
    let created = token_client(&server)
        .invite_user(&invite("new@example.com"))
        .await
        .expect("sent again once the lookup shows nothing");
    assert_eq!(created.id, "9");
    let posts = requests(&server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 2);
}

#[tokio::test]
async fn one_failing_update_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("dir");
    let file = manifest(
        &dir,
        "version: 1\nname: site\nusers:\n  - email: a@example.com\n    roles: [x]\n  - email: b@example.com\n    roles: [x]\n  - email: c@example.com\n    roles: [x]\n",
    );
    let server = MockServer::start().await;
    let marked = json!({"managed_by": "gotrue-sync:site"});
    list_returns(
        &server,
        vec![
            user("a", "a@example.com", marked.clone(), json!({})),
            user("b", "b@example.com", marked.clone(), json!({})),
            user("c", "c@example.com", marked.clone(), json!({})),
        ],
    )
    .await;
    Mock::given(method("PUT"))
        .and(path("/admin/users/b"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"code": 500, "msg": "Error updating user", "error_id": "e"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    for id in ["a", "c"] {
        Mock::given(method("PUT"))
            .and(path(format!("/admin/users/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(user(
                id,
                &format!("{id}@example.com"),
                json!({"managed_by": "gotrue-sync:site", "roles": ["x"]}),
                json!({}),
            )))
            .expect(1)
            .mount(&server)
            .await;
    }
    let admin = token_client(&server);
    let desired = load(&file).expect("manifest").manifest;
    let planned = plan(&desired, &admin.list_users().await.expect("list").users);
    let report = execute(&planned, &admin, &ApplyOptions::default(), |_| {}).await;
    assert_eq!((report.done(), report.failed()), (2, 1), "{report:?}");
    let failed = report
        .results
        .iter()
        .find(|r| matches!(r.outcome, Outcome::Failed { .. }))
        .expect("a failure");
    assert_eq!(failed.email, "b@example.com");
    let Outcome::Failed { error, .. } = &failed.outcome else {
        unreachable!()
    };
    assert_eq!(
        error,
        "PUT /admin/users/b (user b@example.com): server answered 500: Error updating user"
    );
}

/// The binary, pointed at `server` with an admin token.
fn binary(server: &MockServer) -> Command {
    against(&server.uri(), TOKEN)
}

/// `plan -f FILE --out SAVED`, which must succeed.
fn save_plan(server: &MockServer, file: &std::path::Path, saved: &std::path::Path) {
    let planned = binary(server)
        .args(["plan", "-f"])
        .arg(file)
        .arg("--out")
        .arg(saved)
        .output()
        .expect("plan");
    assert_eq!(
        planned.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
}

/// `a@example.com` as an editor, under `policy`, and where its plan is saved.
fn editor_manifest(dir: &tempfile::TempDir, policy: &str) -> (PathBuf, PathBuf) {
    let file = manifest(
        dir,
        &format!("version: 1\nname: site\n{policy}users:\n  - email: a@example.com\n    roles: [editor]\n"),
    );
    (file, dir.path().join("plan.json"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_as_stale_when_a_user_it_touches_changed() {
    let dir = tempfile::tempdir().expect("dir");
    let (file, saved) = editor_manifest(&dir, "");
    let server = MockServer::start().await;
    list_returns(
        &server,
        vec![managed_by_site("1", "a@example.com", &["viewer"])],
    )
    .await;
    save_plan(&server, &file, &saved);

    // Someone changes the user behind the plan's back.
    server.reset().await;
    list_returns(
        &server,
        vec![managed_by_site("1", "a@example.com", &["owner"])],
    )
    .await;
    let applied = binary(&server)
        .args(["apply", "--auto-approve"])
        .arg(&saved)
        .output()
        .expect("apply");
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert_eq!(applied.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("plan is stale"), "{stderr}");
    assert!(
        stderr.contains("a@example.com"),
        "the changed user is named: {stderr}"
    );
    let writes = requests(&server)
        .await
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .count();
    assert_eq!(writes, 0, "nothing is written");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_still_applies_when_only_other_users_changed_and_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let (file, saved) = editor_manifest(&dir, "policy: { prune: none }\n");
    let server = MockServer::start().await;
    let touched = managed_by_site("1", "a@example.com", &["viewer"]);
    list_returns(&server, vec![touched.clone()]).await;
    save_plan(&server, &file, &saved);
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("json");
    assert!(document["server"]["fingerprint"].is_string(), "{document}");

    // Someone else signs up; the user the plan touches is as it was.
    server.reset().await;
    let stranger = user(
        "2",
        "stranger@example.com",
        json!({"provider": "email"}),
        json!({}),
    );
    list_returns(&server, vec![touched, stranger]).await;
    Mock::given(method("PUT"))
        .and(path("/admin/users/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(managed_by_site(
            "1",
            "a@example.com",
            &["editor"],
        )))
        .expect(1)
        .mount(&server)
        .await;
    let applied = binary(&server)
        .args(["apply", "--auto-approve"])
        .arg(&saved)
        .output()
        .expect("apply");
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert_eq!(applied.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("The server changed since the plan was made (1 users then, 2 now), but none of the users this plan touches did."),
        "{stderr}"
    );
}

#[tokio::test]
async fn credentials_never_show_in_debug_output_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"code": 401, "msg": "Invalid token"})),
        )
        .mount(&server)
        .await;
    let clients = [
        client(
            &server,
            AdminCredentials::Token(Secret::new(TOKEN)),
            options(),
        ),
        client(
            &server,
            AdminCredentials::JwtSecret(Secret::new(JWT_SECRET)),
            options(),
        ),
    ];
    for admin in &clients {
        let error = admin.list_users().await.expect_err("401");
        let shown = format!("{admin:?} {error} {error:?}");
        assert!(
            shown.contains("server answered 401: Invalid token"),
            "{shown}"
        );
        for secret in [TOKEN, JWT_SECRET] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    let with_password = client(
        &server,
        AdminCredentials::Password {
            email: "ops@example.com".into(),
            password: Secret::new(ADMIN_PASSWORD),
        },
        options(),
    );
    assert!(!format!("{with_password:?}").contains(ADMIN_PASSWORD));
}

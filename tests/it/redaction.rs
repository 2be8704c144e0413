//! Echoed secrets (issue 12 item 6): a server or proxy that repeats the request in its error
//! must not put the run's secrets into FAILED lines, summaries or the smoke JUnit file.

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CREATE_PASSWORD: &str = "Create-Pa55word-echoed";
const ADMIN_PASSWORD: &str = "Admin-Pa55word-echoed";
const JWT_SECRET: &str = "jwt-secret-that-is-echoed";

/// Answers 400 with the request body (and the password field, when JSON) in the message.
struct Echo;

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let raw = String::from_utf8_lossy(&request.body).into_owned();
        let password = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|v| v["password"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        ResponseTemplate::new(400).set_body_json(json!({
            "code": 400,
            "msg": format!("cannot process {raw}; password was {password}; auth was {bearer}")
        }))
    }
}

fn manifest(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: echo\nusers:\n  - email: new@example.com\n    create: password\n    password: { env: NEW_USER_PASSWORD }\n",
    )
    .expect("manifest");
    file
}

async fn empty_listing(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Total-Count", "0")
                .set_body_json(json!({"aud": "", "users": []})),
        )
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_create_password_and_admin_token_stay_out_of_apply_output() {
    let server = MockServer::start().await;
    empty_listing(&server).await;
    Mock::given(method("POST"))
        .and(path("/admin/users"))
        .respond_with(Echo)
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let output = crate::support::binary::gotrue_sync()
        .args(["apply", "--auto-approve", "-f"])
        .arg(manifest(&dir))
        .args(["--url", &server.uri()])
        .env("GOTRUE_JWT_SECRET", JWT_SECRET)
        .env("GOTRUE_FLAVOR", "netlify")
        .env("NEW_USER_PASSWORD", CREATE_PASSWORD)
        .output()
        .expect("run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("password was (redacted)"), "{all}");
    assert!(all.contains("auth was Bearer (redacted)"), "{all}");
    assert!(!all.contains(CREATE_PASSWORD), "{all}");
    assert!(!all.contains(JWT_SECRET), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_token_form_keeps_the_admin_password_out_of_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(Echo)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let output = crate::support::binary::gotrue_sync()
        .args(["plan", "-f"])
        .arg(manifest(&dir))
        .args(["--url", &server.uri()])
        .env("GOTRUE_ADMIN_EMAIL", "ops@example.com")
        .env("GOTRUE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("GOTRUE_FLAVOR", "netlify")
        .env("NEW_USER_PASSWORD", CREATE_PASSWORD)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("password=(redacted)"), "{stderr}");
    assert!(!stderr.contains(ADMIN_PASSWORD), "{stderr}");
    assert!(!stderr.contains("Pa55word"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_signup_password_stays_out_of_the_smoke_junit_file() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": "v1", "name": "GoTrue"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/settings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"external": {"email": true}, "disable_signup": false, "autoconfirm": true}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/signup"))
        .respond_with(Echo)
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let junit = dir.path().join("smoke.xml");
    let output = crate::support::binary::gotrue_sync()
        .args(["smoke", "--url", &server.uri(), "--json", "--junit"])
        .arg(&junit)
        .output()
        .expect("run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{all}");
    let report = std::fs::read_to_string(&junit).expect("junit written");
    assert!(report.contains("password was (redacted)"), "{report}");
    // The echoed JSON body holds the password too, and only ever as (redacted).
    for text in [&report, &all] {
        for (index, _) in text.match_indices("password") {
            let after = &text[index..(index + 40).min(text.len())];
            assert!(
                after.contains("(redacted)"),
                "a password next to something else: {after}"
            );
        }
    }
}

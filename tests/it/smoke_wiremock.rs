//! `gotrue-sync smoke` against wiremock: the exact requests of the flow, and what a user sees
//! when the instance misbehaves (signups disabled, a wrong token, 429 on /token, a 500 in
//! the middle). Every failure is a clear failing step, exit 1, and clean-up still runs.

use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::binary::gotrue_sync;
use crate::support::mock::requests;

const ADMIN_TOKEN: &str = "admin-op-token-NEVER-PRINTED";
const MAIL_TOKEN: &str = "mailtok-NEVER-PRINTED";
const FIRST_REFRESH: &str = "refresh-one-NEVER-PRINTED";
const SECOND_REFRESH: &str = "refresh-two-NEVER-PRINTED";
const USER_ID: &str = "6a1c2e9e-0000-4000-8000-000000000001";
const INVITED_ID: &str = "6a1c2e9e-0000-4000-8000-000000000002";

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    SignupDisabled,
    Token429,
    GetUser500,
    /// The replay of the rotated-out refresh token is rate limited instead of refused.
    ReplayRateLimited,
    /// Deleting the signed-up user fails (the invited one can still be deleted).
    SignupDelete500,
}

#[derive(Default)]
struct State {
    email: String,
    metadata: Value,
    revoked: Vec<String>,
    logged_out: bool,
}

/// A small GoTrue: enough state for one smoke run, shaped as gotrue-api.md describes.
#[derive(Clone)]
struct FakeGotrue {
    fault: Fault,
    state: Arc<Mutex<State>>,
}

fn jwt(email: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 3600;
    let claims = json!({"sub": USER_ID, "email": email, "aud": "", "exp": exp, "app_metadata": {}});
    format!(
        "{}.{}.signature-NEVER-PRINTED",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn session(email: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": jwt(email), "token_type": "bearer", "expires_in": 3600, "refresh_token": refresh
    }))
}

fn form(request: &Request) -> Vec<(String, String)> {
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%40", "@").replace("%2B", "+")))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn oauth_error(description: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(json!({"error": "invalid_grant", "error_description": description}))
}

impl Respond for FakeGotrue {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().expect("state");
        let user = |state: &State| {
            json!({"id": USER_ID, "aud": "", "role": "", "email": state.email,
                   "app_metadata": {"provider": "email"}, "user_metadata": state.metadata,
                   "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
        };
        match (request.method.as_str(), request.url.path()) {
            ("GET", "/health") => ResponseTemplate::new(200)
                .set_body_json(json!({"version": "v1.0.0", "name": "GoTrue", "description": "x"})),
            ("GET", "/settings") => ResponseTemplate::new(200).set_body_json(json!({
                "external": {"email": true, "github": false},
                "disable_signup": self.fault == Fault::SignupDisabled,
                "autoconfirm": false
            })),
            ("POST", "/signup") if self.fault == Fault::SignupDisabled => ResponseTemplate::new(
                403,
            )
            .set_body_json(json!({"code": 403, "msg": "Signups not allowed for this instance"})),
            ("POST", "/signup") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                state.email = body["email"].as_str().unwrap_or_default().to_owned();
                state.metadata = body["data"].clone();
                ResponseTemplate::new(200).set_body_json(user(&state))
            }
            ("POST", "/verify") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                if body["type"] == "signup" && body["token"] == MAIL_TOKEN {
                    session(&state.email, FIRST_REFRESH)
                } else {
                    ResponseTemplate::new(404)
                        .set_body_json(json!({"code": 404, "msg": "User not found"}))
                }
            }
            ("POST", "/token") if self.fault == Fault::Token429 => ResponseTemplate::new(429)
                .set_body_json(json!({"code": 429, "msg": "Rate limit exceeded"})),
            ("POST", "/token") => {
                let pairs = form(request);
                match field(&pairs, "grant_type") {
                    "password" if field(&pairs, "username") == state.email => {
                        session(&state.email, FIRST_REFRESH)
                    }
                    "refresh_token" => {
                        let presented = field(&pairs, "refresh_token").to_owned();
                        if self.fault == Fault::ReplayRateLimited
                            && state.revoked.contains(&presented)
                        {
                            ResponseTemplate::new(429)
                                .set_body_json(json!({"code": 429, "msg": "Rate limit exceeded"}))
                        } else if state.revoked.contains(&presented) || state.logged_out {
                            oauth_error("Invalid Refresh Token")
                        } else {
                            state.revoked.push(presented);
                            session(&state.email, SECOND_REFRESH)
                        }
                    }
                    _ => oauth_error("No user found with that email, or password invalid."),
                }
            }
            ("GET", "/user") if self.fault == Fault::GetUser500 => ResponseTemplate::new(500)
                .set_body_json(
                    json!({"code": 500, "msg": "Internal server error", "error_id": "e-1"}),
                ),
            ("GET", "/user") => ResponseTemplate::new(200).set_body_json(user(&state)),
            ("PUT", "/user") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                if let (Some(stored), Some(data)) =
                    (state.metadata.as_object_mut(), body["data"].as_object())
                {
                    stored.extend(data.clone());
                }
                ResponseTemplate::new(200).set_body_json(user(&state))
            }
            ("POST", "/logout") => {
                state.logged_out = true;
                ResponseTemplate::new(204)
            }
            ("GET", "/admin/users") => ResponseTemplate::new(200)
                .insert_header("X-Total-Count", "0")
                .set_body_json(json!({"aud": "", "users": []})),
            ("POST", "/invite") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": INVITED_ID, "aud": "", "role": "", "email": body["email"],
                    "app_metadata": {"provider": "email"}, "user_metadata": {},
                    "invited_at": "2026-01-01T00:00:00Z",
                    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
                }))
            }
            ("DELETE", path)
                if path == format!("/admin/users/{USER_ID}")
                    && self.fault == Fault::SignupDelete500 =>
            {
                ResponseTemplate::new(500).set_body_json(
                    json!({"code": 500, "msg": "Internal server error", "error_id": "e-2"}),
                )
            }
            ("DELETE", path)
                if path == format!("/admin/users/{USER_ID}")
                    || path == format!("/admin/users/{INVITED_ID}") =>
            {
                ResponseTemplate::new(200).set_body_json(json!({}))
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"code": 404, "msg": "no route"})),
        }
    }
}

async fn gotrue(fault: Fault) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(FakeGotrue {
            fault,
            state: Arc::default(),
        })
        .mount(&server)
        .await;
    server
}

fn smoke(server: &MockServer, token: &str) -> Command {
    let mut cmd = gotrue_sync();
    cmd.env("GOTRUE_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(["smoke", "--url", &server.uri(), "--json", "-vvv"])
        .arg(format!(
            "--confirm-via=command:echo \"https://site.example/#confirmation_token={token}\""
        ));
    cmd
}

struct Run {
    code: Option<i32>,
    document: Value,
    stderr: String,
    requests: Vec<Request>,
}

async fn run(fault: Fault, token: &str) -> Run {
    run_with(fault, token, &[]).await
}

async fn run_with(fault: Fault, token: &str, args: &[&str]) -> Run {
    let server = gotrue(fault).await;
    let output = smoke(&server, token).args(args).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let document = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {stderr}"));
    let requests = requests(&server).await;
    Run {
        code: output.status.code(),
        document,
        stderr,
        requests,
    }
}

impl Run {
    fn step(&self, name: &str) -> &Value {
        self.document["runs"][0]["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["name"] == name))
            .unwrap_or_else(|| panic!("no step {name}: {}", self.document))
    }

    fn status(&self, name: &str) -> &str {
        self.step(name)["status"].as_str().unwrap_or_default()
    }

    fn deleted_the_user(&self) -> bool {
        self.requests.iter().any(|r| {
            r.method.as_str() == "DELETE"
                && r.url.path() == format!("/admin/users/{USER_ID}")
                && r.headers
                    .get("authorization")
                    .is_some_and(|v| v.as_bytes() == format!("Bearer {ADMIN_TOKEN}").as_bytes())
        })
    }

    /// Every value that must never be printed: the password the run generated (read from
    /// its signup request), the tokens the fake issued, and the admin token.
    fn assert_no_secret_printed(&self) {
        let signup = self
            .requests
            .iter()
            .find(|r| r.url.path() == "/signup")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap_or_default());
        let password = signup
            .as_ref()
            .and_then(|b| b["password"].as_str())
            .map(str::to_owned);
        let printed = format!("{}{}", self.document, self.stderr);
        let mut secrets = vec![
            ADMIN_TOKEN.to_owned(),
            MAIL_TOKEN.to_owned(),
            FIRST_REFRESH.to_owned(),
            SECOND_REFRESH.to_owned(),
            "NEVER-PRINTED".to_owned(),
        ];
        secrets.extend(password);
        for secret in secrets {
            assert!(
                !printed.contains(&secret),
                "{secret} was printed:\n{printed}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_instance_passes_with_the_exact_requests_of_the_flow() {
    let run = run(Fault::None, MAIL_TOKEN).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.document, run.stderr);
    for step in [
        "signup",
        "confirm",
        "login",
        "get user",
        "update user",
        "refresh",
        "logout",
        "cleanup",
    ] {
        assert_eq!(run.status(step), "passed", "{step}: {}", run.document);
    }
    assert!(run.deleted_the_user());
    run.assert_no_secret_printed();

    let signup = run
        .requests
        .iter()
        .find(|r| r.url.path() == "/signup")
        .expect("signup");
    let body: Value = serde_json::from_slice(&signup.body).expect("JSON signup");
    let email = body["email"].as_str().expect("email");
    assert!(
        email.starts_with("gotrue-sync-smoke+") && email.ends_with("@example.com"),
        "{email}"
    );
    assert!(
        body["password"].as_str().is_some_and(|p| p.len() >= 24),
        "a strong password"
    );
    assert!(body["data"].is_object());

    let verify = run
        .requests
        .iter()
        .find(|r| r.url.path() == "/verify")
        .expect("verify");
    let body: Value = serde_json::from_slice(&verify.body).expect("JSON verify");
    assert_eq!(body, json!({"type": "signup", "token": MAIL_TOKEN}));

    let logins: Vec<&Request> = run
        .requests
        .iter()
        .filter(|r| r.url.path() == "/token")
        .collect();
    assert_eq!(
        logins.len(),
        4,
        "login, refresh, replay of the old token, refresh after logout"
    );
    for login in &logins {
        assert_eq!(
            login.headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/x-www-form-urlencoded"[..]),
            "/token is form-encoded"
        );
    }
    assert_eq!(field(&form(logins[0]), "grant_type"), "password");
    assert_eq!(field(&form(logins[1]), "refresh_token"), FIRST_REFRESH);
    assert_eq!(field(&form(logins[2]), "refresh_token"), FIRST_REFRESH);
    assert_eq!(field(&form(logins[3]), "refresh_token"), SECOND_REFRESH);
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_signups_fail_the_signup_step_with_the_servers_message() {
    let run = run(Fault::SignupDisabled, MAIL_TOKEN).await;
    assert_eq!(run.code, Some(1));
    let signup = run.step("signup");
    assert_eq!(signup["status"], "failed");
    assert_eq!(signup["failure"]["status"], 403);
    assert_eq!(
        signup["failure"]["message"],
        "Signups not allowed for this instance"
    );
    assert!(signup["failure"]["hint"]
        .as_str()
        .is_some_and(|h| h.contains("signups are disabled")));
    assert_eq!(run.status("login"), "skipped");
    assert_eq!(run.status("cleanup"), "passed", "{}", run.document);
    assert!(
        run.requests.iter().any(|r| r.url.path() == "/admin/users"),
        "the user is looked up, since the failed signup may still have created it"
    );
    run.assert_no_secret_printed();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_confirmation_token_fails_the_confirm_step() {
    let run = run(Fault::None, "not-the-mailed-token").await;
    assert_eq!(run.code, Some(1));
    let confirm = run.step("confirm");
    assert_eq!(confirm["status"], "failed");
    assert_eq!(confirm["failure"]["request"], "POST /verify");
    assert_eq!(confirm["failure"]["status"], 404);
    assert!(confirm["failure"]["hint"]
        .as_str()
        .is_some_and(|h| h.contains("confirmation token")));
    assert_eq!(run.status("logout"), "skipped");
    assert!(run.deleted_the_user(), "clean-up still runs");
    run.assert_no_secret_printed();
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_token_requests_fail_the_login_step_without_retrying() {
    let run = run(Fault::Token429, MAIL_TOKEN).await;
    assert_eq!(run.code, Some(1));
    let login = run.step("login");
    assert_eq!(login["failure"]["status"], 429);
    assert!(login["failure"]["hint"]
        .as_str()
        .is_some_and(|h| h.contains("rate limited")));
    let token_requests = run
        .requests
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count();
    assert_eq!(
        token_requests, 1,
        "a visitor's browser would not retry either"
    );
    assert!(run.deleted_the_user());
    run.assert_no_secret_printed();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_mid_flow_fails_that_step_only_and_clean_up_runs() {
    let run = run(Fault::GetUser500, MAIL_TOKEN).await;
    assert_eq!(run.code, Some(1));
    let get_user = run.step("get user");
    assert_eq!(get_user["failure"]["request"], "GET /user");
    assert_eq!(get_user["failure"]["status"], 500);
    assert_eq!(get_user["failure"]["message"], "Internal server error");
    // The steps after it need only the session, so they still run.
    assert_eq!(run.status("refresh"), "passed", "{}", run.document);
    assert_eq!(run.status("logout"), "passed");
    assert!(run.deleted_the_user());
    run.assert_no_secret_printed();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_replay_fails_the_refresh_step_and_logout_uses_the_new_token() {
    let run = run(Fault::ReplayRateLimited, MAIL_TOKEN).await;
    assert_eq!(run.code, Some(1), "{}", run.document);
    let refresh = run.step("refresh");
    assert_eq!(refresh["status"], "failed");
    assert_eq!(
        refresh["failure"]["status"], 429,
        "a 429 says nothing about revocation: {}",
        run.document
    );
    // The first refresh token was rotated out, so checking it after logout would prove
    // nothing: logout must be checked with the renewed one.
    let last_refresh = run
        .requests
        .iter()
        .rev()
        .find(|r| r.url.path() == "/token")
        .map(|r| field(&form(r), "refresh_token").to_owned());
    assert_eq!(last_refresh.as_deref(), Some(SECOND_REFRESH));
    assert_eq!(run.status("logout"), "passed", "{}", run.document);
    assert!(run.deleted_the_user());
    run.assert_no_secret_printed();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delete_does_not_stop_clean_up_of_the_other_test_users() {
    let run = run_with(
        Fault::SignupDelete500,
        MAIL_TOKEN,
        &["--flow", "signup", "--flow", "invite"],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.document);
    let deletes: Vec<&str> = run
        .requests
        .iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .map(|r| r.url.path())
        .collect();
    assert_eq!(
        deletes,
        [
            format!("/admin/users/{USER_ID}"),
            format!("/admin/users/{INVITED_ID}")
        ],
        "every test user gets its delete"
    );
    let cleanup = run.step("cleanup");
    assert_eq!(cleanup["status"], "failed");
    assert_eq!(cleanup["failure"]["status"], 500);
    let signed_up = run.document["runs"][0]["email"].as_str().expect("email");
    assert_eq!(
        run.document["runs"][0]["left_behind"].as_str(),
        Some(signed_up),
        "only the user that is still there is named: {}",
        run.document
    );
    run.assert_no_secret_printed();
}

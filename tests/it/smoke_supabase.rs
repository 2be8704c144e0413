//! `gotrue-sync smoke --flavor supabase` (and `auto`) against a wiremock Supabase Auth: the
//! exact requests of each step as supabase/auth takes them (gotrue-api.md §10–11), and the
//! checks that must fail when the server does not do what it claims.

use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::binary::gotrue_sync;
use crate::support::mock::requests;

const SECRET_KEY: &str = "sb_secret_NEVER-PRINTED-admin";
const PUBLISHABLE_KEY: &str = "sb_publishable_NEVER-PRINTED-visitor";
const SIGNUP_HASH: &str = "signup-hash-NEVER-PRINTED";
const INVITE_HASH: &str = "invite-hash-NEVER-PRINTED";
const FIRST_REFRESH: &str = "rt-one-NEVER-PRINTED";
const SECOND_REFRESH: &str = "rt-two-NEVER-PRINTED";
const USER_ID: &str = "5b0c2e9e-0000-4000-8000-000000000001";
const INVITED_ID: &str = "5b0c2e9e-0000-4000-8000-000000000002";

/// What the fake does differently from a healthy supabase/auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// Admin `PUT` answers 200 and confirms nothing, whatever the field.
    IgnoresConfirm,
    /// A replayed parent refresh token gets a brand-new token.
    ParentMintsNew,
    /// Logout answers 204 but the refresh token keeps working.
    LogoutKeepsTokens,
    /// `/invite` hits the e-mail rate limit.
    InviteRateLimited,
}

#[derive(Default)]
struct State {
    signup_email: String,
    invited_email: String,
    signup_confirmed: bool,
    /// What `PUT /user {data}` merged into the signed-up user's metadata.
    data: serde_json::Map<String, Value>,
    /// The refresh token currently active, and its parent.
    active: String,
    parent: String,
    logged_out: bool,
}

#[derive(Clone)]
struct FakeSupabase {
    fault: Fault,
    autoconfirm: bool,
    state: Arc<Mutex<State>>,
}

fn jwt(id: &str, email: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 3600;
    let claims = json!({"sub": id, "email": email, "aud": "authenticated", "role": "authenticated", "exp": exp, "session_id": "s1"});
    format!(
        "{}.{}.signature-NEVER-PRINTED",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn user(id: &str, email: &str, confirmed: bool) -> Value {
    let mut user = json!({"id": id, "aud": "authenticated", "role": "authenticated", "email": email,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"email": email, "email_verified": confirmed, "phone_verified": false, "sub": id},
        "identities": [], "created_at": "2026-11-29T10:00:00Z", "updated_at": "2026-11-29T10:00:00Z",
        "is_anonymous": false});
    if confirmed {
        user["email_confirmed_at"] = json!("2026-11-29T10:00:01Z");
    }
    user
}

fn session(id: &str, email: &str, refresh: &str) -> Value {
    json!({"access_token": jwt(id, email), "token_type": "bearer", "expires_in": 3600,
           "expires_at": 4_000_000_000u64, "refresh_token": refresh, "user": user(id, email, true)})
}

fn error(status: u16, code: &str, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-sb-error-code", code)
        .set_body_json(json!({"code": status, "error_code": code, "msg": msg}))
}

fn json_body(request: &Request) -> Option<Value> {
    let is_json = request
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    is_json
        .then(|| serde_json::from_slice(&request.body).ok())
        .flatten()
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn is_admin(request: &Request) -> bool {
    request
        .headers
        .get("apikey")
        .is_some_and(|v| v.as_bytes() == SECRET_KEY.as_bytes())
}

impl Respond for FakeSupabase {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().expect("state");
        let body = json_body(request).unwrap_or(Value::Null);
        let path = request.url.path().to_owned();
        let ok = |value: Value| ResponseTemplate::new(200).set_body_json(value);
        if (path.starts_with("/admin") || path == "/invite") && !is_admin(request) {
            return error(
                401,
                "no_authorization",
                "This endpoint requires a valid Bearer token",
            );
        }
        match (request.method.as_str(), path.as_str()) {
            ("GET", "/health") => ok(
                json!({"version": "v2.180.0", "name": "GoTrue", "description": "GoTrue is a user registration and authentication API"}),
            ),
            ("GET", "/settings") => ok(json!({
                "external": {"email": true, "phone": false, "github": false},
                "disable_signup": false, "mailer_autoconfirm": self.autoconfirm,
                "phone_autoconfirm": false, "sms_provider": "", "saml_enabled": false
            })),
            ("POST", "/signup") => {
                state.signup_email = body["email"].as_str().unwrap_or_default().to_owned();
                if self.autoconfirm {
                    state.signup_confirmed = true;
                    state.active = FIRST_REFRESH.to_owned();
                    ok(session(USER_ID, &state.signup_email, FIRST_REFRESH))
                } else {
                    ok(user(USER_ID, &state.signup_email, false))
                }
            }
            ("POST", "/admin/generate_link") => {
                let email = body["email"].as_str().unwrap_or_default();
                match body["type"].as_str() {
                    Some("signup") if email == state.signup_email => ok(json!({
                        "id": USER_ID, "email": email, "action_link": format!("http://x/verify?token={SIGNUP_HASH}&type=signup"),
                        "email_otp": "123456", "hashed_token": SIGNUP_HASH, "verification_type": "signup", "redirect_to": "http://x"})),
                    Some("invite") if email == state.invited_email => ok(json!({
                        "id": INVITED_ID, "email": email, "action_link": format!("http://x/verify?token={INVITE_HASH}&type=invite"),
                        "email_otp": "654321", "hashed_token": INVITE_HASH, "verification_type": "invite", "redirect_to": "http://x"})),
                    _ => error(404, "user_not_found", "User with this email not found"),
                }
            }
            ("POST", "/verify") => {
                let keys: Vec<&str> = body
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                if keys != ["type", "token_hash"] {
                    return error(
                        400,
                        "validation_failed",
                        "Only the token_hash and type should be provided",
                    );
                }
                match (body["type"].as_str(), body["token_hash"].as_str()) {
                    (Some("signup"), Some(SIGNUP_HASH)) => {
                        state.signup_confirmed = true;
                        ok(session(
                            USER_ID,
                            &state.signup_email,
                            "verify-rt-NEVER-PRINTED",
                        ))
                    }
                    (Some("invite"), Some(INVITE_HASH)) => ok(session(
                        INVITED_ID,
                        &state.invited_email,
                        "invite-rt-NEVER-PRINTED",
                    )),
                    _ => error(403, "otp_expired", "Email link is invalid or has expired"),
                }
            }
            ("POST", "/token") => {
                let Some(body) = json_body(request) else {
                    return error(400, "bad_json", "Could not parse request body as JSON");
                };
                match query(request, "grant_type").as_deref() {
                    Some("password") => {
                        let email = body["email"].as_str().unwrap_or_default().to_owned();
                        if email == state.signup_email && !state.signup_confirmed {
                            return error(400, "email_not_confirmed", "Email not confirmed");
                        }
                        let id = if email == state.invited_email {
                            INVITED_ID
                        } else {
                            USER_ID
                        };
                        state.active = FIRST_REFRESH.to_owned();
                        state.parent.clear();
                        state.logged_out = false;
                        ok(session(id, &email, FIRST_REFRESH))
                    }
                    Some("refresh_token") => {
                        let presented = body["refresh_token"].as_str().unwrap_or_default();
                        let email = state.signup_email.clone();
                        if state.logged_out && self.fault != Fault::LogoutKeepsTokens {
                            error(
                                400,
                                "refresh_token_not_found",
                                "Invalid Refresh Token: Refresh Token Not Found",
                            )
                        } else if presented == state.active {
                            state.parent = state.active.clone();
                            state.active = SECOND_REFRESH.to_owned();
                            ok(session(USER_ID, &email, SECOND_REFRESH))
                        } else if presented == state.parent && self.fault == Fault::ParentMintsNew {
                            ok(session(USER_ID, &email, "rt-three-NEVER-PRINTED"))
                        } else if presented == state.parent {
                            let active = state.active.clone();
                            ok(session(USER_ID, &email, &active))
                        } else {
                            error(
                                400,
                                "refresh_token_already_used",
                                "Invalid Refresh Token: Already Used",
                            )
                        }
                    }
                    _ => error(400, "validation_failed", "unsupported_grant_type"),
                }
            }
            ("GET" | "PUT", "/user") => {
                if let Some(data) = body["data"].as_object() {
                    state.data.extend(data.clone());
                }
                let mut answer = user(USER_ID, &state.signup_email, true);
                for (key, value) in &state.data {
                    answer["user_metadata"][key] = value.clone();
                }
                ok(answer)
            }
            ("POST", "/logout") => {
                state.logged_out = true;
                ResponseTemplate::new(204)
            }
            ("POST", "/invite") if self.fault == Fault::InviteRateLimited => error(
                429,
                "over_email_send_rate_limit",
                "email rate limit exceeded",
            ),
            ("POST", "/invite") => {
                state.invited_email = body["email"].as_str().unwrap_or_default().to_owned();
                let mut invited = user(INVITED_ID, &state.invited_email, false);
                invited["invited_at"] = json!("2026-11-29T10:00:00Z");
                ok(invited)
            }
            ("PUT", p) if p == format!("/admin/users/{USER_ID}") => {
                let confirms =
                    body["email_confirm"] == json!(true) && self.fault != Fault::IgnoresConfirm;
                if confirms {
                    state.signup_confirmed = true;
                }
                let email = state.signup_email.clone();
                ok(user(USER_ID, &email, state.signup_confirmed))
            }
            ("DELETE", p)
                if p == format!("/admin/users/{USER_ID}")
                    || p == format!("/admin/users/{INVITED_ID}") =>
            {
                ok(json!({}))
            }
            _ => ResponseTemplate::new(404)
                .set_body_json(json!({"code": 404, "error_code": "not_found", "msg": "no route"})),
        }
    }
}

struct Run {
    code: Option<i32>,
    document: Value,
    stderr: String,
    requests: Vec<Request>,
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

    fn sent(&self, method: &str, path: &str) -> Vec<&Request> {
        self.requests
            .iter()
            .filter(|r| r.method.as_str() == method && r.url.path() == path)
            .collect()
    }

    fn assert_no_secret_printed(&self) {
        let printed = format!("{}{}", self.document, self.stderr);
        assert!(
            !printed.contains("NEVER-PRINTED"),
            "a secret was printed:\n{printed}"
        );
    }
}

async fn run(fault: Fault, autoconfirm: bool, args: &[&str]) -> Run {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(FakeSupabase {
            fault,
            autoconfirm,
            state: Arc::default(),
        })
        .mount(&server)
        .await;
    let mut command = smoke(&server);
    if args.contains(&"--keep-user") {
        // Without admin credentials: the visitor flow alone.
        command.env_remove("GOTRUE_ADMIN_TOKEN");
    }
    let output = command.args(args).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let document = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {stderr}"));
    Run {
        code: output.status.code(),
        document,
        stderr,
        requests: requests(&server).await,
    }
}

fn smoke(server: &MockServer) -> Command {
    let mut cmd = gotrue_sync();
    cmd.env("GOTRUE_ADMIN_TOKEN", SECRET_KEY)
        .env("GOTRUE_API_KEY", PUBLISHABLE_KEY)
        .args(["smoke", "--url", &server.uri(), "--json", "-vvv"]);
    cmd
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn signup_and_invite_flows_send_what_supabase_auth_takes() {
    let run = run(
        Fault::None,
        false,
        &["--confirm-via", "generate-link", "--flow", "signup,invite"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.document, run.stderr);
    assert!(
        run.step("settings")["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("supabase: mailer_autoconfirm off")),
        "{}",
        run.step("settings")
    );

    // The flavour was detected, not given: no --flavor and no GOTRUE_FLAVOR.
    let generated: Vec<Value> = run
        .sent("POST", "/admin/generate_link")
        .iter()
        .map(|r| body(r))
        .collect();
    let signup_email = body(run.sent("POST", "/signup")[0])["email"].clone();
    let invite_email = body(run.sent("POST", "/invite")[0])["email"].clone();
    assert_eq!(
        generated,
        [
            json!({"type": "signup", "email": signup_email}),
            json!({"type": "invite", "email": invite_email})
        ]
    );
    let verified: Vec<Value> = run
        .sent("POST", "/verify")
        .iter()
        .map(|r| body(r))
        .collect();
    assert_eq!(
        verified,
        [
            json!({"type": "signup", "token_hash": SIGNUP_HASH}),
            json!({"type": "invite", "token_hash": INVITE_HASH})
        ]
    );

    // Every /token is ?grant_type= with a JSON body, never a form.
    let tokens = run.sent("POST", "/token");
    assert!(tokens.len() >= 5, "{}", tokens.len());
    for request in &tokens {
        assert!(json_body(request).is_some(), "a JSON body: {request:?}");
        assert!(query(request, "grant_type").is_some());
    }
    let login = body(tokens[0]);
    assert_eq!(query(tokens[0], "grant_type").as_deref(), Some("password"));
    assert_eq!(
        login
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["email".to_owned(), "password".to_owned()])
    );
    assert_eq!(
        query(tokens[1], "grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(body(tokens[1]), json!({"refresh_token": FIRST_REFRESH}));

    // The invitation's password is set with PUT /user under the verified session.
    let password_put = run
        .sent("PUT", "/user")
        .into_iter()
        .find(|r| body(r).get("password").is_some())
        .expect("PUT /user {password}");
    assert_eq!(
        password_put
            .headers
            .get("authorization")
            .map(|v| v.as_bytes().starts_with(b"Bearer ")),
        Some(true)
    );
    assert!(run.step("accept invite")["detail"]
        .as_str()
        .is_some_and(|d| d.contains("password set with PUT /user")));

    // Visitor requests carry the publishable key; admin requests the secret key, and that
    // one only in `apikey` (it is not a JWT).
    for request in &run.requests {
        let path = request.url.path();
        let apikey = request.headers.get("apikey").map(|v| v.as_bytes().to_vec());
        if path.starts_with("/admin") || path == "/invite" {
            assert_eq!(apikey.as_deref(), Some(SECRET_KEY.as_bytes()), "{path}");
            assert!(request.headers.get("authorization").is_none(), "{path}");
        } else {
            assert_eq!(
                apikey.as_deref(),
                Some(PUBLISHABLE_KEY.as_bytes()),
                "{path}"
            );
        }
    }
    assert_eq!(
        run.sent("DELETE", &format!("/admin/users/{USER_ID}")).len(),
        1
    );
    assert_eq!(
        run.sent("DELETE", &format!("/admin/users/{INVITED_ID}"))
            .len(),
        1
    );
    assert!(run.step("refresh")["detail"]
        .as_str()
        .is_some_and(|d| d.contains("answers with the active one")));
    run.assert_no_secret_printed();
}

#[tokio::test(flavor = "multi_thread")]
async fn autoconfirm_signup_answers_with_a_session_and_confirm_is_skipped() {
    let run = run(Fault::None, true, &["--flavor", "supabase"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.document, run.stderr);
    assert_eq!(run.status("confirm"), "skipped");
    assert!(run.step("signup")["detail"]
        .as_str()
        .is_some_and(|d| d.contains("signed in at once")));
    assert!(run.sent("POST", "/verify").is_empty());
    run.assert_no_secret_printed();
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_confirmation_writes_email_confirm() {
    let run = run(Fault::None, false, &["--confirm-via", "admin"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.document, run.stderr);
    let put = run.sent("PUT", &format!("/admin/users/{USER_ID}"));
    assert_eq!(put.len(), 1);
    assert_eq!(body(put[0]), json!({"email_confirm": true}));
    assert!(run.step("confirm")["detail"]
        .as_str()
        .is_some_and(|d| d.contains("`email_confirm`")));
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_confirmation_that_confirms_nothing_fails_the_step() {
    let run = run(Fault::IgnoresConfirm, false, &["--confirm-via", "admin"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.status("confirm"), "failed");
    let message = run.step("confirm")["failure"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("still unconfirmed"), "{message}");
    assert_eq!(run.status("login"), "skipped");
    assert_eq!(
        run.sent("DELETE", &format!("/admin/users/{USER_ID}")).len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_key_on_the_netlify_flavour_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let output = smoke(&server)
        .args(["--flavor", "netlify"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--flavor supabase"), "{stderr}");
    assert!(!stderr.contains("NEVER-PRINTED"), "{stderr}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flavour_that_contradicts_the_settings_fails_the_settings_step() {
    let run = run(Fault::None, true, &["--flavor", "netlify", "--keep-user"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.status("settings"), "failed");
    let failure = &run.step("settings")["failure"];
    assert!(
        failure["hint"]
            .as_str()
            .is_some_and(|h| h.contains("--flavor supabase")),
        "{failure}"
    );
    assert!(run.sent("POST", "/signup").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_parent_that_mints_a_new_token_fails_the_refresh_step() {
    let run = run(Fault::ParentMintsNew, true, &[]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.status("refresh"), "failed");
    assert_eq!(run.status("logout"), "passed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_that_survives_logout_fails_the_logout_step() {
    let run = run(Fault::LogoutKeepsTokens, true, &[]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.status("refresh"), "passed");
    assert_eq!(run.status("logout"), "failed");
    let message = run.step("logout")["failure"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("after logout"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_e_mail_rate_limit_is_explained() {
    let run = run(
        Fault::InviteRateLimited,
        true,
        &["--confirm-via", "generate-link", "--flow", "invite"],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.status("invite"), "failed");
    let failure = &run.step("invite")["failure"];
    assert_eq!(failure["status"], 429);
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(message.contains("over_email_send_rate_limit"), "{message}");
    assert!(message.contains("30 mails an hour"), "{message}");
}

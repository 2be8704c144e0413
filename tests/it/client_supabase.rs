//! The admin client speaking supabase/auth, request by request, against wiremock: where the
//! credential goes, the claims it mints, one create per new user with `email_confirm`,
//! app metadata and role, the look-up case, the error shapes, and the refusals.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use gotrue_sync::gotrue::{
    AdminClient, AdminCredentials, ClientOptions, Flavor, FlavorChoice, LinkKind, RetryPolicy,
    UpdateUserRequest,
};
use gotrue_sync::secret::Secret;

use crate::support::binary::gotrue_sync;
use crate::support::mock::{page, requests};

const SECRET_KEY: &str = "sb_secret_NEVER-PRINTED";
const LEGACY_KEY: &str = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.NEVER-PRINTED";
const JWT_SECRET: &str = "jwt-secret-NEVER-PRINTED";
const ID: &str = "5b0c2e9e-0000-4000-8000-0000000000aa";

fn options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        ..ClientOptions::default()
    }
}

fn client(server: &MockServer, credentials: AdminCredentials, choice: FlavorChoice) -> AdminClient {
    AdminClient::new(&server.uri(), credentials, options())
        .expect("client")
        .with_flavor(choice)
        .expect("credentials fit the flavour")
}

fn supabase_user(email: &str, confirmed: bool) -> Value {
    let mut user = json!({"id": ID, "aud": "authenticated", "role": "authenticated", "email": email,
        "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {}});
    if confirmed {
        user["email_confirmed_at"] = json!("2026-11-29T10:00:00Z");
    }
    user
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn keys_go_in_the_headers_supabase_reads() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(page(vec![], 0))
        .mount(&server)
        .await;
    for (key, bearer) in [
        (SECRET_KEY, None),
        (LEGACY_KEY, Some(format!("Bearer {LEGACY_KEY}"))),
    ] {
        client(
            &server,
            AdminCredentials::Token(Secret::new(key)),
            FlavorChoice::Supabase,
        )
        .list_users()
        .await
        .expect("list");
        let sent = requests(&server).await;
        let last = sent.last().expect("a request");
        assert_eq!(header(last, "apikey"), Some(key));
        assert_eq!(header(last, "authorization").map(str::to_owned), bearer);
    }
}

#[tokio::test]
async fn a_jwt_secret_mints_a_service_role_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(page(vec![], 0))
        .mount(&server)
        .await;
    client(
        &server,
        AdminCredentials::JwtSecret(Secret::new(JWT_SECRET)),
        FlavorChoice::Supabase,
    )
    .list_users()
    .await
    .expect("list");
    let sent = requests(&server).await;
    let bearer = header(&sent[0], "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("bearer");
    let payload = bearer.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    assert_eq!(claims["role"], "service_role");
    assert!(claims.get("sub").is_none());
    let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
    assert_eq!(exp.zip(iat).map(|(e, i)| e - i), Some(300));
    assert!(
        header(&sent[0], "apikey").is_none(),
        "a minted token is no gateway key"
    );
}

#[tokio::test]
async fn auto_asks_settings_once_and_then_speaks_supabase() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/settings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"external": {"email": true}, "disable_signup": false, "mailer_autoconfirm": false}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/admin/users/{ID}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(supabase_user("a@example.com", true)),
        )
        .mount(&server)
        .await;
    let admin = client(
        &server,
        AdminCredentials::Token(Secret::new(SECRET_KEY)),
        FlavorChoice::Auto,
    );
    let confirm = UpdateUserRequest {
        confirm: Some(true),
        ..UpdateUserRequest::default()
    };
    for _ in 0..2 {
        let answer = admin
            .update_user(ID, "a@example.com", &confirm)
            .await
            .expect("update");
        assert!(
            answer.confirmed_at.is_some(),
            "email_confirmed_at reads as confirmed"
        );
    }
    assert_eq!(admin.flavor().await.expect("flavour"), Flavor::Supabase);
    let sent = requests(&server).await;
    assert!(
        header(&sent[0], "authorization").is_none() && header(&sent[0], "apikey").is_none(),
        "no credential goes to the unauthenticated settings request"
    );
    assert_eq!(body(&sent[1]), json!({"email_confirm": true}));
}

#[tokio::test]
async fn look_ups_lower_case_the_filter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .and(query_param("filter", "alice@example.com"))
        .respond_with(page(vec![supabase_user("alice@example.com", true)], 1))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(
        &server,
        AdminCredentials::Token(Secret::new(SECRET_KEY)),
        FlavorChoice::Supabase,
    )
    .find_user_by_email("Alice@Example.COM")
    .await
    .expect("look-up");
    assert_eq!(found.map(|u| u.id).as_deref(), Some(ID));
}

#[tokio::test]
async fn errors_are_explained_and_authentication_failures_get_a_hint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(
            ResponseTemplate::new(422)
                .insert_header("x-sb-error-code", "email_exists")
                .set_body_json(json!({"code": 422, "error_code": "email_exists", "msg": "A user with this email address has already been registered"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-sb-error-code", "not_admin")
                .set_body_json(
                    json!({"code": 403, "error_code": "not_admin", "msg": "User not allowed"}),
                ),
        )
        .mount(&server)
        .await;
    let admin = client(
        &server,
        AdminCredentials::Token(Secret::new(SECRET_KEY)),
        FlavorChoice::Supabase,
    );
    let invite = gotrue_sync::gotrue::InviteRequest {
        email: "taken@example.com".into(),
        data: None,
    };
    let error = admin
        .invite_user(&invite)
        .await
        .expect_err("taken")
        .to_string();
    assert!(
        error.contains("another user already has this e-mail address (email_exists)"),
        "{error}"
    );
    assert!(error.contains("taken@example.com"), "{error}");
    let error = admin.list_users().await.expect_err("not admin").to_string();
    assert!(error.contains("service_role"), "{error}");
    assert!(!error.contains("NEVER-PRINTED"), "{error}");
}

#[tokio::test]
async fn a_password_admin_login_is_refused_on_supabase_with_the_reason() {
    let server = MockServer::start().await;
    let refused = AdminClient::new(
        &server.uri(),
        AdminCredentials::Password {
            email: "admin@example.com".into(),
            password: Secret::new("pw-NEVER-PRINTED"),
        },
        options(),
    )
    .expect("client")
    .with_flavor(FlavorChoice::Supabase)
    .expect_err("refused");
    let message = refused.to_string();
    assert!(
        message.contains("no admin login by e-mail and password"),
        "{message}"
    );
    assert!(requests(&server).await.is_empty());
}

/// A Supabase listing with no users, a create that answers as supabase/auth does (or ignores
/// `email_confirm`), and no other route: a follow-up `PUT` would get 404.
async fn supabase_for_apply(confirms: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(page(vec![], 0))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/admin/users"))
        .respond_with(move |request: &Request| {
            let sent = body(request);
            let mut user = supabase_user(
                sent["email"].as_str().unwrap_or_default(),
                confirms && sent["email_confirm"] == true,
            );
            user["role"] = sent["role"].clone();
            for (key, value) in sent["app_metadata"].as_object().into_iter().flatten() {
                user["app_metadata"][key] = value.clone();
            }
            ResponseTemplate::new(200).set_body_json(user)
        })
        .mount(&server)
        .await;
    server
}

fn apply(server: &MockServer, dir: &tempfile::TempDir) -> std::process::Output {
    let file = crate::support::write(
        dir,
        "users.yaml",
        "version: 1\nname: site\nusers:\n  - email: new@example.com\n    create: password\n    password: {env: NEW_PASSWORD}\n    confirmed: true\n    role: editor\n    roles: [editor]\n",
    );
    gotrue_sync()
        .env("GOTRUE_URL", server.uri())
        .env("GOTRUE_ADMIN_TOKEN", SECRET_KEY)
        .env("GOTRUE_FLAVOR", "supabase")
        .env("NEW_PASSWORD", "pw-NEVER-PRINTED-1")
        .args(["apply", "--auto-approve", "-f"])
        .arg(file)
        .output()
        .expect("apply")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_is_one_request_with_email_confirm_app_metadata_and_role() {
    let server = supabase_for_apply(true).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let output = apply(&server, &dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let sent = requests(&server).await;
    let writes: Vec<&Request> = sent.iter().filter(|r| r.method.as_str() != "GET").collect();
    assert_eq!(writes.len(), 1, "one request per new user: {writes:?}");
    let create = body(writes[0]);
    assert_eq!(create["email_confirm"], true);
    assert!(create.get("confirm").is_none());
    assert_eq!(create["role"], "editor");
    assert_eq!(create["app_metadata"]["roles"], json!(["editor"]));
    assert_eq!(create["app_metadata"]["managed_by"], "gotrue-sync:site");
    assert!(
        !format!("{stderr}{}", String::from_utf8_lossy(&output.stdout)).contains("NEVER-PRINTED")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_the_server_did_not_confirm_fails_that_change() {
    let server = supabase_for_apply(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let output = apply(&server, &dir);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("did not confirm the address"), "{all}");
}

/// A generated link cannot be looked up, so one whose answer may have been acted on is not
/// asked for again; a 429 (answered before anything ran) is, through the same retry loop.
#[tokio::test]
async fn a_generated_link_is_repeated_only_when_it_surely_did_not_land() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/admin/generate_link"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let admin = client(
        &server,
        AdminCredentials::Token(Secret::new(SECRET_KEY)),
        FlavorChoice::Supabase,
    );
    let error = admin
        .generate_link(LinkKind::Invite, "new@example.com")
        .await
        .expect_err("a gateway error");
    assert_eq!(error.status(), Some(502), "{error}");
    assert_eq!(requests(&server).await.len(), 1, "sent once");

    let limited = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/admin/generate_link"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&limited)
        .await;
    Mock::given(method("POST"))
        .and(path("/admin/generate_link"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ID, "hashed_token": "hash-NEVER-PRINTED", "verification_type": "invite"
        })))
        .mount(&limited)
        .await;
    let admin = client(
        &limited,
        AdminCredentials::Token(Secret::new(SECRET_KEY)),
        FlavorChoice::Supabase,
    );
    let link = admin
        .generate_link(LinkKind::Invite, "new@example.com")
        .await
        .expect("the second attempt");
    assert_eq!(link.id, ID);
    let sent = requests(&limited).await;
    assert_eq!(sent.len(), 2, "the 429 was retried once");
    assert!(sent
        .iter()
        .all(|request| header(request, "apikey") == Some(SECRET_KEY)));
}

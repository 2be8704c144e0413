//! Drives the GoTrue emulator over real HTTP on 127.0.0.1 (port 0).

mod netlify_fidelity;
mod supabase_fidelity;

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};
use hmac::{Hmac, Mac};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

const OPERATOR: &str = "operator-token";
const SECRET: &str = "jwt-secret";

fn config() -> EmulatorConfig {
    EmulatorConfig {
        operator_token: OPERATOR.into(),
        jwt_secret: SECRET.into(),
        ..EmulatorConfig::default()
    }
}

async fn start(config: EmulatorConfig) -> (Emulator, Client, String) {
    let emu = Emulator::start(EmulatorConfig { port: 0, ..config })
        .await
        .expect("emulator starts");
    let url = emu.url();
    (emu, Client::new(), url)
}

fn mint(claims: Value, secret: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

async fn body(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json body")
    };
    (status, value)
}

async fn admin_post(c: &Client, url: &str, path: &str, payload: Value) -> (StatusCode, Value) {
    body(
        c.post(format!("{url}{path}"))
            .bearer_auth(OPERATOR)
            .json(&payload)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn admin_put(c: &Client, url: &str, id: &str, payload: Value) -> (StatusCode, Value) {
    body(
        c.put(format!("{url}/admin/users/{id}"))
            .bearer_auth(OPERATOR)
            .json(&payload)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn login(c: &Client, url: &str, email: &str, password: &str) -> (StatusCode, Value) {
    body(
        c.post(format!("{url}/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn refresh(c: &Client, url: &str, token: &str) -> (StatusCode, Value) {
    body(
        c.post(format!("{url}/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn inbox_token(c: &Client, url: &str, to: &str, kind: &str) -> String {
    let (status, v) = body(
        c.get(format!("{url}/_emulator/messages"))
            .query(&[("to", to)])
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let messages = v["messages"].as_array().expect("messages array");
    let last = messages
        .iter()
        .rev()
        .find(|m| m["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} mail for {to}: {v}"));
    let token = last["token"].as_str().expect("token").to_owned();
    assert!(last["link"]
        .as_str()
        .expect("link")
        .starts_with("http://localhost:8888/#"));
    assert!(last["link"].as_str().expect("link").ends_with(&token));
    token
}

async fn list(c: &Client, url: &str, query: &str) -> (StatusCode, String, String, Value) {
    let resp = c
        .get(format!("{url}/admin/users{query}"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("request");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (total, link) = (header("x-total-count"), header("link"));
    let (status, v) = body(resp).await;
    (status, total, link, v)
}

#[tokio::test]
async fn admin_auth_variants() {
    let (emu, c, url) = start(config()).await;
    let get = |auth: Option<String>| {
        let mut req = c.get(format!("{url}/admin/users"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    let (s, _) = body(get(Some(format!("Bearer {OPERATOR}"))).await.expect("req")).await;
    assert_eq!(s, StatusCode::OK);
    let system = mint(json!({"sub": "0", "exp": 4_000_000_000u64}), SECRET);
    let (s, v) = body(get(Some(format!("Bearer {system}"))).await.expect("req")).await;
    assert_eq!((s, &v["aud"]), (StatusCode::OK, &json!("")));
    let nil = mint(
        json!({"sub": "00000000-0000-0000-0000-000000000000", "aud": "x"}),
        SECRET,
    );
    let (s, v) = body(get(Some(format!("bearer {nil}"))).await.expect("req")).await;
    assert_eq!((s, &v["aud"]), (StatusCode::OK, &json!("x")));

    let (s, v) = body(get(None).await.expect("req")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v,
        json!({"code": 401, "msg": "This endpoint requires a Bearer token"})
    );
    let wrong = mint(json!({"sub": "0"}), "not-the-secret");
    let (s, v) = body(get(Some(format!("Bearer {wrong}"))).await.expect("req")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["msg"], "Invalid token: signature is invalid");
    let expired = mint(json!({"sub": "0", "exp": 1}), SECRET);
    let (_, v) = body(get(Some(format!("Bearer {expired}"))).await.expect("req")).await;
    assert_eq!(v["msg"], "Invalid token: Token is expired");
    let ghost = mint(json!({"sub": uuid::Uuid::new_v4()}), SECRET);
    let (s, v) = body(get(Some(format!("Bearer {ghost}"))).await.expect("req")).await;
    assert_eq!(
        (s, v["msg"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid admin user"))
    );

    // A real user's access token is not admin until its stored role is the admin group.
    emu.seed_user(SeedUser {
        email: "plain@example.com".into(),
        password: Some("pw".into()),
        confirmed: true,
        ..SeedUser::default()
    })
    .expect("seed");
    let (s, tokens) = login(&c, &url, "plain@example.com", "pw").await;
    assert_eq!(s, StatusCode::OK);
    let access = tokens["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let (s, v) = body(get(Some(format!("Bearer {access}"))).await.expect("req")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["msg"], "User not allowed");
    let id = tokens_user_id(&c, &url, &access).await;
    let (s, v) = admin_put(&c, &url, &id, json!({"role": "  admin "})).await;
    assert_eq!((s, &v["role"]), (StatusCode::OK, &json!("admin")));
    let (s, _) = body(get(Some(format!("Bearer {access}"))).await.expect("req")).await;
    assert_eq!(s, StatusCode::OK);
    emu.shutdown().await;
}

async fn tokens_user_id(c: &Client, url: &str, access: &str) -> String {
    let (s, v) = body(
        c.get(format!("{url}/user"))
            .bearer_auth(access)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn create_ignores_app_metadata_and_put_merges() {
    let (emu, c, url) = start(config()).await;
    let (s, created) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "Bob@Example.com", "password": "pw", "app_metadata": {"roles": ["x"]},
               "unknown_key": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(created["app_metadata"], json!({"provider": "email"}));
    assert_eq!(created["user_metadata"], Value::Null);
    assert_eq!(created["email"], "Bob@Example.com");
    assert!(created.get("confirmed_at").is_none());
    assert!(created.get("invited_at").is_none());
    let id = created["id"].as_str().expect("id").to_owned();

    let (_, read) = body(
        c.get(format!("{url}/admin/users/{id}"))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(read["user_metadata"], json!({}));

    let (s, v) = admin_put(
        &c,
        &url,
        &id,
        json!({"app_metadata": {"roles": ["a", "b"]},
               "user_metadata": {"a": 1, "b": {"deep": true}, "c": 3}, "confirm": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["app_metadata"],
        json!({"provider": "email", "roles": ["a", "b"]})
    );
    assert!(v["confirmed_at"].is_string());
    let (_, v) = admin_put(
        &c,
        &url,
        &id,
        json!({"app_metadata": {"roles": ["z"]}, "user_metadata": {"a": null, "b": {"other": 1}}}),
    )
    .await;
    assert_eq!(
        v["app_metadata"],
        json!({"provider": "email", "roles": ["z"]})
    );
    assert_eq!(v["user_metadata"], json!({"b": {"other": 1}, "c": 3}));
    let (_, v) = admin_put(
        &c,
        &url,
        &id,
        json!({"email": "NEW@example.com ", "password": "pw2"}),
    )
    .await;
    assert_eq!(v["email"], "NEW@example.com ");
    assert_eq!(
        login(&c, &url, "new@example.com", "pw2").await.0,
        StatusCode::OK
    );

    let (s, v) = body(
        c.get(format!("{url}/admin/users/not-a-uuid"))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"code": 400, "msg": "user_id must be an UUID"})
        )
    );
    let missing = uuid::Uuid::new_v4();
    let (s, v) = admin_put(&c, &url, &missing.to_string(), json!({})).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"code": 404, "msg": "User not found"})
        )
    );

    let (s, v) = body(
        c.delete(format!("{url}/admin/users/{id}"))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    assert_eq!(emu.user_count(), 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn duplicates_are_case_and_trailing_space_insensitive() {
    let (emu, c, url) = start(config()).await;
    let (s, _) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "Alice@Example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let expected = json!({"code": 422, "msg": "Email address already registered by another user"});
    for email in ["alice@example.com", "ALICE@EXAMPLE.COM  "] {
        let (s, v) = admin_post(&c, &url, "/admin/users", json!({"email": email})).await;
        assert_eq!((s, &v), (StatusCode::UNPROCESSABLE_ENTITY, &expected));
    }
    let (s, v) = admin_post(&c, &url, "/invite", json!({"email": "alice@example.COM"})).await;
    assert_eq!((s, &v), (StatusCode::UNPROCESSABLE_ENTITY, &expected));
    // Another audience may reuse the address.
    let (s, v) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "alice@example.com", "aud": "other"}),
    )
    .await;
    assert_eq!((s, &v["aud"]), (StatusCode::OK, &json!("other")));
    let (s, v) = admin_post(&c, &url, "/admin/users", json!({})).await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("An email address is required")
        )
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn pagination_headers_and_ordering() {
    let (emu, c, url) = start(config()).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut meta = serde_json::Map::new();
        meta.insert("full_name".into(), json!(format!("Person {i}")));
        ids.push(
            emu.seed_user(SeedUser {
                email: format!("user{i}@example.com"),
                user_metadata: meta,
                ..SeedUser::default()
            })
            .expect("seed"),
        );
    }
    let (s, total, link, v) = list(&c, &url, "?per_page=3&page=1").await;
    assert_eq!((s, total.as_str()), (StatusCode::OK, "7"));
    assert_eq!(
        link,
        "</admin/users?page=2&per_page=3>; rel=\"next\", </admin/users?page=3&per_page=3>; rel=\"last\""
    );
    let page1: Vec<&str> = v["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        page1,
        vec![ids[6].as_str(), ids[5].as_str(), ids[4].as_str()]
    );
    let (_, _, link, _) = list(&c, &url, "?per_page=3&page=2").await;
    assert_eq!(
        link,
        "</admin/users?page=3&per_page=3>; rel=\"next\", </admin/users?page=1&per_page=3>; rel=\"prev\", </admin/users?page=3&per_page=3>; rel=\"last\""
    );
    let (_, _, link, v) = list(&c, &url, "?per_page=3&page=3&sort=created_at%20asc").await;
    assert_eq!(
        link,
        "</admin/users?page=2&per_page=3&sort=created_at+asc>; rel=\"prev\", </admin/users?page=3&per_page=3&sort=created_at+asc>; rel=\"last\""
    );
    assert_eq!(v["users"][0]["id"], ids[6].as_str());
    assert_eq!(v["users"].as_array().map(Vec::len), Some(1));

    let (_, total, _, v) = list(&c, &url, "?filter=PERSON%203").await;
    assert_eq!(total, "1");
    assert_eq!(v["users"][0]["email"], "user3@example.com");
    let (_, total, link, v) = list(&c, &url, "?filter=nobody").await;
    assert_eq!(
        (total.as_str(), link.as_str()),
        ("0", "</admin/users?filter=nobody&page=0>; rel=\"last\"")
    );
    assert_eq!(v["users"], json!([]));

    let (s, _, _, v) = list(&c, &url, "?per_page=0").await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Bad Pagination Parameters: per_page must be positive")
        )
    );
    let (s, _, _, v) = list(&c, &url, "?sort=email").await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Bad Sort Parameters: bad field for sort 'email'")
        )
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn per_page_defaults_to_50() {
    let (emu, c, url) = start(config()).await;
    for i in 0..60 {
        emu.seed_user(SeedUser {
            email: format!("u{i}@example.com"),
            ..SeedUser::default()
        })
        .expect("seed");
    }
    let (_, total, link, v) = list(&c, &url, "").await;
    assert_eq!(total, "60");
    assert_eq!(v["users"].as_array().map(Vec::len), Some(50));
    assert_eq!(
        link,
        "</admin/users?page=2>; rel=\"next\", </admin/users?page=2>; rel=\"last\""
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn invite_verify_login_and_read_self() {
    let (emu, c, url) = start(config()).await;
    let (s, invited) = admin_post(
        &c,
        &url,
        "/invite",
        json!({"email": "Inv@Example.com", "data": {"full_name": "Inv"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(invited["invited_at"].is_string());
    assert!(invited.get("confirmed_at").is_none());
    assert_eq!(invited["user_metadata"], json!({"full_name": "Inv"}));
    let token = inbox_token(&c, &url, "inv@example.com", "invite").await;
    assert_eq!(token.len(), 22);

    let verify = |payload: Value| c.post(format!("{url}/verify")).json(&payload).send();
    let (s, v) = body(
        verify(json!({"type": "signup", "token": token}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("Invited users must specify a password")
        )
    );
    let (s, v) = body(
        verify(json!({"type": "invite", "token": token}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("Verify requires a verification type")
        )
    );
    let (s, v) = body(
        verify(json!({"type": "signup", "token": token, "password": "secret"}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["refresh_token"].as_str().map(str::len), Some(22));
    let (s, _) = body(
        verify(json!({"type": "signup", "token": token, "password": "x"}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, tokens) = login(&c, &url, "inv@example.com", "secret").await;
    assert_eq!(s, StatusCode::OK);
    let access = tokens["access_token"].as_str().expect("access");
    let header = URL_SAFE_NO_PAD
        .decode(access.split('.').next().expect("header"))
        .expect("b64");
    let header: Value = serde_json::from_slice(&header).expect("json");
    assert_eq!(
        (&header["alg"], &header["kid"]),
        (&json!("HS256"), &json!("nf-ident"))
    );
    let (s, me) = body(
        c.get(format!("{url}/user"))
            .bearer_auth(access)
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["email"], "Inv@Example.com");
    assert!(me["confirmed_at"].is_string());

    let (s, v) = body(
        c.get(format!("{url}/user"))
            .bearer_auth(access)
            .header("X-JWT-AUD", "elsewhere")
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Token audience doesn't match request audience")
        )
    );
    let (s, me) = body(
        c.put(format!("{url}/user"))
            .bearer_auth(access)
            .json(&json!({"data": {"full_name": null, "x": 1}}))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, &me["user_metadata"]),
        (StatusCode::OK, &json!({"x": 1}))
    );
    let (s, v) = body(
        c.put(format!("{url}/user"))
            .bearer_auth(access)
            .json(&json!({"app_metadata": {"roles": ["a"]}}))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::UNAUTHORIZED,
            &json!("Updating app_metadata requires admin privileges")
        )
    );

    let id = me["id"].as_str().expect("id");
    c.delete(format!("{url}/admin/users/{id}"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("req");
    let (s, _) = body(
        c.get(format!("{url}/user"))
            .bearer_auth(access)
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    emu.shutdown().await;
}

#[tokio::test]
async fn signup_confirm_via_inbox_then_login() {
    let (emu, c, url) = start(config()).await;
    let signup = |payload: Value| c.post(format!("{url}/signup")).json(&payload).send();
    let (s, user) = body(
        signup(json!({"email": "new@example.com", "password": "pw"}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(user["user_metadata"], Value::Null);
    assert!(user.get("confirmed_at").is_none());
    assert!(user["confirmation_sent_at"].is_string());
    let (s, v) = login(&c, &url, "new@example.com", "pw").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({"error": "invalid_grant", "error_description": "Email not confirmed"})
    );

    // Re-submitting an unconfirmed signup merges data only.
    let (s, again) = body(
        signup(json!({"email": "NEW@example.com", "password": "other", "data": {"k": 1}}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, &again["user_metadata"]),
        (StatusCode::OK, &json!({"k": 1}))
    );

    let token = inbox_token(&c, &url, "new@example.com", "confirmation").await;
    let (s, _) = body(
        c.post(format!("{url}/verify"))
            .json(&json!({"type": "signup", "token": token}))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        login(&c, &url, "new@example.com", "other").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        login(&c, &url, "new@example.com", "pw").await.0,
        StatusCode::OK
    );
    let (s, v) = body(
        signup(json!({"email": "new@example.com", "password": "pw"}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, &v["msg"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("A user with this email address has already been registered")
        )
    );

    let (s, _) = body(
        c.delete(format!("{url}/_emulator/messages"))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = body(
        c.get(format!("{url}/_emulator/messages"))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(v, json!({"messages": []}));
    emu.shutdown().await;

    let (emu, c, url) = start(EmulatorConfig {
        disable_signup: true,
        ..config()
    })
    .await;
    let (s, v) = body(
        c.post(format!("{url}/signup"))
            .json(&json!({"email": "a@b.c", "password": "pw"}))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::FORBIDDEN,
            json!({"code": 403, "msg": "Signups not allowed for this instance"})
        )
    );
    emu.shutdown().await;

    let (emu, c, url) = start(EmulatorConfig {
        autoconfirm: true,
        ..config()
    })
    .await;
    let (s, v) = body(
        c.post(format!("{url}/signup"))
            .json(&json!({"email": "a@b.c", "password": "pw"}))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["confirmed_at"].is_string());
    assert_eq!(login(&c, &url, "a@b.c", "pw").await.0, StatusCode::OK);
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_rotation_and_logout() {
    let (emu, c, url) = start(config()).await;
    emu.seed_user(SeedUser {
        email: "r@example.com".into(),
        password: Some("pw".into()),
        confirmed: true,
        ..SeedUser::default()
    })
    .expect("seed");
    let (_, first) = login(&c, &url, "r@example.com", "pw").await;
    let rt1 = first["refresh_token"].as_str().expect("rt").to_owned();
    let (s, second) = refresh(&c, &url, &rt1).await;
    assert_eq!(s, StatusCode::OK);
    let rt2 = second["refresh_token"].as_str().expect("rt").to_owned();
    assert_ne!(rt1, rt2);
    let (s, v) = refresh(&c, &url, &rt1).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "Invalid Refresh Token"})
        )
    );

    let access = second["access_token"].as_str().expect("access");
    let resp = c
        .post(format!("{url}/logout"))
        .bearer_auth(access)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.text().await.expect("body").is_empty());
    assert_eq!(refresh(&c, &url, &rt2).await.0, StatusCode::BAD_REQUEST);
    emu.shutdown().await;
}

#[tokio::test]
async fn token_errors_are_oauth_shaped() {
    let (emu, c, url) = start(config()).await;
    emu.seed_user(SeedUser {
        email: "t@example.com".into(),
        password: Some("pw".into()),
        confirmed: true,
        ..SeedUser::default()
    })
    .expect("seed");
    let (s, v) = login(&c, &url, "t@example.com", "wrong").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({"error": "invalid_grant", "error_description": "No user found with that email, or password invalid."})
    );
    assert_eq!(login(&c, &url, "nobody@example.com", "pw").await.1, v);
    let (s, v) = body(
        c.post(format!("{url}/token"))
            .json(&json!({"grant_type": "password", "username": "t@example.com", "password": "pw"}))
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"})
        )
    );
    let (s, v) = refresh(&c, &url, "").await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "refresh_token required"})
        )
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn seed_file_and_state_file_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        json!({"aud": "", "users": [
            {"id": "11111111-1111-4111-8111-111111111111", "aud": "", "role": "", "email": "seeded@example.com",
             "confirmed_at": "2024-01-02T03:04:05Z", "app_metadata": {"provider": "email", "roles": ["x"]},
             "user_metadata": {}, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"},
            {"email": "bare@example.com"}
        ]})
        .to_string(),
    )
    .expect("write seed");
    let (emu, c, url) = start(EmulatorConfig {
        seed: Some(seed.clone()),
        ..config()
    })
    .await;
    assert_eq!(emu.user_count(), 2);
    let (_, v) = body(
        c.get(format!(
            "{url}/admin/users/11111111-1111-4111-8111-111111111111"
        ))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("req"),
    )
    .await;
    assert_eq!(v["confirmed_at"], "2024-01-02T03:04:05Z");
    assert_eq!(v["app_metadata"]["roles"], json!(["x"]));
    emu.shutdown().await;

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").expect("write");
    let err = Emulator::start(EmulatorConfig {
        seed: Some(bad),
        ..config()
    })
    .await
    .err()
    .expect("fails");
    assert!(err.to_string().contains("bad.json"), "{err}");

    let state = dir.path().join("state.json");
    let cfg = EmulatorConfig {
        state: Some(state.clone()),
        seed: Some(seed),
        ..config()
    };
    let (emu, c, url) = start(cfg.clone()).await;
    let (s, _) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "kept@example.com", "password": "pw", "confirm": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(emu.user_count(), 3);
    emu.shutdown().await;
    let saved = std::fs::read_to_string(&state).expect("state written");
    assert!(!saved.contains("\"pw\""), "plaintext password persisted");

    let (emu, c, url) = start(cfg).await;
    assert_eq!(emu.user_count(), 3);
    assert_eq!(
        login(&c, &url, "kept@example.com", "pw").await.0,
        StatusCode::OK
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_users_in_pages_of_1000() {
    let (emu, c, url) = start(config()).await;
    for i in 0..10_000 {
        emu.seed_user(SeedUser {
            email: format!("bulk{i}@example.com"),
            ..SeedUser::default()
        })
        .expect("seed");
    }
    let mut seen = HashSet::new();
    for page in 1..=10 {
        let (s, total, _, v) = list(&c, &url, &format!("?per_page=1000&page={page}")).await;
        assert_eq!((s, total.as_str()), (StatusCode::OK, "10000"));
        let users = v["users"].as_array().expect("users");
        assert_eq!(users.len(), 1000);
        for u in users {
            assert!(
                seen.insert(u["id"].as_str().expect("id").to_owned()),
                "duplicate across pages"
            );
        }
    }
    assert_eq!(seen.len(), 10_000);
    let (_, _, _, v) = list(&c, &url, "?per_page=1000&page=11").await;
    assert_eq!(v["users"], json!([]));
    emu.shutdown().await;
}

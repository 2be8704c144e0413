//! The supabase flavour behaves like supabase/auth as contract §10 describes it and §11 saw
//! it on a real server: role-claim admin auth with coded 401/403 bodies, `email_confirm`,
//! lower-cased and globally unique addresses, sessions from signup and `/verify`, JSON
//! `/token`, `generate_link`, invite re-send, the refresh-token reuse interval, the e-mail
//! rate limit, offset pages that overlap on equal `created_at`, and the `/auth/v1` prefix.

use super::*;
use gotrue_emulator::Flavor;
use reqwest::RequestBuilder;

fn supabase() -> EmulatorConfig {
    EmulatorConfig {
        flavor: Flavor::Supabase,
        ..config()
    }
}

fn service_role() -> String {
    mint(
        json!({"role": "service_role", "exp": 4_000_000_000u64}),
        SECRET,
    )
}

async fn send(request: RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = request.send().await.expect("request");
    let headers = resp.headers().clone();
    let (status, value) = body(resp).await;
    (status, headers, value)
}

async fn post_admin(c: &Client, url: &str, path: &str, payload: Value) -> (StatusCode, Value) {
    body(
        c.post(format!("{url}{path}"))
            .bearer_auth(service_role())
            .json(&payload)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn put_admin(c: &Client, url: &str, id: &str, payload: Value) -> (StatusCode, Value) {
    body(
        c.put(format!("{url}/admin/users/{id}"))
            .bearer_auth(service_role())
            .json(&payload)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn password_login(c: &Client, url: &str, email: &str, password: &str) -> (StatusCode, Value) {
    body(
        c.post(format!("{url}/token?grant_type=password"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn refresh_json(c: &Client, url: &str, token: &str) -> (StatusCode, Value) {
    body(
        c.post(format!("{url}/token?grant_type=refresh_token"))
            .json(&json!({"refresh_token": token}))
            .send()
            .await
            .expect("request"),
    )
    .await
}

/// The coded error shape, and the `X-Sb-Error-Code` header naming the same slug.
fn assert_coded(
    got: (StatusCode, reqwest::header::HeaderMap, Value),
    status: StatusCode,
    code: &str,
) -> Value {
    let (s, headers, v) = got;
    assert_eq!(s, status, "{v}");
    assert_eq!(v["code"], status.as_u16(), "{v}");
    assert_eq!(v["error_code"], code, "{v}");
    assert!(v["msg"].is_string(), "{v}");
    assert_eq!(
        headers.get("x-sb-error-code").and_then(|h| h.to_str().ok()),
        Some(code)
    );
    v
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

#[tokio::test]
async fn admin_is_a_jwt_whose_role_claim_is_an_admin_role() {
    let (emu, c, url) = start(supabase()).await;
    let list = || c.get(format!("{url}/admin/users"));
    for role in ["service_role", "supabase_admin"] {
        let token = mint(json!({"role": role}), SECRET);
        let (s, _, v) = send(list().bearer_auth(token)).await;
        assert_eq!((s, &v["aud"]), (StatusCode::OK, &json!("authenticated")));
    }
    let v = assert_coded(
        send(list()).await,
        StatusCode::UNAUTHORIZED,
        "no_authorization",
    );
    assert_eq!(v["msg"], "This endpoint requires a valid Bearer token");
    let netlify_style = mint(json!({"sub": "0", "aud": ""}), SECRET);
    let v = assert_coded(
        send(list().bearer_auth(netlify_style)).await,
        StatusCode::FORBIDDEN,
        "not_admin",
    );
    assert_eq!(
        v,
        json!({"code": 403, "error_code": "not_admin", "msg": "User not allowed"})
    );
    let forged = mint(json!({"role": "service_role"}), "not-the-secret");
    assert_coded(
        send(list().bearer_auth(forged)).await,
        StatusCode::FORBIDDEN,
        "bad_jwt",
    );
    assert_coded(
        send(list().bearer_auth(OPERATOR)).await,
        StatusCode::FORBIDDEN,
        "bad_jwt",
    );
    // The gateway's `apikey` header stands in for a missing bearer.
    let (s, _, _) = send(list().header("apikey", service_role())).await;
    assert_eq!(s, StatusCode::OK);
    // API version 2024-01-01 answers `{code: slug, message}`.
    let (s, headers, v) = send(
        list()
            .bearer_auth(mint(json!({"role": "anon"}), SECRET))
            .header("X-Supabase-Api-Version", "2024-01-01"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v,
        json!({"code": "not_admin", "message": "User not allowed"})
    );
    assert_eq!(headers["x-sb-error-code"], "not_admin");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_user_given_service_role_lists_with_their_own_token() {
    let (emu, c, url) = start(supabase()).await;
    for (email, role) in [
        ("plain@example.com", None),
        ("robot@example.com", Some("service_role")),
    ] {
        let mut payload = json!({"email": email, "password": "password-1", "email_confirm": true});
        if let Some(role) = role {
            payload["role"] = json!(role);
        }
        let (s, v) = post_admin(&c, &url, "/admin/users", payload).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, plain) = password_login(&c, &url, "plain@example.com", "password-1").await;
    let (_, robot) = password_login(&c, &url, "robot@example.com", "password-1").await;
    let list = |token: &Value| {
        c.get(format!("{url}/admin/users"))
            .bearer_auth(field(token, "access_token"))
    };
    assert_coded(send(list(&plain)).await, StatusCode::FORBIDDEN, "not_admin");
    let (s, _, v) = send(list(&robot)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["users"].as_array().map(Vec::len), Some(2));
    emu.shutdown().await;
}

#[tokio::test]
async fn the_hosted_auth_v1_prefix_serves_the_same_api() {
    let (emu, c, url) = start(supabase()).await;
    let (s, created) = post_admin(
        &c,
        &url,
        "/auth/v1/admin/users",
        json!({"email": "a@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    for base in [url.clone(), format!("{url}/auth/v1")] {
        let (s, headers, v) = send(
            c.get(format!("{base}/admin/users?per_page=1"))
                .bearer_auth(service_role()),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{base}");
        assert_eq!(v["users"][0]["id"], created["id"]);
        assert_eq!(headers["x-total-count"], "1");
        let (s, _, settings) = send(c.get(format!("{base}/settings"))).await;
        assert_eq!(
            (s, &settings["mailer_autoconfirm"]),
            (StatusCode::OK, &json!(false))
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn settings_say_mailer_autoconfirm() {
    let (emu, c, url) = start(EmulatorConfig {
        autoconfirm: true,
        ..supabase()
    })
    .await;
    let (s, _, v) = send(c.get(format!("{url}/settings"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["mailer_autoconfirm"], true);
    assert_eq!(v["disable_signup"], false);
    assert_eq!(v["external"]["email"], true);
    assert!(v.get("autoconfirm").is_none(), "{v}");
    for key in ["phone_autoconfirm", "sms_provider", "saml_enabled"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn admin_create_confirms_with_email_confirm_and_ignores_confirm() {
    let (emu, c, url) = start(supabase()).await;
    let (s, ignored) = post_admin(
        &c,
        &url,
        "/admin/users",
        json!({"email": "old-style@example.com", "password": "password-1", "confirm": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ignored.get("email_confirmed_at").is_none(), "{ignored}");
    let (s, v) = password_login(&c, &url, "old-style@example.com", "password-1").await;
    assert_eq!(
        (s, &v["error_code"]),
        (StatusCode::BAD_REQUEST, &json!("email_not_confirmed"))
    );

    let (s, created) = post_admin(
        &c,
        &url,
        "/admin/users",
        json!({"email": "new@example.com", "password": "password-1", "email_confirm": true,
               "role": "editor", "app_metadata": {"roles": ["editor"]},
               "user_metadata": {"full_name": "New"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    assert!(created["email_confirmed_at"].is_string(), "{created}");
    assert!(
        created.get("confirmed_at").is_none(),
        "confirmed_at appears on the next read: {created}"
    );
    assert_eq!(created["role"], "editor");
    assert_eq!(created["aud"], "authenticated");
    assert_eq!(
        created["app_metadata"],
        json!({"provider": "email", "providers": ["email"], "roles": ["editor"]})
    );
    assert_eq!(
        created["user_metadata"],
        json!({"full_name": "New", "email_verified": true})
    );
    let id = field(&created, "id");
    let (s, _, read) = send(
        c.get(format!("{url}/admin/users/{id}"))
            .bearer_auth(service_role()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(read["confirmed_at"].is_string(), "{read}");
    assert_eq!(read["phone"], "");
    assert_eq!(read["identities"], json!([]));
    assert_eq!(
        password_login(&c, &url, "new@example.com", "password-1")
            .await
            .0,
        StatusCode::OK
    );

    // `confirm` on an update is ignored too; `email_confirm` confirms.
    let old_id = field(&ignored, "id");
    let (_, v) = put_admin(&c, &url, old_id, json!({"confirm": true})).await;
    assert!(v.get("email_confirmed_at").is_none(), "{v}");
    let (_, v) = put_admin(&c, &url, old_id, json!({"email_confirm": true})).await;
    assert!(v["email_confirmed_at"].is_string(), "{v}");
    assert_eq!(v["user_metadata"]["email_verified"], true);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_create_without_password_cannot_log_in_with_an_empty_one() {
    let (emu, c, url) = start(supabase()).await;
    let (s, _) = post_admin(
        &c,
        &url,
        "/admin/users",
        json!({"email": "nopw@example.com", "email_confirm": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = password_login(&c, &url, "nopw@example.com", "").await;
    assert_eq!(
        (s, &v["error_code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_credentials"))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn addresses_are_lower_cased_and_unique_across_audiences() {
    let (emu, c, url) = start(supabase()).await;
    let (s, alice) = post_admin(
        &c,
        &url,
        "/admin/users",
        json!({"email": "Alice@Example.COM"}),
    )
    .await;
    assert_eq!(
        (s, &alice["email"]),
        (StatusCode::OK, &json!("alice@example.com"))
    );
    let v = assert_coded(
        send(
            c.post(format!("{url}/admin/users"))
                .bearer_auth(service_role())
                .json(&json!({"email": "ALICE@example.com"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "email_exists",
    );
    assert_eq!(
        v["msg"],
        "A user with this email address has already been registered"
    );
    // Another audience cannot reuse the address: the unique index answers.
    let (s, _, v) = send(
        c.post(format!("{url}/invite"))
            .bearer_auth(service_role())
            .header("X-JWT-AUD", "other")
            .json(&json!({"email": "alice@example.com"})),
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(v["code"], "23505", "{v}");
    // So does a rename onto a taken address.
    let (_, bob) = post_admin(
        &c,
        &url,
        "/admin/users",
        json!({"email": "bob@example.com"}),
    )
    .await;
    let (s, v) = put_admin(
        &c,
        &url,
        field(&bob, "id"),
        json!({"email": "ALICE@example.com"}),
    )
    .await;
    assert_eq!(
        (s, &v["code"]),
        (StatusCode::INTERNAL_SERVER_ERROR, &json!("23505"))
    );
    let (s, v) = put_admin(
        &c,
        &url,
        field(&bob, "id"),
        json!({"email": "Robert@Example.com"}),
    )
    .await;
    assert_eq!(
        (s, &v["email"]),
        (StatusCode::OK, &json!("robert@example.com"))
    );
    // `filter` is a case-sensitive LIKE on the stored (lower-case) address.
    let (_, _, upper) = send(
        c.get(format!("{url}/admin/users?filter=Alice"))
            .bearer_auth(service_role()),
    )
    .await;
    assert_eq!(upper["users"], json!([]));
    let (_, _, lower) = send(
        c.get(format!("{url}/admin/users?filter=alice"))
            .bearer_auth(service_role()),
    )
    .await;
    assert_eq!(lower["users"][0]["id"], alice["id"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn validation_failed_and_weak_password_in_their_shapes() {
    let (emu, c, url) = start(supabase()).await;
    let create = |email: &str, password: &str| {
        c.post(format!("{url}/admin/users"))
            .bearer_auth(service_role())
            .json(&json!({"email": email, "password": password}))
    };
    assert_coded(
        send(create("not-an-email", "password-1")).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    // A single-label domain is accepted, and strength is not checked on create.
    let (s, _, bob) = send(create("bob@example", "1")).await;
    assert_eq!(s, StatusCode::OK, "{bob}");
    let v = assert_coded(
        send(
            c.put(format!("{url}/admin/users/{}", field(&bob, "id")))
                .bearer_auth(service_role())
                .json(&json!({"password": "123"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak_password",
    );
    assert!(field(&v, "msg").contains("at least 6"), "{v}");
    assert_coded(
        send(
            c.get(format!("{url}/admin/users/not-a-uuid"))
                .bearer_auth(service_role()),
        )
        .await,
        StatusCode::NOT_FOUND,
        "validation_failed",
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_email_rate_limit_answers_429_without_retry_after() {
    let (emu, c, url) = start(EmulatorConfig {
        email_rate_limit: Some(2),
        ..supabase()
    })
    .await;
    for i in 0..2 {
        let (s, v) = post_admin(
            &c,
            &url,
            "/invite",
            json!({"email": format!("u{i}@example.com")}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let request = c
        .post(format!("{url}/invite"))
        .bearer_auth(service_role())
        .json(&json!({"email": "u2@example.com"}));
    let got = send(request).await;
    assert!(got.1.get("retry-after").is_none(), "{:?}", got.1);
    assert_coded(
        got,
        StatusCode::TOO_MANY_REQUESTS,
        "over_email_send_rate_limit",
    );
    assert_eq!(emu.user_count(), 2, "the refused invite created nobody");
    // generate_link sends no mail, so it is not limited.
    let (s, _) = post_admin(
        &c,
        &url,
        "/admin/generate_link",
        json!({"type": "invite", "email": "u3@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    emu.shutdown().await;

    // Off by default; and a netlify server has no such setting.
    let (emu, c, url) = start(supabase()).await;
    for i in 0..40 {
        let (s, _) = post_admin(
            &c,
            &url,
            "/invite",
            json!({"email": format!("u{i}@example.com")}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    emu.shutdown().await;
    let refused = Emulator::start(EmulatorConfig {
        email_rate_limit: Some(1),
        ..config()
    })
    .await
    .err()
    .expect("netlify has no e-mail rate limit");
    assert!(refused.to_string().contains("supabase"), "{refused}");
}

#[tokio::test]
async fn signup_with_autoconfirm_answers_a_session() {
    let (emu, c, url) = start(EmulatorConfig {
        autoconfirm: true,
        ..supabase()
    })
    .await;
    let (s, v) = body(
        c.post(format!("{url}/signup"))
            .json(&json!({"email": "Visitor@Example.com", "password": "password-1", "data": {"plan": "free"}}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for key in ["access_token", "refresh_token", "expires_at", "expires_in"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    let part = |i: usize| -> Value {
        let token = field(&v, "access_token");
        let segment = token.split('.').nth(i).expect("three segments");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
    };
    assert_eq!(
        part(0),
        json!({"alg": "HS256", "typ": "JWT"}),
        "no netlify kid"
    );
    let claims = part(1);
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["aud"], "authenticated");
    assert!(
        claims["session_id"].is_string() && claims["iat"].is_i64(),
        "{claims}"
    );
    let user = &v["user"];
    assert_eq!(user["email"], "visitor@example.com");
    assert!(user["email_confirmed_at"].is_string());
    assert_eq!(user["user_metadata"]["plan"], "free");
    assert_eq!(user["user_metadata"]["email_verified"], true);
    assert_eq!(user["user_metadata"]["sub"], user["id"]);
    let (s, me) = body(
        c.get(format!("{url}/user"))
            .bearer_auth(field(&v, "access_token"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!((s, &me["id"]), (StatusCode::OK, &user["id"]));
    let again = send(
        c.post(format!("{url}/signup"))
            .json(&json!({"email": "visitor@example.com", "password": "password-1"})),
    )
    .await;
    assert_coded(
        again,
        StatusCode::UNPROCESSABLE_ENTITY,
        "user_already_exists",
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn token_takes_grant_type_in_the_query_and_a_json_body() {
    let (emu, c, url) = start(supabase()).await;
    post_admin(
        &c,
        &url,
        "/admin/users",
        json!({"email": "a@example.com", "password": "password-1", "email_confirm": true}),
    )
    .await;
    let form = send(c.post(format!("{url}/token")).form(&[
        ("grant_type", "password"),
        ("username", "a@example.com"),
        ("password", "password-1"),
    ]))
    .await;
    assert_coded(form, StatusCode::BAD_REQUEST, "bad_json");
    let (s, v) = password_login(&c, &url, "A@Example.com", "password-1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["email"], "a@example.com");
    assert!(v["expires_at"].is_i64());
    let wrong = send(
        c.post(format!("{url}/token?grant_type=password"))
            .json(&json!({"email": "a@example.com", "password": "nope"})),
    )
    .await;
    let v = assert_coded(wrong, StatusCode::BAD_REQUEST, "invalid_credentials");
    assert_eq!(v["msg"], "Invalid login credentials");
    emu.shutdown().await;
}

#[tokio::test]
async fn signup_is_confirmed_by_verify_with_a_token_hash() {
    let (emu, c, url) = start(supabase()).await;
    let (s, user) = body(
        c.post(format!("{url}/signup"))
            .json(&json!({"email": "v@example.com", "password": "password-1"}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        user.get("access_token").is_none(),
        "a user, not a session: {user}"
    );
    assert_eq!(user["email"], "v@example.com");
    let hash = inbox_hash(&c, &url, "v@example.com", "signup").await;
    let verify = |payload: Value| c.post(format!("{url}/verify")).json(&payload);
    let (s, _, session) = send(verify(json!({"type": "signup", "token_hash": hash}))).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert!(session["user"]["email_confirmed_at"].is_string());
    assert_coded(
        send(verify(json!({"type": "signup", "token_hash": hash}))).await,
        StatusCode::FORBIDDEN,
        "otp_expired",
    );
    assert_eq!(
        password_login(&c, &url, "v@example.com", "password-1")
            .await
            .0,
        StatusCode::OK
    );
    emu.shutdown().await;
}

/// The token hash of the newest `type` mail to `to`, read from its `/verify` link.
async fn inbox_hash(c: &Client, url: &str, to: &str, kind: &str) -> String {
    let (_, v) = body(
        c.get(format!("{url}/_emulator/messages"))
            .query(&[("to", to)])
            .send()
            .await
            .expect("request"),
    )
    .await;
    let link = v["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["link"].as_str())
        .unwrap_or_else(|| panic!("a mail to {to}: {v}"))
        .to_owned();
    assert!(link.contains("/auth/v1/verify?token="), "{link}");
    assert!(link.contains(&format!("&type={kind}&")), "{link}");
    let token = link
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("token in link");
    token.to_owned()
}

#[tokio::test]
async fn an_invitation_is_accepted_by_verify_then_put_user() {
    let (emu, c, url) = start(supabase()).await;
    let (s, invited) = post_admin(&c, &url, "/invite", json!({"email": "Guest@Example.com"})).await;
    assert_eq!(s, StatusCode::OK, "{invited}");
    assert!(invited["invited_at"].is_string());
    let hash = inbox_hash(&c, &url, "guest@example.com", "invite").await;
    let (s, session) = body(
        c.post(format!("{url}/verify"))
            .json(&json!({"type": "invite", "token_hash": hash}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{session}");
    let access = field(&session, "access_token").to_owned();
    let set_password = |password: &str| {
        c.put(format!("{url}/user"))
            .bearer_auth(&access)
            .json(&json!({"password": password}))
    };
    assert_coded(
        send(set_password("short")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak_password",
    );
    let (s, _, _) = send(set_password("a-good-password")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        password_login(&c, &url, "guest@example.com", "a-good-password")
            .await
            .0,
        StatusCode::OK
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn generate_link_returns_the_token_and_sends_no_mail() {
    let (emu, c, url) = start(supabase()).await;
    let (s, link) = post_admin(
        &c,
        &url,
        "/admin/generate_link",
        json!({"type": "signup", "email": "Linked@Example.com", "password": "password-1"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    assert_eq!(link["email"], "linked@example.com");
    assert_eq!(link["verification_type"], "signup");
    assert!(field(&link, "action_link").contains(field(&link, "hashed_token")));
    assert_eq!(field(&link, "email_otp").len(), 6);
    assert!(link["redirect_to"].is_string());
    let (_, mail) = body(
        c.get(format!("{url}/_emulator/messages"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(mail["messages"], json!([]), "no mail was sent");
    let (s, _) = body(
        c.post(format!("{url}/verify"))
            .json(&json!({"type": "signup", "token_hash": link["hashed_token"]}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        password_login(&c, &url, "linked@example.com", "password-1")
            .await
            .0,
        StatusCode::OK
    );
    // A new signup needs a password; an existing pending one does not.
    let link = |payload: Value| {
        c.post(format!("{url}/admin/generate_link"))
            .bearer_auth(service_role())
            .json(&payload)
    };
    assert_coded(
        send(link(json!({"type": "signup", "email": "nopw@example.com"}))).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    body(
        c.post(format!("{url}/signup"))
            .json(&json!({"email": "pending@example.com", "password": "password-2"}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let (s, _, again) = send(link(
        json!({"type": "signup", "email": "pending@example.com"}),
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    let unknown = send(
        c.post(format!("{url}/admin/generate_link"))
            .bearer_auth(service_role())
            .json(&json!({"type": "recovery", "email": "nobody@example.com"})),
    )
    .await;
    assert_coded(unknown, StatusCode::NOT_FOUND, "user_not_found");
    emu.shutdown().await;
}

#[tokio::test]
async fn an_invite_to_a_pending_user_is_sent_again_and_to_a_confirmed_one_refused() {
    let (emu, c, url) = start(supabase()).await;
    let (_, first) = post_admin(&c, &url, "/invite", json!({"email": "p@example.com"})).await;
    let first_hash = inbox_hash(&c, &url, "p@example.com", "invite").await;
    let (s, again) = post_admin(&c, &url, "/invite", json!({"email": "P@example.com"})).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"], "the same pending user");
    let second_hash = inbox_hash(&c, &url, "p@example.com", "invite").await;
    assert_ne!(first_hash, second_hash, "a new invitation");
    assert_eq!(emu.user_count(), 1);
    put_admin(
        &c,
        &url,
        field(&first, "id"),
        json!({"email_confirm": true}),
    )
    .await;
    assert_coded(
        send(
            c.post(format!("{url}/invite"))
                .bearer_auth(service_role())
                .json(&json!({"email": "p@example.com"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "email_exists",
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_parent_refresh_token_is_reused_a_grandparent_revokes_and_logout_ends_all() {
    let (emu, c, url) = start(supabase()).await;
    post_admin(
        &c,
        &url,
        "/admin/users",
        json!({"email": "r@example.com", "password": "password-1", "email_confirm": true}),
    )
    .await;
    let (_, login) = password_login(&c, &url, "r@example.com", "password-1").await;
    let first = field(&login, "refresh_token").to_owned();
    let (s, second) = refresh_json(&c, &url, &first).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    let second_rt = field(&second, "refresh_token").to_owned();
    assert_ne!(second_rt, first);
    // The parent of the active token answers the active token again.
    let (s, reused) = refresh_json(&c, &url, &first).await;
    assert_eq!(
        (s, field(&reused, "refresh_token")),
        (StatusCode::OK, second_rt.as_str())
    );
    let (_, third) = refresh_json(&c, &url, &second_rt).await;
    let third_rt = field(&third, "refresh_token").to_owned();
    // A grandparent is refused and revokes the whole session.
    let grandparent = send(
        c.post(format!("{url}/token?grant_type=refresh_token"))
            .json(&json!({"refresh_token": first})),
    )
    .await;
    assert_coded(
        grandparent,
        StatusCode::BAD_REQUEST,
        "refresh_token_already_used",
    );
    let (s, v) = refresh_json(&c, &url, &third_rt).await;
    assert_eq!(
        (s, &v["error_code"]),
        (StatusCode::BAD_REQUEST, &json!("refresh_token_not_found"))
    );

    let (_, login) = password_login(&c, &url, "r@example.com", "password-1").await;
    let access = field(&login, "access_token").to_owned();
    let (s, _, _) = send(c.post(format!("{url}/logout")).bearer_auth(&access)).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = refresh_json(&c, &url, field(&login, "refresh_token")).await;
    assert_eq!(
        (s, &v["error_code"]),
        (StatusCode::BAD_REQUEST, &json!("refresh_token_not_found"))
    );
    let after = send(c.get(format!("{url}/user")).bearer_auth(&access)).await;
    assert_coded(after, StatusCode::FORBIDDEN, "session_not_found");
    emu.shutdown().await;
}

#[tokio::test]
async fn offset_pages_overlap_and_skip_on_equal_created_at() {
    let (emu, c, url) = start(supabase()).await;
    // One bulk import: every user has the same created_at.
    let seeds = (0..5)
        .map(|i| SeedUser {
            email: format!("bulk{i}@example.com"),
            ..SeedUser::default()
        })
        .collect();
    emu.seed(seeds).expect("seed");
    let mut seen = Vec::new();
    for page in 1..=3 {
        let (s, total, link, v) = list_as(&c, &url, &format!("?page={page}&per_page=2")).await;
        assert_eq!((s, total.as_str()), (StatusCode::OK, "5"));
        assert!(!link.contains("rel=\"prev\""), "{link}");
        assert!(link.contains("rel=\"last\""), "{link}");
        assert_eq!(link.contains("rel=\"next\""), page < 3, "{link}");
        for user in v["users"].as_array().expect("users") {
            seen.push(field(user, "id").to_owned());
        }
    }
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 5, "five rows came back");
    assert!(distinct.len() < 5, "offset pages overlapped: {seen:?}");
    let (_, _, _, whole) = list_as(&c, &url, "?per_page=6").await;
    let all: HashSet<&str> = whole["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| field(u, "id"))
        .collect();
    assert_eq!(
        all.len(),
        5,
        "one page larger than the total lists everyone"
    );
    let zero = send(
        c.get(format!("{url}/admin/users?per_page=0"))
            .bearer_auth(service_role()),
    )
    .await;
    assert_eq!(zero.0, StatusCode::INTERNAL_SERVER_ERROR);
    emu.shutdown().await;
}

async fn list_as(c: &Client, url: &str, query: &str) -> (StatusCode, String, String, Value) {
    let (s, headers, v) = send(
        c.get(format!("{url}/admin/users{query}"))
            .bearer_auth(service_role()),
    )
    .await;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    (s, header("x-total-count"), header("link"), v)
}

#[tokio::test]
async fn delete_answers_empty_json_and_big_bodies_are_refused() {
    let (emu, c, url) = start(supabase()).await;
    let (_, user) = post_admin(&c, &url, "/admin/users", json!({"email": "d@example.com"})).await;
    let (s, _, v) = send(
        c.delete(format!("{url}/admin/users/{}", field(&user, "id")))
            .bearer_auth(service_role())
            .json(&json!({"should_soft_delete": false})),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    let big = "x".repeat(1024 * 1024 + 1);
    let refused = send(
        c.post(format!("{url}/admin/users"))
            .bearer_auth(service_role())
            .json(&json!({"email": "big@example.com", "user_metadata": {"blob": big}})),
    )
    .await;
    assert_coded(
        refused,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_entity_too_large",
    );
    assert_eq!(emu.user_count(), 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_seed_file_is_stored_as_supabase_writes_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        json!([{"email": "Seeded@Example.com", "app_metadata": {"roles": ["x"]}}]).to_string(),
    )
    .expect("write seed");
    let (emu, c, url) = start(EmulatorConfig {
        seed: Some(seed),
        ..supabase()
    })
    .await;
    let (_, _, _, v) = list_as(&c, &url, "").await;
    let user = &v["users"][0];
    assert_eq!(user["email"], "seeded@example.com");
    assert_eq!(user["role"], "authenticated");
    assert_eq!(user["aud"], "authenticated");
    assert_eq!(
        user["app_metadata"],
        json!({"roles": ["x"], "provider": "email", "providers": ["email"]})
    );
    emu.shutdown().await;
}

/// The contract does not say that supabase/auth hashes an invited user's empty password;
/// the emulator charges it nothing.
#[tokio::test]
async fn an_invite_costs_no_password_hash() {
    let (emu, c, url) = start(supabase()).await;
    let (status, _) = post_admin(&c, &url, "/invite", json!({"email": "a@example.com"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emu.password_hashes(), 0);
    emu.shutdown().await;
}

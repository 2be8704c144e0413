//! The netlify flavour behaves like netlify/gotrue on MySQL as observed in §11 of the
//! contract: collation-based identity, Go's address parser, int64 JWT times, bcrypt, and a
//! server that does not let slow or idle clients hold connections.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::*;

async fn invite(c: &Client, url: &str, email: &str) -> (StatusCode, Value) {
    admin_post(c, url, "/invite", json!({ "email": email })).await
}

#[tokio::test]
async fn addresses_are_one_account_under_the_mysql_collation() {
    let (emu, c, url) = start(config()).await;
    let (s, jose) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "jose@example.com", "password": "pw-jose", "confirm": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for same in [
        "josé@example.com",
        "JOSÉ@Example.com",
        "jose@example.com   ",
    ] {
        let (s, v) = invite(&c, &url, same).await;
        assert_eq!(
            (s, v["msg"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Email address already registered by another user")
            ),
            "{same:?}"
        );
    }
    let (s, _) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "strasse@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "Straße@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "ß collides with ss");

    // Logging in with an accented spelling reaches jose's account, as on the real server.
    let (s, tokens) = login(&c, &url, "josé@example.com", "pw-jose").await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access token");
    assert_eq!(tokens_user_id(&c, &url, access).await, jose["id"]);

    // A leading space is significant: a different account.
    let (s, other) = invite(&c, &url, " jose@example.com").await;
    assert_eq!(s, StatusCode::OK, "{other}");
    assert_ne!(other["id"], jose["id"]);
    assert_eq!(other["email"], " jose@example.com");

    // Signup of an accented spelling of a confirmed user is the duplicate-signup error.
    let (s, v) = body(
        c.post(format!("{url}/signup"))
            .json(&json!({"email": "JOSÉ@example.com", "password": "x"}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(emu.user_count(), 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn addresses_are_parsed_like_go_net_mail_when_a_mailer_is_configured() {
    let (emu, c, url) = start(config()).await;
    for (rejected, why) in [
        ("a..b@x.com", "mail: missing '@' or angle-addr"),
        (".a@x.com", "mail: missing '@' or angle-addr"),
        ("a.@x.com", "mail: missing '@' or angle-addr"),
        (
            "(comment)user@x.com",
            "mail: missing word in phrase: mail: invalid string",
        ),
    ] {
        let expected = format!("Unable to validate email address: {why}");
        let (s, v) = invite(&c, &url, rejected).await;
        assert_eq!(
            (s, v["msg"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(expected.as_str())),
            "invite {rejected:?}"
        );
        let (s, _) = admin_post(&c, &url, "/admin/users", json!({"email": rejected})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "create {rejected:?}");
        let (s, _) = body(
            c.post(format!("{url}/signup"))
                .json(&json!({"email": rejected, "password": "pw"}))
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "signup {rejected:?}");
    }
    assert_eq!(emu.user_count(), 0, "nothing was created");
    for accepted in ["\"quoted local\"@x.com", "user@localhost", "user@example"] {
        let (s, v) = invite(&c, &url, accepted).await;
        assert_eq!(s, StatusCode::OK, "{accepted:?}: {v}");
        assert_eq!(v["email"], accepted, "stored as sent");
    }
    emu.shutdown().await;

    let (emu, c, url) = start(EmulatorConfig {
        validate_emails: false,
        ..config()
    })
    .await;
    let (s, _) = invite(&c, &url, "a..b@x.com").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "without a mailer any non-empty address is taken"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_jwt_whose_exp_is_a_string_is_refused() {
    let (emu, c, url) = start(config()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    for exp in [
        json!((now - 60).to_string()),
        json!((now + 600).to_string()),
    ] {
        let token = mint(json!({"sub": "0", "exp": exp}), SECRET);
        let (s, v) = body(
            c.get(format!("{url}/admin/users"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{exp}: {v}");
        assert!(
            v["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("Invalid token: ")),
            "{v}"
        );
    }
    let numeric = mint(json!({"sub": "0", "exp": now + 600}), SECRET);
    let resp = c
        .get(format!("{url}/admin/users"))
        .bearer_auth(numeric)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    emu.shutdown().await;
}

/// Reads from `stream` until the server closes it; returns how long that took, or `None` if
/// it stayed open for `bound`.
fn time_until_closed(stream: &mut TcpStream, bound: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(bound)).expect("read timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => {
                return Some(started.elapsed())
            }
            Err(_) => return None,
        }
        if started.elapsed() > bound {
            return None;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_connections_are_closed() {
    let timeout = Duration::from_millis(300);
    let bound = Duration::from_secs(5);
    let (emu, _c, url) = start(EmulatorConfig {
        header_read_timeout: timeout,
        ..config()
    })
    .await;
    let addr = url.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        // Half a request head, then nothing.
        let mut slow = TcpStream::connect(&addr).expect("connect");
        slow.write_all(b"GET /health HTTP/1.1\r\nHost: emulator\r\nX-Slow: ")
            .expect("write");
        let closed = time_until_closed(&mut slow, bound).expect("slow client disconnected");
        assert!(closed >= timeout / 2, "closed too early: {closed:?}");

        // Connected, never a byte.
        let mut silent = TcpStream::connect(&addr).expect("connect");
        assert!(
            time_until_closed(&mut silent, bound).is_some(),
            "silent client kept"
        );

        // One full request, then idle on the kept-alive connection.
        let mut idle = TcpStream::connect(&addr).expect("connect");
        idle.write_all(b"GET /health HTTP/1.1\r\nHost: emulator\r\n\r\n")
            .expect("write");
        let mut first = [0u8; 12];
        idle.read_exact(&mut first).expect("a response");
        assert_eq!(&first, b"HTTP/1.1 200");
        assert!(
            time_until_closed(&mut idle, bound).is_some(),
            "idle client kept"
        );
    })
    .await
    .expect("client thread");
    emu.shutdown().await;
}

#[tokio::test]
async fn passwords_are_bcrypt_and_the_state_file_is_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let (emu, c, url) = start(EmulatorConfig {
        bcrypt_cost: 5,
        state: Some(state.clone()),
        ..config()
    })
    .await;
    let (s, _) = admin_post(
        &c,
        &url,
        "/admin/users",
        json!({"email": "a@example.com", "password": "correct horse", "confirm": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        login(&c, &url, "a@example.com", "correct horse").await.0,
        StatusCode::OK
    );
    assert_eq!(
        login(&c, &url, "a@example.com", "wrong horse").await.0,
        StatusCode::BAD_REQUEST
    );
    emu.shutdown().await;
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    let hash = saved["users"][0]["encrypted_password"]
        .as_str()
        .expect("a stored hash");
    assert!(
        hash.starts_with("$2b$05$"),
        "bcrypt at the configured cost: {hash}"
    );
    assert!(
        !dir.path().join("state.json.tmp").exists(),
        "temporary file renamed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "state file mode {mode:o}");
    }

    let refused = Emulator::start(EmulatorConfig {
        bcrypt_cost: 3,
        ..config()
    })
    .await
    .err()
    .expect("a cost below bcrypt's minimum is refused");
    assert!(refused.to_string().contains("bcrypt cost 3"), "{refused}");
}

/// §11: netlify/gotrue's invites are bound by bcrypt (an invited user is created through
/// the signup path, which hashes the empty password). A refused invite costs no hash.
#[tokio::test]
async fn a_new_invite_costs_one_password_hash_and_a_refused_one_none() {
    let (emu, c, url) = start(config()).await;
    assert_eq!(emu.password_hashes(), 0);
    assert_eq!(invite(&c, &url, "a@example.com").await.0, StatusCode::OK);
    assert_eq!(emu.password_hashes(), 1);
    assert_eq!(
        invite(&c, &url, "A@example.com").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        emu.password_hashes(),
        1,
        "the taken address is refused first"
    );
    emu.shutdown().await;
}

//! Ambiguous answers (issue 12 item 15): a 200 whose body is not JSON or breaks off on a
//! create or invite means the account may exist, so the user is looked up instead of the
//! change being reported failed; an idempotent request is retried on a truncated body.
//!
//! wiremock always sends whole bodies, so these tests serve raw HTTP/1.1 from a loopback
//! socket: each connection reads one request and gets one canned answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gotrue_sync::gotrue::{
    AdminClient, AdminCredentials, ClientOptions, FlavorChoice, InviteRequest, RetryPolicy,
};
use gotrue_sync::secret::Secret;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The request lines received, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// Serves `answer(request_line, index)` to each request, one request per connection.
async fn raw_server(
    answer: impl Fn(&str, usize) -> String + Send + Sync + 'static,
) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            let head_end = loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(end + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while request.len() < head_end + length {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let line = head.lines().next().unwrap_or_default().to_owned();
            let index = {
                let mut log = seen.lock().expect("log");
                log.push(line.clone());
                log.len() - 1
            };
            let response = answer(&line, index);
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, log)
}

fn complete(body: &str, extra_headers: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra_headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Announces more bytes than it sends, then closes: the body breaks off.
fn truncated(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        body.len() + 100,
        &body[..body.len() / 2]
    )
}

fn invited_user() -> String {
    json!({"id": "9", "aud": "", "role": "", "email": "new@example.com",
           "app_metadata": {"provider": "email"}, "user_metadata": {},
           "invited_at": "2026-01-01T00:00:00Z"})
    .to_string()
}

fn listing_of(users: &str, total: usize) -> String {
    complete(
        &format!(r#"{{"aud":"","users":[{users}]}}"#),
        &format!("x-total-count: {total}\r\n"),
    )
}

fn admin(url: &str) -> AdminClient {
    let options = ClientOptions {
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        ..ClientOptions::default()
    };
    AdminClient::new(url, AdminCredentials::Token(Secret::new("t0ken")), options).expect("client")
}

fn invite() -> InviteRequest {
    InviteRequest {
        email: "new@example.com".into(),
        data: None,
    }
}

#[tokio::test]
async fn an_invite_answered_with_a_page_that_is_not_json_is_looked_up() {
    let (url, log) = raw_server(|line, _| {
        if line.starts_with("POST /invite") {
            complete("<html>Welcome!</html>", "")
        } else {
            listing_of(&invited_user(), 1)
        }
    })
    .await;
    let user = admin(&url)
        .invite_user(&invite())
        .await
        .expect("the look-up finds the invited user");
    assert_eq!(user.id, "9");
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[1].starts_with("GET /admin/users?") && log[1].contains("filter=new%40example.com"),
        "{log:?}"
    );
}

#[tokio::test]
async fn an_invite_whose_answer_breaks_off_is_looked_up_not_sent_again() {
    let (url, log) = raw_server(|line, _| {
        if line.starts_with("POST /invite") {
            truncated(&invited_user())
        } else {
            listing_of(&invited_user(), 1)
        }
    })
    .await;
    let user = admin(&url)
        .invite_user(&invite())
        .await
        .expect("found by the look-up");
    assert_eq!(user.id, "9");
    let posts = log
        .lock()
        .expect("log")
        .iter()
        .filter(|l| l.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "never invited twice");
}

#[tokio::test]
async fn a_listing_page_that_breaks_off_is_fetched_again() {
    let (url, log) = raw_server(|_, index| {
        let user = json!({"id": "1", "email": "a@example.com"}).to_string();
        if index == 0 {
            truncated(&format!(r#"{{"aud":"","users":[{user}]}}"#))
        } else {
            listing_of(&user, 1)
        }
    })
    .await;
    let listing = admin(&url).list_users().await.expect("retried");
    assert_eq!(listing.users.len(), 1);
    assert_eq!(log.lock().expect("log").len(), 2);
}

/// netlify/gotrue on MariaDB answers `filter` with 500 (§11); the look-up after an ambiguous
/// invite then reads the whole listing, and later look-ups go straight to it.
#[tokio::test]
async fn a_look_up_where_filter_fails_reads_the_listing_instead() {
    let server_error = || {
        let body = r#"{"code":500,"msg":"Database error finding users"}"#;
        format!(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let (url, log) = raw_server(move |line, _| {
        if line.starts_with("POST /invite") {
            complete("<html>Welcome!</html>", "")
        } else if line.contains("filter=") {
            server_error()
        } else {
            let other = json!({"id": "1", "email": "old@example.com"}).to_string();
            listing_of(&format!("{other},{}", invited_user()), 2)
        }
    })
    .await;
    let client = admin(&url);
    let user = client
        .invite_user(&invite())
        .await
        .expect("the listing finds the invited user");
    assert_eq!(user.id, "9");
    let seen = log.lock().expect("log").clone();
    let posts = seen.iter().filter(|l| l.starts_with("POST")).count();
    assert_eq!(posts, 1, "never invited twice: {seen:?}");
    let filters = seen.iter().filter(|l| l.contains("filter=")).count();
    assert!(filters >= 1, "{seen:?}");
    let listings = seen
        .iter()
        .filter(|l| l.starts_with("GET /admin/users") && !l.contains("filter="))
        .count();
    assert_eq!(listings, 1, "{seen:?}");

    let again = client
        .find_user_by_email("OLD@example.com")
        .await
        .expect("look-up")
        .expect("found");
    assert_eq!(again.id, "1");
    let after = log.lock().expect("log").clone();
    assert_eq!(
        after.iter().filter(|l| l.contains("filter=")).count(),
        filters,
        "filter is not tried again: {after:?}"
    );
}

/// On supabase/auth `filter` is a `LIKE`: a 500 there is a failure to report, not a server
/// that cannot filter, and the whole listing is not read in its place.
#[tokio::test]
async fn on_supabase_a_failing_filter_is_an_error_not_a_listing() {
    let (url, log) = raw_server(|_, _| {
        let body = r#"{"code":500,"error_code":"unexpected_failure","msg":"boom"}"#;
        format!(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    })
    .await;
    let client = admin(&url)
        .with_flavor(FlavorChoice::Supabase)
        .expect("flavour");
    let error = client
        .find_user_by_email("a@example.com")
        .await
        .expect_err("a 500 is reported");
    assert_eq!(error.status(), Some(500), "{error}");
    let seen = log.lock().expect("log").clone();
    assert!(
        seen.iter().all(|l| l.contains("filter=")),
        "no listing without the filter: {seen:?}"
    );
}

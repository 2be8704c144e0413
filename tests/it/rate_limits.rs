//! Rate limits (issue 12 item 10): a 429 without `Retry-After` lowers the number of requests
//! in flight, and a mail limit (`over_email_send_rate_limit`) stops the invitations while
//! every other change is carried out, with a summary that says what is left and when.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gotrue_sync::gotrue::{RetryPolicy, TransportOptions, UpdateUserRequest};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "rate-limit-test-token";

fn user(id: &str, email: &str, app: Value) -> Value {
    json!({"id": id, "aud": "", "role": "", "email": email, "app_metadata": app,
           "user_metadata": {}, "created_at": "2026-01-01T00:00:00Z"})
}

/// Invites succeed `allowed` times, then the mail limit answers.
struct MailBudget {
    allowed: usize,
    sent: AtomicUsize,
}

impl Respond for MailBudget {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if self.sent.fetch_add(1, Ordering::SeqCst) < self.allowed {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let email = body["email"].as_str().unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(user(
                &format!("id-{email}"),
                email,
                json!({"provider": "email"}),
            ))
        } else {
            ResponseTemplate::new(429)
                .insert_header("x-sb-error-code", "over_email_send_rate_limit")
                .set_body_json(json!({"code": 429, "error_code": "over_email_send_rate_limit", "msg": "email rate limit exceeded"}))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_limit_stops_invitations_and_the_rest_is_done() {
    let server = MockServer::start().await;
    let marker = json!({"provider": "email", "managed_by": "gotrue-sync:site"});
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Total-Count", "2")
                .set_body_json(json!({"aud": "", "users": [
                    user("u1", "old1@example.com", marker.clone()),
                    user("u2", "old2@example.com", marker.clone()),
                ]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(MailBudget {
            allowed: 2,
            sent: AtomicUsize::new(0),
        })
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("^/admin/users/.+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "x",
            "x@example.com",
            json!({}),
        )))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = dir.path().join("users.yaml");
    let mut text = String::from("version: 1\nname: site\nusers:\n");
    for n in 1..=2 {
        text.push_str(&format!(
            "  - email: old{n}@example.com\n    roles: [editor]\n"
        ));
    }
    for n in 1..=5 {
        text.push_str(&format!("  - email: new{n}@example.com\n"));
    }
    std::fs::write(&manifest, text).expect("manifest");
    let uri = server.uri();
    let dir_path = manifest.clone();
    let output = tokio::task::spawn_blocking(move || {
        crate::support::binary::gotrue_sync()
            .args(["apply", "--auto-approve", "--parallelism", "1", "-f"])
            .arg(&dir_path)
            .args(["--url", &uri])
            .env("GOTRUE_ADMIN_TOKEN", TOKEN)
            .env("GOTRUE_FLAVOR", "netlify")
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("e-mail sending limit is reached: 3 invitation(s) were not sent"),
        "{stderr}"
    );
    assert!(stderr.contains("again in an hour"), "{stderr}");
    assert!(
        stderr.contains("4 done, 1 failed, 2 not started"),
        "{stderr}"
    );
    let puts = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count();
    assert_eq!(puts, 4, "two updates and the app metadata of two invites");
}

/// Answers 429 without `Retry-After` to requests `from..from + refusals`, 200 otherwise.
struct Refuse {
    from: usize,
    refusals: usize,
    seen: AtomicUsize,
}

impl Respond for Refuse {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let number = self.seen.fetch_add(1, Ordering::SeqCst);
        if (self.from..self.from + self.refusals).contains(&number) {
            ResponseTemplate::new(429)
                .set_body_json(json!({"code": 429, "msg": "Rate limit exceeded"}))
        } else {
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(50))
                .set_body_json(user("x", "x@example.com", json!({})))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_without_retry_after_lowers_the_requests_in_flight_until_successes_raise_it() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(Refuse {
            from: 40,
            refusals: 3,
            seen: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    let options = TransportOptions {
        max_in_flight: 8,
        retry: RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        ..TransportOptions::default()
    };
    let (transport, admin) = crate::support::mock::admin_over(&server, TOKEN, options, 100);
    let request = UpdateUserRequest {
        role: Some("editor".into()),
        ..UpdateUserRequest::default()
    };
    let update = |n: usize| {
        let admin = &admin;
        let request = &request;
        async move {
            admin
                .update_user(&format!("id-{n}"), "x@example.com", request)
                .await
        }
    };
    // Steady answers (50 ms, far above scheduling noise): the limit grows from one.
    let results = futures::future::join_all((0..40).map(update)).await;
    assert!(results.iter().all(Result::is_ok));
    let grown = transport.in_flight_limit();
    assert!(grown >= 4, "grown to {grown}");
    // Three refusals halve it three times; the success that follows adds at most one.
    update(40).await.expect("retried until it succeeds");
    let lowered = transport.in_flight_limit();
    assert!(
        lowered <= (grown / 8).max(1) + 1,
        "lowered from {grown} to {lowered}"
    );
    let results = futures::future::join_all((0..60).map(update)).await;
    assert!(results.iter().all(Result::is_ok));
    assert!(
        transport.in_flight_limit() > lowered,
        "raised again after successes: {} (was {lowered})",
        transport.in_flight_limit()
    );
}

//! `--parallelism` and `--fixed-parallelism` reach the requests: how many invites a slow
//! server sees arrive together. Each invite is answered after [`ANSWER_DELAY`], so requests
//! that arrive within a fraction of it of each other were in flight at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::binary::against;
use crate::support::mock::server_listing;

const ANSWER_DELAY: Duration = Duration::from_millis(400);

/// The invites received: when each arrived, and its address (the user's id is its index).
type Invites = Arc<Mutex<Vec<(Instant, String)>>>;

fn id(index: usize) -> String {
    format!("00000000-0000-0000-0000-{index:012}")
}

/// Answers an invite with the invited user after [`ANSWER_DELAY`], noting when it arrived.
struct SlowInvites(Invites);

impl Respond for SlowInvites {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let arrived = Instant::now();
        let email = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|body| body.get("email").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let mut invites = self.0.lock().unwrap_or_else(|e| e.into_inner());
        invites.push((arrived, email.clone()));
        let user = json!({"id": id(invites.len() - 1),
                          "aud": "", "role": "", "email": email,
                          "invited_at": "2026-11-29T00:00:00Z",
                          "app_metadata": {"provider": "email"}, "user_metadata": {}});
        ResponseTemplate::new(200)
            .set_body_json(user)
            .set_delay(ANSWER_DELAY)
    }
}

/// Answers the ownership `PUT` after each invite at once, with what it wrote.
struct Updates(Invites);

impl Respond for Updates {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let invites = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some((index, (_, email))) = invites
            .iter()
            .enumerate()
            .find(|(index, _)| request.url.path().ends_with(&id(*index)))
        else {
            return ResponseTemplate::new(404);
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": id(index), "aud": "", "role": "", "email": email,
            "invited_at": "2026-11-29T00:00:00Z",
            "app_metadata": body.get("app_metadata"), "user_metadata": {}}))
    }
}

/// The invites in waves: how many arrived together, a wave starting where an invite came
/// half an answer's delay or more after the one before it.
fn waves(arrivals: &[Instant]) -> Vec<usize> {
    let mut sorted = arrivals.to_vec();
    sorted.sort();
    let mut waves: Vec<usize> = Vec::new();
    for (n, at) in sorted.iter().enumerate() {
        match n.checked_sub(1).map(|before| *at - sorted[before]) {
            Some(gap) if gap < ANSWER_DELAY / 2 => {
                if let Some(last) = waves.last_mut() {
                    *last += 1;
                }
            }
            _ => waves.push(1),
        }
    }
    waves
}

/// Applies a manifest of `users` new users with `flags`; returns the invites' arrival times.
async fn invite(users: usize, flags: &[&str]) -> Vec<Instant> {
    let server: MockServer = server_listing(vec![]).await;
    let invites = Invites::default();
    Mock::given(method("POST"))
        .and(path("/invite"))
        .respond_with(SlowInvites(Arc::clone(&invites)))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(Updates(Arc::clone(&invites)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let entries: String = (0..users)
        .map(|i| format!("  - email: new{i}@example.com\n"))
        .collect();
    let file = crate::support::write(
        &dir,
        "users.yaml",
        &format!("version: 1\nname: site\nusers:\n{entries}"),
    );
    let output = against(&server.uri(), "op-token")
        .args(["apply", "--auto-approve", "-f"])
        .arg(&file)
        .args(flags)
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let arrivals: Vec<Instant> = invites
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(arrivals.len(), users, "one invite per user");
    arrivals
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixed_limit_sends_that_many_at_once_from_the_start() {
    let arrivals = invite(12, &["--parallelism", "4", "--fixed-parallelism"]).await;
    assert_eq!(waves(&arrivals), [4, 4, 4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_adaptive_limit_sends_the_first_alone_and_grows_within_the_maximum() {
    // The first invite goes alone to measure the kind; the others follow a few at a time
    // as the limit grows after each flat round, up to --parallelism and never past it (the
    // default, 32, would send the last 16 at once). Where the fast ownership updates fall
    // between the invites decides the exact waves: [1, 2, 4, 4, 4, 4, 4, 1] is typical.
    let arrivals = invite(24, &["--parallelism", "4"]).await;
    let waves = waves(&arrivals);
    assert!(
        waves[0] == 1 && waves.iter().max() == Some(&4),
        "waves {waves:?}"
    );
}

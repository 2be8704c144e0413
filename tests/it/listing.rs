//! Listing as a snapshot (issue 11): hostile `X-Total-Count` headers, a missing header,
//! overlapping pages and repeated ids against wiremock; a signup during the listing against
//! the emulator; and `plan` stopping with exit 1 when the listing cannot be trusted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gotrue_emulator::SeedUser;
use gotrue_sync::gotrue::{
    AdminClient, AdminCredentials, ClientOptions, GotrueError, LimitMode, RetryPolicy,
    TransportOptions,
};
use gotrue_sync::secret::Secret;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "operator-token-for-listing-tests";

fn user(id: usize) -> Value {
    json!({"id": format!("00000000-0000-0000-0000-{id:012}"), "aud": "", "role": "",
           "email": format!("user{id}@example.com"), "app_metadata": {"provider": "email"},
           "user_metadata": {}, "created_at": "2026-01-01T00:00:00Z"})
}

fn client(url: &str, page_size: u32) -> AdminClient {
    let options = ClientOptions {
        page_size,
        retry: RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
        },
        ..ClientOptions::default()
    };
    AdminClient::new(url, AdminCredentials::Token(Secret::new(TOKEN)), options).expect("client")
}

fn page_of(ids: impl IntoIterator<Item = usize>, total: Option<&str>) -> ResponseTemplate {
    let users: Vec<Value> = ids.into_iter().map(user).collect();
    let template = ResponseTemplate::new(200).set_body_json(json!({"aud": "", "users": users}));
    match total {
        Some(total) => template.insert_header("X-Total-Count", total),
        None => template,
    }
}

async fn list_requests(server: &MockServer) -> Vec<Request> {
    crate::support::mock::requests(server)
        .await
        .into_iter()
        .filter(|r| r.url.path() == "/admin/users")
        .collect()
}

fn query_of(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A server with three users that claims far more: no allocation from the header, no
/// walk to the claimed end, a bounded number of requests and an error that says what
/// disagreed. Before, 10^17 panicked ("capacity overflow"), 10^9 aborted on allocation and
/// 5×10^6 at page size 1 sent millions of requests.
#[tokio::test]
async fn a_lying_total_count_is_never_trusted_to_size_or_drive_the_listing() {
    for (claimed, page_size) in [
        ("100000000000000000", 1000),
        ("1000000000", 1000),
        ("5000000", 1),
    ] {
        let server = MockServer::start().await;
        let size = page_size as usize;
        for number in 1..=3usize {
            let first = (number - 1) * size;
            let ids: Vec<usize> = (first..(first + size).min(3)).collect();
            Mock::given(method("GET"))
                .and(path("/admin/users"))
                .and(query_param("page", number.to_string().as_str()))
                .and(query_param("per_page", page_size.to_string().as_str()))
                .respond_with(page_of(ids, Some(claimed)))
                .mount(&server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/admin/users"))
            .respond_with(page_of([], Some(claimed)))
            .mount(&server)
            .await;
        let error = client(&server.uri(), page_size)
            .list_users()
            .await
            .expect_err("a count that never adds up is an error");
        let message = error.to_string();
        assert!(
            matches!(error, GotrueError::InconsistentListing { passes: 4, .. }),
            "{message}"
        );
        assert!(
            message.contains(&format!("reported {claimed} users"))
                && message.contains("but 3 were listed"),
            "{message}"
        );
        // Each of the four passes reads the three pages and the short fourth, and sends at
        // most seven more (eight in flight), never walking toward the claimed end.
        let sent = list_requests(&server).await.len();
        assert!(sent <= 4 * (4 + 7), "{claimed}: {sent} requests");
    }
}

/// One user per page, answered at once but for one slow page, each request's arrival noted.
struct TimedPage {
    number: usize,
    slow: bool,
    arrivals: Arc<Mutex<Vec<(usize, Instant)>>>,
}

impl Respond for TimedPage {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if let Ok(mut arrivals) = self.arrivals.lock() {
            arrivals.push((self.number, Instant::now()));
        }
        let delay = if self.slow {
            Duration::from_secs(2)
        } else {
            Duration::ZERO
        };
        page_of([self.number], Some("20")).set_delay(delay)
    }
}

/// Pages are sent as others come back, not in rounds: a slow page does not hold back the
/// requests for the pages after it (in rounds of eight, page 12 would wait for page 9).
#[tokio::test]
async fn a_slow_page_does_not_hold_back_the_requests_after_it() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    for number in 1..=20 {
        Mock::given(method("GET"))
            .and(path("/admin/users"))
            .and(query_param("page", number.to_string().as_str()))
            .respond_with(TimedPage {
                number,
                slow: number == 9,
                arrivals: Arc::clone(&arrivals),
            })
            .expect(1)
            .mount(&server)
            .await;
    }
    // Eight in flight from the start: the window is under test, not how the adaptive limit
    // would grow on a busy machine.
    let options = TransportOptions {
        max_in_flight: 8,
        in_flight: LimitMode::Fixed,
        ..TransportOptions::default()
    };
    let (_, admin) = crate::support::mock::admin_over(&server, TOKEN, options, 1);
    let listing = admin.list_users().await.expect("list");
    assert_eq!(listing.users.len(), 20);
    let arrivals = arrivals.lock().expect("arrivals").clone();
    let asked = |page: usize| {
        arrivals
            .iter()
            .find(|(number, _)| *number == page)
            .map(|(_, at)| *at)
            .expect("asked for")
    };
    assert!(
        asked(12) < asked(9) + Duration::from_secs(2),
        "page 12 was asked for only once the slow page 9 was answered"
    );
}

/// A page that does not parse (parsed off the thread that drives the requests) fails the
/// listing with an error naming the request, and a secret the server echoed into it is not
/// shown: serde_json quotes the offending string in its message.
#[tokio::test]
async fn a_page_that_does_not_parse_is_an_error_without_the_secrets_it_echoes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Total-Count", "1")
                .set_body_json(json!({"aud": "", "users": TOKEN})),
        )
        .mount(&server)
        .await;
    let error = client(&server.uri(), 1000)
        .list_users()
        .await
        .expect_err("a page that is not a list of users");
    let message = error.to_string();
    assert!(matches!(error, GotrueError::Decode { .. }), "{message}");
    assert!(message.starts_with("GET /admin/users"), "{message}");
    assert!(
        message.contains("invalid JSON (invalid type: string"),
        "{message}"
    );
    assert!(!message.contains(TOKEN), "{message}");
    assert!(message.contains(gotrue_sync::secret::REDACTED), "{message}");
}

#[tokio::test]
async fn without_x_total_count_pages_are_walked_until_a_short_one() {
    let server = MockServer::start().await;
    for (number, ids) in [(1, vec![0, 1]), (2, vec![2, 3]), (3, vec![4])] {
        Mock::given(method("GET"))
            .and(path("/admin/users"))
            .and(query_param("page", number.to_string().as_str()))
            .respond_with(page_of(ids, None))
            .expect(1)
            .mount(&server)
            .await;
    }
    let listing = client(&server.uri(), 2).list_users().await.expect("list");
    assert_eq!(listing.users.len(), 5);
    assert_eq!(listing.total, None);
    assert_eq!(list_requests(&server).await.len(), 3);
}

/// supabase/auth pages users with equal `created_at` with overlaps and gaps (§11): the
/// listing is read again in one page larger than the total, which holds everyone.
#[tokio::test]
async fn overlapping_pages_are_listed_again_in_one_page() {
    let server = MockServer::start().await;
    // Five users at per_page 2: user 1 shows twice, user 3 never.
    for (number, ids) in [(1, vec![0, 1]), (2, vec![1, 2]), (3, vec![4])] {
        Mock::given(method("GET"))
            .and(path("/admin/users"))
            .and(query_param("page", number.to_string().as_str()))
            .and(query_param("per_page", "2"))
            .respond_with(page_of(ids, Some("5")))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "6"))
        .respond_with(page_of(0..5, Some("5")))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server.uri(), 2)
        .list_users()
        .await
        .expect("the second pass is consistent");
    let mut ids: Vec<&str> = listing.users.iter().map(|u| u.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "everyone, once");
    assert_eq!(listing.total, Some(5));
    assert_eq!(listing.warnings.len(), 1, "{:?}", listing.warnings);
    assert!(
        listing.warnings[0].contains("already listed")
            && listing.warnings[0].contains("per_page=6"),
        "{:?}",
        listing.warnings
    );
    let big_pages = list_requests(&server)
        .await
        .iter()
        .filter(|r| query_of(r, "per_page").as_deref() == Some("6"))
        .count();
    assert_eq!(big_pages, 1);
}

/// A server that answers every page with the same full page: the walk ends at the first
/// page that brings nothing new instead of following the pages forever, and the one-page
/// re-list shows what the server really holds.
#[tokio::test]
async fn a_page_of_users_already_listed_ends_the_walk() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(page_of([0, 1], None))
        .mount(&server)
        .await;
    let listing = client(&server.uri(), 2)
        .list_users()
        .await
        .expect("the one-page re-list is consistent");
    assert_eq!(listing.users.len(), 2);
    // Page 1, page 2 (nothing new), then page 1 at per_page 3.
    assert_eq!(list_requests(&server).await.len(), 3);
}

/// An id that repeats on every pass is an error naming the page, never a plan.
#[tokio::test]
async fn ids_that_keep_repeating_are_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(page_of([0, 1, 1], None))
        .mount(&server)
        .await;
    let error = client(&server.uri(), 10)
        .list_users()
        .await
        .expect_err("never consistent");
    assert!(
        matches!(error, GotrueError::InconsistentListing { passes: 4, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("1 user(s) on page 1 were already listed"),
        "{error}"
    );
    assert_eq!(list_requests(&server).await.len(), 4);
}

#[tokio::test]
async fn plan_stops_with_exit_1_and_says_what_disagreed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(page_of([0, 1], Some("100000000000000000")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let manifest = dir.path().join("users.yaml");
    std::fs::write(
        &manifest,
        "version: 1\nname: listing\nusers:\n  - email: a@example.com\n",
    )
    .expect("write");
    let output = crate::support::binary::gotrue_sync()
        .args(["plan", "-f"])
        .arg(&manifest)
        .args(["--url", &server.uri()])
        .env("GOTRUE_ADMIN_TOKEN", TOKEN)
        .env("GOTRUE_FLAVOR", "netlify")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the user listing stayed inconsistent")
            && stderr.contains("reported 100000000000000000 users"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no plan is printed");
}

/// Users signing up while the pages are read shift the offsets (newest first): whatever the
/// interleaving, the listing handed to the planner is one consistent snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_during_the_listing_never_yields_a_torn_snapshot() {
    let emulator = Arc::new(
        crate::support::emulator::seeded((0..300).map(|n| SeedUser {
            email: format!("seeded{n}@example.com"),
            confirmed: true,
            ..SeedUser::default()
        }))
        .await,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let signups = {
        let emulator = Arc::clone(&emulator);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 40 {
                emulator
                    .seed_user(SeedUser {
                        email: format!("signup{n}@example.com"),
                        ..SeedUser::default()
                    })
                    .expect("signup");
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let admin = crate::support::emulator::admin(
        &emulator,
        ClientOptions {
            page_size: 5,
            list_parallelism: 2,
            ..ClientOptions::default()
        },
    );
    let result = admin.list_users().await;
    stop.store(true, Ordering::SeqCst);
    signups.await.expect("signups");
    match result {
        Ok(listing) => {
            assert_eq!(listing.total, Some(listing.users.len() as u64));
            let mut ids: Vec<&str> = listing.users.iter().map(|u| u.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), listing.users.len(), "no user twice");
            for n in 0..300 {
                let email = format!("seeded{n}@example.com");
                assert!(
                    listing.users.iter().any(|u| u.email == email),
                    "{email} missing"
                );
            }
        }
        Err(error) => assert!(
            matches!(error, GotrueError::InconsistentListing { .. }),
            "{error}"
        ),
    }
}

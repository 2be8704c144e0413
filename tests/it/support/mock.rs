//! wiremock helpers: a listing page, a server that lists users, the requests it saw, and an
//! admin client over a transport of its own.

use std::sync::Arc;

use gotrue_sync::gotrue::{AdminClient, AdminCredentials, Transport, TransportOptions};
use gotrue_sync::secret::{Redactor, Secret};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// One page of `GET /admin/users` with `X-Total-Count: total`.
pub fn page(users: Vec<Value>, total: usize) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("X-Total-Count", total.to_string().as_str())
        .set_body_json(json!({"aud": "", "users": users}))
}

/// Answers every `GET /admin/users` on `server` with `users`, on one page.
pub async fn list_returns(server: &MockServer, users: Vec<Value>) {
    let total = users.len();
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(page(users, total))
        .mount(server)
        .await;
}

/// A server whose listing is `users`.
pub async fn server_listing(users: Vec<Value>) -> MockServer {
    let server = MockServer::start().await;
    list_returns(&server, users).await;
    server
}

/// Every request `server` received. Fails rather than answer "none" when recording is off,
/// so an assertion on this list cannot pass vacuously.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

/// An admin client of `server` with `token`, over a transport of its own built with
/// `options` (which the caller may watch, e.g. its in-flight limit); eight pages listed at once.
pub fn admin_over(
    server: &MockServer,
    token: &str,
    options: TransportOptions,
    page_size: u32,
) -> (Arc<Transport>, AdminClient) {
    let transport = Transport::new(&server.uri(), options, Redactor::new()).expect("transport");
    let admin = AdminClient::with_transport(
        Arc::clone(&transport),
        AdminCredentials::Token(Secret::new(token)),
        page_size,
        8,
    )
    .expect("client");
    (transport, admin)
}

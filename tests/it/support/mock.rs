//! wiremock helpers: a listing page, a server that lists users, and the requests it saw.

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

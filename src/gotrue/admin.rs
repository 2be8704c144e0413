//! `AdminClient`: the admin API (list, create, invite, update, delete) with authentication,
//! retries and errors that name the request and the user.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::auth::{
    mint_admin_token, unix_now, AdminCredentials, CachedToken, MINTED_TOKEN_LIFETIME,
};
use super::error::{GotrueError, RequestLabel};
use super::flavor::{AuthHeaders, Flavor, FlavorChoice, ServerError};
use super::link::{GenerateLinkRequest, GeneratedLink, LinkKind};
use super::user::{CreateUserRequest, InviteRequest, RemoteUser, UpdateUserRequest};
use crate::identity::email_key;
use crate::secret::Secret;

/// Retry behaviour for transient failures (connection errors, 429, 502, 503, 504).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First back-off delay; doubles each retry, with jitter.
    pub base_delay: Duration,
    /// Upper bound of one delay, including a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Audience, sent as `X-JWT-AUD` (and the `aud` of minted tokens).
    pub aud: Option<String>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// `per_page` for listing. Never 0: the server divides by it and drops the connection.
    pub page_size: u32,
    /// How many list pages are fetched at once after the first.
    pub list_parallelism: usize,
    /// Retries.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            aud: None,
            timeout: Duration::from_secs(30),
            page_size: 1000,
            list_parallelism: 8,
            retry: RetryPolicy::default(),
        }
    }
}

/// Every user of the instance (in the client's audience), from all pages.
#[derive(Debug, Clone)]
pub struct UserListing {
    /// Users, de-duplicated by id, in server order.
    pub users: Vec<RemoteUser>,
    /// `X-Total-Count` of the first page, if sent.
    pub total: Option<u64>,
    /// Things worth telling the user (count mismatch, duplicates across pages).
    pub warnings: Vec<String>,
}

/// Whether a request may be repeated after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// GET, PUT and DELETE: repeating gives the same end state.
    Idempotent,
    /// Create and invite: repeated only when the server surely did not act on it.
    OnlyIfNotReceived,
}

#[derive(Deserialize)]
struct ListBody {
    #[serde(default)]
    users: Vec<RemoteUser>,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Secret,
    expires_in: Option<u64>,
}

struct Answer {
    headers: HeaderMap,
    body: bytes::Bytes,
}

/// The GoTrue admin API client.
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    credentials: AdminCredentials,
    options: ClientOptions,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    requests: AtomicU64,
    /// `--flavor` as given; `auto` is resolved by the first request.
    flavor_choice: FlavorChoice,
    flavor: tokio::sync::OnceCell<Flavor>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// A client for the GoTrue root at `url` (e.g. `https://site.example/.netlify/identity`).
    pub fn new(
        url: &str,
        credentials: AdminCredentials,
        options: ClientOptions,
    ) -> Result<Self, GotrueError> {
        let base = normalize_base_url(url)?;
        if options.page_size == 0 {
            return Err(GotrueError::Config(
                "page size must be at least 1 (GoTrue drops the connection on per_page=0)".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("gotrue-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .build()
            .map_err(|e| GotrueError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(AdminClient {
            http,
            base,
            credentials,
            options,
            token: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
            flavor_choice: FlavorChoice::Netlify,
            flavor: tokio::sync::OnceCell::new(),
        })
    }

    /// The same client, speaking the flavour `choice` names (netlify/gotrue until told). For
    /// `auto` the URL's shape decides when it gives the flavour away, else `GET /settings`,
    /// asked by the first request, so that a command that fails before talking to the server
    /// sends nothing. Credentials that cannot work on the flavour are refused with a sentence
    /// that says why (an admin password login on Supabase, a publishable key).
    pub fn with_flavor(mut self, choice: FlavorChoice) -> Result<Self, GotrueError> {
        self.flavor_choice = choice;
        self.flavor = tokio::sync::OnceCell::new();
        if let Some(flavor) = choice
            .fixed()
            .or_else(|| Flavor::from_url_shape(&self.base))
        {
            self.accept_credentials(flavor)?;
            self.flavor = tokio::sync::OnceCell::new_with(Some(flavor));
        }
        Ok(self)
    }

    /// The flavour the client speaks, asking the server the first time when it is `auto`.
    pub async fn flavor(&self) -> Result<Flavor, GotrueError> {
        self.flavor
            .get_or_try_init(|| async {
                let flavor = match self.flavor_choice.fixed() {
                    Some(flavor) => flavor,
                    None => self.detect_flavor().await?,
                };
                self.accept_credentials(flavor)?;
                Ok(flavor)
            })
            .await
            .copied()
    }

    fn accept_credentials(&self, flavor: Flavor) -> Result<(), GotrueError> {
        let refusal = match &self.credentials {
            AdminCredentials::Token(token) => flavor.refuse_admin_credential(token),
            AdminCredentials::JwtSecret(_) => None,
            AdminCredentials::Password { .. } => flavor.refuse_password_admin().map(str::to_owned),
        };
        refusal.map_or(Ok(()), |reason| Err(GotrueError::Config(reason)))
    }

    /// `GET /settings` (no credentials needed) read for its flavour.
    async fn detect_flavor(&self) -> Result<Flavor, GotrueError> {
        let label = RequestLabel::new("GET", "/settings", None);
        let answer = self
            .send_as(
                &label,
                Method::GET,
                "/settings",
                None,
                Repeat::Idempotent,
                None,
            )
            .await?;
        let settings: serde_json::Value = decode(&label, &answer.body)?;
        Flavor::detect(&settings).map_err(|e| GotrueError::Decode {
            request: label,
            detail: e.to_string(),
        })
    }

    /// The GoTrue root URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// How many HTTP requests this client has sent (including logins and retries).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The page size used for listing.
    pub fn page_size(&self) -> u32 {
        self.options.page_size
    }

    /// Lists every user: the first page tells the total, the remaining pages are fetched
    /// concurrently. Pages are offset-based and ordered by a one-second timestamp, so they
    /// can overlap; users are de-duplicated by id and a count mismatch is reported.
    pub async fn list_users(&self) -> Result<UserListing, GotrueError> {
        let per_page = u64::from(self.options.page_size);
        let (mut users, total) = self.list_page(1).await?;
        match total {
            Some(total) => {
                let page_count = total.div_ceil(per_page).max(1);
                users.reserve(
                    usize::try_from(total)
                        .unwrap_or(0)
                        .saturating_sub(users.len()),
                );
                // Each page is moved into the one listing as it arrives (in page order), so
                // no second copy of the listing exists at the end.
                users = stream::iter(2..=page_count)
                    .map(|page| async move { self.list_page(page).await.map(|(users, _)| users) })
                    .buffered(self.options.list_parallelism.max(1))
                    .try_fold(users, |mut users, page| async move {
                        users.extend(page);
                        Ok(users)
                    })
                    .await?;
            }
            None => {
                // No total: walk pages until a short one.
                let mut page = 1;
                let mut last_len = users.len();
                while last_len as u64 == per_page {
                    page += 1;
                    let (more, _) = self.list_page(page).await?;
                    last_len = more.len();
                    users.extend(more);
                }
            }
        }
        let duplicates = dedupe_by_id(&mut users);
        let mut warnings = Vec::new();
        if duplicates > 0 {
            warnings.push(format!(
                "{duplicates} user(s) appeared on two pages (the server pages by creation time); counted once"
            ));
        }
        if let Some(total) = total {
            if total != users.len() as u64 {
                warnings.push(format!(
                    "the server reported {total} users but {} were listed; users may have been added or removed while listing",
                    users.len()
                ));
            }
        }
        Ok(UserListing {
            users,
            total,
            warnings,
        })
    }

    async fn list_page(&self, page: u64) -> Result<(Vec<RemoteUser>, Option<u64>), GotrueError> {
        let label = RequestLabel::new("GET", "/admin/users", None);
        let query = format!("page={page}&per_page={}", self.options.page_size);
        let answer = self
            .send(
                &label,
                Method::GET,
                &format!("/admin/users?{query}"),
                None,
                Repeat::Idempotent,
            )
            .await?;
        let total = answer
            .headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body: ListBody = decode(&label, &answer.body)?;
        Ok((body.users, total))
    }

    /// Finds a user by e-mail (case-insensitively) with the server's `filter`, lower-cased
    /// where the filter is case-sensitive (supabase/auth).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<RemoteUser>, GotrueError> {
        let label = RequestLabel::new("GET", "/admin/users", Some(email));
        let key = email_key(email);
        let path = format!(
            "/admin/users?per_page={}&filter={}",
            self.options.page_size,
            url_encode(&self.flavor().await?.lookup_filter(email))
        );
        let answer = self
            .send(&label, Method::GET, &path, None, Repeat::Idempotent)
            .await?;
        let body: ListBody = decode(&label, &answer.body)?;
        Ok(body.users.into_iter().find(|u| email_key(&u.email) == key))
    }

    /// `POST /admin/users`. After an ambiguous failure (timeout, 502–504) the user is looked
    /// up by e-mail before trying again, so a create is never sent twice by accident.
    pub async fn create_user(
        &self,
        request: &CreateUserRequest,
    ) -> Result<RemoteUser, GotrueError> {
        let label = RequestLabel::new("POST", "/admin/users", Some(&request.email));
        let mut body = self.write_body(&label, request).await?;
        if !self.flavor().await?.create_sets_app_metadata() {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("app_metadata");
            }
        }
        self.create_like(&label, &request.email, &body).await
    }

    /// `POST /invite`, with the same care as [`AdminClient::create_user`].
    pub async fn invite_user(&self, request: &InviteRequest) -> Result<RemoteUser, GotrueError> {
        let label = RequestLabel::new("POST", "/invite", Some(&request.email));
        self.create_like(&label, &request.email, request).await
    }

    async fn create_like<B: Serialize>(
        &self,
        label: &RequestLabel,
        email: &str,
        body: &B,
    ) -> Result<RemoteUser, GotrueError> {
        let bytes = encode(label, body)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .send(
                    label,
                    Method::POST,
                    &label.path,
                    Some(bytes.clone()),
                    Repeat::OnlyIfNotReceived,
                )
                .await;
            match result {
                Ok(answer) => return decode(label, &answer.body),
                Err(error) if is_ambiguous(&error) && attempt <= self.options.retry.max_retries => {
                    tracing::warn!(request = %label, %error, "outcome unknown; looking the user up before retrying");
                    if let Some(user) = self.find_user_by_email(email).await? {
                        return Ok(user);
                    }
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `PUT /admin/users/{id}`; `email` names the user in errors.
    pub async fn update_user(
        &self,
        id: &str,
        email: &str,
        request: &UpdateUserRequest,
    ) -> Result<RemoteUser, GotrueError> {
        let path = format!("/admin/users/{id}");
        let label = RequestLabel::new("PUT", path.clone(), Some(email));
        let bytes = encode(&label, &self.write_body(&label, request).await?)?;
        let answer = self
            .send(&label, Method::PUT, &path, Some(bytes), Repeat::Idempotent)
            .await?;
        decode(&label, &answer.body)
    }

    /// `POST /admin/generate_link {type, email}` (supabase/auth): the mail's token without
    /// the mail. An invite link creates the user when it does not exist, so it is never
    /// repeated after an ambiguous failure.
    pub async fn generate_link(
        &self,
        kind: LinkKind,
        email: &str,
    ) -> Result<GeneratedLink, GotrueError> {
        let path = "/admin/generate_link";
        let label = RequestLabel::new("POST", path, Some(email));
        let bytes = encode(&label, &GenerateLinkRequest { kind, email })?;
        let answer = self
            .send(
                &label,
                Method::POST,
                path,
                Some(bytes),
                Repeat::OnlyIfNotReceived,
            )
            .await?;
        decode(&label, &answer.body)
    }

    /// An admin write body in the words of the client's flavour.
    async fn write_body<B: Serialize>(
        &self,
        label: &RequestLabel,
        request: &B,
    ) -> Result<serde_json::Value, GotrueError> {
        let body = serde_json::to_value(request).map_err(|e| GotrueError::Decode {
            request: label.clone(),
            detail: format!("cannot encode the request body: {e}"),
        })?;
        Ok(self.flavor().await?.admin_write_body(body))
    }

    /// `DELETE /admin/users/{id}`. A 404 means the user is already gone: the goal is met.
    pub async fn delete_user(&self, id: &str, email: &str) -> Result<(), GotrueError> {
        let path = format!("/admin/users/{id}");
        let label = RequestLabel::new("DELETE", path.clone(), Some(email));
        match self
            .send(&label, Method::DELETE, &path, None, Repeat::Idempotent)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.status() == Some(404) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn bearer(&self, flavor: Flavor) -> Result<Secret, GotrueError> {
        let (email, password) = match &self.credentials {
            AdminCredentials::Token(token) => return Ok(token.clone()),
            AdminCredentials::JwtSecret(secret) => {
                let now = unix_now();
                let mut cached = self.token.lock().await;
                if let Some(token) = cached.as_ref().filter(|t| t.fresh(now)) {
                    return Ok(token.token.clone());
                }
                let aud = self.options.aud.as_deref().unwrap_or("");
                let claims = flavor.admin_claims(aud, now, MINTED_TOKEN_LIFETIME);
                let token = mint_admin_token(secret, &claims);
                *cached = Some(CachedToken {
                    token: token.clone(),
                    expires_at: Some(now + MINTED_TOKEN_LIFETIME.as_secs()),
                });
                return Ok(token);
            }
            AdminCredentials::Password { email, password } => (email, password),
        };
        let mut cached = self.token.lock().await;
        let now = unix_now();
        if let Some(token) = cached.as_ref().filter(|t| t.fresh(now)) {
            return Ok(token.token.clone());
        }
        let token = self.password_login(email, password).await?;
        let result = token.token.clone();
        *cached = Some(token);
        Ok(result)
    }

    /// Logs the admin user in with the password grant (form-encoded, as `/token` requires).
    async fn password_login(
        &self,
        email: &str,
        password: &Secret,
    ) -> Result<CachedToken, GotrueError> {
        let label = RequestLabel::new("POST", "/token", Some(email));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.post(format!("{}/token", self.base)).form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password.expose()),
            ]);
            if let Some(aud) = &self.options.aud {
                request = request.header("X-JWT-AUD", aud);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = request.send().await;
            match self
                .classify(&label, response, Repeat::Idempotent, attempt, None)
                .await
            {
                Step::Done(answer) => {
                    let body: TokenBody = decode(&label, &answer.body)?;
                    return Ok(CachedToken {
                        token: body.access_token,
                        expires_at: body.expires_in.map(|s| unix_now() + s),
                    });
                }
                Step::Retry(delay) => tokio::time::sleep(delay).await,
                Step::Fail(error) => return Err(error),
            }
        }
    }

    async fn send(
        &self,
        label: &RequestLabel,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        repeat: Repeat,
    ) -> Result<Answer, GotrueError> {
        let flavor = self.flavor().await?;
        self.send_as(label, method, path_and_query, body, repeat, Some(flavor))
            .await
    }

    /// Sends with the admin credential in the headers `flavor` reads, or with none.
    async fn send_as(
        &self,
        label: &RequestLabel,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        repeat: Repeat,
        flavor: Option<Flavor>,
    ) -> Result<Answer, GotrueError> {
        let url = format!("{}{}", self.base, path_and_query);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let headers = match flavor {
                Some(flavor) => {
                    let credential = self.bearer(flavor).await?;
                    // A token this client obtained itself (minted or logged in) is no
                    // gateway key.
                    let obtained = !matches!(self.credentials, AdminCredentials::Token(_));
                    flavor.admin_auth_headers(&credential, obtained)
                }
                None => AuthHeaders::default(),
            };
            let mut request = self.http.request(method.clone(), &url);
            if let Some(bearer) = &headers.bearer {
                request = request.bearer_auth(bearer.expose());
            }
            if let Some(key) = &headers.apikey {
                request = request.header("apikey", key.expose());
            }
            if let Some(aud) = &self.options.aud {
                request = request.header("X-JWT-AUD", aud);
            }
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(request = %label, attempt, "sending");
            let response = request.send().await;
            match self
                .classify(label, response, repeat, attempt, flavor)
                .await
            {
                Step::Done(answer) => return Ok(answer),
                Step::Retry(delay) => {
                    tracing::info!(request = %label, attempt, delay_ms = delay.as_millis() as u64, "retrying");
                    tokio::time::sleep(delay).await;
                }
                Step::Fail(error) => return Err(error),
            }
        }
    }

    /// Decides what a response means: success, a retry after some delay, or a failure.
    async fn classify(
        &self,
        label: &RequestLabel,
        response: Result<reqwest::Response, reqwest::Error>,
        repeat: Repeat,
        attempt: u32,
        flavor: Option<Flavor>,
    ) -> Step {
        let retries_left = attempt <= self.options.retry.max_retries;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                let not_sent = error.is_connect();
                let error = GotrueError::Transport {
                    request: label.clone(),
                    detail: describe_transport_error(&error),
                    not_sent,
                };
                let may_repeat = repeat == Repeat::Idempotent || not_sent;
                return if may_repeat && retries_left {
                    Step::Retry(self.backoff(attempt))
                } else {
                    Step::Fail(error)
                };
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let error_code = headers
            .get("x-sb-error-code")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => {
                return Step::Fail(GotrueError::Transport {
                    request: label.clone(),
                    detail: format!(
                        "reading the response failed: {}",
                        describe_transport_error(&error)
                    ),
                    not_sent: false,
                })
            }
        };
        if status.is_success() {
            return Step::Done(Answer { headers, body });
        }
        let server = ServerError::parse(error_code.as_deref(), &body);
        let mut message = server.describe();
        let hint = flavor.and_then(|f| server.admin_credential_hint(Some(f), status.as_u16()));
        if let Some(hint) = hint {
            message = format!("{message}. {hint}");
        }
        let error = GotrueError::Api {
            request: label.clone(),
            status: status.as_u16(),
            message,
        };
        // 429 is answered before the handler runs, so even a create may be repeated; the
        // gateway errors may or may not have reached GoTrue, so creates leave them to the
        // caller's look-up.
        let transient = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        );
        let may_repeat = repeat == Repeat::Idempotent || status == StatusCode::TOO_MANY_REQUESTS;
        if transient && may_repeat && retries_left {
            let delay = retry_after(&headers)
                .map(|d| d.min(self.options.retry.max_delay))
                .unwrap_or_else(|| self.backoff(attempt));
            return Step::Retry(delay);
        }
        Step::Fail(error)
    }

    /// Exponential back-off with jitter (between half and all of the doubled delay), so that
    /// parallel workers hitting one limit do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let policy = &self.options.retry;
        let exp = policy
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(policy.max_delay);
        let millis = exp.as_millis() as u64;
        let jittered = rand::thread_rng().gen_range(millis / 2..=millis.max(1));
        Duration::from_millis(jittered)
    }
}

enum Step {
    Done(Answer),
    Retry(Duration),
    Fail(GotrueError),
}

fn is_ambiguous(error: &GotrueError) -> bool {
    match error {
        GotrueError::Transport { not_sent, .. } => !not_sent,
        GotrueError::Api { status, .. } => matches!(status, 502..=504),
        _ => false,
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A transport error with its chain of causes, for messages.
pub(crate) fn describe_transport_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut detail = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}

fn encode<B: Serialize>(label: &RequestLabel, body: &B) -> Result<Vec<u8>, GotrueError> {
    serde_json::to_vec(body).map_err(|e| GotrueError::Decode {
        request: label.clone(),
        detail: format!("cannot encode the request body: {e}"),
    })
}

fn decode<T: DeserializeOwned>(label: &RequestLabel, body: &[u8]) -> Result<T, GotrueError> {
    serde_json::from_slice(body).map_err(|e| GotrueError::Decode {
        request: label.clone(),
        detail: format!("invalid JSON ({e})"),
    })
}

/// Keeps the first of users that share an id (offset pages over a changing listing can
/// repeat a user) and returns how many were dropped. The ids are borrowed, not cloned.
fn dedupe_by_id(users: &mut Vec<RemoteUser>) -> usize {
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(users.len());
        users.iter().map(|u| seen.insert(u.id.as_str())).collect()
    };
    let before = users.len();
    let mut keep = keep.into_iter();
    users.retain(|_| keep.next().unwrap_or(true));
    before - users.len()
}

/// Checks the target URL and removes a trailing slash.
pub fn normalize_base_url(url: &str) -> Result<String, GotrueError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| GotrueError::Config(format!("invalid GoTrue URL `{url}`: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(GotrueError::Config(format!(
            "invalid GoTrue URL `{url}`: use http:// or https://"
        )));
    }
    if parsed.query().is_some() {
        return Err(GotrueError::Config(format!(
            "invalid GoTrue URL `{url}`: remove the query string"
        )));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Percent-encodes a query value.
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_ids_keep_their_first_listing() {
        let user = |id: &str, email: &str| -> RemoteUser {
            serde_json::from_value(serde_json::json!({"id": id, "email": email})).expect("user")
        };
        let mut users = vec![
            user("1", "a@example.com"),
            user("2", "b@example.com"),
            user("1", "a-later@example.com"),
            user("3", "c@example.com"),
            user("2", "b-later@example.com"),
        ];
        assert_eq!(dedupe_by_id(&mut users), 2);
        let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(emails, ["a@example.com", "b@example.com", "c@example.com"]);
    }

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8081/").expect("ok"),
            "http://127.0.0.1:8081"
        );
        assert_eq!(
            normalize_base_url("https://site.example/.netlify/identity").expect("ok"),
            "https://site.example/.netlify/identity"
        );
        assert!(normalize_base_url("ftp://x").is_err());
        assert!(normalize_base_url("not a url").is_err());
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(url_encode("a+b@example.com"), "a%2Bb%40example.com");
    }

    #[test]
    fn zero_page_size_is_refused() {
        let options = ClientOptions {
            page_size: 0,
            ..Default::default()
        };
        let error = AdminClient::new(
            "http://127.0.0.1:1",
            AdminCredentials::Token(Secret::new("t")),
            options,
        )
        .expect_err("page size 0");
        assert!(error.to_string().contains("at least 1"));
    }
}

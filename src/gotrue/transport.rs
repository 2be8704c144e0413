//! One HTTP transport for the admin and user clients: the connection settings (TLS roots,
//! timeout, audience), the one retry loop, and the pure decision behind it.
//!
//! A request carries a [`Rule`] saying when it may be sent again; after every attempt the
//! loop turns what happened into an [`Attempt`] and asks [`decide`] for the next [`Step`].

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::error::{GotrueError, RequestLabel};
use super::flavor::{AuthHeaders, ServerError};
use super::limit::{AdaptiveLimit, LimitMode};
use crate::secret::{Redactor, Secret};

/// Retry behaviour for transient failures.
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

/// When a request may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Never: visitor flows report what a browser would see, and a browser does not retry.
    Never,
    /// GET, PUT, DELETE: repeating gives the same end state.
    Idempotent,
    /// Create and invite: only when the server surely did not act on it. After an ambiguous
    /// failure the caller looks the user up before anything is sent again.
    OnlyIfNotReceived,
}

/// What one attempt came to, as far as deciding the next step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The connection was refused (or timed out while connecting): nothing was sent.
    NotSent,
    /// A failure that repeating will not cure: the host name does not resolve, TLS refused
    /// the certificate, the URL is unusable.
    Unreachable,
    /// Sent, but no answer came (timeout, connection dropped): it may have been acted on.
    Lost,
    /// A complete answer. `mail_limit`: a 429 naming the server's e-mail sending limit.
    Answered {
        /// HTTP status.
        status: u16,
        /// `Retry-After` in seconds, if the server sent one.
        retry_after: Option<Duration>,
        /// The server said its mail limit is reached (`over_email_send_rate_limit`).
        mail_limit: bool,
    },
    /// A status arrived but the body broke off.
    Truncated {
        /// HTTP status.
        status: u16,
    },
    /// A 2xx whose body is not what the endpoint returns (not JSON, wrong shape).
    Malformed,
}

/// What the loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The answer is good.
    Accept,
    /// Send again after the wait.
    Retry(Wait),
    /// The request may or may not have been acted on: look the user up, then decide.
    LookUp,
    /// Give up and report the error.
    Fail,
}

/// How long to wait before a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Exponential back-off with jitter.
    Backoff,
    /// What the server asked for in `Retry-After` (capped by the policy).
    RetryAfter(Duration),
}

/// The retry decision: pure, so that every status and fault is tested by a table.
/// `attempt` counts from 1; `max_retries` retries may follow the first attempt.
pub fn decide(attempt: Attempt, rule: Rule, number: u32, max_retries: u32) -> Step {
    let retries_left = number <= max_retries;
    let retry = |wait| {
        if retries_left {
            Step::Retry(wait)
        } else {
            Step::Fail
        }
    };
    // A request that may have been acted on: repeat it only if that is harmless.
    let ambiguous = || match rule {
        Rule::Never => Step::Fail,
        Rule::Idempotent => retry(Wait::Backoff),
        Rule::OnlyIfNotReceived => Step::LookUp,
    };
    match attempt {
        Attempt::Unreachable => Step::Fail,
        Attempt::NotSent => match rule {
            Rule::Never => Step::Fail,
            Rule::Idempotent | Rule::OnlyIfNotReceived => retry(Wait::Backoff),
        },
        Attempt::Lost | Attempt::Malformed => match (attempt, rule) {
            // A complete but unreadable answer to a GET or PUT will read the same again.
            (Attempt::Malformed, Rule::Idempotent) => Step::Fail,
            _ => ambiguous(),
        },
        Attempt::Truncated { .. } => ambiguous(),
        Attempt::Answered {
            status,
            retry_after,
            mail_limit,
        } => match status {
            200..=299 => Step::Accept,
            // The mail limit resets within the hour, not within seconds.
            429 if mail_limit => Step::Fail,
            // Answered before any handler ran, so even a create may be repeated.
            429 => match rule {
                Rule::Never => Step::Fail,
                Rule::Idempotent | Rule::OnlyIfNotReceived => {
                    retry(retry_after.map_or(Wait::Backoff, Wait::RetryAfter))
                }
            },
            // A gateway's answer: GoTrue may or may not have seen the request.
            502..=504 => ambiguous(),
            _ => Step::Fail,
        },
    }
}

/// Which requests cost the server alike, for the in-flight limit: the method, the route (the
/// path's first two segments), whether an id follows, and the names of the query parameters.
/// So `PUT /admin/users/{id}` is one kind for every user, while a page of a thousand users, a
/// `filter` look-up and one user read by id, all `GET /admin/users…`, are three: a cheap
/// look-up must not set the uncontended time a listing page is judged against.
fn request_kind(call: &Call<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let route_end = call
        .path
        .match_indices('/')
        .nth(2)
        .map_or(call.path.len(), |(at, _)| at);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    call.method.as_str().hash(&mut hasher);
    call.path[..route_end].hash(&mut hasher);
    (call.path.len() > route_end + 1).hash(&mut hasher);
    for (name, _) in call.query {
        name.hash(&mut hasher);
    }
    hasher.finish()
}

/// Connection settings shared by every client of one run.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Audience, sent as `X-JWT-AUD` on every request.
    pub aud: Option<String>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Extra CA certificates (PEM) to trust besides the platform's.
    pub ca_certs: Vec<PathBuf>,
    /// Allow `http://` to a host that is not loopback (the bearer token travels in clear).
    pub allow_insecure_http: bool,
    /// Most requests in flight at once. Within it the transport finds the number the server
    /// sustains, unless `in_flight` is [`LimitMode::Fixed`].
    pub max_in_flight: usize,
    /// Whether the number in flight follows the server's latency ([`LimitMode::Adaptive`]).
    pub in_flight: LimitMode,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            aud: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            ca_certs: Vec::new(),
            allow_insecure_http: false,
            max_in_flight: 32,
            in_flight: LimitMode::Adaptive,
        }
    }
}

/// A request body.
pub(crate) enum Payload<'a> {
    None,
    Json(Vec<u8>),
    Form(&'a [(&'a str, &'a str)]),
}

/// One request: what to send and how to label it in errors.
pub(crate) struct Call<'a> {
    pub label: RequestLabel,
    pub method: Method,
    /// Path below the GoTrue root, starting with `/`.
    pub path: &'a str,
    /// Query parameters; reqwest encodes them.
    pub query: &'a [(&'a str, String)],
    pub payload: Payload<'a>,
    pub rule: Rule,
}

/// A successful answer.
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as JSON (see [`decode_json`]).
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        decode_json(&self.body)
    }
}

/// An answer's body read as JSON; the error is the detail of a [`GotrueError::Decode`].
pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    // Checked as UTF-8 once and then read as text: read as bytes, serde_json checks every
    // string it reads on its own, 7% of the client's CPU while listing. A body that is not
    // UTF-8 throughout is read as bytes, as before: serde_json then checks only the strings
    // it reads, so bad bytes in a field the client skips do not fail the answer.
    let decoded = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    decoded.map_err(|e| format!("invalid JSON ({e})"))
}

/// What a look-up after an ambiguous failure of a [`Rule::OnlyIfNotReceived`] call found.
pub(crate) enum Found<T> {
    /// The request landed after all: this is its result.
    Landed(T),
    /// It did not land: it may be sent again.
    Absent,
    /// Nothing can tell (a generated link cannot be looked up): give up with the error.
    Unknown,
}

/// Supplies the credential headers of each attempt (a minted token may be renewed between
/// two), in the words of the server's flavour.
pub(crate) trait Authorize {
    async fn headers(&self) -> Result<AuthHeaders, GotrueError>;

    /// A hint to add when the server refuses this credential, if the answer is such a refusal.
    fn refusal_hint(&self, _error: &ServerError, _status: u16) -> Option<&'static str> {
        None
    }
}

/// No credential headers.
pub(crate) struct Anonymous;

impl Authorize for Anonymous {
    async fn headers(&self) -> Result<AuthHeaders, GotrueError> {
        Ok(AuthHeaders::default())
    }
}

impl Authorize for Secret {
    async fn headers(&self) -> Result<AuthHeaders, GotrueError> {
        Ok(AuthHeaders {
            bearer: Some(self.clone()),
            apikey: None,
        })
    }
}

/// The HTTP client of one GoTrue root, shared by the admin and user clients.
pub struct Transport {
    http: reqwest::Client,
    base: Url,
    aud: Option<String>,
    retry: RetryPolicy,
    redactor: Redactor,
    limit: AdaptiveLimit,
    requests: AtomicU64,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A body as `-vv` logs show it: secrets of the run redacted, and cut at a few KiB so a
    /// page of a thousand users does not flood the log.
    fn loggable_body(&self, body: &[u8]) -> String {
        const SHOWN: usize = 4096;
        // The whole body is redacted before it is cut, so that no secret is shown in part;
        // its strings are written as serde_json writes them first, which is the form the
        // redactor looks for (Go servers write `<` as `\u003c`, for one).
        let text = String::from_utf8_lossy(body);
        // An answer is logged before its tokens reach the redactor (a session is registered
        // once parsed), so fields that carry secrets are masked by name too, and first: the
        // redactor replaces a run secret wherever it appears, so a secret that is part of a
        // field name (`access`) or ends in a quote would otherwise break the names and the
        // quotes the masking reads, and let a token through.
        let masked = mask_secret_fields(&canonical_strings(&text));
        let redacted = self.redactor.redact(&masked);
        match redacted.char_indices().nth(SHOWN) {
            Some((cut, _)) => format!("{}… ({} bytes in all)", &redacted[..cut], body.len()),
            None => redacted,
        }
    }

    /// A transport for the GoTrue root at `url`. Refuses a URL with credentials in it, and
    /// plain `http://` to a host other than loopback unless `allow_insecure_http`.
    pub fn new(
        url: &str,
        options: TransportOptions,
        redactor: Redactor,
    ) -> Result<Arc<Self>, GotrueError> {
        let base = parse_base_url(url, options.allow_insecure_http)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("gotrue-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            // The bearer token must not follow a redirect to another host.
            .redirect(reqwest::redirect::Policy::none());
        for path in &options.ca_certs {
            let pem = std::fs::read(path).map_err(|e| {
                GotrueError::Config(format!(
                    "cannot read the CA certificate {}: {e}",
                    path.display()
                ))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                GotrueError::Config(format!("{} is not a PEM certificate: {e}", path.display()))
            })?;
            if certificates.is_empty() {
                return Err(GotrueError::Config(format!(
                    "{} holds no PEM certificate",
                    path.display()
                )));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder
            .build()
            .map_err(|e| GotrueError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Arc::new(Transport {
            http,
            base,
            aud: options.aud,
            retry: options.retry,
            redactor,
            limit: AdaptiveLimit::new(options.max_in_flight, options.in_flight),
            requests: AtomicU64::new(0),
        }))
    }

    /// The GoTrue root URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The audience sent as `X-JWT-AUD`, if any.
    pub fn aud(&self) -> Option<&str> {
        self.aud.as_deref()
    }

    /// The run's redactor: every message built from a server's answer passes it.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The error for a successful answer to `request` that could not be read: `detail`
    /// (which may quote the answer) redacted.
    pub(crate) fn malformed(&self, request: &RequestLabel, detail: &str) -> GotrueError {
        GotrueError::Decode {
            request: request.clone(),
            detail: self.redactor.redact(detail),
        }
    }

    /// How many HTTP requests were sent (retries and logins included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// How many requests may be in flight now (lowered by 429s, raised by successes).
    pub fn in_flight_limit(&self) -> usize {
        self.limit.current()
    }

    /// The underlying HTTP client, for requests outside the GoTrue API (the emulator's inbox).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `call` until [`decide`] accepts the answer or gives up; `parse` reads a 2xx
    /// answer. After an ambiguous failure of a [`Rule::OnlyIfNotReceived`] call, `look_up`
    /// says whether it landed after all ([`Found`]).
    pub(crate) async fn send<T, L>(
        &self,
        call: &Call<'_>,
        auth: &impl Authorize,
        parse: impl Fn(&Answer) -> Result<T, String>,
        look_up: impl Fn() -> L,
    ) -> Result<T, GotrueError>
    where
        L: std::future::Future<Output = Result<Found<T>, GotrueError>>,
    {
        let url = self.url(call.path)?;
        let mut number = 0;
        loop {
            number += 1;
            let headers = auth.headers().await?;
            let (attempt, result) = {
                let kind = request_kind(call);
                let permit = self.limit.acquire(kind).await;
                let (attempt, result, answered_in) =
                    self.attempt(call, &url, &headers, auth, &parse).await;
                permit.record(attempt, answered_in);
                (attempt, result)
            };
            match (
                decide(attempt, call.rule, number, self.retry.max_retries),
                result,
            ) {
                (Step::Accept, Ok(value)) => return Ok(value),
                (Step::Retry(wait), Err(error)) => {
                    let delay = match wait {
                        Wait::Backoff => self.backoff(number),
                        Wait::RetryAfter(delay) => delay.min(self.retry.max_delay),
                    };
                    tracing::info!(request = %call.label, attempt = number, %error, delay_ms = delay.as_millis() as u64, "retrying");
                    tokio::time::sleep(delay).await;
                }
                (Step::LookUp, Err(error)) => {
                    tracing::warn!(request = %call.label, %error, "outcome unknown; looking the user up before sending again");
                    match look_up().await? {
                        Found::Landed(value) => return Ok(value),
                        Found::Unknown => return Err(error),
                        Found::Absent if number > self.retry.max_retries => return Err(error),
                        Found::Absent => {}
                    }
                    tokio::time::sleep(self.backoff(number)).await;
                }
                (_, Err(error)) => return Err(error),
                // `decide` accepts only 2xx answers, and those are parsed into `Ok`.
                (_, Ok(value)) => return Ok(value),
            }
        }
    }

    /// One attempt: what happened, and either the parsed answer or the error to report.
    async fn attempt<T>(
        &self,
        call: &Call<'_>,
        url: &Url,
        headers: &AuthHeaders,
        auth: &impl Authorize,
        parse: &impl Fn(&Answer) -> Result<T, String>,
    ) -> (Attempt, Result<T, GotrueError>, Duration) {
        let mut request = self.http.request(call.method.clone(), url.clone());
        if !call.query.is_empty() {
            request = request.query(call.query);
        }
        if let Some(token) = &headers.bearer {
            request = request.bearer_auth(token.expose());
        }
        if let Some(key) = &headers.apikey {
            request = request.header("apikey", key.expose());
        }
        if let Some(aud) = &self.aud {
            request = request.header("X-JWT-AUD", aud);
        }
        request = match &call.payload {
            Payload::None => request,
            Payload::Json(bytes) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Payload::Form(fields) => request.form(fields),
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        // One `sending` line per request, retries included: the benchmark counts them.
        match &call.payload {
            Payload::Json(bytes) => tracing::debug!(
                request = %call.label,
                body = %self.loggable_body(bytes),
                "sending"
            ),
            Payload::None | Payload::Form(_) => tracing::debug!(request = %call.label, "sending"),
        }
        let started = std::time::Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let attempt = transport_attempt(&error);
                let error = GotrueError::Transport {
                    request: call.label.clone(),
                    detail: self.redactor.redact(&describe_transport_error(&error)),
                    not_sent: attempt == Attempt::NotSent,
                };
                return (attempt, Err(error), started.elapsed());
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => {
                let error = GotrueError::Transport {
                    request: call.label.clone(),
                    detail: format!(
                        "the answer ({status}) broke off: {}",
                        self.redactor.redact(&describe_transport_error(&error))
                    ),
                    not_sent: false,
                };
                return (Attempt::Truncated { status }, Err(error), started.elapsed());
            }
        };
        // The server's answer time, without our parsing of it: what the in-flight limit
        // judges the server's load by.
        let answered_in = started.elapsed();
        // `-v`: each request with its status and time; `-vv`: the answer too, redacted.
        // Headers never: they carry the credential.
        tracing::info!(
            request = %call.label,
            status,
            ms = answered_in.as_millis() as u64,
            "answered"
        );
        tracing::debug!(request = %call.label, body = %self.loggable_body(&body), "answer");
        if (200..300).contains(&status) {
            let answer = Answer { headers, body };
            return match parse(&answer) {
                Ok(value) => (
                    Attempt::Answered {
                        status,
                        retry_after: None,
                        mail_limit: false,
                    },
                    Ok(value),
                    answered_in,
                ),
                Err(detail) => (
                    Attempt::Malformed,
                    Err(self.malformed(&call.label, &detail)),
                    answered_in,
                ),
            };
        }
        let header_code = headers.get("x-sb-error-code").and_then(|v| v.to_str().ok());
        let server = ServerError::parse(header_code, &body);
        let mail_limit = status == 429 && names_mail_limit(&headers, &body);
        let error = if mail_limit {
            GotrueError::MailRateLimited {
                request: call.label.clone(),
                message: self.redactor.redact(&server.describe()),
            }
        } else {
            let mut message = server.describe();
            if let Some(hint) = auth.refusal_hint(&server, status) {
                message = format!("{message}. {hint}");
            }
            GotrueError::Api {
                request: call.label.clone(),
                status,
                message: self.redactor.redact(&message),
            }
        };
        let attempt = Attempt::Answered {
            status,
            retry_after: retry_after(&headers),
            mail_limit,
        };
        (attempt, Err(error), answered_in)
    }

    /// `path` below the root; the root's own path (`/.netlify/identity`) is kept.
    fn url(&self, path: &str) -> Result<Url, GotrueError> {
        let joined = format!("{}{path}", self.base_url());
        Url::parse(&joined)
            .map_err(|e| GotrueError::Config(format!("cannot build a URL for {path}: {e}")))
    }

    /// Exponential back-off with jitter (between half and all of the doubled delay), so that
    /// parallel workers hitting one limit do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let policy = &self.retry;
        let exp = policy
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(policy.max_delay);
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        let jittered = rand::thread_rng().gen_range(millis / 2..=millis.max(1));
        Duration::from_millis(jittered)
    }
}

/// Fields of request and answer bodies whose values are secrets: passwords, session
/// tokens, mail tokens and links that carry them.
const SECRET_FIELDS: [&str; 12] = [
    "password",
    "access_token",
    "refresh_token",
    "provider_token",
    "provider_refresh_token",
    "token",
    "token_hash",
    "hashed_token",
    "email_otp",
    "action_link",
    "confirmation_token",
    "recovery_token",
];

/// The JSON `text` with the value of every [`SECRET_FIELDS`] key at any depth shown as
/// `"(redacted)"` (a `null` stays). A byte scan, not a parse: parsing and printing a whole
/// page of a thousand users to log 4 KiB of it cost more than the listing itself
/// (BENCHMARKS.md). Text that is not JSON is kept as it is, but for what looks like a secret
/// key in it.
fn mask_secret_fields(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // `copied`: where the text not yet written out starts; `at`: how far it has been scanned.
    let (mut copied, mut at) = (0, 0);
    while let Some(offset) = text[at..].find('"') {
        let start = at + offset;
        let end = string_end(bytes, start);
        let colon = skip_space(bytes, end);
        let value = (bytes.get(colon) == Some(&b':')).then(|| skip_space(bytes, colon + 1));
        match value {
            Some(value)
                if is_secret_field(&text[start..end]) && !text[value..].starts_with("null") =>
            {
                out.push_str(&text[copied..value]);
                out.push_str("\"(redacted)\"");
                at = value_end(bytes, value);
                copied = at;
            }
            _ => at = end,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// `text` with every JSON string that has an escape in it written as serde_json writes it;
/// strings without one already are. Text that does not decode is left as it is.
fn canonical_strings(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut at) = (0, 0);
    while let Some(offset) = text[at..].find('"') {
        let start = at + offset;
        let end = string_end(bytes, start);
        let token = &text[start..end];
        if token.contains('\\') {
            if let Ok(canonical) = serde_json::from_str::<String>(token)
                .and_then(|decoded| serde_json::to_string(&decoded))
            {
                out.push_str(&text[copied..start]);
                out.push_str(&canonical);
                copied = end;
            }
        }
        at = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Whether the JSON string `quoted` (with its quotes) names a [`SECRET_FIELDS`] key.
fn is_secret_field(quoted: &str) -> bool {
    let name = if quoted.contains('\\') {
        match serde_json::from_str::<String>(quoted) {
            Ok(name) => Cow::Owned(name),
            Err(_) => return false,
        }
    } else {
        Cow::Borrowed(quoted.trim_matches('"'))
    };
    SECRET_FIELDS.contains(&name.as_ref())
}

/// Just past the JSON string that starts at `start` (its opening quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Just past the JSON value that starts at `start`: a string, an object or array (nested
/// ones and strings in them skipped whole), or a scalar up to the next delimiter.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes.get(start) {
        Some(b'"') => string_end(bytes, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut at = start;
            while at < bytes.len() {
                match bytes[at] {
                    b'"' => {
                        at = string_end(bytes, at);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            bytes.len()
        }
        _ => {
            let mut at = start;
            while at < bytes.len()
                && !matches!(bytes[at], b',' | b'}' | b']')
                && !bytes[at].is_ascii_whitespace()
            {
                at += 1;
            }
            at
        }
    }
}

/// Whether a 429 names the server's e-mail sending limit (supabase/auth:
/// `error_code: over_email_send_rate_limit`, also in the `x-sb-error-code` header).
fn names_mail_limit(headers: &HeaderMap, body: &[u8]) -> bool {
    const CODE: &str = "over_email_send_rate_limit";
    let in_header = headers
        .get("x-sb-error-code")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == CODE);
    let in_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| {
            ["error_code", "code"]
                .iter()
                .any(|key| v.get(key).and_then(|c| c.as_str()) == Some(CODE))
        });
    in_header || in_body
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    retry_after_value(value, SystemTime::now())
}

/// `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3). A date already past
/// means "now"; one that does not parse is ignored, and the backoff applies.
fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What a reqwest error means for a retry: refused connections were never sent; a name
/// that does not resolve or a refused certificate will not get better by repeating.
fn transport_attempt(error: &reqwest::Error) -> Attempt {
    if error.is_builder() || error.is_redirect() {
        return Attempt::Unreachable;
    }
    if error.is_connect() {
        if error.is_timeout() || chain_has_io_kind(error, std::io::ErrorKind::ConnectionRefused) {
            return Attempt::NotSent;
        }
        return Attempt::Unreachable;
    }
    Attempt::Lost
}

fn chain_has_io_kind(error: &reqwest::Error, kind: std::io::ErrorKind) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == kind {
                return true;
            }
        }
        source = cause.source();
    }
    false
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

/// Checks the target URL: http(s), no credentials, no query, and TLS unless the host is
/// loopback or `allow_insecure_http`. The trailing slash is dropped.
fn parse_base_url(url: &str, allow_insecure_http: bool) -> Result<Url, GotrueError> {
    // Without a scheme, `user:password@host` parses as scheme `user`: refuse any such text
    // without showing it, since the part before `@` may be a password.
    if url.contains('@') && !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(GotrueError::Config(
            "the GoTrue URL has no http:// or https:// scheme and contains `@` (not shown, in case it holds user:password@); write https://HOST/… without credentials".into(),
        ));
    }
    let parsed = Url::parse(url.trim()).map_err(|e| {
        GotrueError::Config(format!(
            "invalid GoTrue URL: {e}; give e.g. https://site.example/.netlify/identity"
        ))
    })?;
    // Never echo a URL that holds credentials, not even in this refusal.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GotrueError::Config(
            "the GoTrue URL contains credentials (user:password@); remove them: admin credentials come from GOTRUE_ADMIN_TOKEN, GOTRUE_JWT_SECRET or GOTRUE_ADMIN_EMAIL/GOTRUE_ADMIN_PASSWORD".into(),
        ));
    }
    let shown = parsed.as_str().to_owned();
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&parsed) => {}
        "http" => {
            return Err(GotrueError::Config(format!(
                "refusing plain http:// to {shown}: the admin token would travel unencrypted. Use https://, or pass --allow-insecure-http if the network is trusted"
            )))
        }
        _ => {
            return Err(GotrueError::Config(format!(
                "invalid GoTrue URL `{shown}`: use http:// or https://"
            )))
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(GotrueError::Config(format!(
            "invalid GoTrue URL `{shown}`: remove the query string"
        )));
    }
    Ok(parsed)
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests;

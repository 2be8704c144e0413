//! `AdminClient`: the admin API (list, create, invite, update, delete, generate_link) with
//! authentication in the words of the server's [`Flavor`], over the one [`Transport`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesOrdered, StreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::auth::{
    mint_admin_token, unix_now, AdminCredentials, CachedToken, MINTED_TOKEN_LIFETIME,
};
use super::error::{GotrueError, RequestLabel};
use super::flavor::{AuthHeaders, Flavor, FlavorChoice, ServerError};
use super::link::{GenerateLinkRequest, GeneratedLink, LinkKind};
use super::transport::{
    decode_json, Anonymous, Answer, Authorize, Call, Found, Payload, RetryPolicy, Rule, Transport,
    TransportOptions,
};
use super::user::{CreateUserRequest, InviteRequest, RemoteUser, UpdateUserRequest};
use crate::identity::email_key;
use crate::secret::{Redactor, Secret};

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

/// Every user of the instance (in the client's audience), read as one consistent snapshot.
#[derive(Debug, Clone)]
pub struct UserListing {
    /// Users in server order, each once.
    pub users: Vec<RemoteUser>,
    /// `X-Total-Count`, if sent (and then equal to the number of users).
    pub total: Option<u64>,
    /// Things worth telling the user (an earlier inconsistent pass that was listed again).
    pub warnings: Vec<String>,
}

/// Passes after the first when a listing is inconsistent.
const MAX_RELISTS: usize = 3;

/// The largest `per_page` asked for when listing again in one page. Neither server caps
/// `per_page`; this keeps a lying `X-Total-Count` from asking for a page of 10^17 users.
const ONE_PAGE_LIMIT: u64 = 250_000;

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

/// One page of a listing.
struct Page {
    users: Vec<RemoteUser>,
    total: Option<u64>,
}

/// One pass over the pages.
#[derive(Default)]
struct Pass {
    users: Vec<RemoteUser>,
    total: Option<u64>,
    /// Why this pass cannot be trusted, if it cannot.
    problems: Vec<String>,
    requests: u64,
}

/// The GoTrue admin API client.
pub struct AdminClient {
    transport: Arc<Transport>,
    credentials: AdminCredentials,
    page_size: u32,
    list_parallelism: usize,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    /// `--flavor` as given; `auto` is resolved by the first request.
    flavor_choice: FlavorChoice,
    flavor: tokio::sync::OnceCell<Flavor>,
    /// Set once `filter` answered 500: netlify/gotrue's filter uses a JSON operator that
    /// MariaDB lacks, so every look-up on such a server lists the users instead.
    filter_fails: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.transport.base_url())
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// A client with its own transport for the GoTrue root at `url` (e.g.
    /// `https://site.example/.netlify/identity`). It speaks netlify/gotrue until
    /// [`AdminClient::with_flavor`] says otherwise.
    pub fn new(
        url: &str,
        credentials: AdminCredentials,
        options: ClientOptions,
    ) -> Result<Self, GotrueError> {
        let transport = Transport::new(
            url,
            TransportOptions {
                aud: options.aud,
                timeout: options.timeout,
                retry: options.retry,
                ..TransportOptions::default()
            },
            Redactor::new(),
        )?;
        AdminClient::with_transport(
            transport,
            credentials,
            options.page_size,
            options.list_parallelism,
        )
    }

    /// A client over a shared transport, speaking netlify/gotrue until
    /// [`AdminClient::with_flavor`] says otherwise.
    pub fn with_transport(
        transport: Arc<Transport>,
        credentials: AdminCredentials,
        page_size: u32,
        list_parallelism: usize,
    ) -> Result<Self, GotrueError> {
        if page_size == 0 {
            return Err(GotrueError::Config(
                "page size must be at least 1 (GoTrue drops the connection on per_page=0)".into(),
            ));
        }
        let redactor = transport.redactor();
        match &credentials {
            AdminCredentials::Token(token) => redactor.add(token),
            AdminCredentials::JwtSecret(secret) => redactor.add(secret),
            AdminCredentials::Password { password, .. } => redactor.add(password),
        }
        Ok(AdminClient {
            transport,
            credentials,
            page_size,
            list_parallelism: list_parallelism.max(1),
            token: tokio::sync::Mutex::new(None),
            flavor_choice: FlavorChoice::Netlify,
            flavor: tokio::sync::OnceCell::new(),
            filter_fails: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The same client, speaking the flavour `choice` names. For `auto` the URL's shape
    /// decides when it gives the flavour away, else `GET /settings`, asked by the first
    /// request, so that a command that fails before talking to the server sends nothing.
    /// Credentials that cannot work on the flavour are refused with a sentence that says why
    /// (an admin password login on Supabase, a publishable key).
    pub fn with_flavor(mut self, choice: FlavorChoice) -> Result<Self, GotrueError> {
        self.flavor_choice = choice;
        self.flavor = tokio::sync::OnceCell::new();
        if let Some(flavor) = choice
            .fixed()
            .or_else(|| Flavor::from_url_shape(self.transport.base_url()))
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
        let call = Call {
            label: label.clone(),
            method: Method::GET,
            path: "/settings",
            query: &[],
            payload: Payload::None,
            rule: Rule::Idempotent,
        };
        let settings: serde_json::Value = self
            .transport
            .send(&call, &Anonymous, Answer::json, no_look_up)
            .await?;
        Flavor::detect(&settings).map_err(|e| GotrueError::Decode {
            request: label,
            detail: e.to_string(),
        })
    }

    /// The GoTrue root URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// The transport this client sends through.
    pub fn transport(&self) -> &Arc<Transport> {
        &self.transport
    }

    /// How many HTTP requests were sent through this client's transport (including logins
    /// and retries).
    pub fn requests_sent(&self) -> u64 {
        self.transport.requests_sent()
    }

    /// Lists every user as one consistent snapshot.
    ///
    /// Pages are offset-based and ordered by a one-second timestamp, so a user added while
    /// listing shifts the offsets, and users with equal timestamps can overlap between pages.
    /// A pass is trusted only if no id repeats, no page after a short one holds users, and
    /// the count equals `X-Total-Count`, which is never used to size anything. Otherwise the
    /// listing is read again (up to [`MAX_RELISTS`] times) in one page larger than everything
    /// seen, and if it stays inconsistent this fails rather than return an incomplete list.
    pub async fn list_users(&self) -> Result<UserListing, GotrueError> {
        let mut per_page = self.page_size;
        let mut warnings = Vec::new();
        let mut attempts = Vec::new();
        for _ in 0..=MAX_RELISTS {
            let pass = self.read_pages(per_page).await?;
            if pass.problems.is_empty() {
                return Ok(UserListing {
                    users: pass.users,
                    total: pass.total,
                    warnings,
                });
            }
            let problem = summarize(&pass.problems);
            tracing::warn!(per_page, requests = pass.requests, %problem, "inconsistent listing; listing again");
            let seen = pass.total.unwrap_or(0).max(pass.users.len() as u64);
            let one_page = seen.saturating_add(1);
            per_page = if one_page <= ONE_PAGE_LIMIT {
                u32::try_from(one_page)
                    .unwrap_or(self.page_size)
                    .max(self.page_size)
            } else {
                self.page_size
            };
            warnings.push(format!(
                "the listing was inconsistent ({problem}); listed again with per_page={per_page}"
            ));
            attempts.push(problem);
        }
        Err(GotrueError::InconsistentListing {
            passes: attempts.len(),
            problems: attempts,
        })
    }

    /// One pass: the first page, then up to `list_parallelism` pages sent and not yet read
    /// (they are read in order), each sent once a page ahead of it has been read full of new
    /// users, until a short or empty page.
    /// `X-Total-Count` only bounds the pages sent (without it, one page at a time), so
    /// requests are bounded by what was received: at most `list_parallelism - 1` pages are
    /// sent past the end. A page is sent as soon as one comes back, not after a whole round
    /// of them: a round would leave the server idle while its slowest page is read.
    async fn read_pages(&self, per_page: u32) -> Result<Pass, GotrueError> {
        let size = u64::from(per_page);
        let first = self.list_page(1, per_page).await?;
        let mut pass = Pass {
            total: first.total,
            requests: 1,
            ..Pass::default()
        };
        let mut seen = SeenIds::default();
        let mut done = pass.take(1, first, size, &mut seen);
        // Pages the server announced (one more at a time, when it did not say).
        let announced = pass.total.map(|total| total.div_ceil(size));
        let ahead = if announced.is_some() {
            self.list_parallelism
        } else {
            1
        };
        let mut in_flight = FuturesOrdered::new();
        let mut next: u64 = 2;
        let mut number: u64 = 1;
        loop {
            while !done && in_flight.len() < ahead && announced.is_none_or(|pages| next <= pages) {
                in_flight.push_back(self.list_page(next, per_page));
                next += 1;
                pass.requests += 1;
            }
            let Some(page) = in_flight.next().await else {
                break;
            };
            let page = page?;
            number += 1;
            if done {
                if !page.users.is_empty() {
                    pass.problems.push(format!(
                        "page {number} held {} user(s) after a short page",
                        page.users.len()
                    ));
                }
                continue;
            }
            done = pass.take(number, page, size, &mut seen);
        }
        if let Some(total) = pass.total {
            if total != pass.users.len() as u64 {
                pass.problems.push(format!(
                    "the server reported {total} users (X-Total-Count) but {} were listed",
                    pass.users.len()
                ));
            }
        }
        Ok(pass)
    }

    async fn list_page(&self, page: u64, per_page: u32) -> Result<Page, GotrueError> {
        let label = RequestLabel::new("GET", "/admin/users", None);
        let query = [
            ("page", page.to_string()),
            ("per_page", per_page.to_string()),
        ];
        let call = Call {
            label,
            method: Method::GET,
            path: "/admin/users",
            query: &query,
            payload: Payload::None,
            rule: Rule::Idempotent,
        };
        let (total, body) = self
            .transport
            .send(
                &call,
                self,
                |answer| {
                    let total = answer
                        .headers
                        .get("x-total-count")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    Ok((total, answer.body.clone()))
                },
                no_look_up,
            )
            .await?;
        // A page of a thousand users takes milliseconds to parse. On this thread, that would
        // keep the other pages' answers unread meanwhile, and their times, by which the
        // in-flight limit judges the server, would count our parsing as the server's load.
        // The transport has recorded the answer by now, so a page that does not parse counts
        // as answered there; the listing fails on it all the same, as before.
        let parsed = tokio::task::spawn_blocking(move || decode_json::<ListBody>(&body)).await;
        let detail = match parsed {
            Ok(Ok(body)) => {
                return Ok(Page {
                    users: body.users,
                    total,
                })
            }
            Ok(Err(detail)) => detail,
            Err(stopped) if stopped.is_panic() => std::panic::resume_unwind(stopped.into_panic()),
            Err(_) => "the page was not parsed: the run is shutting down".to_owned(),
        };
        Err(self.transport.malformed(&call.label, &detail))
    }

    /// Finds a user by e-mail with the server's `filter` (lower-cased where the filter is
    /// case-sensitive, on supabase/auth), keeping only an exact match of the address as the
    /// servers compare it. Where `filter` answers 500 (netlify/gotrue on MariaDB, §11 of
    /// the contract) the whole listing is read instead, with its consistency checks.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<RemoteUser>, GotrueError> {
        use std::sync::atomic::Ordering;
        let key = email_key(email);
        if !self.filter_fails.load(Ordering::Relaxed) {
            match self.filter_users(email).await {
                Ok(users) => return Ok(users.into_iter().find(|u| email_key(&u.email) == key)),
                Err(error)
                    if error.status() == Some(500)
                        && self.flavor().await?.filter_may_be_unsupported() =>
                {
                    tracing::warn!(%error, "the server cannot filter users; listing them all to find one");
                    self.filter_fails.store(true, Ordering::Relaxed);
                }
                Err(error) => return Err(error),
            }
        }
        let listing = self.list_users().await?;
        for warning in &listing.warnings {
            tracing::warn!(%warning, "listing the users to find {email}");
        }
        Ok(listing
            .users
            .into_iter()
            .find(|u| email_key(&u.email) == key))
    }

    async fn filter_users(&self, email: &str) -> Result<Vec<RemoteUser>, GotrueError> {
        let label = RequestLabel::new("GET", "/admin/users", Some(email));
        let query = [
            ("per_page", self.page_size.to_string()),
            ("filter", self.flavor().await?.lookup_filter(email)),
        ];
        let call = Call {
            label,
            method: Method::GET,
            path: "/admin/users",
            query: &query,
            payload: Payload::None,
            rule: Rule::Idempotent,
        };
        let body: ListBody = self
            .transport
            .send(&call, self, Answer::json, no_look_up)
            .await?;
        Ok(body.users)
    }

    /// `POST /admin/users`. After an ambiguous failure (timeout, 502–504, a broken or
    /// unreadable answer) the user is looked up by e-mail before trying again, so a create
    /// is never sent twice by accident. `app_metadata` goes along only where the server
    /// stores it on create (supabase/auth).
    pub async fn create_user(
        &self,
        request: &CreateUserRequest,
    ) -> Result<RemoteUser, GotrueError> {
        self.transport.redactor().add(&request.password);
        let label = RequestLabel::new("POST", "/admin/users", Some(&request.email));
        let mut body = self.write_body(&label, request).await?;
        if !self.flavor().await?.create_sets_app_metadata() {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("app_metadata");
            }
        }
        self.create_like(label, &request.email, &body).await
    }

    /// `POST /invite`, with the same care as [`AdminClient::create_user`].
    pub async fn invite_user(&self, request: &InviteRequest) -> Result<RemoteUser, GotrueError> {
        let label = RequestLabel::new("POST", "/invite", Some(&request.email));
        self.create_like(label, &request.email, request).await
    }

    async fn create_like<B: Serialize>(
        &self,
        label: RequestLabel,
        email: &str,
        body: &B,
    ) -> Result<RemoteUser, GotrueError> {
        let payload = Payload::Json(encode(&label, body)?);
        let path = label.path.clone();
        let call = Call {
            label,
            method: Method::POST,
            path: &path,
            query: &[],
            payload,
            rule: Rule::OnlyIfNotReceived,
        };
        let look_up = || async {
            Ok(match self.find_user_by_email(email).await? {
                Some(user) => Found::Landed(user),
                None => Found::Absent,
            })
        };
        self.transport
            .send(&call, self, Answer::json, look_up)
            .await
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
        let payload = Payload::Json(encode(&label, &self.write_body(&label, request).await?)?);
        let call = Call {
            label,
            method: Method::PUT,
            path: &path,
            query: &[],
            payload,
            rule: Rule::Idempotent,
        };
        self.transport
            .send(&call, self, Answer::json, no_look_up)
            .await
    }

    /// `POST /admin/generate_link {type, email}` (supabase/auth): the mail's token without
    /// the mail. An invite link creates the user when it does not exist, and a link cannot be
    /// looked up, so it is never sent again after an ambiguous failure.
    pub async fn generate_link(
        &self,
        kind: LinkKind,
        email: &str,
    ) -> Result<GeneratedLink, GotrueError> {
        let label = RequestLabel::new("POST", "/admin/generate_link", Some(email));
        let payload = Payload::Json(encode(&label, &GenerateLinkRequest { kind, email })?);
        let call = Call {
            label,
            method: Method::POST,
            path: "/admin/generate_link",
            query: &[],
            payload,
            rule: Rule::OnlyIfNotReceived,
        };
        let link: GeneratedLink = self
            .transport
            .send(&call, self, Answer::json, no_look_up)
            .await?;
        self.transport.redactor().add(&link.hashed_token);
        Ok(link)
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
        let call = Call {
            label: RequestLabel::new("DELETE", path.clone(), Some(email)),
            method: Method::DELETE,
            path: &path,
            query: &[],
            payload: Payload::None,
            rule: Rule::Idempotent,
        };
        match self
            .transport
            .send(&call, self, |_| Ok(()), no_look_up)
            .await
        {
            Ok(()) => Ok(()),
            Err(error) if error.status() == Some(404) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Logs the admin user in with the password grant (form-encoded, as `/token` requires).
    async fn password_login(
        &self,
        email: &str,
        password: &Secret,
    ) -> Result<CachedToken, GotrueError> {
        let fields = [
            ("grant_type", "password"),
            ("username", email),
            ("password", password.expose()),
        ];
        let call = Call {
            label: RequestLabel::new("POST", "/token", Some(email)),
            method: Method::POST,
            path: "/token",
            query: &[],
            payload: Payload::Form(&fields),
            rule: Rule::Idempotent,
        };
        let body: TokenBody = self
            .transport
            .send(&call, &Anonymous, Answer::json, no_look_up)
            .await?;
        self.transport.redactor().add(&body.access_token);
        Ok(CachedToken {
            token: body.access_token,
            expires_at: body.expires_in.map(|s| unix_now() + s),
        })
    }
}

impl Authorize for AdminClient {
    /// The admin credential in the headers the flavour reads. A token this client obtained
    /// itself (minted or logged in) is no gateway key, so it goes as the bearer only.
    async fn headers(&self) -> Result<AuthHeaders, GotrueError> {
        let flavor = self.flavor().await?;
        let credential = self.credential(flavor).await?;
        let obtained = !matches!(self.credentials, AdminCredentials::Token(_));
        Ok(flavor.admin_auth_headers(&credential, obtained))
    }

    fn refusal_hint(&self, error: &ServerError, status: u16) -> Option<&'static str> {
        let flavor = *self.flavor.get()?;
        error.admin_credential_hint(Some(flavor), status)
    }
}

impl AdminClient {
    /// The admin credential: the token as given, a token minted with the flavour's claims,
    /// or the password login's token.
    async fn credential(&self, flavor: Flavor) -> Result<Secret, GotrueError> {
        let (email, password) = match &self.credentials {
            AdminCredentials::Token(token) => return Ok(token.clone()),
            AdminCredentials::JwtSecret(secret) => {
                let now = unix_now();
                let mut cached = self.token.lock().await;
                if let Some(token) = cached.as_ref().filter(|t| t.fresh(now)) {
                    return Ok(token.token.clone());
                }
                let aud = self.transport.aud().unwrap_or("");
                let claims = flavor.admin_claims(aud, now, MINTED_TOKEN_LIFETIME);
                let token = mint_admin_token(secret, &claims);
                self.transport.redactor().add(&token);
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
}

impl Pass {
    /// Adds page `number`; returns whether the listing ends with it (short or empty page,
    /// or a full page of users already listed).
    fn take(&mut self, number: u64, page: Page, size: u64, seen: &mut SeenIds) -> bool {
        if page.total != self.total {
            let shown = |t: Option<u64>| t.map_or_else(|| "(none)".to_owned(), |t| t.to_string());
            self.problems.push(format!(
                "X-Total-Count changed from {} to {} between pages",
                shown(self.total),
                shown(page.total)
            ));
        }
        let len = page.users.len() as u64;
        let mut repeated = 0;
        for user in page.users {
            if seen.insert(&user.id) {
                self.users.push(user);
            } else {
                repeated += 1;
            }
        }
        if repeated > 0 {
            self.problems.push(format!(
                "{repeated} user(s) on page {number} were already listed on an earlier page"
            ));
        }
        len < size || repeated == len
    }
}

/// The ids a pass has listed, to find a user listed twice. Both servers' ids are UUIDs: one
/// in canonical form (lower-case, hyphenated) is kept as its 128 bits, which no other
/// canonical id shares, rather than as a copy of its text; any other id is kept as text.
/// Hashed with foldhash (seeded per process) rather than SipHash: a million ids are a
/// million insertions, and a server crafting colliding ids could as well answer slowly.
#[derive(Default)]
struct SeenIds {
    uuids: HashSet<u128, foldhash::fast::RandomState>,
    others: HashSet<String, foldhash::fast::RandomState>,
}

impl SeenIds {
    /// Adds `id`; `false` if it was seen before.
    fn insert(&mut self, id: &str) -> bool {
        match canonical_uuid(id) {
            Some(bits) => self.uuids.insert(bits),
            None => self.others.insert(id.to_owned()),
        }
    }
}

/// The 128 bits of a UUID written as 32 lower-case hex digits hyphenated 8-4-4-4-12, the one
/// text for those bits; `None` for any other text.
fn canonical_uuid(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut bits: u128 = 0;
    for (place, &byte) in bytes.iter().enumerate() {
        if matches!(place, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return None;
            }
            continue;
        }
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        bits = bits << 4 | u128::from(digit);
    }
    Some(bits)
}

/// The first few problems of a pass and how many more there were: a listing torn by a
/// stream of signups disagrees on nearly every page.
fn summarize(problems: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = problems[..problems.len().min(SHOWN)].join("; ");
    if problems.len() > SHOWN {
        text.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    text
}

/// For calls that are never looked up: the look-ups themselves, idempotent calls (which
/// never ask), and generated links (which cannot be found again).
async fn no_look_up<T>() -> Result<Found<T>, GotrueError> {
    Ok(Found::Unknown)
}

fn encode<B: Serialize>(label: &RequestLabel, body: &B) -> Result<Vec<u8>, GotrueError> {
    serde_json::to_vec(body).map_err(|e| GotrueError::Decode {
        request: label.clone(),
        detail: format!("cannot encode the request body: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_the_same_as_text_or_as_bytes() {
        let page = r#"{"users":[{"id":"1","aud":"zoë","email":"zoë@example.com","app_metadata":{"n":"\u00e9"},"user_metadata":null}]}"#;
        let body: ListBody = decode_json(page.as_bytes()).expect("a UTF-8 page");
        assert_eq!(body.users[0].email, "zoë@example.com");
        assert_eq!(body.users[0].app_metadata.json(), r#"{"n":"\u00e9"}"#);

        // The second byte of an `ë`, no longer a continuation byte: in `aud`, which the
        // client skips, the page still reads; in `email`, which it reads, it does not.
        let broken = |nth: usize| {
            let (at, _) = page.match_indices('ë').nth(nth).expect("an ë");
            let mut bytes = page.as_bytes().to_vec();
            bytes[at + 1] = b'@';
            bytes
        };
        let body: ListBody = decode_json(&broken(0)).expect("bad bytes in a skipped field");
        assert_eq!(body.users[0].email, "zoë@example.com");
        let Err(detail) = decode_json::<ListBody>(&broken(1)) else {
            panic!("an address that is not UTF-8 was read");
        };
        assert!(
            detail.starts_with("invalid JSON (invalid unicode code point"),
            "{detail}"
        );
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

    #[test]
    fn a_repeated_id_is_seen_whether_a_canonical_uuid_or_not() {
        let mut seen = SeenIds::default();
        let uuid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
        assert_eq!(
            canonical_uuid(uuid),
            Some(0x0a1b2c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4d)
        );
        assert!(seen.insert(uuid));
        assert!(!seen.insert(uuid));
        // The same bits written otherwise are other ids, as the server compares them.
        for other in [
            "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
            "0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d",
            "{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}",
            "0a1b2c3d-4e5f-4a6b-8c7d_9e0f1a2b3c4d",
            "1",
        ] {
            assert_eq!(canonical_uuid(other), None, "{other}");
            assert!(seen.insert(other), "{other}");
            assert!(!seen.insert(other), "{other}");
        }
        assert!(seen.insert("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e"));
    }
}

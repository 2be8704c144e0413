//! A GoTrue-compatible server for local trials and stateful tests.
//!
//! It emulates the netlify/gotrue HTTP API (admin, signup/verify/token/user flows) in memory,
//! or, with [`Flavor::Supabase`], supabase/auth's version of it; it captures outgoing mail in
//! an inbox served under `/_emulator/messages`, and can persist its state to a file. It is its own reading of the contract: it shares no code with the client
//! that talks to it, so a misunderstanding on one side is not silently mirrored on the other.
//! Deliberate differences from the real server are listed in the crate's `README.md`.

mod address;
mod admin;
mod auth;
mod collation;
mod config;
mod error;
mod flavor;
mod mail;
mod password;
mod state;
mod user_flow;
mod wire;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use config::{random_secret, EmulatorConfig, DEFAULT_HEADER_READ_TIMEOUT};
pub use error::EmulatorError;
pub use flavor::Flavor;

use error::{ApiError, ErrorShape};
use mail::{MailKind, Mailbox};
use password::Hasher;
use state::{now, random_token, Metadata, RefreshToken, Store, User};
use wire::{RefreshRecord, StateFile};

/// A user to insert directly into the store, bypassing HTTP (tests, benchmarks, manifests).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedUser {
    /// Stored as the flavour stores addresses (verbatim, or lower-cased); must be unique the
    /// way the flavour compares them.
    pub email: String,
    /// Without a password the user cannot log in until one is set.
    pub password: Option<String>,
    /// Sets `confirmed_at`.
    pub confirmed: bool,
    /// Sets `invited_at` and a pending invite token, whose invite mail goes to the inbox.
    pub invited: bool,
    /// Empty: the flavour's default role.
    pub role: String,
    /// `provider: "email"` (and on supabase `providers: ["email"]`) is added unless present,
    /// as the real server always writes it.
    pub app_metadata: Map<String, Value>,
    pub user_metadata: Map<String, Value>,
}

impl SeedUser {
    /// The stored user this seed describes, in audience `aud`, created at `created_at`.
    fn to_user(
        &self,
        aud: &str,
        flavor: Flavor,
        created_at: state::Timestamp,
        hasher: &Hasher,
    ) -> Result<User, bcrypt::BcryptError> {
        let mut user = User::new(aud, &self.email, &self.role);
        user.created_at = created_at;
        user.updated_at = created_at;
        user.password_hash = self
            .password
            .as_deref()
            .map(|p| hasher.hash_now(p))
            .transpose()?;
        if self.confirmed {
            user.confirmed_at = Some(user.created_at);
        }
        if self.invited {
            user.invited_at = Some(user.created_at);
            user.confirmation_token = random_token();
        }
        user.app_metadata = Metadata::from(self.app_metadata.clone());
        flavor.complete_imported(&mut user);
        let mut user_metadata = self.user_metadata.clone();
        if self.confirmed && flavor.confirm_marks_email_verified() {
            user_metadata.insert("email_verified".into(), Value::Bool(true));
        }
        user.user_metadata = Metadata::from(user_metadata);
        Ok(user)
    }
}

/// State shared by all request handlers.
pub(crate) struct Shared {
    config: EmulatorConfig,
    store: RwLock<Store>,
    mailbox: Mailbox,
    hasher: Hasher,
    /// Serializes snapshot+write so that files land in the order their snapshots were taken.
    persist_lock: Mutex<()>,
    /// When the mails of the last hour were sent, for `email_rate_limit`.
    mails_sent: Mutex<VecDeque<state::Timestamp>>,
    /// [`Emulator::admin_key`], made once at start.
    admin_key: String,
}

impl Shared {
    fn flavor(&self) -> Flavor {
        self.config.flavor
    }

    /// Counts one outgoing mail against `email_rate_limit`, or refuses it when the hour's
    /// allowance is spent (429 with no `Retry-After`, §11). Called before the write that
    /// the mail belongs to, so a refused mail changes nothing.
    fn reserve_mail(&self) -> Result<(), ApiError> {
        let Some(limit) = self.config.email_rate_limit else {
            return Ok(());
        };
        let mut sent = self
            .mails_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = now();
        while sent.front().is_some_and(|t| now - t >= 3600) {
            sent.pop_front();
        }
        if sent.len() >= limit as usize {
            return Err(ApiError::coded(
                StatusCode::TOO_MANY_REQUESTS,
                "over_email_send_rate_limit",
                "email rate limit exceeded",
            ));
        }
        sent.push_back(now);
        Ok(())
    }

    fn deliver(&self, kind: MailKind, to: &str, token: &str) {
        self.mailbox
            .deliver(self.flavor(), &self.config.site_url, kind, to, token);
    }

    // Handlers never panic while holding the lock in a way that breaks the store's indexes
    // mid-update (all mutations are single calls), so poisoning is ignored.
    fn read_store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_store(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the state file (if configured) atomically: temp file, then rename.
    fn persist(&self) -> Result<(), EmulatorError> {
        let Some(path) = &self.config.state else {
            return Ok(());
        };
        let _guard = self
            .persist_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let bytes = {
            let store = self.read_store();
            let snapshot = StateFile {
                users: store.records(),
                refresh_tokens: store
                    .refresh_tokens()
                    .into_iter()
                    .map(|(token, t)| RefreshRecord {
                        token,
                        user_id: t.user_id,
                        created_at: t.created_at,
                        session: Some(t.session),
                        child: t.child,
                    })
                    .collect(),
            };
            serde_json::to_vec(&snapshot)?
        };
        write_private_atomically(path, &bytes).map_err(|source| EmulatorError::File {
            path: path.clone(),
            source,
        })
    }

    /// The real server's address check ([`Flavor::check_address`]).
    fn validate_email(&self, email: &str) -> Result<(), ApiError> {
        self.flavor()
            .check_address(email, self.config.validate_emails)
    }

    /// [`Shared::persist`] for handlers: a failure becomes a 500.
    fn persist_api(&self) -> Result<(), ApiError> {
        self.persist().map_err(|e| {
            tracing::error!(error = %e, "emulator: persisting state failed");
            ApiError::internal("Database error saving state")
        })
    }
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part,
/// and nobody else can read it: the state holds password hashes and refresh tokens. The
/// temporary file is created afresh with mode 0600 (a stale one from a crash is replaced),
/// flushed to disk, then renamed over `path`.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// A running emulator. Dropping it also stops the server (gracefully, in the background);
/// [`Emulator::shutdown`] additionally waits until it has stopped.
pub struct Emulator {
    shared: Arc<Shared>,
    url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Emulator {
    /// Loads state (or the seed), binds, spawns the server task and returns at once.
    pub async fn start(mut config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        if !(password::MIN_COST..=password::MAX_COST).contains(&config.bcrypt_cost) {
            return Err(EmulatorError::Config(format!(
                "bcrypt cost {} is outside {}..={}",
                config.bcrypt_cost,
                password::MIN_COST,
                password::MAX_COST
            )));
        }
        if config.email_rate_limit.is_some() && !config.flavor.has_email_rate_limit() {
            return Err(EmulatorError::Config(
                "an e-mail rate limit is a supabase/auth setting; use the supabase flavour".into(),
            ));
        }
        config.aud = config.flavor.audience(&config.aud);
        let hasher = Hasher::new(config.bcrypt_cost, config.max_concurrent_hashes);
        let (store, seeded) = load_store(&config, &hasher)?;
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        config.port = bound.port();
        let admin_key = config
            .flavor
            .admin_key(&config.operator_token, &config.jwt_secret, now());
        let shared = Arc::new(Shared {
            admin_key,
            config,
            store: RwLock::new(store),
            mailbox: Mailbox::default(),
            hasher,
            persist_lock: Mutex::new(()),
            mails_sent: Mutex::new(VecDeque::new()),
        });
        shared.persist()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(shared.clone());
        let header_read_timeout = shared.config.header_read_timeout;
        let task = tokio::spawn(serve(listener, app, header_read_timeout, stopped));
        let emulator = Emulator {
            shared,
            url: format!("http://{bound}"),
            stop,
            task,
        };
        emulator.deliver_invites(&seeded);
        Ok(emulator)
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// A credential that opens the admin API: the operator token on netlify/gotrue; on
    /// supabase/auth a `service_role` key (a JWT signed with the JWT secret, valid for ten
    /// years, like the keys a local Supabase stack prints).
    pub fn admin_key(&self) -> String {
        self.shared.admin_key.clone()
    }

    /// The URL a client is given: on supabase/auth the hosted shape, `<url>/auth/v1`.
    pub fn api_url(&self) -> String {
        match self.shared.config.flavor.path_prefix() {
            Some(prefix) => format!("{}{prefix}", self.url),
            None => self.url.clone(),
        }
    }

    /// The configuration in use; `port` is the port actually bound.
    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// Inserts one user directly into the configured audience and returns its id; see
    /// [`Emulator::seed`].
    pub fn seed_user(&self, seed: SeedUser) -> Result<String, EmulatorError> {
        let mut ids = self.seed(vec![seed])?;
        ids.pop()
            .ok_or_else(|| EmulatorError::Server("seeding returned no id".to_owned()))
    }

    /// Inserts users directly into the configured audience, bypassing HTTP, and returns their
    /// ids in order. They share one `created_at`, as a bulk import's users do. All or
    /// nothing: an empty e-mail, or one already taken (in the store or earlier in `seeds`),
    /// fails the whole call. Invited users get their invite mail in the
    /// inbox. With a `state` file configured, the file is rewritten once per call.
    pub fn seed(&self, seeds: Vec<SeedUser>) -> Result<Vec<String>, EmulatorError> {
        let config = &self.shared.config;
        let invites = {
            let mut store = self.shared.write_store();
            insert_seeds(&mut store, config, &seeds, &self.shared.hasher)?
        };
        self.deliver_invites(&invites);
        self.shared.persist()?;
        Ok(seeds_ids(&invites))
    }

    fn deliver_invites(&self, seeded: &[Seeded]) {
        for s in seeded.iter().filter(|s| !s.invite_token.is_empty()) {
            self.shared
                .deliver(MailKind::Invite, &s.email, &s.invite_token);
        }
    }

    /// How many password hashes requests have cost so far (signups, logins, creates with a
    /// password, password changes, and netlify/gotrue's invites): the emulator's CPU cost
    /// model, see [`EmulatorConfig::bcrypt_cost`].
    pub fn password_hashes(&self) -> u64 {
        self.shared.hasher.hashes()
    }

    /// Number of stored users (all audiences).
    pub fn user_count(&self) -> usize {
        self.shared.read_store().len()
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "emulator: server task failed during shutdown");
        }
    }

    /// Serves until Ctrl-C (SIGINT), then shuts down gracefully.
    pub async fn run_until_ctrl_c(self) -> Result<(), EmulatorError> {
        let signal = tokio::signal::ctrl_c().await;
        self.shutdown().await;
        signal.map_err(EmulatorError::Signal)
    }

    /// Runs until the server ends on its own (it only does so on an I/O failure).
    pub async fn wait(self) -> Result<(), EmulatorError> {
        let Emulator { stop, task, .. } = self;
        let result = task.await;
        // Kept alive until here so that the server is not told to stop early.
        drop(stop);
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(EmulatorError::Server(e.to_string())),
            Err(e) => Err(EmulatorError::Server(e.to_string())),
        }
    }
}

/// The state file if it exists, else the seed file and then the seed users, else empty.
/// Also returns the seeded users, whose invite mails are still to be delivered.
fn load_store(
    config: &EmulatorConfig,
    hasher: &Hasher,
) -> Result<(Store, Vec<Seeded>), EmulatorError> {
    let mut store = Store::new(config.flavor);
    if let Some(path) = config.state.as_ref().filter(|p| p.exists()) {
        let file: StateFile = read_json(path)?;
        insert_records(&mut store, path, file.users, &config.aud, None)?;
        for t in file.refresh_tokens {
            store.restore_refresh(
                t.token,
                RefreshToken {
                    user_id: t.user_id,
                    created_at: t.created_at,
                    session: t.session.unwrap_or_else(Uuid::new_v4),
                    child: t.child,
                },
            );
        }
        return Ok((store, Vec::new()));
    }
    if let Some(path) = &config.seed {
        read_seed(&mut store, path, &config.aud, config.flavor)?;
    }
    let seeded = insert_seeds(&mut store, config, &config.seed_users, hasher)?;
    Ok((store, seeded))
}

/// A user inserted by [`insert_seeds`]: its id, and its invite token if it was invited.
struct Seeded {
    id: Uuid,
    email: String,
    invite_token: String,
}

fn seeds_ids(seeded: &[Seeded]) -> Vec<String> {
    seeded.iter().map(|s| s.id.to_string()).collect()
}

/// Inserts `seeds` into the configured audience with one `created_at`, or none of them if
/// any e-mail is empty or taken.
fn insert_seeds(
    store: &mut Store,
    config: &EmulatorConfig,
    seeds: &[SeedUser],
    hasher: &Hasher,
) -> Result<Vec<Seeded>, EmulatorError> {
    let aud = config.aud.as_str();
    let created_at = now();
    let seed_err = |seed: &SeedUser, reason: &str| EmulatorError::Seed {
        email: seed.email.clone(),
        aud: aud.to_owned(),
        reason: reason.to_owned(),
    };
    let mut batch = HashSet::with_capacity(seeds.len());
    for seed in seeds {
        if seed.email.is_empty() {
            return Err(seed_err(seed, "an email address is required"));
        }
        if store.find_by_email(aud, &seed.email).is_some()
            || !batch.insert(store.email_key(&seed.email))
        {
            return Err(seed_err(
                seed,
                "Email address already registered by another user",
            ));
        }
    }
    let mut seeded = Vec::with_capacity(seeds.len());
    for seed in seeds {
        let user = seed
            .to_user(aud, config.flavor, created_at, hasher)
            .map_err(|e| seed_err(seed, &e.to_string()))?;
        let entry = Seeded {
            id: user.id,
            email: user.email.clone(),
            invite_token: user.confirmation_token.clone(),
        };
        store
            .insert(user)
            .map_err(|e| seed_err(seed, &e.to_string()))?;
        seeded.push(entry);
    }
    Ok(seeded)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EmulatorError> {
    let bytes = std::fs::read(path).map_err(|source| EmulatorError::File {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| EmulatorError::FileContent {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Inserts users read from a file. Those of a seed file (`imported`) are completed as the
/// flavour writes users (address case, default role, provider keys); a state file holds
/// users exactly as they were stored.
fn insert_records(
    store: &mut Store,
    path: &Path,
    records: Vec<wire::UserRecord>,
    default_aud: &str,
    imported: Option<Flavor>,
) -> Result<(), EmulatorError> {
    for record in records {
        insert_record(store, record, default_aud, imported).map_err(|reason| {
            EmulatorError::FileContent {
                path: path.to_owned(),
                reason,
            }
        })?;
    }
    Ok(())
}

fn insert_record(
    store: &mut Store,
    record: wire::UserRecord,
    default_aud: &str,
    imported: Option<Flavor>,
) -> Result<(), String> {
    let mut user = record.into_user(default_aud)?;
    if let Some(flavor) = imported {
        flavor.complete_imported(&mut user);
    }
    store.insert(user).map_err(|e| e.to_string())
}

/// Inserts the users of the seed file at `path` as they are read (see
/// [`wire::read_seed_users`]).
fn read_seed(
    store: &mut Store,
    path: &Path,
    default_aud: &str,
    flavor: Flavor,
) -> Result<(), EmulatorError> {
    let file = std::fs::File::open(path).map_err(|source| EmulatorError::File {
        path: path.to_owned(),
        source,
    })?;
    let mut deserializer =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let mut each = |record| insert_record(store, record, default_aud, Some(flavor));
    wire::read_seed_users(&mut deserializer, &mut each)
        .and_then(|()| deserializer.end())
        .map_err(|e| EmulatorError::FileContent {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Accepts connections until `stopped` fires (or its sender is dropped), then lets the open
/// connections finish their requests. Each connection is HTTP/1.1 with keep-alive, closed when
/// it has not sent a complete request head within `header_read_timeout` (a slow or idle
/// client cannot hold a connection open forever).
async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    stopped: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut stopped = std::pin::pin!(stopped);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait for connections to close.
                tracing::warn!(error = %e, "emulator: accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .keep_alive(true);
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "emulator: connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn router(shared: Arc<Shared>) -> Router {
    let flavor = shared.flavor();
    let mut api = Router::new()
        .route("/health", get(user_flow::health))
        .route("/settings", get(user_flow::settings))
        .route("/signup", post(user_flow::signup))
        .route("/verify", post(user_flow::verify))
        .route("/token", post(user_flow::token))
        .route(
            "/user",
            get(user_flow::get_user).put(user_flow::update_user),
        )
        .route("/logout", post(user_flow::logout))
        .route("/recover", post(user_flow::recover))
        .route("/invite", post(admin::invite))
        .route("/admin/users", get(admin::list).post(admin::create))
        .route(
            "/admin/users/{user_id}",
            get(admin::get).put(admin::update).delete(admin::delete),
        )
        // The inbox sits beside the API, so that a client given the hosted URL finds it.
        .route(
            "/_emulator/messages",
            get(mail::list_messages).delete(mail::clear_messages),
        );
    if flavor.has_generate_link() {
        api = api.route("/admin/generate_link", post(admin::generate_link));
    }
    let mut app = Router::new().merge(api.clone());
    if let Some(prefix) = flavor.path_prefix() {
        app = app.nest(prefix, api);
    }
    if let Some(limit) = flavor.body_limit() {
        app = app.layer(DefaultBodyLimit::max(limit));
    }
    app.layer(middleware::from_fn_with_state(shared.clone(), shape_errors))
        .layer(middleware::from_fn_with_state(shared.clone(), add_latency))
        .with_state(shared)
}

/// Renders errors in the flavour's shape: handlers return [`ApiError`], which renders
/// netlify/gotrue's shape and keeps a copy in the response for this re-rendering.
async fn shape_errors(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if !shared.flavor().coded_errors() {
        return next.run(request).await;
    }
    let shape = if request
        .headers()
        .get("x-supabase-api-version")
        .is_some_and(|v| v.as_bytes() >= b"2024-01-01".as_slice())
    {
        ErrorShape::SlugMessage
    } else {
        ErrorShape::CodeErrorCodeMsg
    };
    let response = next.run(request).await;
    if let Some(error) = response.extensions().get::<ApiError>() {
        return error.render(shape);
    }
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::coded(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_entity_too_large",
            "Request body too large",
        )
        .render(shape);
    }
    response
}

/// Delays every response by the configured latency (after the handler, so no lock is held).
async fn add_latency(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    response
}

/// Confirmation and recovery tokens older than this are rejected (mailer max-age defaults).
const TOKEN_MAX_AGE_SECS: i64 = 24 * 3600;

/// `GOTRUE_SMTP_MAX_FREQUENCY` default: the same kind of mail is not re-sent sooner.
const MAIL_MIN_INTERVAL_SECS: i64 = 15 * 60;

fn older_than(ts: Option<i64>, secs: i64) -> bool {
    ts.is_some_and(|t| now() - t > secs)
}

fn sent_recently(ts: Option<i64>) -> bool {
    ts.is_some_and(|t| now() - t < MAIL_MIN_INTERVAL_SECS)
}

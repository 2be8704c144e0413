//! Target and credentials shared by the commands that talk to a server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::error::CliError;
use crate::gotrue::{
    AdminClient, AdminCredentials, FlavorChoice, LimitMode, RetryPolicy, Transport,
    TransportOptions,
};
use crate::render::Printer;
use crate::secret::{Redactor, Secret, SecretSource, SystemSecrets};

/// Where the server is and how to talk to it. Credentials come only from the environment
/// (never flags), so they do not show up in shell history or process lists.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// GoTrue root URL, e.g. https://site.example/.netlify/identity,
    /// https://<ref>.supabase.co/auth/v1 or http://127.0.0.1:8081.
    #[arg(long, env = "GOTRUE_URL", value_parser = parse_url)]
    pub url: String,
    /// Which server this is: netlify (Netlify Identity), supabase (Supabase Auth), or auto
    /// (from the URL's shape, else from GET /settings).
    #[arg(long, env = "GOTRUE_FLAVOR", value_enum, default_value = "auto")]
    pub flavor: FlavorChoice,
    /// Audience, sent as X-JWT-AUD.
    #[arg(long, env = "GOTRUE_AUD")]
    pub aud: Option<String>,
    /// Timeout of each request (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, env = "GOTRUE_SYNC_TIMEOUT")]
    pub timeout: Duration,
    /// Users per page when listing (per_page); never 0.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..), env = "GOTRUE_SYNC_PAGE_SIZE")]
    pub page_size: u32,
    /// Retries of a request after a connection error, 429, 502, 503 or 504.
    #[arg(long, default_value_t = 4, env = "GOTRUE_SYNC_RETRIES")]
    pub retries: u32,
    /// Also trust this CA certificate (PEM; repeatable), besides the platform's trust store
    /// and SSL_CERT_FILE.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Allow plain http:// to a host that is not loopback (the admin token travels in clear).
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// The environment variables admin credentials are read from.
pub const CREDENTIAL_HELP: &str = "Admin credentials come from the environment: GOTRUE_ADMIN_TOKEN (operator token or admin JWT), or GOTRUE_JWT_SECRET (admin tokens are minted), or GOTRUE_ADMIN_EMAIL and GOTRUE_ADMIN_PASSWORD (password login of a user whose role is the admin group).";

/// `--url`: an absolute http(s) URL. Named problems for the usual slips; credentials in the
/// URL and plain http:// are refused by the transport, which never echoes them.
fn parse_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "the URL is empty. If it comes from GOTRUE_URL: a pull request from a fork gets no secrets; set GOTRUE_URL (and the credentials) for this job, or skip the job when they are empty".into(),
        );
    }
    // clap repeats a refused value in its error: a value with `@` may hold user:password@,
    // so it goes on to the transport, which refuses it without printing it.
    if text.contains('@') {
        return Ok(text.to_owned());
    }
    if !text.contains("://") {
        return Err(format!(
            "`{text}` has no scheme: write http://{text} (or https://{text})"
        ));
    }
    if !(text.starts_with("http://") || text.starts_with("https://")) {
        return Err(format!("`{text}` is not an http:// or https:// URL"));
    }
    Ok(text.to_owned())
}

/// Whether `name` is set in `source` to something non-empty.
fn is_set(source: &dyn SecretSource, name: &str) -> bool {
    source.var(name).is_some_and(|v| !v.is_empty())
}

/// The environment variable (or pair) the admin credential is taken from, by precedence.
pub fn credential_source(source: &dyn SecretSource) -> Option<&'static str> {
    if is_set(source, "GOTRUE_ADMIN_TOKEN") {
        Some("GOTRUE_ADMIN_TOKEN")
    } else if is_set(source, "GOTRUE_JWT_SECRET") {
        Some("GOTRUE_JWT_SECRET")
    } else if is_set(source, "GOTRUE_ADMIN_EMAIL") && is_set(source, "GOTRUE_ADMIN_PASSWORD") {
        Some("GOTRUE_ADMIN_EMAIL/GOTRUE_ADMIN_PASSWORD")
    } else {
        None
    }
}

/// Credentials that are set but lose to one of higher precedence, for a warning.
fn ignored_credentials(source: &dyn SecretSource) -> Vec<&'static str> {
    let mut present = Vec::new();
    if is_set(source, "GOTRUE_ADMIN_TOKEN") {
        present.push("GOTRUE_ADMIN_TOKEN");
    }
    if is_set(source, "GOTRUE_JWT_SECRET") {
        present.push("GOTRUE_JWT_SECRET");
    }
    if is_set(source, "GOTRUE_ADMIN_EMAIL") || is_set(source, "GOTRUE_ADMIN_PASSWORD") {
        present.push("GOTRUE_ADMIN_EMAIL/GOTRUE_ADMIN_PASSWORD");
    }
    present.into_iter().skip(1).collect()
}

/// Reads admin credentials from `source`, in order of precedence.
pub fn credentials_from(source: &dyn SecretSource) -> Result<AdminCredentials, CliError> {
    let var = |name: &str| source.var(name).filter(|v| !v.is_empty());
    if let Some(token) = var("GOTRUE_ADMIN_TOKEN") {
        return Ok(AdminCredentials::Token(Secret::new(token)));
    }
    if let Some(secret) = var("GOTRUE_JWT_SECRET") {
        return Ok(AdminCredentials::JwtSecret(Secret::new(secret)));
    }
    match (var("GOTRUE_ADMIN_EMAIL"), var("GOTRUE_ADMIN_PASSWORD")) {
        (Some(email), Some(password)) => Ok(AdminCredentials::Password {
            email,
            password: Secret::new(password),
        }),
        (Some(_), None) => Err(CliError::Usage(
            "GOTRUE_ADMIN_EMAIL is set but GOTRUE_ADMIN_PASSWORD is not".into(),
        )),
        _ => Err(CliError::Usage(format!(
            "no admin credentials. {CREDENTIAL_HELP}"
        ))),
    }
}

impl ServerArgs {
    /// The one transport of the run: every client of a command sends through it, so the HTTP
    /// client is built once and every message passes one redactor. At most `parallelism`
    /// requests are in flight; `in_flight` says whether fewer are sent while latency climbs.
    pub fn transport(
        &self,
        parallelism: usize,
        in_flight: LimitMode,
    ) -> Result<Arc<Transport>, CliError> {
        let options = TransportOptions {
            aud: self.aud.clone(),
            timeout: self.timeout,
            retry: RetryPolicy {
                max_retries: self.retries,
                ..RetryPolicy::default()
            },
            ca_certs: self.ca_cert.clone(),
            allow_insecure_http: self.allow_insecure_http,
            max_in_flight: parallelism,
            in_flight,
        };
        Ok(Transport::new(&self.url, options, Redactor::new())?)
    }

    /// An admin client over `transport` with credentials from the environment, speaking the
    /// server's flavour (`auto` is resolved by its first request).
    pub fn admin_client(
        &self,
        transport: &Arc<Transport>,
        parallelism: usize,
        printer: &Printer,
    ) -> Result<AdminClient, CliError> {
        Ok(self
            .unresolved_admin_client(transport, parallelism, printer)?
            .with_flavor(self.flavor)?)
    }

    /// An admin client that speaks netlify/gotrue until told its flavour; says which
    /// credential wins when several are set.
    fn unresolved_admin_client(
        &self,
        transport: &Arc<Transport>,
        parallelism: usize,
        printer: &Printer,
    ) -> Result<AdminClient, CliError> {
        let credentials = credentials_from(&SystemSecrets)?;
        let ignored = ignored_credentials(&SystemSecrets);
        if let (Some(used), false) = (credential_source(&SystemSecrets), ignored.is_empty()) {
            printer.warn(&format!(
                "several admin credentials are set; using {used}, ignoring {}",
                ignored.join(" and ")
            ))?;
        }
        Ok(AdminClient::with_transport(
            Arc::clone(transport),
            credentials,
            self.page_size,
            parallelism,
        )?)
    }

    /// An admin client when any admin credential is set in the environment, `None` when none
    /// is (for commands such as `smoke` that can do without one). The caller sets its flavour
    /// ([`AdminClient::with_flavor`]).
    pub fn optional_admin_client(
        &self,
        transport: &Arc<Transport>,
        parallelism: usize,
        printer: &Printer,
    ) -> Result<Option<AdminClient>, CliError> {
        let any_set = ADMIN_VARIABLES
            .iter()
            .any(|name| is_set(&SystemSecrets, name));
        if any_set {
            self.unresolved_admin_client(transport, parallelism, printer)
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Every environment variable that carries an admin credential.
const ADMIN_VARIABLES: [&str; 4] = [
    "GOTRUE_ADMIN_TOKEN",
    "GOTRUE_JWT_SECRET",
    "GOTRUE_ADMIN_EMAIL",
    "GOTRUE_ADMIN_PASSWORD",
];

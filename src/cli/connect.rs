//! Target and credentials shared by the commands that talk to a server.

use std::time::Duration;

use clap::Args;

use super::error::CliError;
use crate::gotrue::{AdminClient, AdminCredentials, ClientOptions, FlavorChoice, RetryPolicy};
use crate::secret::Secret;

/// Where the server is and how to talk to it. Credentials come only from the environment
/// (never flags), so they do not show up in shell history or process lists.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// GoTrue root URL, e.g. https://site.example/.netlify/identity,
    /// https://<ref>.supabase.co/auth/v1 or http://127.0.0.1:8081.
    #[arg(long, env = "GOTRUE_URL")]
    pub url: String,
    /// Which server this is: netlify (Netlify Identity), supabase (Supabase Auth), or auto
    /// (from the URL's shape, else from GET /settings).
    #[arg(long, env = "GOTRUE_FLAVOR", value_enum, default_value = "auto")]
    pub flavor: FlavorChoice,
    /// Audience, sent as X-JWT-AUD.
    #[arg(long, env = "GOTRUE_AUD")]
    pub aud: Option<String>,
    /// Timeout of each request (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Users per page when listing (per_page); never 0.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
    /// Retries of a request after a connection error, 429, 502, 503 or 504.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
}

/// The environment variables admin credentials are read from.
pub const CREDENTIAL_HELP: &str = "Admin credentials come from the environment: GOTRUE_ADMIN_TOKEN (operator token or admin JWT), or GOTRUE_JWT_SECRET (admin tokens are minted), or GOTRUE_ADMIN_EMAIL and GOTRUE_ADMIN_PASSWORD (password login of a user whose role is the admin group).";

/// Reads admin credentials from the environment, in order of precedence.
pub fn credentials_from_env() -> Result<AdminCredentials, CliError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
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
    /// Client options from the flags.
    pub fn options(&self, parallelism: usize) -> ClientOptions {
        ClientOptions {
            aud: self.aud.clone(),
            timeout: self.timeout,
            page_size: self.page_size,
            list_parallelism: parallelism,
            retry: RetryPolicy {
                max_retries: self.retries,
                ..RetryPolicy::default()
            },
        }
    }

    /// An admin client with credentials from the environment, speaking the server's flavour
    /// (`auto` is resolved by its first request).
    pub fn admin_client(&self, parallelism: usize) -> Result<AdminClient, CliError> {
        Ok(self
            .unresolved_admin_client(parallelism)?
            .with_flavor(self.flavor)?)
    }

    /// An admin client that speaks netlify/gotrue until told its flavour.
    fn unresolved_admin_client(&self, parallelism: usize) -> Result<AdminClient, CliError> {
        let credentials = credentials_from_env()?;
        Ok(AdminClient::new(
            &self.url,
            credentials,
            self.options(parallelism),
        )?)
    }

    /// An admin client when any admin credential is set in the environment, `None` when none
    /// is (for commands such as `smoke` that can do without one). The caller sets its flavour
    /// ([`AdminClient::with_flavor`]).
    pub fn optional_admin_client(
        &self,
        parallelism: usize,
    ) -> Result<Option<AdminClient>, CliError> {
        let any_set = ADMIN_VARIABLES
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        if any_set {
            self.unresolved_admin_client(parallelism).map(Some)
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

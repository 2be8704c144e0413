//! Emulator configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

use crate::{Flavor, SeedUser};

/// How the emulated GoTrue server behaves. `Default` gives loopback, any free port, and fresh
/// random secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// Which server to play: netlify/gotrue (default) or supabase/auth.
    pub flavor: Flavor,
    /// Address to bind (default `127.0.0.1`).
    pub host: IpAddr,
    /// Port to bind; `0` picks any free port.
    pub port: u16,
    /// `GOTRUE_OPERATOR_TOKEN`: a bearer that is admin without being a JWT.
    pub operator_token: String,
    /// `GOTRUE_JWT_SECRET`: HS256 key for access tokens and admin JWTs (raw string bytes).
    pub jwt_secret: String,
    /// `GOTRUE_JWT_AUD`: the default audience.
    pub aud: String,
    /// `GOTRUE_JWT_ADMIN_GROUP_NAME`: role that makes a stored user an admin.
    pub admin_group: String,
    /// `GOTRUE_SITE_URL`: base of the links in (captured) e-mails.
    pub site_url: String,
    /// `GOTRUE_MAILER_AUTOCONFIRM`: signups are confirmed at once.
    pub autoconfirm: bool,
    /// `GOTRUE_DISABLE_SIGNUP`: `/signup` answers 403.
    pub disable_signup: bool,
    /// supabase/auth only (`GOTRUE_RATE_LIMIT_EMAIL_SENT`): at most this many mails per hour,
    /// server-wide; past it, 429 `over_email_send_rate_limit` with no `Retry-After`.
    /// `None` (the default): no limit.
    pub email_rate_limit: Option<u32>,
    /// Delay added before every response, to model a remote server.
    pub latency: Duration,
    /// A mailer is configured (`GOTRUE_SMTP_HOST` set, as in production): addresses given to
    /// signup, invite, admin create and an e-mail change are checked with the real server's
    /// parser (Go's `net/mail`), and a bad one gets 422 `Unable to validate email address: …`.
    /// Off: any non-empty string is accepted, as by a real server without SMTP.
    pub validate_emails: bool,
    /// bcrypt cost of stored passwords (4..=31). Real servers use 10; the default is 4, the
    /// minimum, so that tests stay fast. It is also the emulator's cost model: every signup,
    /// login, create with a password and password change pays one hash, and so does a
    /// netlify-flavoured invite of a new address (its signup path hashes the empty password).
    pub bcrypt_cost: u32,
    /// At most this many password hashes run at once (0: no limit), so that a benchmark can
    /// play a CPU-bound server with this many cores; the others queue.
    pub max_concurrent_hashes: usize,
    /// A connection that has not sent a complete request head within this time is closed:
    /// slow headers as well as idle keep-alive connections waiting for their next request.
    pub header_read_timeout: Duration,
    /// Users to load at start: `{"users":[...]}` or a bare array of User objects (JSON).
    /// Ignored when the `state` file already exists (it already holds the seeded users).
    pub seed: Option<PathBuf>,
    /// Users to insert at start, after those of `seed` (see [`crate::Emulator::seed`]).
    /// Ignored, like `seed`, when the `state` file already exists.
    pub seed_users: Vec<SeedUser>,
    /// File to persist to after every write and to reload at start if present.
    pub state: Option<PathBuf>,
}

/// Default of [`EmulatorConfig::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A 32-byte random secret, base64url-encoded.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            flavor: Flavor::Netlify,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            operator_token: random_secret(),
            jwt_secret: random_secret(),
            aud: String::new(),
            admin_group: "admin".to_owned(),
            site_url: "http://localhost:8888".to_owned(),
            autoconfirm: false,
            disable_signup: false,
            email_rate_limit: None,
            latency: Duration::ZERO,
            validate_emails: true,
            bcrypt_cost: crate::password::MIN_COST,
            max_concurrent_hashes: 0,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            seed: None,
            seed_users: Vec::new(),
            state: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_fresh_secrets() {
        let a = EmulatorConfig::default();
        let b = EmulatorConfig::default();
        assert_ne!(a.operator_token, b.operator_token);
        assert_ne!(a.jwt_secret, b.jwt_secret);
        assert_eq!(a.host.to_string(), "127.0.0.1");
        assert_eq!(a.admin_group, "admin");
    }
}

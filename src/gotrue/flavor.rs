//! Everything that differs between the two GoTrue servers gotrue-sync talks to:
//! netlify/gotrue (Netlify Identity) and its maintained fork supabase/auth (Supabase Auth).
//!
//! The client, the smoke flow and the plan consult one [`Flavor`] value instead of testing
//! server names. Facts come from `gotrue-api.md` §10–11 (requests seen on real servers) and
//! from supabase/auth's own source; the hosted gateway's key handling from Supabase's
//! documentation ("API keys", "Authorization headers").

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::identity::Collation;
use crate::secret::Secret;

/// Which server a URL points at. The default is netlify/gotrue, which gotrue-sync spoke
/// before it knew of flavours.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// netlify/gotrue, the server behind Netlify Identity.
    #[default]
    Netlify,
    /// supabase/auth, self-hosted or hosted at `https://<ref>.supabase.co/auth/v1`.
    Supabase,
}

/// `--flavor` (env `GOTRUE_FLAVOR`): a fixed flavour, or `auto` to ask `GET /settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FlavorChoice {
    /// Detect the flavour from the fields of `GET /settings`.
    #[default]
    Auto,
    /// netlify/gotrue.
    Netlify,
    /// supabase/auth.
    Supabase,
}

impl FlavorChoice {
    /// The flavour chosen, or `None` for `auto`.
    pub fn fixed(self) -> Option<Flavor> {
        match self {
            FlavorChoice::Auto => None,
            FlavorChoice::Netlify => Some(Flavor::Netlify),
            FlavorChoice::Supabase => Some(Flavor::Supabase),
        }
    }
}

impl From<Flavor> for FlavorChoice {
    fn from(flavor: Flavor) -> Self {
        match flavor {
            Flavor::Netlify => FlavorChoice::Netlify,
            Flavor::Supabase => FlavorChoice::Supabase,
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why `GET /settings` did not tell the flavour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot tell the server's flavour from GET /settings ({reason}); pass --flavor netlify or --flavor supabase (or set GOTRUE_FLAVOR)")]
pub struct DetectError {
    /// What the answer looked like.
    pub reason: String,
}

/// How `POST /token` is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEncoding {
    /// A form body carrying `grant_type`; the address is `username`.
    Form,
    /// `?grant_type=` in the query, a JSON body; the address is `email`.
    QueryAndJson,
}

/// How a mail token is exchanged for a session, and how an invitation is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyEncoding {
    /// `POST /verify {type: "signup", token[, password]}`: the invitation's password rides
    /// along with the token.
    TokenAndPassword,
    /// `POST /verify {type, token_hash}` (`signup` or `invite`), then, for an invitation,
    /// `PUT /user {password}` with the session it returned.
    TokenHashThenPassword,
}

/// How the refresh-token rotation can be checked from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationCheck {
    /// The replaced refresh token is refused at once (400 `invalid_grant`).
    ParentRefused,
    /// The replaced (parent) token is accepted again and answers with the active token, by
    /// design (`tokens/service.go`); revocation is seen after logout
    /// (400 `refresh_token_not_found`). A grandparent is refused only once the reuse interval
    /// (10 s on hosted projects) has passed, so it cannot be checked reliably in a quick run.
    ParentReturnsActive,
}

/// The headers that carry admin credentials on one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthHeaders {
    /// `Authorization: Bearer …`.
    pub bearer: Option<Secret>,
    /// `apikey: …`, which Supabase's API gateway requires.
    pub apikey: Option<Secret>,
}

/// The kind of metadata map a key lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataMap {
    /// `app_metadata`.
    App,
    /// `user_metadata`.
    User,
}

/// Roles that open the admin API to a user's own token on supabase/auth
/// (`GOTRUE_JWT_ADMIN_ROLES` default).
pub const SUPABASE_ADMIN_ROLES: [&str; 2] = ["service_role", "supabase_admin"];

/// The role supabase/auth gives every user it creates (`GOTRUE_JWT_DEFAULT_GROUP_NAME`
/// there): not something a manifest needs to say.
pub const SUPABASE_DEFAULT_ROLE: &str = "authenticated";

/// Prefix of Supabase's newer secret API keys, which are not JWTs.
pub const SUPABASE_SECRET_KEY_PREFIX: &str = "sb_secret_";

/// Prefix of Supabase's publishable keys: never an admin credential.
pub const SUPABASE_PUBLISHABLE_KEY_PREFIX: &str = "sb_publishable_";

impl Flavor {
    /// Both flavours, for tables and tests.
    pub const ALL: [Flavor; 2] = [Flavor::Netlify, Flavor::Supabase];

    /// The name used by `--flavor`, saved plans and messages.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Netlify => "netlify",
            Flavor::Supabase => "supabase",
        }
    }

    /// The flavour named `name` (as [`Flavor::name`] writes it, e.g. in a saved plan).
    pub fn from_name(name: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|flavor| flavor.name() == name)
    }

    /// How this server decides that two addresses are one account: netlify/gotrue compares
    /// in MySQL's `utf8mb4_unicode_ci` (case, accents, `ß`=`ss`); supabase/auth lower-cases on
    /// write and compares the result.
    pub fn collation(self) -> Collation {
        match self {
            Flavor::Netlify => Collation::Utf8mb4UnicodeCi,
            Flavor::Supabase => Collation::KeyOnly,
        }
    }

    /// Reads the flavour from a `GET /settings` answer: supabase/auth calls the autoconfirm
    /// switch `mailer_autoconfirm`, netlify/gotrue `autoconfirm`.
    pub fn detect(settings: &Value) -> Result<Flavor, DetectError> {
        let Some(fields) = settings.as_object() else {
            return Err(DetectError {
                reason: "the answer is not a JSON object".into(),
            });
        };
        match (
            fields.contains_key("mailer_autoconfirm"),
            fields.contains_key("autoconfirm"),
        ) {
            (true, false) => Ok(Flavor::Supabase),
            (false, true) => Ok(Flavor::Netlify),
            (true, true) => Err(DetectError {
                reason: "it has both `autoconfirm` and `mailer_autoconfirm`".into(),
            }),
            (false, false) => Err(DetectError {
                reason: "it has neither `autoconfirm` nor `mailer_autoconfirm`".into(),
            }),
        }
    }

    /// The flavour a URL's shape gives away, when it does: a hosted Supabase project
    /// (`https://<ref>.supabase.co/auth/v1`) or the Supabase stack's gateway (`…/auth/v1`),
    /// or Netlify's proxy (`…/.netlify/identity`). The hosted gateway answers nothing without
    /// a project key, so such URLs are not asked.
    pub fn from_url_shape(url: &str) -> Option<Flavor> {
        let parsed = reqwest::Url::parse(url.trim()).ok()?;
        let path = parsed.path().trim_end_matches('/');
        let host = parsed.host_str().unwrap_or_default();
        if host.ends_with(".supabase.co") || path.ends_with("/auth/v1") {
            Some(Flavor::Supabase)
        } else if path.ends_with("/.netlify/identity") {
            Some(Flavor::Netlify)
        } else {
            None
        }
    }

    /// The claims of a self-minted admin token. netlify/gotrue loads the admin from `sub`
    /// (`"0"` is the system user) and needs `aud` as a plain string; supabase/auth only looks
    /// at the `role` claim and takes the audience from `X-JWT-AUD` or its default.
    pub fn admin_claims(self, aud: &str, now: u64, lifetime: Duration) -> Value {
        let exp = now.saturating_add(lifetime.as_secs());
        match self {
            Flavor::Netlify => json!({"sub": "0", "aud": aud, "exp": exp}),
            Flavor::Supabase => json!({"role": "service_role", "iat": now, "exp": exp}),
        }
    }

    /// The headers that carry an admin credential. netlify/gotrue wants the bearer only.
    /// On Supabase the hosted gateway wants the project key in `apikey` as well (supabase-js
    /// sends a legacy JWT key in both); a newer `sb_secret_…` key is not a JWT, so it goes in
    /// `apikey` alone and the gateway passes a service-role token on (Supabase docs, "API
    /// keys" and "Authorization headers"). A token this tool minted from the JWT secret is
    /// only known to the auth server itself, so it is sent as the bearer only.
    pub fn admin_auth_headers(self, credential: &Secret, minted: bool) -> AuthHeaders {
        match self {
            Flavor::Netlify => AuthHeaders {
                bearer: Some(credential.clone()),
                apikey: None,
            },
            Flavor::Supabase if minted => AuthHeaders {
                bearer: Some(credential.clone()),
                apikey: None,
            },
            Flavor::Supabase if is_supabase_secret_key(credential) => AuthHeaders {
                bearer: None,
                apikey: Some(credential.clone()),
            },
            Flavor::Supabase => AuthHeaders {
                bearer: Some(credential.clone()),
                apikey: Some(credential.clone()),
            },
        }
    }

    /// Why an admin credential cannot work on this flavour, before anything is sent.
    pub fn refuse_admin_credential(self, credential: &Secret) -> Option<String> {
        match self {
            Flavor::Supabase
                if credential
                    .expose()
                    .starts_with(SUPABASE_PUBLISHABLE_KEY_PREFIX) =>
            {
                Some(
                    "GOTRUE_ADMIN_TOKEN holds a publishable key (sb_publishable_…), which cannot use the admin API; use the project's secret key (sb_secret_…) or its legacy service_role key"
                        .into(),
                )
            }
            Flavor::Netlify if is_supabase_secret_key(credential) => Some(
                "GOTRUE_ADMIN_TOKEN holds a Supabase secret key (sb_secret_…) but the server is netlify/gotrue; pass --flavor supabase if it is a Supabase project"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Why the admin e-mail/password login is not available, if it is not. On supabase/auth
    /// a user's token opens the admin API only through its `role` claim, which is the
    /// Postgres role; no password login yields an admin token there.
    pub fn refuse_password_admin(self) -> Option<&'static str> {
        match self {
            Flavor::Netlify => None,
            Flavor::Supabase => Some(
                "Supabase Auth has no admin login by e-mail and password: its admin API takes only a token whose role is service_role, so set GOTRUE_ADMIN_TOKEN to the project's secret key (sb_secret_…) or service_role key, or GOTRUE_JWT_SECRET on a self-hosted server",
            ),
        }
    }

    /// The admin create/update field that confirms an address. netlify/gotrue ignores
    /// `email_confirm`, supabase/auth ignores `confirm` (200, nothing changes).
    pub fn confirm_field(self) -> &'static str {
        match self {
            Flavor::Netlify => "confirm",
            Flavor::Supabase => "email_confirm",
        }
    }

    /// The JSON body of an admin create or update in this server's words: the
    /// flavour-neutral `confirm` is `email_confirm` on supabase/auth.
    pub fn admin_write_body(self, mut body: Value) -> Value {
        if let (Flavor::Supabase, Some(fields)) = (self, body.as_object_mut()) {
            if let Some(confirm) = fields.remove("confirm") {
                fields.insert(self.confirm_field().to_owned(), confirm);
            }
        }
        body
    }

    /// Whether `POST /admin/users` stores `app_metadata`. netlify/gotrue ignores it (a
    /// follow-up `PUT` writes it: two requests per new user); supabase/auth merges it onto
    /// `{provider, providers}` (one request).
    pub fn create_sets_app_metadata(self) -> bool {
        match self {
            Flavor::Netlify => false,
            Flavor::Supabase => true,
        }
    }

    /// Metadata keys the server writes itself: never compared, removed or exported. Login
    /// does not restore `provider`/`providers` once removed, and confirming writes
    /// `email_verified`; self-signups on supabase/auth carry `email`, `sub` and
    /// `phone_verified` from the identity.
    pub fn server_owned_keys(self, map: MetadataMap) -> &'static [&'static str] {
        match (self, map) {
            (Flavor::Netlify, MetadataMap::App) => &["provider"],
            (Flavor::Netlify, MetadataMap::User) => &[],
            (Flavor::Supabase, MetadataMap::App) => &["provider", "providers"],
            (Flavor::Supabase, MetadataMap::User) => {
                &["email_verified", "email", "sub", "phone_verified"]
            }
        }
    }

    /// Whether `key` of `map` is server-owned on this flavour.
    pub fn is_server_owned(self, map: MetadataMap, key: &str) -> bool {
        self.server_owned_keys(map).contains(&key)
    }

    /// Whether giving a user `role` lets that user's own token administer the instance.
    /// netlify/gotrue: the role equals the admin group (`GOTRUE_JWT_ADMIN_GROUP_NAME`,
    /// `admin_group`). supabase/auth: the role is put into the user's JWT, and the default
    /// `GOTRUE_JWT_ADMIN_ROLES`, `service_role` and `supabase_admin`, open the admin API.
    pub fn role_opens_admin_api(self, role: &str, admin_group: &str) -> bool {
        let role = role.trim();
        match self {
            Flavor::Netlify => role == admin_group,
            Flavor::Supabase => SUPABASE_ADMIN_ROLES.contains(&role),
        }
    }

    /// The `role` every new user gets without being told: not exported, never a change.
    pub fn default_role(self) -> &'static str {
        match self {
            Flavor::Netlify => "",
            Flavor::Supabase => SUPABASE_DEFAULT_ROLE,
        }
    }

    /// How `POST /token` is encoded.
    pub fn token_encoding(self) -> TokenEncoding {
        match self {
            Flavor::Netlify => TokenEncoding::Form,
            Flavor::Supabase => TokenEncoding::QueryAndJson,
        }
    }

    /// How mail tokens are verified and invitations accepted.
    pub fn verify_encoding(self) -> VerifyEncoding {
        match self {
            Flavor::Netlify => VerifyEncoding::TokenAndPassword,
            Flavor::Supabase => VerifyEncoding::TokenHashThenPassword,
        }
    }

    /// How the refresh-token rotation is checked by the smoke test.
    pub fn rotation_check(self) -> RotationCheck {
        match self {
            Flavor::Netlify => RotationCheck::ParentRefused,
            Flavor::Supabase => RotationCheck::ParentReturnsActive,
        }
    }

    /// The `GET /settings` field that says new users are confirmed without a mail.
    pub fn autoconfirm_field(self) -> &'static str {
        match self {
            Flavor::Netlify => "autoconfirm",
            Flavor::Supabase => "mailer_autoconfirm",
        }
    }

    /// The `filter` value of a look-up by e-mail. supabase/auth stores addresses
    /// lower-cased and filters with a case-sensitive `LIKE`; netlify/gotrue keeps the
    /// spelling and compares case-insensitively in MySQL.
    pub fn lookup_filter(self, email: &str) -> String {
        let email = email.trim();
        match self {
            Flavor::Netlify => email.to_owned(),
            Flavor::Supabase => email.to_lowercase(),
        }
    }

    /// Whether a `filter` look-up that answers 500 means the server cannot filter at all, so
    /// that users are found by listing them instead: netlify/gotrue's filter uses a JSON
    /// operator MariaDB lacks (contract §11). supabase/auth filters with `LIKE`, so a 500
    /// there is a real failure, reported as such.
    pub fn filter_may_be_unsupported(self) -> bool {
        matches!(self, Flavor::Netlify)
    }

    /// Whether the server can hand out mail tokens without sending mail
    /// (`POST /admin/generate_link`).
    pub fn has_generate_link(self) -> bool {
        match self {
            Flavor::Netlify => false,
            Flavor::Supabase => true,
        }
    }
}

/// Whether `key` is one of Supabase's newer secret API keys (not a JWT).
pub fn is_supabase_secret_key(key: &Secret) -> bool {
    key.expose().starts_with(SUPABASE_SECRET_KEY_PREFIX)
}

/// An error answer of either server, whatever its shape: netlify's `{code, msg}`,
/// supabase's `{code, error_code, msg}` (+ `x-sb-error-code`), the versioned
/// `{code: "slug", message}`, the raw Postgres `{code: "23505", message, detail, hint}`, or
/// OAuth's `{error, error_description}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The machine-readable code: a supabase slug (`email_exists`), a Postgres SQLSTATE
    /// (`23505`) or an OAuth error (`invalid_grant`); `None` from netlify's `{code, msg}`.
    pub code: Option<String>,
    /// The server's own words.
    pub message: String,
}

#[derive(Deserialize)]
struct RawErrorBody {
    code: Option<Value>,
    error_code: Option<String>,
    msg: Option<String>,
    message: Option<String>,
    detail: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    weak_password: Option<WeakPasswordReasons>,
}

#[derive(Deserialize)]
struct WeakPasswordReasons {
    #[serde(default)]
    reasons: Vec<String>,
}

/// The SQLSTATE of a unique violation, which supabase/auth passes through on a rename or an
/// invite onto an address another user (of any audience) has.
pub const POSTGRES_UNIQUE_VIOLATION: &str = "23505";

impl ServerError {
    /// Reads an error body; `header_code` is `x-sb-error-code`, which wins when present.
    pub fn parse(header_code: Option<&str>, body: &[u8]) -> ServerError {
        let header_code = header_code
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let Ok(raw) = serde_json::from_slice::<RawErrorBody>(body) else {
            return ServerError {
                code: header_code,
                message: raw_text(body),
            };
        };
        let text_code = match &raw.code {
            Some(Value::String(code)) if !code.is_empty() => Some(code.clone()),
            _ => None,
        };
        let code = header_code
            .or(raw.error_code)
            .or(text_code)
            .or_else(|| raw.error.clone());
        let mut message = match (raw.msg.or(raw.message), raw.error, raw.error_description) {
            (Some(message), _, _) => message,
            (None, Some(error), Some(description)) => format!("{error}: {description}"),
            (None, Some(error), None) => error,
            (None, None, Some(description)) => description,
            (None, None, None) => raw_text(body),
        };
        if let Some(detail) = raw.detail.filter(|d| !d.is_empty()) {
            message = format!("{message} ({detail})");
        }
        if let Some(weak) = raw.weak_password.filter(|w| !w.reasons.is_empty()) {
            message = format!("{message} [{}]", weak.reasons.join(", "));
        }
        ServerError { code, message }
    }

    /// The message to show: a plain explanation for the codes a user meets and can act on,
    /// followed by the server's own words.
    pub fn describe(&self) -> String {
        match self.explanation() {
            Some(explained) => format!("{explained} (server: {})", self.message),
            None => self.message.clone(),
        }
    }

    fn explanation(&self) -> Option<&'static str> {
        Some(match self.code.as_deref()? {
            "email_exists" | "user_already_exists" => {
                "another user already has this e-mail address (email_exists)"
            }
            "weak_password" => {
                "the server refused the password as too weak (weak_password); Supabase checks strength on update, not on create"
            }
            "over_email_send_rate_limit" => {
                "the server's e-mail rate limit is used up (over_email_send_rate_limit): Supabase sends 30 mails an hour by default and says nothing about when to retry; wait, raise the limit (GOTRUE_RATE_LIMIT_EMAIL_SENT or the dashboard), or create users with a password instead of inviting them"
            }
            "validation_failed" => "the server refused the request as invalid (validation_failed)",
            POSTGRES_UNIQUE_VIOLATION => {
                "another user already has this e-mail address (Postgres unique violation 23505; on Supabase an address is unique across all audiences)"
            }
            "refresh_token_not_found" => "the refresh token is unknown or revoked (refresh_token_not_found)",
            "refresh_token_already_used" => {
                "the refresh token was already used and its session is revoked (refresh_token_already_used)"
            }
            _ => return None,
        })
    }

    /// A hint about the admin credential for an authentication failure of an admin request,
    /// if the answer is one.
    pub fn admin_credential_hint(
        &self,
        flavor: Option<Flavor>,
        status: u16,
    ) -> Option<&'static str> {
        match (self.code.as_deref(), status) {
            (Some("bad_jwt"), _) => Some(
                "the admin key is not a valid token for this project: use its secret key (sb_secret_…) or service_role key, or the JWT secret of this very server, and check that it has not expired",
            ),
            (Some("not_admin"), _) => Some(
                "the key is valid but not an admin: only a token whose role is service_role (or supabase_admin) may use the admin API; the anon and publishable keys cannot",
            ),
            (Some("no_authorization"), _) => Some(
                "the request carried no bearer token: set GOTRUE_ADMIN_TOKEN or GOTRUE_JWT_SECRET; through the hosted gateway a secret key is sent in the apikey header",
            ),
            (None, 401) if flavor != Some(Flavor::Supabase) => Some(
                "netlify/gotrue refused the admin credential: use the operator token or an admin JWT (GOTRUE_ADMIN_TOKEN), the instance's GOTRUE_JWT_SECRET, or a user whose role is the admin group",
            ),
            (None, 401 | 403) => Some(
                "Supabase refused the admin credential: use the project's secret key (sb_secret_…) or service_role key, or GOTRUE_JWT_SECRET on a self-hosted server",
            ),
            _ => None,
        }
    }
}

/// A non-JSON error body, shortened for a message.
fn raw_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests;

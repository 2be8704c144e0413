//! Everything that differs between the two servers the emulator plays: netlify/gotrue and its
//! fork supabase/auth (contract §10, and §11 as observed on real servers). Handlers ask this
//! one type how to behave; none of them tests the flavour itself.

use serde_json::{json, Value};

use axum::http::StatusCode;

use crate::collation::Collation;
use crate::error::ApiError;
use crate::mail::MailKind;
use crate::state::{random_token, Filter, Timestamp, User};

/// Which GoTrue server the emulator plays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// netlify/gotrue on MySQL, the server behind Netlify Identity.
    #[default]
    Netlify,
    /// supabase/auth on PostgreSQL, self-hosted or hosted under `/auth/v1`.
    Supabase,
}

/// How an admin caller is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAuth {
    /// The operator token, the system user (`sub` `0`) or a stored user whose role is the
    /// admin group; failures are 401 (`requireAdminCredentials`).
    StoredAdminGroup,
    /// A JWT whose `role` claim is an admin role, with no look-up of the user; a missing
    /// bearer is 401 `no_authorization`, a bad JWT 403 `bad_jwt`, another role 403
    /// `not_admin`.
    RoleClaim,
}

/// Which addresses count as one account, and where that is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailScope {
    /// Per audience, compared by the MySQL collation; stored as sent.
    PerAudienceCollated,
    /// Across all audiences (a unique index on the lower-cased column); stored lower-cased.
    GlobalLowercased,
}

/// How `POST /token` takes its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEncoding {
    /// A form body (`grant_type`, `username`, `password`), OAuth-style errors.
    Form,
    /// `?grant_type=` and a JSON body (`email`, `password` / `refresh_token`).
    QueryAndJson,
}

/// What a replayed (already rotated) refresh token gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReuse {
    /// A rotated token is gone: `invalid_grant`.
    Refused,
    /// The parent of the active token answers with the active token (reuse interval); an
    /// older one is `refresh_token_already_used` and revokes the session.
    ParentReturnsActive,
}

/// How listing orders users that share a `created_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TieOrder {
    /// Stable: MySQL happened to page 3,000 equal timestamps without gaps (§11).
    Stable,
    /// Differs from query to query, as PostgreSQL's sort without a tie-breaker does (§11):
    /// offset pages overlap and skip. Modelled deterministically: a run of equal timestamps
    /// is rotated by half the page's offset, so the first page (offset 0), and a single page
    /// holding everyone, are complete.
    ShiftsWithOffset,
}

/// The supabase/auth admin roles (`GOTRUE_JWT_ADMIN_ROLES` default).
pub const SUPABASE_ADMIN_ROLES: [&str; 2] = ["service_role", "supabase_admin"];

/// supabase/auth's minimum password length (`GOTRUE_PASSWORD_MIN_LENGTH` default).
pub const SUPABASE_MIN_PASSWORD_LENGTH: usize = 6;

impl Flavor {
    /// Name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Netlify => "netlify",
            Flavor::Supabase => "supabase",
        }
    }

    pub(crate) fn admin_auth(self) -> AdminAuth {
        match self {
            Flavor::Netlify => AdminAuth::StoredAdminGroup,
            Flavor::Supabase => AdminAuth::RoleClaim,
        }
    }

    /// Whether a role opens the admin API (netlify: the configured admin group of a stored
    /// user; supabase: the role claim).
    pub(crate) fn is_admin_role(self, role: &str, admin_group: &str) -> bool {
        match self.admin_auth() {
            AdminAuth::StoredAdminGroup => role == admin_group,
            AdminAuth::RoleClaim => SUPABASE_ADMIN_ROLES.contains(&role),
        }
    }

    pub(crate) fn email_scope(self) -> EmailScope {
        match self {
            Flavor::Netlify => EmailScope::PerAudienceCollated,
            Flavor::Supabase => EmailScope::GlobalLowercased,
        }
    }

    pub(crate) fn collation(self) -> Collation {
        match self.email_scope() {
            EmailScope::PerAudienceCollated => Collation::Utf8mb4UnicodeCi,
            EmailScope::GlobalLowercased => Collation::Lowercase,
        }
    }

    /// The address as stored.
    pub(crate) fn stored_email(self, email: &str) -> String {
        match self.email_scope() {
            EmailScope::PerAudienceCollated => email.to_owned(),
            EmailScope::GlobalLowercased => email.to_lowercase(),
        }
    }

    pub(crate) fn token_encoding(self) -> TokenEncoding {
        match self {
            Flavor::Netlify => TokenEncoding::Form,
            Flavor::Supabase => TokenEncoding::QueryAndJson,
        }
    }

    pub(crate) fn refresh_reuse(self) -> RefreshReuse {
        match self {
            Flavor::Netlify => RefreshReuse::Refused,
            Flavor::Supabase => RefreshReuse::ParentReturnsActive,
        }
    }

    pub(crate) fn tie_order(self) -> TieOrder {
        match self {
            Flavor::Netlify => TieOrder::Stable,
            Flavor::Supabase => TieOrder::ShiftsWithOffset,
        }
    }

    /// The admin create/update field that confirms a user (the other one is ignored).
    pub(crate) fn confirm_field(self) -> &'static str {
        match self {
            Flavor::Netlify => "confirm",
            Flavor::Supabase => "email_confirm",
        }
    }

    /// Whether `app_metadata` in an admin create is stored (netlify ignores it).
    pub(crate) fn create_takes_app_metadata(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// Audience when none is configured (`GOTRUE_JWT_AUD`; supabase deployments use
    /// `authenticated`).
    pub(crate) fn audience(self, configured: &str) -> String {
        match self {
            Flavor::Supabase if configured.is_empty() => "authenticated".to_owned(),
            _ => configured.to_owned(),
        }
    }

    /// Role of a user created without one (`GOTRUE_JWT_DEFAULT_GROUP_NAME`).
    pub(crate) fn default_role(self) -> &'static str {
        match self {
            Flavor::Netlify => "",
            Flavor::Supabase => "authenticated",
        }
    }

    /// The `app_metadata` of a new e-mail user.
    pub(crate) fn new_app_metadata(self) -> serde_json::Map<String, Value> {
        let value = match self {
            Flavor::Netlify => json!({"provider": "email"}),
            Flavor::Supabase => json!({"provider": "email", "providers": ["email"]}),
        };
        value.as_object().cloned().unwrap_or_default()
    }

    /// The password stored for an admin create without one: netlify/gotrue hashes the
    /// empty string (such a user can log in with an empty password once confirmed);
    /// supabase/auth a random one, so nobody can log in before setting a password.
    pub(crate) fn password_when_absent(self) -> String {
        match self {
            Flavor::Netlify => String::new(),
            Flavor::Supabase => random_token(),
        }
    }

    /// Whether an admin update's `email` is validated, lower-cased and held to the unique
    /// index (whose violation supabase/auth passes on as a 500); netlify/gotrue stores it
    /// verbatim with no check at all.
    pub(crate) fn checks_updated_email(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// Whether a server-wide e-mail rate limit exists (`GOTRUE_RATE_LIMIT_EMAIL_SENT`).
    pub(crate) fn has_email_rate_limit(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// The answer to a signup for an address that is already confirmed.
    pub(crate) fn signup_taken(self) -> ApiError {
        match self {
            Flavor::Netlify => {
                ApiError::bad_request("A user with this email address has already been registered")
            }
            Flavor::Supabase => ApiError::coded(
                StatusCode::UNPROCESSABLE_ENTITY,
                "user_already_exists",
                "User already registered",
            ),
        }
    }

    /// The claims of a user's access token (`generateAccessToken`): supabase/auth adds the
    /// user's `role` (which its admin check reads), `iat` and the `session_id`.
    pub(crate) fn access_token_claims(
        self,
        user: &User,
        session: &uuid::Uuid,
        now: Timestamp,
        ttl: i64,
    ) -> Value {
        match self {
            Flavor::Netlify => json!({
                "sub": user.id,
                "aud": user.aud,
                "exp": now + ttl,
                "email": user.email,
                "app_metadata": user.app_metadata,
                "user_metadata": user.user_metadata,
            }),
            Flavor::Supabase => json!({
                "sub": user.id,
                "aud": user.aud,
                "exp": now + ttl,
                "iat": now,
                "email": user.email,
                "phone": "",
                "app_metadata": user.app_metadata,
                "user_metadata": user.user_metadata,
                "role": user.role,
                "aal": "aal1",
                "session_id": session,
                "is_anonymous": false,
            }),
        }
    }

    /// The header of the JWTs this server issues: netlify/gotrue names its key `nf-ident`;
    /// supabase/auth's HS256 tokens carry no `kid`.
    pub(crate) fn jwt_header(self) -> Value {
        match self {
            Flavor::Netlify => json!({"alg": "HS256", "kid": "nf-ident", "typ": "JWT"}),
            Flavor::Supabase => json!({"alg": "HS256", "typ": "JWT"}),
        }
    }

    /// The admin credential a client is handed: the operator token, or a `service_role`
    /// key signed with the JWT secret and valid for ten years, like the keys a local
    /// Supabase stack prints.
    pub(crate) fn admin_key(
        self,
        operator_token: &str,
        jwt_secret: &str,
        now: Timestamp,
    ) -> String {
        match self.admin_auth() {
            AdminAuth::StoredAdminGroup => operator_token.to_owned(),
            AdminAuth::RoleClaim => crate::auth::sign(
                &self.jwt_header(),
                &json!({
                    "role": "service_role",
                    "iss": "gotrue-emulator",
                    "iat": now,
                    "exp": now + 10 * 365 * 24 * 3600,
                }),
                jwt_secret,
            ),
        }
    }

    /// A user read from a seed file, completed as this server writes users: the address
    /// as stored, the default role when none is given, the provider keys when missing.
    pub(crate) fn complete_imported(self, user: &mut User) {
        user.email = self.stored_email(&user.email);
        if user.role.is_empty() {
            self.default_role().clone_into(&mut user.role);
        }
        let mut app_metadata = user.app_metadata.to_map();
        let mut missing = serde_json::Map::new();
        for (key, value) in self.new_app_metadata() {
            if !app_metadata.contains_key(&key) {
                missing.insert(key, value);
            }
        }
        if !missing.is_empty() {
            app_metadata.extend(missing);
            user.app_metadata = crate::state::Metadata::from(app_metadata);
        }
    }

    /// Whether confirming writes `user_metadata.email_verified: true` (§11).
    pub(crate) fn confirm_marks_email_verified(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// Whether an admin password change is checked for strength (create is not, §11).
    pub(crate) fn min_password_length(self) -> Option<usize> {
        match self {
            Flavor::Netlify => None,
            Flavor::Supabase => Some(SUPABASE_MIN_PASSWORD_LENGTH),
        }
    }

    /// Whether an invite to a pending (invited, unconfirmed) user re-sends the invitation
    /// instead of answering 422.
    pub(crate) fn invite_resends_to_pending(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// Whether inviting a new user costs a password hash. netlify/gotrue creates an invited
    /// user through the signup path, which bcrypts the (empty) password, so invites are bound
    /// by bcrypt on a real server (contract §11: 300 invites, ~34 s on 2 cores). Whether
    /// supabase/auth hashes an invite's empty password the contract does not say; this
    /// emulator assumes it does not.
    pub(crate) fn invite_hashes_password(self) -> bool {
        matches!(self, Flavor::Netlify)
    }

    /// Whether signup with autoconfirm answers a session (`{access_token, …, user}`).
    pub(crate) fn signup_answers_session(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// The listing's `filter`: netlify/gotrue's MySQL `LIKE` on the address or full name
    /// (case-insensitive by collation); supabase/auth's PostgreSQL `LIKE` on the address
    /// (case-sensitive, §11).
    pub(crate) fn list_filter(self, needle: &str) -> Filter {
        match self.email_scope() {
            EmailScope::PerAudienceCollated => {
                Filter::EmailOrFullNameCaseInsensitive(needle.to_owned())
            }
            EmailScope::GlobalLowercased => Filter::EmailCaseSensitive(needle.to_owned()),
        }
    }

    /// Whether `/verify` takes `{type, token_hash}` (supabase/auth) rather than
    /// `{type, token[, password]}` (netlify/gotrue).
    pub(crate) fn verifies_token_hash(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// Whether a token answer carries `expires_at` and the `user`.
    pub(crate) fn session_has_user(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// A log-in with an unknown address or a wrong password.
    pub(crate) fn bad_credentials(self) -> ApiError {
        match self.token_encoding() {
            TokenEncoding::Form => ApiError::oauth(
                "invalid_grant",
                "No user found with that email, or password invalid.",
            ),
            TokenEncoding::QueryAndJson => ApiError::coded(
                StatusCode::BAD_REQUEST,
                "invalid_credentials",
                "Invalid login credentials",
            ),
        }
    }

    /// A log-in of an address not confirmed yet.
    pub(crate) fn email_not_confirmed(self) -> ApiError {
        match self.token_encoding() {
            TokenEncoding::Form => ApiError::oauth("invalid_grant", "Email not confirmed"),
            TokenEncoding::QueryAndJson => ApiError::coded(
                StatusCode::BAD_REQUEST,
                "email_not_confirmed",
                "Email not confirmed",
            ),
        }
    }

    /// Whether the `Link` header carries `rel="prev"`.
    pub(crate) fn link_has_prev(self) -> bool {
        matches!(self, Flavor::Netlify)
    }

    /// Whether the hosted path prefix `/auth/v1` is served besides the bare paths.
    pub(crate) fn path_prefix(self) -> Option<&'static str> {
        match self {
            Flavor::Netlify => None,
            Flavor::Supabase => Some("/auth/v1"),
        }
    }

    /// Largest request body (supabase/auth: 1 MiB, then 413; netlify/gotrue has none, so
    /// axum's own default applies).
    pub(crate) fn body_limit(self) -> Option<usize> {
        match self {
            Flavor::Netlify => None,
            Flavor::Supabase => Some(1024 * 1024),
        }
    }

    /// Whether the extra admin route `POST /admin/generate_link` exists.
    pub(crate) fn has_generate_link(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// Whether errors carry `error_code` (and the `X-Sb-Error-Code` header).
    pub(crate) fn coded_errors(self) -> bool {
        matches!(self, Flavor::Supabase)
    }

    /// The answer to creating or inviting an address that is taken.
    pub(crate) fn email_taken(self) -> ApiError {
        match self {
            Flavor::Netlify => {
                ApiError::unprocessable("Email address already registered by another user")
            }
            Flavor::Supabase => ApiError::coded(
                StatusCode::UNPROCESSABLE_ENTITY,
                "email_exists",
                "A user with this email address has already been registered",
            ),
        }
    }

    /// The answer to a `user_id` that is not a UUID (supabase/auth: 404, §11).
    pub(crate) fn bad_user_id(self) -> ApiError {
        match self {
            Flavor::Netlify => ApiError::bad_request("user_id must be an UUID"),
            Flavor::Supabase => ApiError::coded(
                StatusCode::NOT_FOUND,
                "validation_failed",
                "user_id must be an UUID",
            ),
        }
    }

    /// The answer to `per_page=0` (netlify/gotrue drops the connection; a clear 400 stands
    /// in for that; supabase/auth answers 500, §11).
    pub(crate) fn zero_per_page(self) -> ApiError {
        match self {
            Flavor::Netlify => {
                ApiError::bad_request("Bad Pagination Parameters: per_page must be positive")
            }
            Flavor::Supabase => ApiError::internal("Internal server error"),
        }
    }

    /// Address syntax: netlify/gotrue checks with Go's `net/mail` only when a mailer is
    /// configured; supabase/auth always checks its own format (and at most 255 bytes).
    pub(crate) fn check_address(
        self,
        email: &str,
        mailer_configured: bool,
    ) -> Result<(), ApiError> {
        match self {
            Flavor::Netlify => {
                if email.is_empty() {
                    return Err(ApiError::unprocessable("An email address is required"));
                }
                if mailer_configured {
                    crate::address::parse_address(email).map_err(|e| {
                        ApiError::unprocessable(format!("Unable to validate email address: {e}"))
                    })?;
                }
                Ok(())
            }
            Flavor::Supabase => {
                let invalid =
                    |msg: &str| ApiError::coded(StatusCode::BAD_REQUEST, "validation_failed", msg);
                if email.is_empty() {
                    return Err(invalid("An email address is required"));
                }
                if email.len() > 255 {
                    return Err(invalid("An email address is too long"));
                }
                if !supabase_address_format(email) {
                    return Err(invalid("Unable to validate email address: invalid format"));
                }
                Ok(())
            }
        }
    }

    /// A password the server refuses as too weak, on update (and signup).
    pub(crate) fn check_password_strength(self, password: &str) -> Result<(), ApiError> {
        match self.min_password_length() {
            Some(min) if password.chars().count() < min => Err(ApiError::coded(
                StatusCode::UNPROCESSABLE_ENTITY,
                "weak_password",
                format!("Password should be at least {min} characters."),
            )),
            _ => Ok(()),
        }
    }

    /// The link a captured mail carries: a fragment on the site for netlify/gotrue, the
    /// server's `/verify` with a token hash for supabase/auth.
    pub(crate) fn mail_link(self, site_url: &str, kind: MailKind, token: &str) -> String {
        let site = site_url.trim_end_matches('/');
        match self {
            Flavor::Netlify => format!("{site}/#{}={token}", kind.fragment()),
            Flavor::Supabase => format!(
                "{site}/auth/v1/verify?token={token}&type={}&redirect_to={site}",
                kind.verification_type()
            ),
        }
    }

    /// `GET /settings`.
    pub(crate) fn settings(self, autoconfirm: bool, disable_signup: bool) -> Value {
        match self {
            Flavor::Netlify => json!({
                "external": {
                    "bitbucket": false, "github": false, "gitlab": false, "google": false,
                    "facebook": false, "email": true, "saml": false,
                },
                "external_labels": {},
                "disable_signup": disable_signup,
                "autoconfirm": autoconfirm,
            }),
            Flavor::Supabase => json!({
                "external": {
                    "anonymous_users": false, "apple": false, "azure": false, "bitbucket": false,
                    "discord": false, "facebook": false, "figma": false, "github": false,
                    "gitlab": false, "google": false, "keycloak": false, "linkedin_oidc": false,
                    "notion": false, "slack_oidc": false, "spotify": false, "twitch": false,
                    "twitter": false, "workos": false, "zoom": false,
                    "email": true, "phone": false,
                },
                "disable_signup": disable_signup,
                "mailer_autoconfirm": autoconfirm,
                "phone_autoconfirm": false,
                "sms_provider": "",
                "saml_enabled": false,
                "passkeys_enabled": false,
            }),
        }
    }

    /// The `error_code` of an error that did not name one, by status.
    pub(crate) fn default_error_code(status: u16) -> &'static str {
        match status {
            400 => "validation_failed",
            401 => "no_authorization",
            403 => "not_admin",
            404 => "not_found",
            413 => "request_entity_too_large",
            422 => "validation_failed",
            429 => "over_request_rate_limit",
            _ => "unexpected_failure",
        }
    }
}

/// supabase/auth's address format (`^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@` then dot-separated
/// labels of letters, digits and inner hyphens, at most 63 long): `bob@example` passes,
/// `not-an-email` does not.
fn supabase_address_format(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-')
    };
    local_ok && domain.split('.').all(label_ok)
}

impl std::str::FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "netlify" => Ok(Flavor::Netlify),
            "supabase" => Ok(Flavor::Supabase),
            other => Err(format!(
                "unknown flavour {other:?} (expected netlify or supabase)"
            )),
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for flavor in [Flavor::Netlify, Flavor::Supabase] {
            assert_eq!(flavor.name().parse::<Flavor>(), Ok(flavor));
        }
        assert!("gotrue".parse::<Flavor>().is_err());
    }

    #[test]
    fn admin_roles_follow_the_flavour() {
        assert!(Flavor::Netlify.is_admin_role("admin", "admin"));
        assert!(!Flavor::Netlify.is_admin_role("service_role", "admin"));
        assert!(Flavor::Supabase.is_admin_role("service_role", "admin"));
        assert!(Flavor::Supabase.is_admin_role("supabase_admin", "admin"));
        assert!(!Flavor::Supabase.is_admin_role("admin", "admin"));
    }

    #[test]
    fn supabase_address_format_accepts_single_labels_and_refuses_non_addresses() {
        for ok in ["bob@example", "a.b+c@x-y.example.com", "UPPER@Example.COM"] {
            assert!(supabase_address_format(ok), "{ok}");
        }
        for bad in [
            "not-an-email",
            "a@b@c",
            "@x.com",
            "a@",
            "a@-x.com",
            "a b@x.com",
            "a@x..com",
        ] {
            assert!(!supabase_address_format(bad), "{bad}");
        }
        assert!(Flavor::Supabase.check_password_strength("12345").is_err());
        assert!(Flavor::Supabase.check_password_strength("123456").is_ok());
        assert!(Flavor::Netlify.check_password_strength("1").is_ok());
    }

    #[test]
    fn settings_name_the_autoconfirm_switch_as_each_server_does() {
        let netlify = Flavor::Netlify.settings(true, false);
        assert_eq!(netlify["autoconfirm"], true);
        assert!(netlify.get("mailer_autoconfirm").is_none());
        let supabase = Flavor::Supabase.settings(true, false);
        assert_eq!(supabase["mailer_autoconfirm"], true);
        assert!(supabase.get("autoconfirm").is_none());
    }
}

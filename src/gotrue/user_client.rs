//! The visitor-facing GoTrue API (settings, signup, verify, token, user, logout), as a site's
//! JavaScript would call it. The smoke test drives it.
//!
//! Unlike the admin client this one never retries: a smoke test reports what a visitor would
//! see, and a visitor's browser does not retry a 429 or a 503 either.
//!
//! Request shapes follow the client's [`Flavor`]: netlify/gotrue takes a form-encoded
//! `/token` and `{type, token, password}` on `/verify`; supabase/auth takes `?grant_type=`
//! with a JSON body, `{type, token_hash}`, and a password set afterwards with `PUT /user`.

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin::{describe_transport_error, normalize_base_url};
use super::error::{GotrueError, RequestLabel};
use super::flavor::{Flavor, FlavorChoice, ServerError, TokenEncoding, VerifyEncoding};
use crate::secret::Secret;

/// `GET /settings`: what the instance allows.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Which providers are enabled; `email` is the one the user flow needs.
    pub external: External,
    /// `GOTRUE_DISABLE_SIGNUP`.
    pub disable_signup: bool,
    /// `GOTRUE_MAILER_AUTOCONFIRM`: new users are confirmed without an e-mail. netlify/gotrue
    /// calls it `autoconfirm`, supabase/auth `mailer_autoconfirm`.
    pub autoconfirm: bool,
}

impl Settings {
    /// Reads a `GET /settings` answer as `flavor` words it; missing fields read as off.
    pub fn from_json(flavor: Flavor, settings: &Value) -> Settings {
        let flag = |name: &str| settings.get(name).and_then(Value::as_bool).unwrap_or(false);
        Settings {
            external: settings
                .get("external")
                .and_then(|e| serde_json::from_value(e.clone()).ok())
                .unwrap_or_default(),
            disable_signup: flag("disable_signup"),
            autoconfirm: flag(flavor.autoconfirm_field()),
        }
    }
}

/// The providers part of [`Settings`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct External {
    /// The e-mail/password provider.
    #[serde(default)]
    pub email: bool,
}

/// A user as the user-flow endpoints return it (the fields the smoke test checks).
#[derive(Debug, Clone, Deserialize)]
pub struct FlowUser {
    /// UUID.
    pub id: String,
    /// E-mail as stored.
    #[serde(default)]
    pub email: String,
    /// Audience.
    #[serde(default)]
    pub aud: String,
    /// Set once confirmed; omitted otherwise.
    #[serde(default)]
    pub confirmed_at: Option<String>,
    /// User metadata (`data` on signup and `PUT /user`); `null` when none was given.
    #[serde(default)]
    pub user_metadata: Option<Value>,
}

/// What `POST /signup` answered: the new user, and a session when the server signed the user
/// in at once (supabase/auth with autoconfirm answers with a session carrying the user).
#[derive(Debug, Clone)]
pub struct SignupAnswer {
    /// The user.
    pub user: FlowUser,
    /// The session, when the answer was one.
    pub session: Option<Session>,
}

/// A session answer with the user inside, as supabase/auth gives it.
#[derive(Deserialize)]
struct SessionWithUser {
    #[serde(flatten)]
    session: Session,
    user: FlowUser,
}

/// The token response of `/token` and `/verify`. Both tokens are secrets.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    /// The JWT.
    pub access_token: Secret,
    /// The opaque refresh token.
    pub refresh_token: Secret,
    /// Seconds until the access token expires.
    #[serde(default)]
    pub expires_in: u64,
    /// `bearer`.
    #[serde(default)]
    pub token_type: String,
}

/// Client of the user-flow endpoints of one GoTrue root.
#[derive(Debug, Clone)]
pub struct UserClient {
    http: reqwest::Client,
    base: String,
    aud: Option<String>,
    flavor: Flavor,
    apikey: Option<Secret>,
}

impl UserClient {
    /// A client for the GoTrue root at `url`; `aud` is sent as `X-JWT-AUD`. It speaks
    /// netlify/gotrue until [`UserClient::with_flavor`] says otherwise.
    pub fn new(url: &str, aud: Option<String>, timeout: Duration) -> Result<Self, GotrueError> {
        let base = normalize_base_url(url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("gotrue-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .build()
            .map_err(|e| GotrueError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(UserClient {
            http,
            base,
            aud,
            flavor: Flavor::Netlify,
            apikey: None,
        })
    }

    /// The same client, speaking `flavor`.
    pub fn with_flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// The same client, sending `key` (a Supabase project's publishable or anon key) in the
    /// `apikey` header the hosted gateway requires on every request.
    pub fn with_apikey(mut self, key: Option<Secret>) -> Self {
        self.apikey = key;
        self
    }

    /// The flavour the client speaks.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The flavour `choice` names, or for `auto` the one the URL's shape gives away or else
    /// the one `GET /settings` reads like.
    pub async fn resolve_flavor(&self, choice: FlavorChoice) -> Result<Flavor, GotrueError> {
        if let Some(flavor) = choice
            .fixed()
            .or_else(|| Flavor::from_url_shape(&self.base))
        {
            return Ok(flavor);
        }
        let settings = self.settings_json().await?;
        Flavor::detect(&settings).map_err(|e| GotrueError::Decode {
            request: RequestLabel::new("GET", "/settings", None),
            detail: e.to_string(),
        })
    }

    /// The GoTrue root URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The audience sent as `X-JWT-AUD`, if any.
    pub fn aud(&self) -> Option<&str> {
        self.aud.as_deref()
    }

    /// The underlying HTTP client, for requests outside the GoTrue API (the emulator's inbox).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET /health`: `{version, name, description}`.
    pub async fn health(&self) -> Result<Value, GotrueError> {
        let label = RequestLabel::new("GET", "/health", None);
        self.call(&label, self.request(Method::GET, "/health"))
            .await
    }

    /// `GET /settings`, as the server words it: read it with [`Settings::from_json`] once
    /// the flavour is known (it may be detected from this very answer).
    pub async fn settings_json(&self) -> Result<Value, GotrueError> {
        let label = RequestLabel::new("GET", "/settings", None);
        self.call(&label, self.request(Method::GET, "/settings"))
            .await
    }

    /// `POST /signup {email, password, data}`. The answer is the new user, or a session
    /// carrying it when the server signs new users in at once.
    pub async fn signup(
        &self,
        email: &str,
        password: &Secret,
        data: &Value,
    ) -> Result<SignupAnswer, GotrueError> {
        let label = RequestLabel::new("POST", "/signup", Some(email));
        let body = json!({"email": email, "password": password.expose(), "data": data});
        let request = self.request(Method::POST, "/signup").json(&body);
        let answer: Value = self.call(&label, request).await?;
        let decoded = if answer.get("access_token").is_some() {
            serde_json::from_value::<SessionWithUser>(answer).map(|s| SignupAnswer {
                user: s.user,
                session: Some(s.session),
            })
        } else {
            serde_json::from_value::<FlowUser>(answer).map(|user| SignupAnswer {
                user,
                session: None,
            })
        };
        decoded.map_err(|e| GotrueError::Decode {
            request: label,
            detail: format!("neither a user nor a session ({e})"),
        })
    }

    /// Confirms a signup with the token of its mail and logs the user in:
    /// `{type: "signup", token}` on netlify/gotrue, `{type: "signup", token_hash}` on
    /// supabase/auth (whose mail link carries the token hash).
    pub async fn verify_signup(&self, email: &str, token: &Secret) -> Result<Session, GotrueError> {
        let body = match self.flavor.verify_encoding() {
            VerifyEncoding::TokenAndPassword => json!({"type": "signup", "token": token.expose()}),
            VerifyEncoding::TokenHashThenPassword => {
                json!({"type": "signup", "token_hash": token.expose()})
            }
        };
        self.verify(email, &body).await
    }

    /// Accepts an invitation with the token of its mail and gives the user `password`:
    /// netlify/gotrue takes both in one `/verify {type: "signup", token, password}`;
    /// supabase/auth verifies `{type: "invite", token_hash}` and the password is then set with
    /// `PUT /user` under the session that returned.
    pub async fn accept_invite(
        &self,
        email: &str,
        token: &Secret,
        password: &Secret,
    ) -> Result<Session, GotrueError> {
        match self.flavor.verify_encoding() {
            VerifyEncoding::TokenAndPassword => {
                let body = json!({"type": "signup", "token": token.expose(), "password": password.expose()});
                self.verify(email, &body).await
            }
            VerifyEncoding::TokenHashThenPassword => {
                let body = json!({"type": "invite", "token_hash": token.expose()});
                let session = self.verify(email, &body).await?;
                self.update(
                    email,
                    &session.access_token,
                    &json!({"password": password.expose()}),
                )
                .await?;
                Ok(session)
            }
        }
    }

    async fn verify(&self, email: &str, body: &Value) -> Result<Session, GotrueError> {
        let label = RequestLabel::new("POST", "/verify", Some(email));
        let request = self.request(Method::POST, "/verify").json(body);
        self.call(&label, request).await
    }

    /// `POST /token` with the password grant.
    pub async fn login(&self, email: &str, password: &Secret) -> Result<Session, GotrueError> {
        let label = RequestLabel::new("POST", "/token", Some(email));
        let request = match self.flavor.token_encoding() {
            TokenEncoding::Form => self.request(Method::POST, "/token").form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password.expose()),
            ]),
            TokenEncoding::QueryAndJson => self
                .request(Method::POST, "/token?grant_type=password")
                .json(&json!({"email": email, "password": password.expose()})),
        };
        self.call(&label, request).await
    }

    /// `POST /token` with the refresh-token grant; `email` names the user in errors.
    pub async fn refresh(
        &self,
        email: &str,
        refresh_token: &Secret,
    ) -> Result<Session, GotrueError> {
        let label = RequestLabel::new("POST", "/token", Some(email));
        let request = match self.flavor.token_encoding() {
            TokenEncoding::Form => self.request(Method::POST, "/token").form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ]),
            TokenEncoding::QueryAndJson => self
                .request(Method::POST, "/token?grant_type=refresh_token")
                .json(&json!({"refresh_token": refresh_token.expose()})),
        };
        self.call(&label, request).await
    }

    /// `GET /user` with the user's access token.
    pub async fn user(&self, email: &str, access_token: &Secret) -> Result<FlowUser, GotrueError> {
        let label = RequestLabel::new("GET", "/user", Some(email));
        let request = self
            .request(Method::GET, "/user")
            .bearer_auth(access_token.expose());
        self.call(&label, request).await
    }

    /// `PUT /user {data}`: merges `data` into the user's metadata.
    pub async fn update_data(
        &self,
        email: &str,
        access_token: &Secret,
        data: &Value,
    ) -> Result<FlowUser, GotrueError> {
        self.update(email, access_token, &json!({ "data": data }))
            .await
    }

    async fn update(
        &self,
        email: &str,
        access_token: &Secret,
        body: &Value,
    ) -> Result<FlowUser, GotrueError> {
        let label = RequestLabel::new("PUT", "/user", Some(email));
        let request = self
            .request(Method::PUT, "/user")
            .bearer_auth(access_token.expose())
            .json(body);
        self.call(&label, request).await
    }

    /// `POST /logout`: revokes the user's refresh tokens; the server answers 204.
    pub async fn logout(&self, email: &str, access_token: &Secret) -> Result<(), GotrueError> {
        let label = RequestLabel::new("POST", "/logout", Some(email));
        let request = self
            .request(Method::POST, "/logout")
            .bearer_auth(access_token.expose());
        self.send(&label, request).await.map(drop)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(aud) = &self.aud {
            request = request.header("X-JWT-AUD", aud);
        }
        if let Some(key) = &self.apikey {
            request = request.header("apikey", key.expose());
        }
        request
    }

    async fn call<T: DeserializeOwned>(
        &self,
        label: &RequestLabel,
        request: RequestBuilder,
    ) -> Result<T, GotrueError> {
        let body = self.send(label, request).await?;
        serde_json::from_slice(&body).map_err(|e| GotrueError::Decode {
            request: label.clone(),
            detail: format!("invalid JSON ({e})"),
        })
    }

    /// Sends once; a status other than 2xx is an error carrying the server's message.
    async fn send(
        &self,
        label: &RequestLabel,
        request: RequestBuilder,
    ) -> Result<bytes::Bytes, GotrueError> {
        tracing::debug!(request = %label, "sending");
        let response = request.send().await.map_err(|e| GotrueError::Transport {
            request: label.clone(),
            detail: describe_transport_error(&e),
            not_sent: e.is_connect(),
        })?;
        let status = response.status();
        let error_code = response
            .headers()
            .get("x-sb-error-code")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(|e| GotrueError::Transport {
            request: label.clone(),
            detail: describe_transport_error(&e),
            not_sent: false,
        })?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(GotrueError::Api {
                request: label.clone(),
                status: status.as_u16(),
                message: ServerError::parse(error_code.as_deref(), &body).describe(),
            })
        }
    }
}

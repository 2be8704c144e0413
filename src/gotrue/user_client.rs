//! The visitor-facing GoTrue API (settings, signup, verify, token, user, logout), as a site's
//! JavaScript would call it. The smoke test drives it.
//!
//! Unlike the admin client this one never retries: a smoke test reports what a visitor would
//! see, and a visitor's browser does not retry a 429 or a 503 either.

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin::{describe_transport_error, normalize_base_url};
use super::error::{error_message, GotrueError, RequestLabel};
use crate::secret::Secret;

/// `GET /settings`: what the instance allows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Settings {
    /// Which providers are enabled; `email` is the one the user flow needs.
    #[serde(default)]
    pub external: External,
    /// `GOTRUE_DISABLE_SIGNUP`.
    #[serde(default)]
    pub disable_signup: bool,
    /// `GOTRUE_MAILER_AUTOCONFIRM`: new users are confirmed without an e-mail.
    #[serde(default)]
    pub autoconfirm: bool,
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
}

impl UserClient {
    /// A client for the GoTrue root at `url`; `aud` is sent as `X-JWT-AUD`.
    pub fn new(url: &str, aud: Option<String>, timeout: Duration) -> Result<Self, GotrueError> {
        let base = normalize_base_url(url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("gotrue-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .build()
            .map_err(|e| GotrueError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(UserClient { http, base, aud })
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

    /// `GET /settings`.
    pub async fn settings(&self) -> Result<Settings, GotrueError> {
        let label = RequestLabel::new("GET", "/settings", None);
        self.call(&label, self.request(Method::GET, "/settings"))
            .await
    }

    /// `POST /signup {email, password, data}`.
    pub async fn signup(
        &self,
        email: &str,
        password: &Secret,
        data: &Value,
    ) -> Result<FlowUser, GotrueError> {
        let label = RequestLabel::new("POST", "/signup", Some(email));
        let body = json!({"email": email, "password": password.expose(), "data": data});
        let request = self.request(Method::POST, "/signup").json(&body);
        self.call(&label, request).await
    }

    /// `POST /verify {type: "signup", token[, password]}`: confirms a signup, or accepts an
    /// invitation (which needs a password), and logs the user in.
    pub async fn verify_signup(
        &self,
        email: &str,
        token: &Secret,
        password: Option<&Secret>,
    ) -> Result<Session, GotrueError> {
        let label = RequestLabel::new("POST", "/verify", Some(email));
        let mut body = json!({"type": "signup", "token": token.expose()});
        if let Some(password) = password {
            body["password"] = Value::String(password.expose().to_owned());
        }
        let request = self.request(Method::POST, "/verify").json(&body);
        self.call(&label, request).await
    }

    /// `POST /token` with the password grant (form-encoded, as GoTrue requires).
    pub async fn login(&self, email: &str, password: &Secret) -> Result<Session, GotrueError> {
        let label = RequestLabel::new("POST", "/token", Some(email));
        let request = self.request(Method::POST, "/token").form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password.expose()),
        ]);
        self.call(&label, request).await
    }

    /// `POST /token` with the refresh-token grant; `email` names the user in errors.
    pub async fn refresh(
        &self,
        email: &str,
        refresh_token: &Secret,
    ) -> Result<Session, GotrueError> {
        let label = RequestLabel::new("POST", "/token", Some(email));
        let request = self.request(Method::POST, "/token").form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ]);
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
        let label = RequestLabel::new("PUT", "/user", Some(email));
        let request = self
            .request(Method::PUT, "/user")
            .bearer_auth(access_token.expose())
            .json(&json!({ "data": data }));
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
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.aud {
            Some(aud) => request.header("X-JWT-AUD", aud),
            None => request,
        }
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
                message: error_message(&body),
            })
        }
    }
}

//! The visitor-facing GoTrue API (settings, signup, verify, token, user, logout), as a site's
//! JavaScript would call it. The smoke test drives it.
//!
//! Every request goes with [`Rule::Never`]: a smoke test reports what a visitor would see,
//! and a visitor's browser does not retry a 429 or a 503 either.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{GotrueError, RequestLabel};
use super::transport::{Anonymous, Authorize, Call, Payload, Rule, Transport, TransportOptions};
use crate::secret::{Redactor, Secret};

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
    transport: Arc<Transport>,
}

impl UserClient {
    /// A client with its own transport for the GoTrue root at `url`; `aud` is sent as
    /// `X-JWT-AUD`.
    pub fn new(url: &str, aud: Option<String>, timeout: Duration) -> Result<Self, GotrueError> {
        let options = TransportOptions {
            aud,
            timeout,
            ..TransportOptions::default()
        };
        Ok(UserClient::with_transport(Transport::new(
            url,
            options,
            Redactor::new(),
        )?))
    }

    /// A client over a shared transport.
    pub fn with_transport(transport: Arc<Transport>) -> Self {
        UserClient { transport }
    }

    /// The GoTrue root URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// The audience sent as `X-JWT-AUD`, if any.
    pub fn aud(&self) -> Option<&str> {
        self.transport.aud()
    }

    /// The underlying HTTP client, for requests outside the GoTrue API (the emulator's inbox).
    pub fn http(&self) -> &reqwest::Client {
        self.transport.http()
    }

    /// The run's redactor, which knows every secret this client sent or received.
    pub fn redactor(&self) -> &Redactor {
        self.transport.redactor()
    }

    /// `GET /health`: `{version, name, description}`.
    pub async fn health(&self) -> Result<Value, GotrueError> {
        let label = RequestLabel::new("GET", "/health", None);
        self.call(label, Method::GET, Payload::None, &Anonymous)
            .await
    }

    /// `GET /settings`.
    pub async fn settings(&self) -> Result<Settings, GotrueError> {
        let label = RequestLabel::new("GET", "/settings", None);
        self.call(label, Method::GET, Payload::None, &Anonymous)
            .await
    }

    /// `POST /signup {email, password, data}`.
    pub async fn signup(
        &self,
        email: &str,
        password: &Secret,
        data: &Value,
    ) -> Result<FlowUser, GotrueError> {
        self.redactor().add(password);
        let label = RequestLabel::new("POST", "/signup", Some(email));
        let body = json!({"email": email, "password": password.expose(), "data": data});
        self.call(label, Method::POST, json_payload(&body), &Anonymous)
            .await
    }

    /// `POST /verify {type: "signup", token[, password]}`: confirms a signup, or accepts an
    /// invitation (which needs a password), and logs the user in.
    pub async fn verify_signup(
        &self,
        email: &str,
        token: &Secret,
        password: Option<&Secret>,
    ) -> Result<Session, GotrueError> {
        self.redactor().add(token);
        let label = RequestLabel::new("POST", "/verify", Some(email));
        let mut body = json!({"type": "signup", "token": token.expose()});
        if let Some(password) = password {
            self.redactor().add(password);
            body["password"] = Value::String(password.expose().to_owned());
        }
        let session: Session = self
            .call(label, Method::POST, json_payload(&body), &Anonymous)
            .await?;
        Ok(self.remember(session))
    }

    /// `POST /token` with the password grant (form-encoded, as GoTrue requires).
    pub async fn login(&self, email: &str, password: &Secret) -> Result<Session, GotrueError> {
        self.redactor().add(password);
        let label = RequestLabel::new("POST", "/token", Some(email));
        let fields = [
            ("grant_type", "password"),
            ("username", email),
            ("password", password.expose()),
        ];
        let session: Session = self
            .call(label, Method::POST, Payload::Form(&fields), &Anonymous)
            .await?;
        Ok(self.remember(session))
    }

    /// `POST /token` with the refresh-token grant; `email` names the user in errors.
    pub async fn refresh(
        &self,
        email: &str,
        refresh_token: &Secret,
    ) -> Result<Session, GotrueError> {
        self.redactor().add(refresh_token);
        let label = RequestLabel::new("POST", "/token", Some(email));
        let fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        let session: Session = self
            .call(label, Method::POST, Payload::Form(&fields), &Anonymous)
            .await?;
        Ok(self.remember(session))
    }

    /// `GET /user` with the user's access token.
    pub async fn user(&self, email: &str, access_token: &Secret) -> Result<FlowUser, GotrueError> {
        let label = RequestLabel::new("GET", "/user", Some(email));
        self.call(label, Method::GET, Payload::None, access_token)
            .await
    }

    /// `PUT /user {data}`: merges `data` into the user's metadata.
    pub async fn update_data(
        &self,
        email: &str,
        access_token: &Secret,
        data: &Value,
    ) -> Result<FlowUser, GotrueError> {
        let label = RequestLabel::new("PUT", "/user", Some(email));
        let body = json!({ "data": data });
        self.call(label, Method::PUT, json_payload(&body), access_token)
            .await
    }

    /// `POST /logout`: revokes the user's refresh tokens; the server answers 204.
    pub async fn logout(&self, email: &str, access_token: &Secret) -> Result<(), GotrueError> {
        let label = RequestLabel::new("POST", "/logout", Some(email));
        let path = label.path.clone();
        let call = Call {
            label,
            method: Method::POST,
            path: &path,
            query: &[],
            payload: Payload::None,
            rule: Rule::Never,
        };
        self.transport
            .send(&call, access_token, |_| Ok(()), || async { Ok(None) })
            .await
    }

    /// Registers a session's tokens with the redactor before anyone can print them.
    fn remember(&self, session: Session) -> Session {
        self.redactor().add(&session.access_token);
        self.redactor().add(&session.refresh_token);
        session
    }

    async fn call<T: DeserializeOwned>(
        &self,
        label: RequestLabel,
        method: Method,
        payload: Payload<'_>,
        auth: &impl Authorize,
    ) -> Result<T, GotrueError> {
        let path = label.path.clone();
        let call = Call {
            label,
            method,
            path: &path,
            query: &[],
            payload,
            rule: Rule::Never,
        };
        self.transport
            .send(
                &call,
                auth,
                |answer| {
                    serde_json::from_slice(&answer.body).map_err(|e| format!("invalid JSON ({e})"))
                },
                || async { Ok(None) },
            )
            .await
    }
}

fn json_payload(body: &Value) -> Payload<'static> {
    Payload::Json(body.to_string().into_bytes())
}

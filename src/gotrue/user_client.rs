//! The visitor-facing GoTrue API (settings, signup, verify, token, user, logout), as a site's
//! JavaScript would call it. The smoke test drives it.
//!
//! Every request goes with [`Rule::Never`]: a smoke test reports what a visitor would see,
//! and a visitor's browser does not retry a 429 or a 503 either.
//!
//! Request shapes follow the client's [`Flavor`]: netlify/gotrue takes a form-encoded
//! `/token` and `{type, token, password}` on `/verify`; supabase/auth takes `?grant_type=`
//! with a JSON body, `{type, token_hash}`, and a password set afterwards with `PUT /user`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{GotrueError, RequestLabel};
use super::flavor::{AuthHeaders, Flavor, FlavorChoice, TokenEncoding, VerifyEncoding};
use super::transport::{
    Answer, Authorize, Call, Found, Payload, Rule, Transport, TransportOptions,
};
use crate::secret::{Redactor, Secret};

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
    transport: Arc<Transport>,
    flavor: Flavor,
    /// The project key Supabase's hosted gateway wants in `apikey` on every request.
    apikey: Option<Secret>,
}

/// A visitor's credentials on one request: the project key, and the user's access token on
/// the requests that act as the user.
struct Visitor<'a> {
    apikey: Option<&'a Secret>,
    access_token: Option<&'a Secret>,
}

impl Authorize for Visitor<'_> {
    async fn headers(&self) -> Result<AuthHeaders, GotrueError> {
        Ok(AuthHeaders {
            bearer: self.access_token.cloned(),
            apikey: self.apikey.cloned(),
        })
    }
}

impl UserClient {
    /// A client with its own transport for the GoTrue root at `url`; `aud` is sent as
    /// `X-JWT-AUD`. It speaks netlify/gotrue until [`UserClient::with_flavor`] says otherwise.
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

    /// A client over a shared transport, speaking netlify/gotrue until
    /// [`UserClient::with_flavor`] says otherwise.
    pub fn with_transport(transport: Arc<Transport>) -> Self {
        UserClient {
            transport,
            flavor: Flavor::Netlify,
            apikey: None,
        }
    }

    /// The same client, speaking `flavor`.
    pub fn with_flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// The same client, sending `key` (a Supabase project's publishable or anon key) in the
    /// `apikey` header the hosted gateway requires on every request.
    pub fn with_apikey(mut self, key: Option<Secret>) -> Self {
        if let Some(key) = &key {
            self.redactor().add(key);
        }
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
            .or_else(|| Flavor::from_url_shape(self.base_url()))
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
        self.call(label, Method::GET, &[], Payload::None, None)
            .await
    }

    /// `GET /settings`, as the server words it: read it with [`Settings::from_json`] once
    /// the flavour is known (it may be detected from this very answer).
    pub async fn settings_json(&self) -> Result<Value, GotrueError> {
        let label = RequestLabel::new("GET", "/settings", None);
        self.call(label, Method::GET, &[], Payload::None, None)
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
        self.redactor().add(password);
        let label = RequestLabel::new("POST", "/signup", Some(email));
        let body = json!({"email": email, "password": password.expose(), "data": data});
        let answer: Value = self
            .call(label.clone(), Method::POST, &[], json_payload(&body), None)
            .await?;
        let decoded = if answer.get("access_token").is_some() {
            serde_json::from_value::<SessionWithUser>(answer).map(|s| SignupAnswer {
                user: s.user,
                session: Some(self.remember(s.session)),
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
        self.redactor().add(token);
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
        self.redactor().add(token);
        self.redactor().add(password);
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
        let session: Session = self
            .call(label, Method::POST, &[], json_payload(body), None)
            .await?;
        Ok(self.remember(session))
    }

    /// `POST /token` with the password grant.
    pub async fn login(&self, email: &str, password: &Secret) -> Result<Session, GotrueError> {
        self.redactor().add(password);
        let fields = [
            ("grant_type", "password"),
            ("username", email),
            ("password", password.expose()),
        ];
        let body = json!({"email": email, "password": password.expose()});
        self.token_grant(email, "password", &fields, &body).await
    }

    /// `POST /token` with the refresh-token grant; `email` names the user in errors.
    pub async fn refresh(
        &self,
        email: &str,
        refresh_token: &Secret,
    ) -> Result<Session, GotrueError> {
        self.redactor().add(refresh_token);
        let fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        let body = json!({"refresh_token": refresh_token.expose()});
        self.token_grant(email, "refresh_token", &fields, &body)
            .await
    }

    /// `POST /token` in the flavour's encoding: `form` (which carries `grant_type`) on
    /// netlify/gotrue, `?grant_type=` with the JSON `body` on supabase/auth.
    async fn token_grant(
        &self,
        email: &str,
        grant_type: &str,
        form: &[(&str, &str)],
        body: &Value,
    ) -> Result<Session, GotrueError> {
        let label = RequestLabel::new("POST", "/token", Some(email));
        let session: Session = match self.flavor.token_encoding() {
            TokenEncoding::Form => {
                self.call(label, Method::POST, &[], Payload::Form(form), None)
                    .await?
            }
            TokenEncoding::QueryAndJson => {
                let query = [("grant_type", grant_type.to_owned())];
                self.call(label, Method::POST, &query, json_payload(body), None)
                    .await?
            }
        };
        Ok(self.remember(session))
    }

    /// `GET /user` with the user's access token.
    pub async fn user(&self, email: &str, access_token: &Secret) -> Result<FlowUser, GotrueError> {
        let label = RequestLabel::new("GET", "/user", Some(email));
        self.call(label, Method::GET, &[], Payload::None, Some(access_token))
            .await
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
        self.call(
            label,
            Method::PUT,
            &[],
            json_payload(body),
            Some(access_token),
        )
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
            .send(
                &call,
                &self.visitor(Some(access_token)),
                |_| Ok(()),
                never_looked_up,
            )
            .await
    }

    /// Registers a session's tokens with the redactor before anyone can print them.
    fn remember(&self, session: Session) -> Session {
        self.redactor().add(&session.access_token);
        self.redactor().add(&session.refresh_token);
        session
    }

    fn visitor<'a>(&'a self, access_token: Option<&'a Secret>) -> Visitor<'a> {
        Visitor {
            apikey: self.apikey.as_ref(),
            access_token,
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        label: RequestLabel,
        method: Method,
        query: &[(&str, String)],
        payload: Payload<'_>,
        access_token: Option<&Secret>,
    ) -> Result<T, GotrueError> {
        let path = label.path.clone();
        let call = Call {
            label,
            method,
            path: &path,
            query,
            payload,
            rule: Rule::Never,
        };
        self.transport
            .send(
                &call,
                &self.visitor(access_token),
                Answer::json,
                never_looked_up,
            )
            .await
    }
}

/// Visitor requests are never repeated, so nothing is ever looked up.
async fn never_looked_up<T>() -> Result<Found<T>, GotrueError> {
    Ok(Found::Unknown)
}

fn json_payload(body: &Value) -> Payload<'static> {
    Payload::Json(body.to_string().into_bytes())
}

//! Errors: [`EmulatorError`] for the Rust API, [`ApiError`] for HTTP responses shaped like
//! GoTrue's.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Failures of starting, seeding, persisting or running the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listening socket could not be bound.
    #[error("cannot bind the emulator to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The configuration is unusable.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// A seed or state file could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A seed or state file has invalid content.
    #[error("invalid content in {}: {reason}", path.display())]
    FileContent { path: PathBuf, reason: String },
    /// A seeded user clashes with an existing one.
    #[error("cannot seed user {email:?} (aud {aud:?}): {reason}")]
    Seed {
        email: String,
        aud: String,
        reason: String,
    },
    /// The state could not be serialized.
    #[error("cannot serialize the emulator state: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The server task failed or panicked.
    #[error("the emulator server failed: {0}")]
    Server(String),
    /// Waiting for Ctrl-C failed.
    #[error("cannot listen for Ctrl-C: {0}")]
    Signal(#[source] std::io::Error),
}

/// An HTTP error. It renders in netlify/gotrue's shapes; a supabase-flavoured server
/// re-renders it from the copy kept in the response's extensions ([`ApiError::render`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// `{"code":status,"msg":...}` (+ `error_id` for 5xx); supabase/auth adds `error_code`.
    Http {
        status: StatusCode,
        msg: String,
        /// supabase/auth's slug; `None` falls back to one chosen by status.
        error_code: Option<&'static str>,
    },
    /// `/token`-style `{"error":...,"error_description":...}`, always 400.
    OAuth {
        error: &'static str,
        description: String,
    },
    /// A body passed on verbatim: supabase/auth answers some database failures with the
    /// PostgreSQL error itself (§11).
    Raw { status: StatusCode, body: Value },
}

/// How error bodies are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// netlify/gotrue: `{code, msg}`.
    CodeMsg,
    /// supabase/auth: `{code, error_code, msg}` and an `X-Sb-Error-Code` header.
    CodeErrorCodeMsg,
    /// supabase/auth with `X-Supabase-Api-Version: 2024-01-01`: `{code: slug, message}`.
    SlugMessage,
}

impl ApiError {
    /// An error in the `{code,msg}` shape.
    pub fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        ApiError::Http {
            status,
            msg: msg.into(),
            error_code: None,
        }
    }

    /// An error with supabase/auth's `error_code` slug.
    pub fn coded(status: StatusCode, error_code: &'static str, msg: impl Into<String>) -> Self {
        ApiError::Http {
            status,
            msg: msg.into(),
            error_code: Some(error_code),
        }
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, msg)
    }

    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, msg)
    }

    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, msg)
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, msg)
    }

    /// An OAuth-style `/token` error.
    pub fn oauth(error: &'static str, description: impl Into<String>) -> Self {
        ApiError::OAuth {
            error,
            description: description.into(),
        }
    }

    /// PostgreSQL's unique-violation body for the e-mail index, which supabase/auth passes
    /// on as a 500 (§11).
    pub fn duplicate_email_key() -> Self {
        ApiError::Raw {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({
                "code": "23505",
                "message": "duplicate key value violates unique constraint \"users_email_partial_key\"",
            }),
        }
    }

    /// The missing-user error of every id lookup.
    pub fn user_not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, "user_not_found", "User not found")
    }

    /// The response in `shape`.
    pub fn render(&self, shape: ErrorShape) -> Response {
        let (status, body, slug) = match (self, shape) {
            (ApiError::Raw { status, body }, _) => (*status, body.clone(), None),
            (ApiError::OAuth { error, description }, ErrorShape::CodeMsg) => {
                let body = if description.is_empty() {
                    json!({"error": error})
                } else {
                    json!({"error": error, "error_description": description})
                };
                (StatusCode::BAD_REQUEST, body, None)
            }
            (ApiError::OAuth { error, description }, shape) => {
                coded_body(StatusCode::BAD_REQUEST, error, description, shape)
            }
            (ApiError::Http { status, msg, .. }, ErrorShape::CodeMsg) => {
                let mut body = json!({"code": status.as_u16(), "msg": msg});
                if status.is_server_error() {
                    body["error_id"] = json!(uuid::Uuid::new_v4());
                }
                (*status, body, None)
            }
            (
                ApiError::Http {
                    status,
                    msg,
                    error_code,
                },
                shape,
            ) => {
                let slug = error_code
                    .unwrap_or_else(|| crate::flavor::Flavor::default_error_code(status.as_u16()));
                coded_body(*status, slug, msg, shape)
            }
        };
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(slug) = slug {
            headers.insert("x-sb-error-code", HeaderValue::from_static(slug));
        }
        response
    }
}

/// A supabase/auth error body and the slug for its header.
fn coded_body(
    status: StatusCode,
    slug: &'static str,
    msg: &str,
    shape: ErrorShape,
) -> (StatusCode, Value, Option<&'static str>) {
    let body = match shape {
        ErrorShape::SlugMessage => json!({"code": slug, "message": msg}),
        _ => json!({"code": status.as_u16(), "error_code": slug, "msg": msg}),
    };
    (status, body, Some(slug))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.render(ErrorShape::CodeMsg);
        response.extensions_mut().insert(self);
        response
    }
}

//! Errors: [`EmulatorError`] for the Rust API, [`ApiError`] for HTTP responses shaped like
//! GoTrue's.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

/// An HTTP error in one of GoTrue's two shapes.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// `{"code":status,"msg":...}` (+ `error_id` for 5xx).
    Http { status: StatusCode, msg: String },
    /// `/token`-style `{"error":...,"error_description":...}`, always 400.
    OAuth {
        error: &'static str,
        description: String,
    },
}

impl ApiError {
    /// An error in the `{code,msg}` shape.
    pub fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        ApiError::Http {
            status,
            msg: msg.into(),
        }
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, msg)
    }

    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, msg)
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, msg)
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

    /// The duplicate-email error shared by admin create, invite and `PUT /user`.
    pub fn email_taken() -> Self {
        Self::unprocessable("Email address already registered by another user")
    }

    /// The missing-user error of every id lookup.
    pub fn user_not_found() -> Self {
        Self::not_found("User not found")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Http { status, msg } if status.is_server_error() => (
                status,
                json!({"code": status.as_u16(), "msg": msg, "error_id": uuid::Uuid::new_v4()}),
            ),
            ApiError::Http { status, msg } => {
                (status, json!({"code": status.as_u16(), "msg": msg}))
            }
            ApiError::OAuth { error, description } if description.is_empty() => {
                (StatusCode::BAD_REQUEST, json!({"error": error}))
            }
            ApiError::OAuth { error, description } => (
                StatusCode::BAD_REQUEST,
                json!({"error": error, "error_description": description}),
            ),
        };
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

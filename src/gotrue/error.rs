//! Errors from talking to GoTrue. Each names the request (method, path) and the user it was
//! about, so a failure in a long apply can be traced to one account.

use std::fmt;

/// Which request failed: method, path and, when the request concerns one user, their e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLabel {
    /// HTTP method.
    pub method: &'static str,
    /// Path relative to the GoTrue root, without the query string.
    pub path: String,
    /// The user the request was about.
    pub user: Option<String>,
}

impl RequestLabel {
    /// A label for `method path`, optionally about `user`.
    pub fn new(method: &'static str, path: impl Into<String>, user: Option<&str>) -> Self {
        RequestLabel {
            method,
            path: path.into(),
            user: user.map(str::to_owned),
        }
    }
}

impl fmt::Display for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(user) = &self.user {
            write!(f, " (user {user})")?;
        }
        Ok(())
    }
}

/// A failed GoTrue request.
#[derive(Debug, thiserror::Error)]
pub enum GotrueError {
    /// No HTTP answer: connection refused, DNS, TLS, timeout.
    #[error("{request}: {detail}")]
    Transport {
        /// The request.
        request: RequestLabel,
        /// What went wrong, with its causes.
        detail: String,
        /// Whether the request surely never reached the server (connection not made).
        not_sent: bool,
    },
    /// The server answered with an error status.
    #[error("{request}: server answered {status}: {message}")]
    Api {
        /// The request.
        request: RequestLabel,
        /// HTTP status.
        status: u16,
        /// The server's message (`msg`, or `error: error_description`).
        message: String,
    },
    /// The server answered 2xx with a body we could not read.
    #[error("{request}: unexpected response: {detail}")]
    Decode {
        /// The request.
        request: RequestLabel,
        /// What was wrong with it.
        detail: String,
    },
    /// The server refused to send more e-mail for now (supabase/auth's
    /// `over_email_send_rate_limit`, 30 mails an hour by default, no `Retry-After`).
    #[error("{request}: {message}")]
    MailRateLimited {
        /// The request.
        request: RequestLabel,
        /// The server's message, with what it means (it already says the limit is reached).
        message: String,
    },
    /// Listing the users gave a different picture on every pass (users added or removed
    /// meanwhile, pages overlapping, a count that does not add up).
    #[error("the user listing stayed inconsistent after {passes} passes ({}); nothing can be planned from an incomplete listing: run again when no users are being added or removed", problems.join(" | "))]
    InconsistentListing {
        /// Passes made.
        passes: usize,
        /// What disagreed, per pass.
        problems: Vec<String>,
    },
    /// The client is misconfigured (bad URL, missing credentials).
    #[error("{0}")]
    Config(String),
}

impl GotrueError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GotrueError::Api { status, .. } => Some(*status),
            GotrueError::MailRateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The request that failed, if any.
    pub fn request(&self) -> Option<&RequestLabel> {
        match self {
            GotrueError::Transport { request, .. }
            | GotrueError::Api { request, .. }
            | GotrueError::Decode { request, .. }
            | GotrueError::MailRateLimited { request, .. } => Some(request),
            GotrueError::InconsistentListing { .. } | GotrueError::Config(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_method_path_and_user() {
        let label = RequestLabel::new("PUT", "/admin/users/42", Some("a@example.com"));
        assert_eq!(
            label.to_string(),
            "PUT /admin/users/42 (user a@example.com)"
        );
    }
}

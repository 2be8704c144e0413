//! Where the smoke test gets the token that a real user would click in an e-mail.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::secret::Secret;

/// How a signup is confirmed when the instance does not autoconfirm (`--confirm-via`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmVia {
    /// The emulator's inbox, `GET /_emulator/messages?to=EMAIL`.
    Inbox,
    /// A shell command given the address; it prints the token or the whole link. Works with
    /// any mail catcher (Mailpit, MailHog, a provider's API).
    Command(String),
    /// `PUT /admin/users/{id}` confirming the address with admin credentials: a weaker check,
    /// since neither the mail nor `/verify` is exercised.
    Admin,
    /// `POST /admin/generate_link` (supabase/auth): the server hands the mail's token to an
    /// admin without sending the mail, and `/verify` is exercised with it.
    GenerateLink,
}

impl std::str::FromStr for ConfirmVia {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "inbox" => Ok(ConfirmVia::Inbox),
            "admin" => Ok(ConfirmVia::Admin),
            "generate-link" => Ok(ConfirmVia::GenerateLink),
            _ => match text.strip_prefix("command:") {
                Some(command) if !command.trim().is_empty() => {
                    Ok(ConfirmVia::Command(command.to_owned()))
                }
                _ => Err("expected inbox, admin, generate-link or command:CMD".to_owned()),
            },
        }
    }
}

/// Which mail a token is wanted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// The signup confirmation (`#confirmation_token=`).
    Confirmation,
    /// The invitation (`#invite_token=`).
    Invite,
}

impl MailKind {
    /// The name the emulator's inbox and the link fragment use.
    pub fn name(self) -> &'static str {
        match self {
            MailKind::Confirmation => "confirmation",
            MailKind::Invite => "invite",
        }
    }
}

/// How long to wait for a mail to arrive, and for a command to finish.
const MAIL_WAIT: Duration = Duration::from_secs(10);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct Inbox {
    messages: Vec<InboxMessage>,
}

#[derive(Deserialize)]
struct InboxMessage {
    kind: String,
    token: Secret,
}

/// Reads the newest mail of `kind` to `email` from the emulator's inbox at `base`, polling
/// briefly since delivery may trail the request that caused it.
pub async fn from_inbox(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    kind: MailKind,
) -> Result<Secret, String> {
    let url = format!("{base}/_emulator/messages");
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let response = http
            .get(&url)
            .query(&[("to", email)])
            .send()
            .await
            .map_err(|e| format!("GET /_emulator/messages: {e}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "GET /_emulator/messages answered {}: this server has no emulator inbox; use --confirm-via command:CMD or admin",
                response.status().as_u16()
            ));
        }
        let inbox: Inbox = response
            .json()
            .await
            .map_err(|e| format!("GET /_emulator/messages: unexpected answer ({e})"))?;
        if let Some(message) = inbox
            .messages
            .into_iter()
            .rev()
            .find(|m| m.kind == kind.name())
        {
            return Ok(message.token);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no {} mail to {email} arrived within {} s",
                kind.name(),
                MAIL_WAIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `command` with `sh -c`, the address as `$1` and in `GOTRUE_SMOKE_EMAIL`, the mail
/// kind in `GOTRUE_SMOKE_MAIL` (`confirmation` or `invite`), and reads the token from what
/// it prints.
pub async fn from_command(command: &str, email: &str, kind: MailKind) -> Result<Secret, String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .arg("gotrue-sync-smoke")
        .arg(email)
        .env("GOTRUE_SMOKE_EMAIL", email)
        .env("GOTRUE_SMOKE_MAIL", kind.name())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child)
        .await
        .map_err(|_| {
            format!(
                "the confirm command did not finish within {} s",
                COMMAND_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("cannot run the confirm command with sh: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // Its stderr is the command's own diagnostics and is shown, shortened, with the
        // values of `…token=` parameters and the token it printed (if any) taken out: a
        // command run with `set -x`, or a mail catcher's error, may echo a link. Other
        // shapes (a JSON body with a "token" field) are not recognised. Its stdout may hold
        // a token, so it is never shown.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let printed = extract_token(&stdout, kind);
        return Err(format!(
            "the confirm command failed ({}): {}",
            output.status,
            diagnostics(&stderr, printed.as_ref())
        ));
    }
    extract_token(&stdout, kind)
        .ok_or_else(|| "the confirm command printed neither a token nor a link with one".to_owned())
}

/// The most of a command's stderr a failure message shows.
const DIAGNOSTICS_LIMIT: usize = 400;

/// Printed tokens shorter than this are not searched for in stderr: a one-word stdout such
/// as `Error` reads as a token, and replacing every `Error` would garble the message. Real
/// GoTrue tokens are far longer.
const REDACT_MIN_LEN: usize = 8;

/// `stderr` fit for a report: every `…token=VALUE` value and the token the command printed
/// (when it printed one of at least [`REDACT_MIN_LEN`] characters) replaced by
/// `(redacted)`, and cut to [`DIAGNOSTICS_LIMIT`] characters.
fn diagnostics(stderr: &str, printed: Option<&Secret>) -> String {
    let mut text = stderr.trim().to_owned();
    if let Some(token) = printed
        .map(Secret::expose)
        .filter(|t| t.len() >= REDACT_MIN_LEN)
    {
        text = text.replace(token, "(redacted)");
    }
    let mut shown = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("token=") {
        let value_start = at + "token=".len();
        shown.push_str(&rest[..value_start]);
        let value_len = token_len(&rest[value_start..]);
        if value_len > 0 {
            shown.push_str("(redacted)");
        }
        rest = &rest[value_start + value_len..];
    }
    shown.push_str(rest);
    match shown.char_indices().nth(DIAGNOSTICS_LIMIT) {
        Some((cut, _)) => format!("{}…", &shown[..cut]),
        None => shown,
    }
}

/// The length of the token at the start of `text`: URL-safe, unreserved characters.
fn token_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
        .unwrap_or(text.len())
}

/// The token in `text`: the value of `confirmation_token=` / `invite_token=` in a link, else
/// of a plain `token=` parameter (at the start of a line or word, or right after `?`, `&` or
/// `#`, so the `token=` inside another mail's `invite_token=` is not taken), or the text
/// itself when it is a single word.
pub fn extract_token(text: &str, kind: MailKind) -> Option<Secret> {
    let text = text.trim();
    let specific = format!("{}_token=", kind.name());
    // The specific key must not be the tail of a longer name (`xconfirmation_token=`).
    let found = param_value(text, &specific, |before| {
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
    .or_else(|| {
        param_value(text, "token=", |before| {
            before.is_none_or(|c| matches!(c, '?' | '&' | '#') || c.is_whitespace())
        })
    });
    if let Some(value) = found {
        return (!value.is_empty()).then(|| Secret::new(value));
    }
    let single_word = !text.is_empty() && !text.contains(char::is_whitespace);
    (single_word && !text.contains("://")).then(|| Secret::new(text))
}

/// The value after the first `key` in `text` whose preceding character passes `boundary`
/// (`None` at the start of the text).
fn param_value<'t>(
    text: &'t str,
    key: &str,
    boundary: impl Fn(Option<char>) -> bool,
) -> Option<&'t str> {
    text.match_indices(key).find_map(|(at, _)| {
        boundary(text[..at].chars().next_back()).then(|| {
            let value = &text[at + key.len()..];
            &value[..token_len(value)]
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_links_or_bare_output() {
        let token = |text: &str, kind| extract_token(text, kind).map(|s| s.expose().to_owned());
        assert_eq!(
            token(
                "https://site.example/#confirmation_token=AbC-12_x\n",
                MailKind::Confirmation
            )
            .as_deref(),
            Some("AbC-12_x")
        );
        assert_eq!(
            token("see https://x/#invite_token=tok&x=1 now", MailKind::Invite).as_deref(),
            Some("tok")
        );
        assert_eq!(
            token("https://x/verify?token=q1w2", MailKind::Confirmation).as_deref(),
            Some("q1w2")
        );
        assert_eq!(
            token("  bare-token \n", MailKind::Confirmation).as_deref(),
            Some("bare-token")
        );
        assert_eq!(token("", MailKind::Confirmation), None);
        assert_eq!(token("no token here", MailKind::Confirmation), None);
        assert_eq!(
            token("https://x/#confirmation_token=", MailKind::Confirmation),
            None
        );
        assert_eq!(token("https://site.example/", MailKind::Confirmation), None);
        // A plain `token=` is a parameter of its own, never the tail of another mail's key.
        assert_eq!(
            token("https://x/#invite_token=inv", MailKind::Confirmation),
            None
        );
        assert_eq!(
            token(
                "https://x/#invite_token=inv\nhttps://x/#confirmation_token=conf",
                MailKind::Confirmation
            )
            .as_deref(),
            Some("conf")
        );
        assert_eq!(
            token("https://x/verify?type=signup&token=t1", MailKind::Invite).as_deref(),
            Some("t1")
        );
        assert_eq!(token("token=abc", MailKind::Invite).as_deref(), Some("abc"));
        assert_eq!(
            token("ok\ntoken=abc", MailKind::Confirmation).as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn diagnostics_hide_tokens_and_stay_short() {
        let printed = Secret::new("printed-secret");
        let shown = diagnostics(
            "+ curl https://x/#confirmation_token=abc123&y=1\nerror printed-secret bad\n",
            Some(&printed),
        );
        assert!(
            !shown.contains("abc123") && !shown.contains("printed-secret"),
            "{shown}"
        );
        assert!(
            shown.contains("confirmation_token=(redacted)&y=1"),
            "{shown}"
        );
        assert!(shown.contains("error (redacted) bad"), "{shown}");
        // A short one-word stdout is not a token worth hiding everywhere.
        let short = diagnostics("Error: mailbox empty", Some(&Secret::new("Error")));
        assert_eq!(short, "Error: mailbox empty");
        let long = diagnostics(&"x".repeat(5000), None);
        assert_eq!(long.chars().count(), DIAGNOSTICS_LIMIT + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn confirm_sources_parse() {
        assert_eq!("inbox".parse(), Ok(ConfirmVia::Inbox));
        assert_eq!("admin".parse(), Ok(ConfirmVia::Admin));
        assert_eq!("generate-link".parse(), Ok(ConfirmVia::GenerateLink));
        assert_eq!(
            "command:mailpit-token \"$1\"".parse(),
            Ok(ConfirmVia::Command("mailpit-token \"$1\"".into()))
        );
        assert!("command:".parse::<ConfirmVia>().is_err());
        assert!("mail".parse::<ConfirmVia>().is_err());
    }

    #[tokio::test]
    async fn a_command_gets_the_address_and_its_link_is_read() {
        let token = from_command(
            r#"echo "https://site/#confirmation_token=t-$GOTRUE_SMOKE_MAIL-${1%%@*}""#,
            "someone@example.com",
            MailKind::Confirmation,
        )
        .await
        .expect("token");
        assert_eq!(token.expose(), "t-confirmation-someone");
        let failed = from_command(
            "echo secret-token; echo oops >&2; exit 3",
            "a@b.c",
            MailKind::Invite,
        )
        .await
        .expect_err("fails");
        assert!(
            failed.contains("oops") && !failed.contains("secret-token"),
            "{failed}"
        );
    }
}

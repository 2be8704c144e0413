//! The captured outbox: every mail the real server would send lands here instead, readable
//! over `GET /_emulator/messages?to=EMAIL` and cleared by `DELETE /_emulator/messages`.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::flavor::Flavor;
use super::state::{format_ts, now};
use super::wire::{first, parse_form};
use super::Shared;

/// Which mail template the real server would have used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Confirmation,
    Invite,
    Recovery,
    EmailChange,
}

impl MailKind {
    /// Default subject (`GOTRUE_MAILER_SUBJECTS_*`).
    fn subject(self) -> &'static str {
        match self {
            MailKind::Confirmation => "Confirm Your Signup",
            MailKind::Invite => "You have been invited",
            MailKind::Recovery => "Reset Your Password",
            MailKind::EmailChange => "Confirm Email Change",
        }
    }

    /// supabase/auth's `type` of the `/verify` link.
    pub(crate) fn verification_type(self) -> &'static str {
        match self {
            MailKind::Confirmation => "signup",
            MailKind::Invite => "invite",
            MailKind::Recovery => "recovery",
            MailKind::EmailChange => "email_change",
        }
    }

    /// Name of the token in netlify/gotrue's link fragment.
    pub(crate) fn fragment(self) -> &'static str {
        match self {
            MailKind::Confirmation => "confirmation_token",
            MailKind::Invite => "invite_token",
            MailKind::Recovery => "recovery_token",
            MailKind::EmailChange => "email_change_token",
        }
    }
}

/// One captured mail.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub to: String,
    pub kind: MailKind,
    pub subject: &'static str,
    pub link: String,
    pub token: String,
    pub sent_at: String,
}

/// Captured mails, oldest first.
#[derive(Debug, Default)]
pub struct Mailbox {
    messages: Mutex<Vec<Message>>,
}

impl Mailbox {
    /// Records the mail GoTrue would send, with the link `flavor` puts in it.
    pub fn deliver(&self, flavor: Flavor, site_url: &str, kind: MailKind, to: &str, token: &str) {
        let link = flavor.mail_link(site_url, kind, token);
        let message = Message {
            to: to.to_owned(),
            kind,
            subject: kind.subject(),
            link,
            token: token.to_owned(),
            sent_at: format_ts(now()),
        };
        self.lock().push(message);
    }

    /// Messages to `to` (case-insensitive), or all of them.
    pub fn list(&self, to: Option<&str>) -> Vec<Message> {
        let wanted = to.map(str::to_lowercase);
        self.lock()
            .iter()
            .filter(|m| wanted.as_ref().is_none_or(|w| m.to.to_lowercase() == *w))
            .cloned()
            .collect()
    }

    /// Forgets every message.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Message>> {
        // A panic while pushing cannot leave the Vec inconsistent, so poisoning is ignored.
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `GET /_emulator/messages[?to=EMAIL]`.
pub async fn list_messages(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Json<Value> {
    let pairs = parse_form(query.as_deref().unwrap_or(""));
    let to = first(&pairs, "to").filter(|t| !t.is_empty());
    Json(json!({ "messages": shared.mailbox.list(to) }))
}

/// `DELETE /_emulator/messages`.
pub async fn clear_messages(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.mailbox.clear();
    Json(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_filtering() {
        let mailbox = Mailbox::default();
        mailbox.deliver(
            Flavor::Netlify,
            "http://site/",
            MailKind::Invite,
            "A@x.test",
            "tok",
        );
        mailbox.deliver(
            Flavor::Supabase,
            "http://site",
            MailKind::Recovery,
            "b@x.test",
            "t2",
        );
        let got = mailbox.list(Some("a@X.test"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].link, "http://site/#invite_token=tok");
        assert_eq!(
            mailbox.list(Some("b@x.test"))[0].link,
            "http://site/auth/v1/verify?token=t2&type=recovery&redirect_to=http://site"
        );
        assert_eq!(mailbox.list(None).len(), 2);
        mailbox.clear();
        assert!(mailbox.list(None).is_empty());
    }
}

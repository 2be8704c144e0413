//! `POST /admin/generate_link` (supabase/auth only): the token a mail would carry, handed to
//! an admin without sending the mail. The smoke test confirms signups and accepts
//! invitations with it where no inbox can be read.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Which mail's token to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// The signup confirmation of an existing unconfirmed user.
    Signup,
    /// The invitation of a pending (or new) invited user.
    Invite,
}

/// The body of `POST /admin/generate_link`.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateLinkRequest<'a> {
    /// The mail kind.
    #[serde(rename = "type")]
    pub kind: LinkKind,
    /// The user's address.
    pub email: &'a str,
}

/// What `POST /admin/generate_link` answers, as far as the smoke test needs it: the user's
/// id and the token hash that `POST /verify {type, token_hash}` takes. Both the hash and the
/// one-time code are secrets.
#[derive(Debug, Clone, Deserialize)]
pub struct GeneratedLink {
    /// The user the link is for.
    pub id: String,
    /// The token hash of the link.
    pub hashed_token: Secret,
    /// The verification type the server recorded (`signup`, `invite`).
    #[serde(default)]
    pub verification_type: String,
}

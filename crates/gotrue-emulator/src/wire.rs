//! JSON and form shapes on the wire, kept separate from the rest of the crate on purpose: the
//! emulator describes the server, the client module describes what it expects of one.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::flavor::Flavor;
use super::state::{format_ts, parse_ts, Metadata, Rfc3339Utc, Timestamp, User};

/// The User object as netlify/gotrue renders it. Unset timestamps are omitted, not null.
#[derive(Debug, Serialize)]
pub struct NetlifyUser<'a> {
    pub id: Uuid,
    pub aud: &'a str,
    pub role: &'a str,
    pub email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_sent_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_sent_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub new_email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_change_sent_at: Option<Rfc3339Utc>,
    pub app_metadata: &'a Metadata,
    /// `None` renders as `null`, which the real server returns for freshly created users
    /// that were given no metadata.
    pub user_metadata: Option<&'a Metadata>,
    pub created_at: Rfc3339Utc,
    pub updated_at: Rfc3339Utc,
}

/// The User object as supabase/auth renders it: `email_confirmed_at`, with the computed
/// `confirmed_at` only on reads (§11: a PUT answer lacks it), `phone`, `identities`,
/// `is_anonymous`.
#[derive(Debug, Serialize)]
pub struct SupabaseUser<'a> {
    pub id: Uuid,
    pub aud: &'a str,
    pub role: &'a str,
    pub email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_confirmed_at: Option<Rfc3339Utc>,
    pub phone: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_sent_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_sent_at: Option<Rfc3339Utc>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub new_email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_change_sent_at: Option<Rfc3339Utc>,
    pub app_metadata: &'a Metadata,
    pub user_metadata: &'a Metadata,
    pub identities: [(); 0],
    pub created_at: Rfc3339Utc,
    pub updated_at: Rfc3339Utc,
    pub is_anonymous: bool,
}

/// A User object in the flavour's shape.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum UserOut<'a> {
    Netlify(NetlifyUser<'a>),
    Supabase(SupabaseUser<'a>),
}

/// When in its life a user is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// Read back from storage.
    Read,
    /// Right after a create, invite or signup, with or without given metadata.
    Created { metadata_given: bool },
    /// Right after an update.
    Updated,
}

impl<'a> UserOut<'a> {
    /// The user as read back from storage (`user_metadata` is always an object).
    pub fn read(flavor: Flavor, user: &'a User) -> Self {
        Self::render(flavor, user, Moment::Read)
    }

    /// The user as returned right after create/invite/signup: on netlify `user_metadata`
    /// is `null` unless the request supplied some.
    pub fn fresh(flavor: Flavor, user: &'a User, metadata_given: bool) -> Self {
        Self::render(flavor, user, Moment::Created { metadata_given })
    }

    /// The user as returned by an update.
    pub fn updated(flavor: Flavor, user: &'a User) -> Self {
        Self::render(flavor, user, Moment::Updated)
    }

    fn render(flavor: Flavor, user: &'a User, moment: Moment) -> Self {
        let ts = |t: Option<Timestamp>| t.map(Rfc3339Utc);
        match flavor {
            Flavor::Netlify => UserOut::Netlify(NetlifyUser {
                id: user.id,
                aud: &user.aud,
                role: &user.role,
                email: &user.email,
                confirmed_at: ts(user.confirmed_at),
                invited_at: ts(user.invited_at),
                confirmation_sent_at: ts(user.confirmation_sent_at),
                recovery_sent_at: ts(user.recovery_sent_at),
                new_email: &user.new_email,
                email_change_sent_at: ts(user.email_change_sent_at),
                app_metadata: &user.app_metadata,
                user_metadata: match moment {
                    Moment::Created {
                        metadata_given: false,
                    } => None,
                    _ => Some(&user.user_metadata),
                },
                created_at: Rfc3339Utc(user.created_at),
                updated_at: Rfc3339Utc(user.updated_at),
            }),
            Flavor::Supabase => UserOut::Supabase(SupabaseUser {
                id: user.id,
                aud: &user.aud,
                role: &user.role,
                email: &user.email,
                email_confirmed_at: ts(user.confirmed_at),
                phone: "",
                confirmation_sent_at: ts(user.confirmation_sent_at),
                confirmed_at: ts(user.confirmed_at).filter(|_| moment == Moment::Read),
                invited_at: ts(user.invited_at),
                recovery_sent_at: ts(user.recovery_sent_at),
                new_email: &user.new_email,
                email_change_sent_at: ts(user.email_change_sent_at),
                app_metadata: &user.app_metadata,
                user_metadata: &user.user_metadata,
                identities: [],
                created_at: Rfc3339Utc(user.created_at),
                updated_at: Rfc3339Utc(user.updated_at),
                is_anonymous: false,
            }),
        }
    }
}

/// `GET /admin/users` body.
#[derive(Debug, Serialize)]
pub struct UserList<'a> {
    pub aud: &'a str,
    pub users: Vec<UserOut<'a>>,
}

/// A user in a seed or state file. Accepts the public User JSON (as `GET /admin/users` returns
/// it) and additionally the hidden fields that only the state file carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub aud: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_sent_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_sent_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_change_sent_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
    #[serde(default)]
    pub app_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub user_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_change_token: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl UserRecord {
    /// Everything needed to restore the user later, hidden fields included.
    pub fn from_user(u: &User) -> Self {
        let ts = |t: Option<Timestamp>| t.map(format_ts);
        UserRecord {
            id: Some(u.id),
            aud: Some(u.aud.clone()),
            role: Some(u.role.clone()),
            email: u.email.clone(),
            confirmed_at: ts(u.confirmed_at),
            invited_at: ts(u.invited_at),
            confirmation_sent_at: ts(u.confirmation_sent_at),
            recovery_sent_at: ts(u.recovery_sent_at),
            email_change_sent_at: ts(u.email_change_sent_at),
            new_email: non_empty(&u.new_email),
            app_metadata: Some(u.app_metadata.to_map()),
            user_metadata: Some(u.user_metadata.to_map()),
            created_at: Some(format_ts(u.created_at)),
            updated_at: Some(format_ts(u.updated_at)),
            encrypted_password: u.password_hash.clone(),
            confirmation_token: non_empty(&u.confirmation_token),
            recovery_token: non_empty(&u.recovery_token),
            email_change_token: non_empty(&u.email_change_token),
        }
    }

    /// Builds a stored user; absent ids and timestamps are generated, absent audience is
    /// `default_aud`. Fails with a message naming the bad timestamp.
    pub fn into_user(self, default_aud: &str) -> Result<User, String> {
        let parse = |field: &str, v: Option<String>| -> Result<Option<Timestamp>, String> {
            v.map(|s| parse_ts(&s).map_err(|e| format!("{field} {s:?} of {}: {e}", self.email)))
                .transpose()
        };
        let mut user = User::new(
            self.aud.as_deref().unwrap_or(default_aud),
            &self.email,
            self.role.as_deref().unwrap_or(""),
        );
        if let Some(id) = self.id {
            user.id = id;
        }
        user.confirmed_at = parse("confirmed_at", self.confirmed_at.clone())?;
        user.invited_at = parse("invited_at", self.invited_at.clone())?;
        user.confirmation_sent_at =
            parse("confirmation_sent_at", self.confirmation_sent_at.clone())?;
        user.recovery_sent_at = parse("recovery_sent_at", self.recovery_sent_at.clone())?;
        user.email_change_sent_at =
            parse("email_change_sent_at", self.email_change_sent_at.clone())?;
        if let Some(ts) = parse("created_at", self.created_at.clone())? {
            user.created_at = ts;
        }
        user.updated_at = parse("updated_at", self.updated_at.clone())?.unwrap_or(user.created_at);
        user.new_email = self.new_email.unwrap_or_default();
        if let Some(m) = self.app_metadata {
            user.app_metadata = Metadata::from(m);
        }
        user.user_metadata = Metadata::from(self.user_metadata.unwrap_or_default());
        user.password_hash = self.encrypted_password;
        user.confirmation_token = self.confirmation_token.unwrap_or_default();
        user.recovery_token = self.recovery_token.unwrap_or_default();
        user.email_change_token = self.email_change_token.unwrap_or_default();
        Ok(user)
    }
}

/// Reads a seed file, `{"users":[...]}` or a bare array, handing each user to `each` as soon
/// as it is read. Nothing holds the whole file: an untagged enum would buffer every user
/// as a generic tree first, which at a million users took three times the store's memory.
pub fn read_seed_users<'de, D>(
    deserializer: D,
    each: &mut dyn FnMut(UserRecord) -> Result<(), String>,
) -> Result<(), D::Error>
where
    D: serde::Deserializer<'de>,
{
    deserializer.deserialize_any(SeedVisitor { each })
}

struct SeedVisitor<'f> {
    each: &'f mut dyn FnMut(UserRecord) -> Result<(), String>,
}

impl<'de> serde::de::Visitor<'de> for SeedVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("{\"users\": [...]} or an array of users")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(user) = seq.next_element::<UserRecord>()? {
            (self.each)(user).map_err(serde::de::Error::custom)?;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "users" {
                map.next_value_seed(SeedUsers { each: self.each })?;
                found = true;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        if found {
            Ok(())
        } else {
            Err(serde::de::Error::missing_field("users"))
        }
    }
}

struct SeedUsers<'f> {
    each: &'f mut dyn FnMut(UserRecord) -> Result<(), String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for SeedUsers<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(SeedVisitor { each: self.each })
    }
}

/// A persisted refresh token.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub token: String,
    pub user_id: Uuid,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Uuid>,
    /// The token that replaced this one (supabase/auth keeps used tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
}

/// The state file written after every change.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateFile {
    pub users: Vec<UserRecord>,
    #[serde(default)]
    pub refresh_tokens: Vec<RefreshRecord>,
}

/// Body of `POST /admin/users` and `PUT /admin/users/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdminUserParams {
    pub aud: Option<String>,
    pub role: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub confirm: Option<bool>,
    pub email_confirm: Option<bool>,
    pub user_metadata: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
}

impl AdminUserParams {
    /// Whether the field that confirms on this flavour is `true` (the other is ignored).
    pub fn confirms(&self, flavor: Flavor) -> bool {
        let field = match flavor.confirm_field() {
            "email_confirm" => self.email_confirm,
            _ => self.confirm,
        };
        field == Some(true)
    }
}

/// Body of supabase/auth's `POST /admin/generate_link`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GenerateLinkParams {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub data: Option<Map<String, Value>>,
    pub redirect_to: Option<String>,
}

/// JSON body of supabase/auth's `POST /token?grant_type=…`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenParams {
    pub email: Option<String>,
    pub password: Option<String>,
    pub refresh_token: Option<String>,
}

/// Body of `POST /invite`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteParams {
    pub email: Option<String>,
    pub data: Option<Map<String, Value>>,
}

/// Body of `POST /signup`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupParams {
    pub email: Option<String>,
    pub password: Option<String>,
    pub data: Option<Map<String, Value>>,
}

/// Body of `POST /verify`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyParams {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub token: Option<String>,
    pub token_hash: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Body of `PUT /user`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserUpdateParams {
    pub email: Option<String>,
    pub password: Option<String>,
    pub email_change_token: Option<String>,
    pub data: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
}

/// Body of `POST /recover`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecoverParams {
    pub email: Option<String>,
}

/// Successful `/token` and `/verify` response; supabase/auth adds `expires_at` and `user`.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Value>,
}

/// Decodes a JSON body like Go's `encoding/json`: unknown keys are ignored and top-level keys
/// match case-insensitively (an exact-case key wins over a differently-cased one).
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let value: Value = serde_json::from_slice(body)?;
    let value = match value {
        Value::Object(map) => {
            let mut folded = Map::with_capacity(map.len());
            let (exact, other): (Vec<_>, Vec<_>) =
                map.into_iter().partition(|(k, _)| k.to_lowercase() == *k);
            for (k, v) in exact {
                folded.insert(k, v);
            }
            for (k, v) in other {
                folded.entry(k.to_lowercase()).or_insert(v);
            }
            Value::Object(folded)
        }
        other => other,
    };
    serde_json::from_value(value)
}

/// Parses `application/x-www-form-urlencoded` text into pairs, in order.
pub fn parse_form(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes pairs like Go's `url.Values.Encode`: keys sorted, values kept in order.
pub fn encode_form(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// First value of `key`, like Go's `url.Values.Get`.
pub fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trip_sorts_keys_like_go() {
        let pairs = parse_form("per_page=1&page=2&filter=a+b%40c&sort=created_at%20asc&x");
        assert_eq!(first(&pairs, "filter"), Some("a b@c"));
        assert_eq!(first(&pairs, "x"), Some(""));
        assert_eq!(
            encode_form(&pairs),
            "filter=a+b%40c&page=2&per_page=1&sort=created_at+asc&x="
        );
        assert_eq!(parse_form("a=%zz%4"), vec![("a".into(), "%zz%4".into())]);
    }

    #[test]
    fn json_keys_match_case_insensitively_and_unknown_keys_are_ignored() {
        let p: AdminUserParams =
            decode_json(br#"{"Email":"a@b","email":"exact@b","ROLE":"r","unknown":1}"#)
                .expect("decodes");
        assert_eq!(p.email.as_deref(), Some("exact@b"));
        assert_eq!(p.role.as_deref(), Some("r"));
        assert!(decode_json::<AdminUserParams>(br#"{"confirm":"yes"}"#).is_err());
        let p: AdminUserParams = decode_json(br#"{"user_metadata":null}"#).expect("decodes");
        assert!(p.user_metadata.is_none());
    }

    fn seed_emails(text: &str) -> Result<Vec<String>, String> {
        let mut emails = Vec::new();
        let mut each = |user: UserRecord| {
            if user.email == "refused@example.com" {
                return Err("refused by the store".to_owned());
            }
            emails.push(user.email);
            Ok(())
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        read_seed_users(&mut deserializer, &mut each)
            .and_then(|()| deserializer.end())
            .map_err(|e| e.to_string())?;
        Ok(emails)
    }

    #[test]
    fn a_seed_file_is_read_user_by_user_in_either_shape() {
        assert_eq!(
            seed_emails(r#"{"aud":"x","users":[{"email":"a@x.io"},{"email":"b@x.io"}],"n":[1]}"#),
            Ok(vec!["a@x.io".to_owned(), "b@x.io".to_owned()])
        );
        assert_eq!(
            seed_emails(r#"[{"email":"a@x.io"}]"#),
            Ok(vec!["a@x.io".to_owned()])
        );
        let missing = seed_emails(r#"{"aud":""}"#).expect_err("no users");
        assert!(missing.contains("missing field `users`"), "{missing}");
        let other = seed_emails("3").expect_err("a number");
        assert!(other.contains("array of users"), "{other}");
        let refused = seed_emails(r#"[{"email":"refused@example.com"}]"#).expect_err("refused");
        assert!(refused.contains("refused by the store"), "{refused}");
        let trailing = seed_emails(r#"[] []"#).expect_err("trailing data");
        assert!(trailing.contains("trailing"), "{trailing}");
    }
}

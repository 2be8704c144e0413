//! Fingerprints of server users, so apply of a saved plan can tell whether anything it
//! touches changed since the plan was made.
//!
//! The user's fields are encoded in a canonical binary form (object keys sorted, strings
//! length-prefixed so no two values share an encoding) and hashed with SHA-256, without
//! building any JSON text: a plan of 100,000 users hashes every one of them for the server
//! fingerprint, so this is on the hot path. Metadata is read from the JSON text the server
//! sent; a value is parsed only when it is neither a string without escapes nor a literal,
//! and encodes as the parsed value would, so fingerprints do not depend on how metadata is
//! held.

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::change::Plan;
use crate::gotrue::RemoteUser;
use crate::metadata::{self, Metadata};

/// A stable hash of everything about a user that a plan depends on. Key order inside
/// metadata does not matter.
pub fn user_fingerprint(user: &RemoteUser) -> String {
    hex(&digest(user, &mut Vec::new())[..12])
}

/// A hash of a whole listing, independent of the order users were listed in: the per-user
/// digests are added up, which needs no sorting.
pub fn server_fingerprint(users: &[RemoteUser]) -> String {
    let mut sum = [0u64; 2];
    let mut buffer = Vec::new();
    for user in users {
        let digest = digest(user, &mut buffer);
        for (lane, chunk) in sum.iter_mut().zip(digest.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_le_bytes(bytes));
        }
    }
    let mut bytes = Vec::with_capacity(16);
    for lane in sum {
        bytes.extend_from_slice(&lane.to_le_bytes());
    }
    hex(&bytes[..12])
}

/// Records in `plan` the fingerprint of the listing it was computed from, for a saved plan
/// or the JSON document. [`plan`](super::plan) leaves it out: nothing in the diff needs it,
/// and on 100,000 users hashing every user costs about as much as the diff itself.
pub fn record_server_fingerprint(plan: &mut Plan, actual: &[RemoteUser]) {
    plan.server.fingerprint = Some(server_fingerprint(actual));
}

/// Encodes the user into `buffer` (reused across users, so it is allocated once per
/// listing) and hashes it in one call: feeding the hasher field by field costs more in
/// per-call overhead than the hashing itself.
fn digest(user: &RemoteUser, buffer: &mut Vec<u8>) -> [u8; 32] {
    buffer.clear();
    for part in [
        user.id.as_str(),
        user.email.as_str(),
        user.role.as_str(),
        user.confirmed_at.as_deref().unwrap_or(""),
        user.invited_at.as_deref().unwrap_or(""),
    ] {
        encode_str(buffer, part);
    }
    encode_metadata(buffer, &user.app_metadata);
    encode_metadata(buffer, &user.user_metadata);
    Sha256::digest(buffer.as_slice()).into()
}

fn encode_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Encodes as [`encode_map`] encodes the map the metadata reads as.
fn encode_metadata(out: &mut Vec<u8>, metadata: &Metadata) {
    let mut entries = metadata.entries();
    entries.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    out.push(b'{');
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (key, value) in &entries {
        encode_str(out, key);
        encode_raw(out, value);
    }
}

/// Encodes as [`encode_value`] encodes the parsed value.
fn encode_raw(out: &mut Vec<u8>, raw: &RawValue) {
    match raw.get() {
        "null" => out.push(b'n'),
        "true" => out.push(b't'),
        "false" => out.push(b'f'),
        text if text.starts_with('"') && !text.contains('\\') => {
            out.push(b's');
            encode_str(out, &text[1..text.len() - 1]);
        }
        _ => encode_value(out, &metadata::parsed(raw)),
    }
}

fn encode_map(out: &mut Vec<u8>, map: &Map<String, Value>) {
    // Metadata maps are small: sort their entries in a stack buffer rather than a fresh
    // Vec for each of the two maps of every user.
    let mut inline: [(&str, &Value); 16] = [("", &Value::Null); 16];
    let mut spilled = Vec::new();
    let entries: &mut [(&str, &Value)] = if map.len() <= inline.len() {
        for (slot, (key, value)) in inline.iter_mut().zip(map) {
            *slot = (key, value);
        }
        &mut inline[..map.len()]
    } else {
        spilled.extend(map.iter().map(|(k, v)| (k.as_str(), v)));
        &mut spilled
    };
    entries.sort_unstable_by_key(|(key, _)| *key);
    out.push(b'{');
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (key, value) in entries.iter() {
        encode_str(out, key);
        encode_value(out, value);
    }
}

fn encode_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(b'n'),
        Value::Bool(true) => out.push(b't'),
        Value::Bool(false) => out.push(b'f'),
        Value::Number(number) => {
            out.push(b'#');
            encode_str(out, &number.to_string());
        }
        Value::String(text) => {
            out.push(b's');
            encode_str(out, text);
        }
        Value::Array(items) => {
            out.push(b'[');
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                encode_value(out, item);
            }
        }
        Value::Object(map) => encode_map(out, map),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, app: Value) -> RemoteUser {
        serde_json::from_value(json!({"id": id, "email": "a@example.com", "app_metadata": app}))
            .expect("user")
    }

    #[test]
    fn ignores_key_order_but_not_values() {
        let a = user("1", json!({"x":1,"y":{"b":2,"a":1}}));
        let b = user("1", json!({"y":{"a":1,"b":2},"x":1}));
        let c = user("1", json!({"x":2,"y":{"a":1,"b":2}}));
        assert_eq!(user_fingerprint(&a), user_fingerprint(&b));
        assert_ne!(user_fingerprint(&a), user_fingerprint(&c));
    }

    #[test]
    fn metadata_encodes_from_its_text_as_the_map_it_reads_as() {
        let texts = [
            r#"{}"#,
            r#"{"s":"plain","e":"a\"b\u00e9\n","t":true,"f":false,"n":null}"#,
            r#"{"i":1,"x":1.0,"y":1e2,"z":-0,"big":18446744073709551616,"neg":-5,"frac":0.1}"#,
            r#"{ "nested" : { "b" : [1, "two", {"d":null,"c":[]}], "a" : {} } }"#,
            r#"{"dup":1,"other":2,"\u0064up":{"x":1,"x":2}}"#,
        ];
        for text in texts {
            let metadata: Metadata = serde_json::from_str(text).expect("metadata");
            let mut from_text = Vec::new();
            encode_metadata(&mut from_text, &metadata);
            let mut from_map = Vec::new();
            encode_map(&mut from_map, &metadata.to_map());
            assert_eq!(from_text, from_map, "{text}");
        }
    }

    /// A saved plan carries fingerprints; they must not change with how users are held. The
    /// value was computed from the encoding described above, outside this code.
    #[test]
    fn fingerprints_are_pinned() {
        let user: RemoteUser = serde_json::from_str(
            r#"{"id":"00000000-0000-4000-8000-000000000001","email":"user@example.com","confirmed_at":"2026-01-01T00:00:00Z",
                "app_metadata":{"provider":"email","roles":["member"],"managed_by":"gotrue-sync:bench"},
                "user_metadata":{"full_name":"User 1","n":1.5}}"#,
        )
        .expect("user");
        assert_eq!(user_fingerprint(&user), "a8fc8dc9e3ae1f5d9892ee18");
    }

    #[test]
    fn values_with_similar_text_differ() {
        let a = user("1", json!({"x": "1"}));
        let b = user("1", json!({"x": 1}));
        let c = user("1", json!({"x": ["a", "b"]}));
        let d = user("1", json!({"x": ["ab"]}));
        assert_ne!(user_fingerprint(&a), user_fingerprint(&b));
        assert_ne!(user_fingerprint(&c), user_fingerprint(&d));
    }

    #[test]
    fn server_fingerprint_ignores_listing_order_only() {
        let users = vec![user("1", json!({})), user("2", json!({"k": true}))];
        let reversed: Vec<RemoteUser> = users.iter().rev().cloned().collect();
        assert_eq!(server_fingerprint(&users), server_fingerprint(&reversed));
        assert_ne!(server_fingerprint(&users), server_fingerprint(&users[..1]));
    }
}

//! Fingerprints of server users, so apply of a saved plan can tell whether anything it
//! touches changed since the plan was made.
//!
//! The user's fields are encoded in a canonical binary form (object keys sorted, strings
//! length-prefixed so no two values share an encoding) and hashed with SHA-256, without
//! building any JSON text: a plan of 100,000 users hashes every one of them for the server
//! fingerprint, so this is on the hot path.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::change::Plan;
use crate::gotrue::RemoteUser;

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
    encode_map(buffer, &user.app_metadata);
    encode_map(buffer, &user.user_metadata);
    Sha256::digest(buffer.as_slice()).into()
}

fn encode_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
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

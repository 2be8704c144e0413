//! Fingerprints of server users, so apply of a saved plan can tell whether anything it
//! touches changed since the plan was made.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::gotrue::RemoteUser;

/// A stable hash of everything about a user that a plan depends on. Key order inside
/// metadata does not matter.
pub fn user_fingerprint(user: &RemoteUser) -> String {
    let mut hasher = Sha256::new();
    for part in [
        user.id.as_str(),
        user.email.as_str(),
        user.role.as_str(),
        user.confirmed_at.as_deref().unwrap_or(""),
        user.invited_at.as_deref().unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(canonical(&Value::Object(user.app_metadata.clone())).as_bytes());
    hasher.update([0]);
    hasher.update(canonical(&Value::Object(user.user_metadata.clone())).as_bytes());
    hex(&hasher.finalize()[..12])
}

/// A hash of a whole listing (order-independent).
pub fn server_fingerprint(users: &[RemoteUser]) -> String {
    let mut prints: Vec<String> = users.iter().map(user_fingerprint).collect();
    prints.sort_unstable();
    let mut hasher = Sha256::new();
    for print in prints {
        hasher.update(print.as_bytes());
    }
    hex(&hasher.finalize()[..12])
}

/// JSON text with object keys sorted at every level.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(app: Value) -> RemoteUser {
        serde_json::from_value(json!({"id":"1","email":"a@example.com","app_metadata":app}))
            .expect("user")
    }

    #[test]
    fn ignores_key_order_but_not_values() {
        let a = user(json!({"x":1,"y":{"b":2,"a":1}}));
        let b = user(json!({"y":{"a":1,"b":2},"x":1}));
        let c = user(json!({"x":2,"y":{"a":1,"b":2}}));
        assert_eq!(user_fingerprint(&a), user_fingerprint(&b));
        assert_ne!(user_fingerprint(&a), user_fingerprint(&c));
    }
}

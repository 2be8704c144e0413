//! What makes a server user "ours": the ownership marker, the app-metadata keys a manifest may
//! not set, and finding entries that name one user twice. A leaf: no imports from the crate.

use std::collections::HashMap;
use std::hash::Hash;

use serde_json::{Map, Value};

/// The app metadata key that records which manifest owns a user.
pub const MARKER_KEY: &str = "managed_by";

/// The ownership marker of a manifest named `name`.
pub fn marker_for(name: &str) -> String {
    format!("gotrue-sync:{name}")
}

/// An app-metadata key a manifest may not declare, and what to do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedKey {
    /// The key.
    pub key: &'static str,
    /// Why it is reserved, phrased as a fix.
    pub hint: &'static str,
}

/// App metadata keys with their own meaning: the server owns `provider`, `roles` is the
/// user's `roles` field, the marker is gotrue-sync's. Never declared, removed or exported.
pub const RESERVED_APP_METADATA: [ReservedKey; 3] = [
    ReservedKey {
        key: "roles",
        hint: "set roles with the user's `roles` field",
    },
    ReservedKey {
        key: "provider",
        hint: "`provider` is owned by the server; remove it",
    },
    ReservedKey {
        key: MARKER_KEY,
        hint: "`managed_by` is written by gotrue-sync itself; remove it",
    },
];

/// The reservation of `key`, if it is reserved.
pub fn reserved_app_key(key: &str) -> Option<&'static ReservedKey> {
    RESERVED_APP_METADATA.iter().find(|r| r.key == key)
}

/// The user's marker, if it has one (any value, even another manifest's or not a string).
pub fn marker_of(app_metadata: &Map<String, Value>) -> Option<&Value> {
    // Metadata maps are small: a scan compares lengths before bytes and reads only the
    // matching key, where a lookup hashes first; measurable over 100,000 users.
    if app_metadata.len() <= 8 {
        app_metadata
            .iter()
            .find(|(k, _)| k.as_str() == MARKER_KEY)
            .map(|(_, v)| v)
    } else {
        app_metadata.get(MARKER_KEY)
    }
}

/// Whether a user with this app metadata carries `marker` (see [`marker_for`]).
pub fn is_managed(app_metadata: &Map<String, Value>, marker: &str) -> bool {
    marker_of(app_metadata).and_then(Value::as_str) == Some(marker)
}

/// Pairs `(later, first)` of positions whose keys are equal: every entry after the first
/// with its key, and the position of that first.
pub fn duplicates<K: Hash + Eq>(keys: impl IntoIterator<Item = K>) -> Vec<(usize, usize)> {
    let mut first: HashMap<K, usize> = HashMap::new();
    let mut found = Vec::new();
    for (index, key) in keys.into_iter().enumerate() {
        match first.get(&key) {
            Some(&earlier) => found.push((index, earlier)),
            None => {
                first.insert(key, index);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn managed_means_this_manifests_marker_exactly() {
        let marker = marker_for("site");
        assert_eq!(marker, "gotrue-sync:site");
        assert!(is_managed(
            &map(json!({"managed_by": "gotrue-sync:site"})),
            &marker
        ));
        assert!(!is_managed(
            &map(json!({"managed_by": "gotrue-sync:other"})),
            &marker
        ));
        assert!(!is_managed(
            &map(json!({"managed_by": ["gotrue-sync:site"]})),
            &marker
        ));
        assert!(!is_managed(&map(json!({})), &marker));
        let many: Map<String, Value> = (0..20)
            .map(|i| (format!("k{i}"), json!(i)))
            .chain([(MARKER_KEY.to_owned(), json!("gotrue-sync:site"))])
            .collect();
        assert!(is_managed(&many, &marker));
    }

    #[test]
    fn reserved_keys_have_hints() {
        assert!(reserved_app_key("roles").is_some());
        assert!(reserved_app_key("provider").is_some());
        assert!(reserved_app_key(MARKER_KEY).is_some());
        assert!(reserved_app_key("team").is_none());
    }

    #[test]
    fn duplicates_point_at_the_first_entry() {
        assert_eq!(duplicates(["a", "b", "a", "c", "a"]), vec![(2, 0), (4, 0)]);
        assert!(duplicates(["a", "b"]).is_empty());
    }
}

//! What makes a server user "ours": the ownership marker, the app-metadata keys a manifest may
//! not set, and finding entries that name one user twice. A leaf: no imports from the crate.

use std::collections::HashMap;
use std::hash::Hash;

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

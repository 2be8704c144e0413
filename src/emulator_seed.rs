//! `emulator --seed users.yaml`: the users a manifest describes, as they would look after
//! `apply` (and after invitations were accepted), handed to the emulator through its plain
//! seeding API. A plan of that manifest against the seeded emulator is therefore empty, and an
//! edit to the manifest shows up as exactly that change.

use std::path::Path;

use gotrue_emulator::SeedUser;
use serde_json::{Map, Value};

use crate::gotrue::Flavor;
use crate::manifest::{self, ManifestError};
use crate::metadata::Metadata;
use crate::plan::{marker_for, MARKER_KEY};

/// The emulator crate's flavour for gotrue-sync's (the crates share no types on purpose).
pub fn emulator_flavor(flavor: Flavor) -> gotrue_emulator::Flavor {
    match flavor {
        Flavor::Netlify => gotrue_emulator::Flavor::Netlify,
        Flavor::Supabase => gotrue_emulator::Flavor::Supabase,
    }
}

/// Whether `path` names a manifest (YAML) rather than a JSON user listing.
pub fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The users of the manifest at `path`: confirmed (unless `confirmed: false`), with their
/// roles, metadata, `role` and the manifest's ownership marker. No passwords: seeding needs
/// no secrets, so these users cannot log in with a password.
pub fn seeds_from_manifest(path: &Path) -> Result<Vec<SeedUser>, ManifestError> {
    let loaded = manifest::load(path)?;
    let marker = marker_for(&loaded.manifest.name);
    Ok(loaded
        .manifest
        .users
        .iter()
        .map(|spec| {
            let mut app_metadata = declared(spec.app_metadata.as_ref());
            if let Some(roles) = &spec.roles {
                let roles = roles.iter().cloned().map(Value::String).collect();
                app_metadata.insert("roles".into(), Value::Array(roles));
            }
            app_metadata.insert(MARKER_KEY.into(), Value::String(marker.clone()));
            SeedUser {
                email: spec.email.trim().to_owned(),
                password: None,
                confirmed: spec.confirmed != Some(false),
                invited: false,
                role: spec.role.clone().unwrap_or_default(),
                app_metadata,
                user_metadata: declared(spec.user_metadata.as_ref()),
            }
        })
        .collect())
}

/// Declared keys, without the `null`s that mean "must not exist".
fn declared(metadata: Option<&Metadata>) -> Map<String, Value> {
    metadata
        .into_iter()
        .flat_map(Metadata::set_entries)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_extensions_name_manifests() {
        assert!(is_manifest(Path::new("users.yaml")));
        assert!(is_manifest(Path::new("dir/users.yml")));
        assert!(!is_manifest(Path::new("users.json")));
        assert!(!is_manifest(Path::new("users")));
    }
}

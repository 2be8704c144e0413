//! `--seed users.yaml`: start the emulator with the users a manifest describes, as they would
//! look after `apply` (and after invitations were accepted), so that a plan against it is
//! empty and an edit to the manifest shows up as exactly that change.

use std::path::Path;

use serde_json::{Map, Value};

use super::{EmulatorError, SeedUser};
use crate::manifest;
use crate::plan::{marker_for, MARKER_KEY};

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
pub fn seeds_from_manifest(path: &Path) -> Result<Vec<SeedUser>, EmulatorError> {
    let loaded = manifest::load(path).map_err(|e| EmulatorError::FileContent {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
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
fn declared(map: Option<&Map<String, Value>>) -> Map<String, Value> {
    map.into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

//! Users as the admin API lists them, and as the emulator is seeded with.

use gotrue_emulator::SeedUser;
use serde_json::{json, Map, Value};

/// A confirmed server user in the admin API's JSON shape.
pub fn user(id: &str, email: &str, app: Value, user_metadata: Value) -> Value {
    json!({"id": id, "aud": "", "role": "", "email": email, "confirmed_at": "2026-01-01T00:00:00Z",
           "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
           "app_metadata": app, "user_metadata": user_metadata})
}

/// A user a manifest named `site` manages, with `roles`.
pub fn managed_by_site(id: &str, email: &str, roles: &[&str]) -> Value {
    let app = json!({"provider": "email", "managed_by": "gotrue-sync:site", "roles": roles});
    user(id, email, app, json!({}))
}

/// A confirmed user to seed the emulator with.
pub fn seed(email: &str, app: Value, user_metadata: Value) -> SeedUser {
    SeedUser {
        email: email.into(),
        confirmed: true,
        app_metadata: map(app),
        user_metadata: map(user_metadata),
        ..SeedUser::default()
    }
}

/// The object `value`; empty for anything else.
pub fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

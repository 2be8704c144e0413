//! The JSON Schema of the plan document (`plan --json`, `plan --out`), generated from the
//! Rust types.

use serde_json::Value;

use super::Plan;

/// The schema as the pretty-printed text `gotrue-sync schema --plan` prints and the repo
/// commits as `schema/plan.schema.json`.
pub fn plan_schema_text() -> String {
    let schema = schemars::schema_for!(Plan);
    let mut value = serde_json::to_value(&schema).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "$id".into(),
            Value::String("https://gotrue-sync.dev/schema/plan.schema.json".into()),
        );
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

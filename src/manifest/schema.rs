//! The manifest's JSON Schema, generated from the Rust types.

use std::sync::OnceLock;

use serde_json::Value;

use super::model::Manifest;

/// The JSON Schema of the manifest, as committed in `schema/manifest.schema.json`.
pub fn manifest_schema() -> Value {
    let schema = schemars::schema_for!(Manifest);
    let mut value = serde_json::to_value(&schema).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "$id".into(),
            Value::String("https://gotrue-sync.dev/schema/manifest.schema.json".into()),
        );
    }
    value
}

/// The schema as the pretty-printed text `gotrue-sync schema` prints and the repo commits.
pub fn manifest_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&manifest_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// Which object of the manifest a set of field names belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Section {
    /// The top level.
    Root,
    /// `policy`.
    Policy,
    /// An entry of `users`.
    User,
}

/// The field names the schema allows in `section`. Taken from the generated schema so the
/// validator can never drift from the types.
pub fn field_names(section: Section) -> &'static [String] {
    static FIELDS: OnceLock<[Vec<String>; 3]> = OnceLock::new();
    let all = FIELDS.get_or_init(|| {
        let schema = manifest_schema();
        let names = |object: Option<&Value>| -> Vec<String> {
            object
                .and_then(|o| o.get("properties"))
                .and_then(Value::as_object)
                .map(|props| props.keys().cloned().collect())
                .unwrap_or_default()
        };
        let defs = schema.get("$defs");
        [
            names(Some(&schema)),
            names(defs.and_then(|d| d.get("Policy"))),
            names(defs.and_then(|d| d.get("UserSpec"))),
        ]
    });
    match section {
        Section::Root => &all[0],
        Section::Policy => &all[1],
        Section::User => &all[2],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_the_types() {
        assert_eq!(
            field_names(Section::Root),
            ["version", "name", "policy", "users"]
        );
        assert!(field_names(Section::Policy).contains(&"max_deletes".to_string()));
        assert!(field_names(Section::User).contains(&"user_metadata".to_string()));
        assert!(field_names(Section::User).contains(&"password".to_string()));
    }
}

//! The committed schema matches the types, and every example is valid and points at it.

use std::path::{Path, PathBuf};

use gotrue_sync::manifest::{load, manifest_schema_text};
use gotrue_sync::plan::plan_schema_text;

#[test]
fn committed_schema_is_up_to_date() {
    let committed = std::fs::read_to_string("schema/manifest.schema.json").expect("schema file");
    assert!(
        committed == manifest_schema_text(),
        "schema/manifest.schema.json is out of date: run `cargo run -- schema > schema/manifest.schema.json`"
    );
}

#[test]
fn committed_plan_schema_is_up_to_date() {
    let committed = std::fs::read_to_string("schema/plan.schema.json").expect("schema file");
    assert!(
        committed == plan_schema_text(),
        "schema/plan.schema.json is out of date: run `cargo run -- schema --plan > schema/plan.schema.json`"
    );
}

fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            found.push(path);
        }
    }
}

#[test]
fn every_example_manifest_validates_and_carries_the_modeline() {
    let mut files = Vec::new();
    yaml_files(Path::new("examples"), &mut files);
    let manifests: Vec<&PathBuf> = files
        .iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "ci"))
        .collect();
    assert!(!manifests.is_empty(), "no example manifests found");
    for path in manifests {
        let text = std::fs::read_to_string(path).expect("read");
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} lacks the schema modeline",
            path.display()
        );
        if let Err(error) = load(path) {
            panic!("{} is invalid:\n{error}", path.display());
        }
    }
}

#[test]
fn every_yaml_file_in_examples_parses() {
    let mut files = Vec::new();
    yaml_files(Path::new("examples"), &mut files);
    let ci: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "ci"))
        .collect();
    assert!(ci.len() >= 2, "the CI recipes are missing: {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        if let Err(error) = serde_saphyr::from_str::<serde_json::Value>(&text) {
            panic!("{} is not valid YAML: {error}", path.display());
        }
    }
}

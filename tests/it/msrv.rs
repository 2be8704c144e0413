//! `rust-version` in Cargo.toml is the real minimum: at least the `rust-version` of every
//! package in Cargo.lock (as `cargo metadata` reports it), and the README says the same.
//! It once said 1.85 while serde-saphyr and uuid needed 1.89, and the build failed there.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `1.89` or `1.89.0` as comparable numbers (a missing patch is 0).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|part| {
        part.parse::<u64>()
            .unwrap_or_else(|_| panic!("not a Rust version: {text}"))
    });
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

fn cargo_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |offline: bool| {
        let mut command = Command::new(&cargo);
        command
            .current_dir(root)
            .args(["metadata", "--format-version", "1", "--locked"]);
        if offline {
            command.arg("--offline");
        }
        command.output().expect("cargo runs")
    };
    // Offline first (the lock's packages are normally cached after a build); the index is
    // needed only when some platform's packages were never downloaded here.
    let mut output = run(true);
    if !output.status.success() {
        output = run(false);
    }
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn rust_version_is_at_least_every_locked_dependency() {
    let metadata = cargo_metadata();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = metadata["packages"].as_array().expect("packages");
    let (ours, dependencies): (Vec<&Value>, Vec<&Value>) = packages
        .iter()
        .partition(|p| members.contains(&p["id"].as_str().unwrap_or_default()));
    let (highest, needed_by) = dependencies
        .iter()
        .filter_map(|p| Some((version(p["rust_version"].as_str()?), p)))
        .max_by_key(|(v, _)| *v)
        .expect("some dependency declares a rust-version");
    assert!(!ours.is_empty());
    for package in ours {
        let name = package["name"].as_str().unwrap_or_default();
        let declared = package["rust_version"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} declares no rust-version"));
        assert!(
            version(declared) >= highest,
            "{name} declares rust-version {declared}, but {} {} needs {}.{}.{}: raise rust-version",
            needed_by["name"].as_str().unwrap_or_default(),
            needed_by["version"].as_str().unwrap_or_default(),
            highest.0,
            highest.1,
            highest.2
        );
    }
}

#[test]
fn readme_states_the_declared_rust_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let declared = env!("CARGO_PKG_RUST_VERSION");
    assert!(!declared.is_empty(), "Cargo.toml declares no rust-version");
    let phrase = format!("Rust {declared} or newer");
    assert!(
        readme.contains(&phrase),
        "README.md should say \"{phrase}\" (the rust-version in Cargo.toml)"
    );
}

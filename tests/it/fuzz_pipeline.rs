//! The fuzz target's pipeline (`fuzz/fuzz_targets/manifest_pipeline.rs`) on the stable
//! toolchain, so every `cargo test` runs it: each seed of the corpus as it is, then a bounded
//! number of mutated seeds and arbitrary bytes. A panic anywhere is a failure.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gotrue_sync::fuzzing::{run_pipeline, Reached};
use proptest::prelude::*;

/// The seed corpus: the examples and the hand-made hostile manifests in `fuzz/seeds`.
fn seeds() -> &'static [(PathBuf, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

fn read_seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["examples", "fuzz/seeds"] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("seed");
            (path, bytes)
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("seed directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
}

#[test]
fn every_seed_passes_the_pipeline() {
    let seeds = seeds();
    assert!(seeds.len() >= 12, "the corpus is there: {}", seeds.len());
    let mut reached = Vec::new();
    for (path, bytes) in seeds {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        match std::panic::catch_unwind(|| run_pipeline(bytes)) {
            Ok(outcome) => reached.push((name.unwrap_or_default(), outcome)),
            Err(_) => panic!("{} panicked", path.display()),
        }
    }
    // The corpus reaches both ends: plans with changes, and refusals.
    let outcome = |name: &str| reached.iter().find(|(n, _)| n == name).map(|(_, r)| *r);
    assert!(
        matches!(outcome("users.yaml"), Some(Reached::Planned(n)) if n > 0),
        "{reached:?}"
    );
    assert!(
        matches!(outcome("many_users.yaml"), Some(Reached::Planned(n)) if n > 0),
        "{reached:?}"
    );
    assert!(
        matches!(outcome("escapes.yaml"), Some(Reached::Planned(n)) if n > 0),
        "{reached:?}"
    );
    assert!(
        matches!(outcome("secrets_in_errors.yaml"), Some(Reached::Refused(n)) if n > 0),
        "{reached:?}"
    );
}

/// Fragments that reach the corners of YAML and of the manifest format.
const TOKENS: &[&str] = &[
    "\u{1b}[31m",
    "\\e[2J",
    "\u{9b}",
    "\u{202e}",
    "\r\n",
    "\t",
    "\n  - email: ",
    "@example.com",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!str ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    "- ",
    "'",
    "\"",
    "#",
    "~",
    "null",
    "NO",
    "0001",
    "+49",
    "1e400",
    "-.inf",
    "---\n",
    "...\n",
    "? ",
    "|\n  ",
    ">-\n  ",
    "password: ",
    "renamed_from: ",
    "roles: [admin]",
    "role: admin",
    "user_metadata: {",
    "app_metadata: {managed_by: x}",
    "create: password",
    "prune: all",
    "policy: {user_metadata: exact}",
    "version: 2",
    "name: ",
    "\u{0}",
    "\u{feff}",
    "é",
    "🙂",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Overwrite(usize, u8),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), proptest::sample::select(TOKENS))
            .prop_map(|(at, token)| Mutation::Insert(at, token.as_bytes().to_vec())),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1..16usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Overwrite(at, byte)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        match mutation {
            Mutation::Insert(at, inserted) => {
                let at = at % (len + 1);
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Delete(at, count) if len > 0 => {
                let at = at % len;
                bytes.drain(at..(at + count).min(len));
            }
            Mutation::Overwrite(at, byte) if len > 0 => bytes[at % len] = *byte,
            Mutation::DuplicateLine(at) if len > 0 => {
                let at = at % len;
                let start = bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(len, |i| at + i + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(end..end, line);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    // Bounded so that `cargo test` stays quick; `cargo fuzz` explores without bound.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_seeds_never_panic(
        seed in any::<proptest::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let (_, bytes) = &seeds[seed.index(seeds.len())];
        run_pipeline(&mutate(bytes.clone(), &mutations));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(\\PC|[\\x00-\\x1f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}]){0,300}") {
        run_pipeline(text.as_bytes());
    }
}

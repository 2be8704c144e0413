//! Manifests split across files and directories.

use gotrue_sync::manifest::{load, load_all, ManifestError};

use crate::support::write;

fn problems(result: Result<gotrue_sync::manifest::LoadedManifest, ManifestError>) -> Vec<String> {
    match result {
        Err(ManifestError::Invalid { diagnostics, .. }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected diagnostics, got {other:?}"),
    }
}

#[test]
fn a_directory_merges_its_files_in_name_order() {
    let dir = tempfile::tempdir().expect("dir");
    write(
        &dir,
        "b-team.yaml",
        "version: 1\nname: site\nusers:\n  - email: b@example.com\n",
    );
    write(&dir, "a-policy.yml", "version: 1\nname: site\npolicy: { prune: none, allow_admin_role: true }\nusers:\n  - email: a@example.com\n");
    write(
        &dir,
        "c-admins.yaml",
        "version: 1\nname: site\nusers:\n  - email: c@example.com\n    role: admin\n",
    );
    write(&dir, "notes.txt", "not yaml");
    let loaded = load(dir.path()).expect("valid");
    let emails: Vec<&str> = loaded
        .manifest
        .users
        .iter()
        .map(|u| u.email.as_str())
        .collect();
    assert_eq!(emails, ["a@example.com", "b@example.com", "c@example.com"]);
    assert_eq!(loaded.files.len(), 3);
    assert!(
        loaded.manifest.policy.allow_admin_role,
        "the policy file's policy applies to every file"
    );
}

#[test]
fn a_duplicate_across_files_names_both_places() {
    let dir = tempfile::tempdir().expect("dir");
    let one = write(
        &dir,
        "one.yaml",
        "version: 1\nname: site\nusers:\n  - email: a@example.com\n",
    );
    let two = write(
        &dir,
        "two.yaml",
        "version: 1\nname: site\nusers:\n  - email: x@example.com\n  - email: A@Example.com\n",
    );
    let found = problems(load_all(&[one, two]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("duplicate user `A@Example.com`"));
    assert!(found[0].contains("two.yaml:5:5"), "{}", found[0]);
    assert!(
        found[0].contains("first declared at") && found[0].contains("one.yaml:4:5"),
        "{}",
        found[0]
    );
}

#[test]
fn policy_in_two_files_and_differing_names_are_errors() {
    let dir = tempfile::tempdir().expect("dir");
    write(
        &dir,
        "1.yaml",
        "version: 1\nname: site\npolicy: { prune: all }\nusers: []\n",
    );
    write(
        &dir,
        "2.yaml",
        "version: 1\nname: other\npolicy: { prune: none }\nusers: []\n",
    );
    let found = problems(load(dir.path()));
    assert_eq!(found.len(), 2, "{found:#?}");
    // In document order: `name` (line 2) before `policy` (line 3).
    assert!(found[0].contains("`name: other` differs from `name: site`"));
    assert!(found[1].contains("`policy` is declared in more than one file"));
}

#[test]
fn admin_role_without_permission_in_any_file_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    write(
        &dir,
        "1.yaml",
        "version: 1\nname: site\npolicy: { prune: managed }\nusers: []\n",
    );
    write(
        &dir,
        "2.yaml",
        "version: 1\nname: site\nusers:\n  - email: a@example.com\n    role: admin\n",
    );
    let found = problems(load(dir.path()));
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("admin role"));
}

#[test]
fn admin_roles_declared_in_the_policy_file_apply_to_every_file() {
    let dir = tempfile::tempdir().expect("dir");
    write(
        &dir,
        "1.yaml",
        "version: 1\nname: site\npolicy: { admin_roles: [owner] }\nusers: []\n",
    );
    write(
        &dir,
        "2.yaml",
        "version: 1\nname: site\nusers:\n  - email: a@example.com\n    role: owner\n  - email: b@example.com\n    role: editor\n",
    );
    let found = problems(load(dir.path()));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("2.yaml:5:11"), "{}", found[0]);
    assert!(found[0].contains("admin role `owner`"), "{}", found[0]);
}

#[test]
fn relative_secret_files_resolve_next_to_the_file_that_names_them() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir(dir.path().join("team")).expect("mkdir");
    let file = dir.path().join("team/users.yaml");
    std::fs::write(&file, "version: 1\nname: site\nusers:\n  - email: bot@example.com\n    create: password\n    password: { file: bot.secret }\n").expect("write");
    let loaded = load(&file).expect("valid");
    let reference = loaded.manifest.users[0].password.clone().expect("password");
    let expected = std::fs::canonicalize(dir.path().join("team"))
        .expect("canon")
        .join("bot.secret");
    assert_eq!(
        reference.to_string(),
        format!("file:{}", expected.display())
    );
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(matches!(
        load(dir.path()),
        Err(ManifestError::NoFiles { .. })
    ));
}

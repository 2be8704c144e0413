use std::path::Path;

use super::*;
use crate::manifest::{CreateMode, MetadataMode, PruneMode, SecretRef};

fn problems(source: &str) -> Vec<Diagnostic> {
    validate(source, Path::new("users.yaml")).expect_err("expected problems")
}

fn messages(source: &str) -> Vec<String> {
    problems(source).into_iter().map(|d| d.message).collect()
}

#[test]
fn accepts_the_documented_example() {
    let source = r#"# yaml-language-server: $schema=../schema/manifest.schema.json
version: 1
name: marketing-site
policy:
  prune: managed
  max_deletes: 10
  user_metadata: merge
  app_metadata: exact
  allow_admin_role: false
users:
  - email: alice@example.com
    roles: [admin, editor]
    user_metadata: { full_name: Alice }
    app_metadata: { team: growth }
  - email: ci-bot@example.com
    create: password
    password: { env: CI_BOT_PASSWORD }
    confirmed: true
    role: deployer
"#;
    let validated = validate(source, Path::new("users.yaml")).expect("valid");
    let m = validated.manifest;
    assert_eq!(m.name, "marketing-site");
    assert_eq!(m.policy.prune, PruneMode::Managed);
    assert_eq!(m.policy.app_metadata, MetadataMode::Exact);
    assert_eq!(m.users.len(), 2);
    assert_eq!(m.users[1].create, CreateMode::Password);
    assert_eq!(
        m.users[1].password,
        Some(SecretRef::Env {
            env: "CI_BOT_PASSWORD".into()
        })
    );
    assert_eq!(validated.user_locations[0].line, 11);
    assert_eq!(validated.user_locations[1].line, 15);
}

#[test]
fn reports_every_problem_at_once_with_locations() {
    let source = "version: 1\nname: site\nusers:\n  - emial: a@example.com\n  - email: not-an-address\n  - email: b@example.com\n    roles: admin\n";
    let found = problems(source);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(found[0].message, "unknown field `emial` in users[0]");
    assert_eq!(found[0].hint.as_deref(), Some("did you mean `email`?"));
    assert_eq!((found[0].location.line, found[0].location.column), (4, 5));
    assert_eq!(found[1].message, "users[0] has no `email`");
    assert!(found[2]
        .message
        .starts_with("invalid e-mail address `not-an-address`"));
    assert_eq!((found[2].location.line, found[2].location.column), (5, 12));
    assert!(
        found[3]
            .message
            .starts_with("invalid `roles` in user `b@example.com`"),
        "{}",
        found[3].message
    );
    assert_eq!(found[3].location.line, 7);
}

#[test]
fn duplicate_emails_name_both_places_case_insensitively() {
    let found = problems("version: 1\nname: s\nusers:\n  - email: Ann@Example.com\n  - email: bob@example.com\n  - email: ann@example.com \n");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].location.line, 6);
    let (label, first) = found[0].related.clone().expect("related location");
    assert_eq!(label, "first declared at");
    assert_eq!((first.line, first.column), (4, 12));
    assert!(found[0].to_string().contains("users.yaml:4:12"));
}

#[test]
fn passwords_must_be_references_and_only_for_password_creates() {
    let found = messages(
        "version: 1\nname: s\nusers:\n  - email: a@example.com\n    create: password\n    password: hunter2\n  - email: b@example.com\n    password: { env: B }\n  - email: c@example.com\n    create: password\n  - email: d@example.com\n    create: password\n    password: { vault: x }\n",
    );
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found[0].starts_with("plaintext password in user `a@example.com`"));
    assert!(
        !found.iter().any(|m| m.contains("hunter2")),
        "a diagnostic echoed the password"
    );
    assert_eq!(
        found[1],
        "user `b@example.com` is invited, so it cannot have a password"
    );
    assert_eq!(
        found[2],
        "user `c@example.com` has `create: password` but no `password`"
    );
    assert_eq!(
        found[3],
        "unknown secret source `vault` in the password of user `d@example.com`"
    );
}

#[test]
fn plaintext_password_is_not_echoed_in_the_rendered_snippet() {
    let found = problems("version: 1\nname: s\nusers:\n  - email: a@example.com\n    create: password\n    password: hunter2\n  - email: b@example.com\n    password: 'swordfish'\n");
    assert_eq!(found.len(), 2);
    for diagnostic in &found {
        let text = diagnostic.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("swordfish"),
            "{text}"
        );
        assert!(text.contains("password: (sensitive)"), "{text}");
    }
}

#[test]
fn reserved_keys_admin_role_and_version() {
    let found = messages(
        "version: 2\nname: s\nusers:\n  - email: a@example.com\n    app_metadata: { roles: [x], provider: email, managed_by: me, team: t }\n    role: admin\n",
    );
    assert_eq!(found.len(), 5, "{found:#?}");
    assert_eq!(found[0], "unsupported manifest version 2");
    assert_eq!(
        found[1],
        "`app_metadata.roles` is reserved in user `a@example.com`"
    );
    assert_eq!(
        found[2],
        "`app_metadata.provider` is reserved in user `a@example.com`"
    );
    assert_eq!(
        found[3],
        "`app_metadata.managed_by` is reserved in user `a@example.com`"
    );
    assert!(found[4].contains("admin role"));
}

#[test]
fn admin_role_allowed_by_policy() {
    let source = "version: 1\nname: s\npolicy: { allow_admin_role: true }\nusers:\n  - email: a@example.com\n    role: admin\n";
    assert!(validate(source, Path::new("m.yaml")).is_ok());
}

#[test]
fn missing_required_fields_and_bad_policy_values() {
    let found = messages("users: []\npolicy:\n  prune: sometimes\n  max_delete: 3\n");
    assert!(
        found.contains(&"missing `version`".to_string()),
        "{found:#?}"
    );
    assert!(found.contains(&"missing `name`".to_string()));
    assert!(found
        .iter()
        .any(|m| m.starts_with("invalid `prune` in `policy`") && m.contains("sometimes")));
    assert!(found.contains(&"unknown field `max_delete` in `policy`".to_string()));
}

#[test]
fn yaml_syntax_and_duplicate_keys_are_located() {
    let found = problems("version: 1\nname: a\nname: b\n");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].location.line, 3);
    assert!(
        found[0].message.starts_with("invalid YAML"),
        "{}",
        found[0].message
    );
    let found = problems("version: 1\nusers: [\n");
    assert!(found[0].message.starts_with("invalid YAML"));
}

#[test]
fn renamed_from_must_be_another_valid_address() {
    let found = messages("version: 1\nname: s\nusers:\n  - email: a@example.com\n    renamed_from: A@example.com\n  - email: b@example.com\n    renamed_from: nope\n");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        found[0],
        "user `a@example.com` is `renamed_from` its own address"
    );
    assert!(found[1].starts_with("invalid `renamed_from` address `nope`"));
}

#[test]
fn ignore_paths_name_a_metadata_section_and_key() {
    let found = messages("version: 1\nname: s\npolicy: { ignore: [app_metadata.plan, avatar_url, user_metadata.a.b] }\nusers: []\n");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("`avatar_url`"));
    assert!(found[1].contains("`user_metadata.a.b`"));
}

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
    let m = &validated.manifest;
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
    let line = |index| validated.user_location(index).map(|l| l.line);
    assert_eq!(line(0), Some(11));
    assert_eq!(line(1), Some(15));
    assert_eq!(line(2), None);
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
fn supabase_admin_roles_need_allow_admin_role() {
    for role in ["service_role", "supabase_admin"] {
        let found = messages(&format!(
            "version: 1\nname: s\nusers:\n  - email: a@example.com\n    role: {role}\n"
        ));
        assert_eq!(
            found,
            [format!("user `a@example.com` would get the admin role `{role}`, which controls every user of the instance")]
        );
        let allowed = format!(
            "version: 1\nname: s\npolicy: {{ allow_admin_role: true }}\nusers:\n  - email: a@example.com\n    role: {role}\n"
        );
        assert!(validate(&allowed, Path::new("users.yaml")).is_ok());
    }
    let ordinary =
        "version: 1\nname: s\nusers:\n  - email: a@example.com\n    role: authenticated\n";
    assert!(validate(ordinary, Path::new("users.yaml")).is_ok());
}

#[test]
fn roles_listed_in_admin_roles_need_allow_admin_role_and_the_defaults_stay() {
    let found = messages(
        "version: 1\nname: s\npolicy: { admin_roles: [owner] }\nusers:\n  - email: a@example.com\n    role: owner\n  - email: b@example.com\n    role: admin\n  - email: c@example.com\n    role: editor\n",
    );
    assert_eq!(
        found,
        [
            "user `a@example.com` would get the admin role `owner`, which controls every user of the instance",
            "user `b@example.com` would get the admin role `admin`, which controls every user of the instance",
        ]
    );
    let allowed = "version: 1\nname: s\npolicy: { admin_roles: [owner], allow_admin_role: true }\nusers:\n  - email: a@example.com\n    role: owner\n";
    let validated = validate(allowed, Path::new("users.yaml")).expect("allowed");
    assert_eq!(validated.manifest.policy.admin_roles, ["owner"]);
    assert!(validated.manifest.policy.opens_admin_api(" owner "));
    assert!(validated.manifest.policy.opens_admin_api("service_role"));
    assert!(!validated.manifest.policy.opens_admin_api("editor"));
}

#[test]
fn admin_roles_must_be_non_empty_strings() {
    let found = messages("version: 1\nname: s\npolicy: { admin_roles: [\" \"] }\nusers: []\n");
    assert_eq!(found, ["empty role in `policy.admin_roles`"]);
    let found = messages("version: 1\nname: s\npolicy: { admin_roles: owner }\nusers: []\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("a list of strings"), "{found:#?}");
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

fn one_user(fields: &str) -> String {
    format!("version: 1\nname: s\nusers:\n  - email: a@example.com\n{fields}")
}

#[test]
fn plain_scalars_follow_the_yaml_1_2_core_schema() {
    let source = one_user(
        "    user_metadata:\n      country: NO\n      a: yes\n      b: off\n      c: y\n      d: n\n      e: true\n      f: False\n      g: 42\n      h: -7\n      i: 1.5\n      j: null\n",
    );
    let validated = validate(&source, Path::new("m.yaml")).expect("valid");
    let metadata = validated.manifest.users[0]
        .user_metadata
        .clone()
        .expect("metadata");
    let expected = serde_json::json!({
        "country": "NO", "a": "yes", "b": "off", "c": "y", "d": "n",
        "e": true, "f": false, "g": 42, "h": -7, "i": 1.5, "j": null
    });
    assert_eq!(serde_json::Value::Object(metadata.to_map()), expected);
    // Kept as JSON text in the order written.
    assert_eq!(
        metadata.json(),
        r#"{"country":"NO","a":"yes","b":"off","c":"y","d":"n","e":true,"f":false,"g":42,"h":-7,"i":1.5,"j":null}"#
    );
}

#[test]
fn numbers_that_would_not_be_stored_as_written_must_be_quoted() {
    for bad in [
        "012345",
        "0001",
        "+4917612345678",
        "1.0",
        "1.50",
        "1e3",
        "9007199254740993",
        "-0",
        "0x1F",
    ] {
        let found = problems(&one_user(&format!("    user_metadata: {{ zip: {bad} }}\n")));
        assert_eq!(found.len(), 1, "{bad}: {found:#?}");
        assert_eq!(
            (found[0].location.line, found[0].location.column),
            (5, 27),
            "{bad}"
        );
        assert!(
            found[0]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("quote it")),
            "{bad}: {found:#?}"
        );
    }
    for good in [
        "\"012345\"",
        "'+49176'",
        "0",
        "12345",
        "-3",
        "0.25",
        "9007199254740992",
    ] {
        let source = one_user(&format!("    user_metadata: {{ zip: {good} }}\n"));
        assert!(
            validate(&source, Path::new("m.yaml")).is_ok(),
            "{good} refused"
        );
    }
    let validated = validate(
        &one_user("    user_metadata: { zip: \"012345\" }\n"),
        Path::new("m.yaml"),
    )
    .expect("valid");
    assert_eq!(
        validated.manifest.users[0]
            .user_metadata
            .as_ref()
            .and_then(|m| m.value("zip")),
        Some(serde_json::json!("012345"))
    );
}

#[test]
fn a_large_manifest_is_not_refused_by_a_node_budget() {
    // 260,000 nodes: the parser's default budget of 250,000 refused a manifest of about
    // 25,000 users with roles and metadata.
    let mut source =
        String::from("version: 1\nname: big\nusers:\n  - email: a@example.com\n    roles: [");
    source.push_str(&"r,".repeat(260_000));
    source.push_str("]\n");
    let validated = validate(&source, Path::new("big.yaml")).expect("valid");
    assert_eq!(
        validated.manifest.users[0].roles.as_ref().map(Vec::len),
        Some(260_000)
    );
}

#[test]
fn alias_expansion_is_bounded_and_says_so() {
    let mut source = String::from(
        "version: 1\nname: s\nlol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..10 {
        let previous = level - 1;
        let refs = vec![format!("*l{previous}"); 10].join(", ");
        source.push_str(&format!("lol{level}: &l{level} [{refs}]\n"));
    }
    source.push_str("users:\n  - email: a@example.com\n    user_metadata: { bomb: *l9 }\n");
    let found = problems(&source);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("aliases expand to more than"),
        "{}",
        found[0].message
    );
}

/// Renders every diagnostic of `source` and checks that `secret` appears nowhere.
fn assert_masked(source: &str, secret: &str) -> String {
    let rendered: String = problems(source).iter().map(ToString::to_string).collect();
    assert!(!rendered.contains(secret), "secret shown:\n{rendered}");
    assert!(
        rendered.contains("(sensitive)"),
        "no masked snippet:\n{rendered}"
    );
    rendered
}

#[test]
fn secrets_are_masked_when_the_password_line_is_not_valid_yaml() {
    let rendered = assert_masked(
        &one_user("    create: password\n    password: Tr0ub4dor: horse\n"),
        "Tr0ub4dor",
    );
    assert!(rendered.contains("invalid YAML"), "{rendered}");
    assert_masked(
        &one_user("    create: password\n    password: \"Tr0ub4dor\n  - email: b@example.com\n"),
        "Tr0ub4dor",
    );
    assert_masked(
        &one_user("    create: password\n    password: 'Tr0ub4dor\n    role: x\n"),
        "Tr0ub4dor",
    );
}

#[test]
fn secrets_are_masked_under_misspelt_or_differently_cased_keys() {
    for key in [
        "pasword",
        "Password",
        "passwd",
        "api_key",
        "monitor_bot_password",
        "secret",
        "secert",
    ] {
        let rendered = assert_masked(
            &one_user(&format!("    create: password\n    {key}: hunter2\n")),
            "hunter2",
        );
        assert!(
            rendered.contains(&format!("{key}: (sensitive)")),
            "{rendered}"
        );
    }
    let rendered = assert_masked(
        &one_user("    create: password\n    password: |\n      hunter2\n      more\n    rol: x\n"),
        "hunter2",
    );
    assert!(rendered.contains("rol: x"), "{rendered}");
}

#[test]
fn field_names_are_not_mistaken_for_secrets() {
    use crate::manifest::diagnostic::is_secret_like_key;
    for field in crate::manifest::schema::field_names(crate::manifest::schema::Section::User)
        .iter()
        .chain(crate::manifest::schema::field_names(
            crate::manifest::schema::Section::Policy,
        ))
        .chain(crate::manifest::schema::field_names(
            crate::manifest::schema::Section::Root,
        ))
    {
        assert_eq!(is_secret_like_key(field), field == "password", "{field}");
    }
    for other in [
        "full_name",
        "team",
        "country",
        "zip",
        "phone",
        "env",
        "file",
    ] {
        assert!(!is_secret_like_key(other), "{other}");
    }
}

#[test]
fn a_file_that_is_not_a_manifest_is_refused_without_its_content() {
    for source in [
        "monitor_bot_password: Sup3rS3cret!\n",
        "Sup3rS3cret!\n",
        "token: Sup3rS3cret!: x\n",
        "- Sup3rS3cret!\n",
        "{ Sup3rS3cret! \n",
    ] {
        let found = problems(source);
        assert_eq!(found.len(), 1, "{source}: {found:#?}");
        let rendered = found[0].to_string();
        assert!(!rendered.contains("Sup3r"), "{rendered}");
        assert!(
            rendered.contains("is not a gotrue-sync manifest"),
            "{rendered}"
        );
        assert_eq!(found[0].source_line, None);
    }
}

#[test]
fn declared_metadata_is_kept_as_the_json_it_stands_for() {
    let source = one_user(
        "    user_metadata:\n      \"q\\\"k\": \"line\\nbreak\"\n      n: { deep: [1.5, x, null, true, { e: '' }] }\n      t: \"\\t\\aé\"\n    app_metadata: {}\n",
    );
    let validated = validate(&source, Path::new("m.yaml")).expect("valid");
    let user = &validated.manifest.users[0];
    let metadata = user.user_metadata.as_ref().expect("user_metadata");
    let expected = serde_json::json!({
        "q\"k": "line\nbreak",
        "n": {"deep": [1.5, "x", null, true, {"e": ""}]},
        "t": "\t\u{7}é"
    });
    assert_eq!(
        metadata.json(),
        serde_json::to_string(&expected).expect("JSON")
    );
    assert_eq!(
        metadata.get("t").map(|raw| raw.get()),
        Some(r#""\t\u0007é""#)
    );
    let app = user.app_metadata.as_ref().expect("declared, though empty");
    assert!(app.is_empty());
}

#[test]
fn every_field_of_the_schema_is_read_as_serde_would_read_it() {
    let source = "version: 1\nname: s\npolicy: { prune: all, max_deletes: 3, user_metadata: exact, app_metadata: exact, allow_admin_role: true, admin_roles: [owner], adopt: confirmed, ignore: [user_metadata.x] }\nusers:\n  - email: a@example.com\n    roles: [r, s]\n    user_metadata: { a: 1, n: { deep: [1.5, x, null, true] } }\n    app_metadata: { b: text }\n    create: password\n    password: { file: pw }\n    confirmed: false\n    role: admin\n    renamed_from: old@example.com\n    adopt: true\n  - email: b@example.com\n    roles: ~\n    confirmed: ~\n    create: invite\n";
    for section in [
        crate::manifest::schema::Section::Root,
        crate::manifest::schema::Section::Policy,
        crate::manifest::schema::Section::User,
    ] {
        for field in crate::manifest::schema::field_names(section) {
            assert!(source.contains(&format!("{field}:")), "{field} not covered");
        }
    }
    let ours = validate(source, Path::new("m.yaml"))
        .expect("valid")
        .manifest;
    let serde: crate::manifest::Manifest = serde_saphyr::from_str(source).expect("serde reads it");
    assert_eq!(ours, serde);
}

#[test]
fn confirmed_on_an_invite_is_a_warning_at_the_key() {
    let source = "version: 1\nname: site\nusers:\n  - email: a@example.com\n    confirmed: true\n  - email: b@example.com\n    confirmed: false\n  - email: c@example.com\n    create: password\n    password: { env: C }\n    confirmed: true\n";
    let validated = validate(source, Path::new("users.yaml")).expect("warnings do not fail");
    assert_eq!(validated.warnings.len(), 1, "{:#?}", validated.warnings);
    let warning = &validated.warnings[0];
    assert_eq!(warning.severity, crate::manifest::Severity::Warning);
    assert_eq!((warning.location.line, warning.location.column), (5, 5));
    assert!(
        warning.to_string().starts_with(
            "warning: user `a@example.com` is created by invitation, so `confirmed: true` only confirms"
        ),
        "{warning}"
    );
    assert_eq!(validated.manifest.users.len(), 3);
}

#[test]
fn users_checked_as_they_are_read_report_as_a_list_read_whole() {
    // An anchor on the list keeps it in the tree (it may be used again), so the second
    // file's users are checked after parsing, the first's while parsing.
    let file = |anchor: &str| {
        format!(
            "version: 1\nname: site\nusers: {anchor}\n  - email: a@example.com\n    user_metadata: {{ zip: 012 }}\n  - email: not-an-address\n  - email: A@example.com\n    bogus: 1\npolicy:\n  max_deletes: 1.5\n  prune: 0012\n"
        )
    };
    // As `load_all` reports them.
    let shown = |source: &str| {
        validate_file(source, Path::new("users.yaml"))
            .result
            .expect_err("problems")
            .into_iter()
            .map(|d| (d.location.line, d.location.column, d.message))
            .collect::<Vec<_>>()
    };
    let streamed = shown(&file(""));
    assert_eq!(streamed, shown(&file("&list")));
    // In document order.
    let lines: Vec<usize> = streamed.iter().map(|(line, _, _)| *line as usize).collect();
    assert_eq!(lines, [5, 6, 7, 8, 10, 11], "{streamed:#?}");
}

/// A manifest of `count` users, the `index`th written as `edit` gives it when it does.
fn team(count: usize, edit: impl Fn(usize) -> Option<&'static str>) -> String {
    let mut text =
        String::from("version: 1\nname: team\npolicy: { admin_roles: [owner] }\nusers:\n");
    for index in 0..count {
        match edit(index) {
            Some(user) => text.push_str(user),
            None => text.push_str(&format!(
                "  - email: u{index}@example.com\n    roles: [member]\n    user_metadata: {{ full_name: User {index}, zip: \"0{index}\" }}\n    # checked\n    role: editor\n"
            )),
        }
    }
    text
}

/// Everything checking `source` gives, cut at `split` or read whole, as text to compare.
fn checked(source: &str, split: Option<UsersSplit>) -> String {
    let mut check = Checker::new(Path::new("users.yaml"), source);
    let result = check.run(split);
    format!(
        "{result:#?}\n{:#?}\n{:?} {:?} {:?} {:?}",
        check.role_uses,
        check.allow_admin_role,
        check.admin_roles,
        check.policy_location,
        check.name_location
    )
}

/// A manifest read in two halves gives what it gives read whole, to the last message: the
/// halves are kept unless the tail repeats an address of the head (or the fast reader
/// cannot read them), and the file is read whole then.
#[test]
fn a_manifest_read_in_halves_is_checked_as_when_read_whole() {
    let cases: [(&str, usize, Option<&'static str>, bool); 12] = [
        ("nothing to report", 0, None, true),
        (
            "an admin role in the tail",
            30,
            Some("  - email: boss@example.com\n    role: owner\n"),
            true,
        ),
        (
            "an invalid address in the head",
            3,
            Some("  - email: not-an-address\n"),
            true,
        ),
        (
            "an invalid address in the tail",
            30,
            Some("  - email: not-an-address\n"),
            true,
        ),
        (
            "a warning in the tail",
            30,
            Some("  - email: w@example.com\n    confirmed: true\n"),
            true,
        ),
        (
            "a number stored otherwise in the tail",
            30,
            Some("  - email: n@example.com\n    user_metadata: { zip: 0123 }\n"),
            true,
        ),
        (
            "an unknown key in the tail",
            30,
            Some("  - email: k@example.com\n    rolez: [a]\n"),
            true,
        ),
        (
            "an entry without an address in the tail",
            30,
            Some("  - roles: [a]\n"),
            true,
        ),
        (
            "a duplicate within the tail",
            31,
            Some("  - email: u30@example.com\n"),
            true,
        ),
        (
            "an address of the head repeated in the tail",
            30,
            Some("  - email: u3@example.com\n"),
            false,
        ),
        (
            "the same account in another spelling",
            30,
            Some("  - email: U3@Example.COM\n"),
            false,
        ),
        (
            "an anchor in the tail",
            30,
            Some("  - email: a@example.com\n    user_metadata: &shared { a: 1 }\n"),
            false,
        ),
    ];
    for (case, index, user, halves_kept) in cases {
        let source = team(40, |at| user.filter(|_| at == index));
        let split = yaml::users_split(&source).expect("a cut");
        assert!((15..=25).contains(&split.items_before), "{case}: {split:?}");
        let kept = Checker::new(Path::new("users.yaml"), &source)
            .read_in_halves(split)
            .is_some();
        assert_eq!(kept, halves_kept, "{case}: halves kept");
        assert_eq!(
            checked(&source, Some(split)),
            checked(&source, None),
            "{case}"
        );
    }
}

/// A large manifest is read in halves by `validate` itself, with the users in order.
#[test]
fn a_large_manifest_is_read_in_halves() {
    let source = team(3000, |_| None);
    assert!(source.len() >= SPLIT_MIN_BYTES);
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    assert_eq!(halves(&source).is_some(), two_cores);
    let validated = validate(&source, Path::new("users.yaml")).expect("valid");
    let users = &validated.manifest.users;
    assert_eq!(users.len(), 3000);
    assert!(users
        .iter()
        .enumerate()
        .all(|(index, user)| user.email == format!("u{index}@example.com")));
    let lines: Vec<u64> = (0..users.len())
        .filter_map(|index| validated.user_location(index))
        .map(|l| l.line)
        .collect();
    assert_eq!(lines.len(), 3000);
    assert_eq!(lines.first(), Some(&5));
    assert!(lines.windows(2).all(|pair| pair[1] == pair[0] + 5));
    assert_eq!(checked(&source, halves(&source)), checked(&source, None));
}

use serde_json::json;

use super::*;

fn read(text: &str) -> Metadata {
    serde_json::from_str(text).expect("metadata")
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).expect("JSON")
}

#[test]
fn null_missing_and_empty_objects_read_as_empty() {
    for text in ["null", "{}", "{ \n}"] {
        let metadata = read(text);
        assert!(metadata.is_empty(), "{text}");
        assert_eq!(metadata.json(), "{}");
        assert!(metadata.entries().is_empty());
        assert!(metadata.get("a").is_none());
    }
    assert!(Metadata::from(Map::new()).is_empty());
    assert_eq!(Metadata::default(), read("null"));
}

#[test]
fn other_types_are_refused_naming_what_is_expected() {
    for text in ["[1]", "\"secret-value\"", "true", "1"] {
        let error = serde_json::from_str::<Metadata>(text).expect_err(text);
        assert!(
            error.to_string().contains("a JSON object or null"),
            "{error}"
        );
        assert!(!error.to_string().contains("secret-value"), "{error}");
    }
}

/// Text that only a full parse refuses: every later read parses it, and would read it as
/// empty (a stranger's marker unseen, an export without the user's metadata).
#[test]
fn what_a_parsed_map_refused_is_refused_when_received() {
    for text in [
        r#"{"\udc00":0,"managed_by":"gotrue-sync:other"}"#,
        r#"{"crm_id":7,"x":"\ud800"}"#,
        r#"{"x":1e400}"#,
        r#"{"x":[{"y":"\ud800x"}]}"#,
        &format!(r#"{{"x":1{}}}"#, "0".repeat(400)),
        r#"{"x":-2E+999}"#,
    ] {
        assert!(
            serde_json::from_str::<Map<String, Value>>(text).is_err(),
            "{text}"
        );
        assert!(serde_json::from_str::<Metadata>(text).is_err(), "{text}");
    }
    let fine = read(r#"{"x":"\ud83d\ude00","n":[1e300,-0,18446744073709551616]}"#);
    assert_eq!(fine.entries().len(), 2);
}

#[test]
fn ordinary_metadata_is_not_parsed_twice_when_received() {
    for text in [
        r#"{"provider":"email","roles":["member"],"managed_by":"gotrue-sync:bench"}"#,
        r#"{"full_name":"User 12","n":[1,-2.5,1000],"s":"a\\b\n"}"#,
    ] {
        assert!(!may_fail_a_full_parse(text.as_bytes()), "{text}");
    }
    for text in [r#"{"a":"\u00e9"}"#, r#"{"a":1E3}"#, r#"{"a":2.5e-3}"#] {
        assert!(may_fail_a_full_parse(text.as_bytes()), "{text}");
    }
}

#[test]
fn a_repeated_key_keeps_its_first_place_and_its_last_value_in_every_read() {
    let metadata = read(r#"{"b":1,"a":{"x":[1]},"\u0062":2,"c":null}"#);
    assert_eq!(metadata.get("b").map(RawValue::get), Some("2"));
    assert_eq!(metadata.value("a"), Some(json!({"x": [1]})));
    assert_eq!(metadata.get("c").map(RawValue::get), Some("null"));
    assert!(metadata.contains_key("c") && !metadata.contains_key("d"));
    let entries: Vec<(String, &str)> = metadata
        .entries()
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.get()))
        .collect();
    assert_eq!(
        entries,
        [
            ("b".into(), "2"),
            ("a".into(), r#"{"x":[1]}"#),
            ("c".into(), "null")
        ]
    );
    assert_eq!(
        serde_json::to_string(&metadata.to_map()).expect("json"),
        r#"{"b":2,"a":{"x":[1]},"c":null}"#
    );
    assert_eq!(
        serde_json::to_string(&metadata).expect("json"),
        r#"{"b":2,"a":{"x":[1]},"c":null}"#
    );
}

#[test]
fn many_keys_find_repeats_as_a_few_do() {
    let mut text = String::from("{");
    for i in 0..40 {
        text.push_str(&format!("\"k{i}\":{i},"));
    }
    text.push_str("\"k3\":\"last\",\"k39\":true}");
    let metadata = read(&text);
    let entries = metadata.entries();
    assert_eq!(entries.len(), 40);
    assert_eq!(entries[3].1.get(), "\"last\"");
    assert_eq!(entries[39].1.get(), "true");
    assert_eq!(metadata.to_map().len(), 40);
}

#[test]
fn equality_is_as_maps() {
    let a = read(r#"{"a":1,"b":[1,2]}"#);
    let b = read(r#"{ "b": [1, 2], "a": 1 }"#);
    assert_eq!(a, b);
    assert_ne!(a, read(r#"{"a":1}"#));
    assert_eq!(Metadata::from(a.to_map()), b);
    assert_eq!(format!("{a:?}"), format!("{:?}", a.to_map()));
}

#[test]
fn values_are_read_from_the_text_as_parsed_values_compare() {
    assert_eq!(as_str(&raw(r#""plain""#)).as_deref(), Some("plain"));
    assert_eq!(as_str(&raw(r#""a\"b\u00e9""#)).as_deref(), Some("a\"bé"));
    assert_eq!(as_str(&raw("1")), None);
    assert!(holds(&raw(r#""x""#), &json!("x")));
    assert!(holds(&raw(r#""\u0078""#), &json!("x")));
    assert!(!holds(&raw(r#""x""#), &json!("y")));
    assert!(holds(&raw("null"), &Value::Null));
    assert!(holds(&raw("true"), &json!(true)) && !holds(&raw("true"), &json!(false)));
    assert!(holds(&raw("1"), &json!(1)));
    assert!(!holds(&raw("1.0"), &json!(1)), "1 and 1.0 differ as values");
    assert!(holds(
        &raw(r#"{"b":1, "a":[2]}"#),
        &json!({"a": [2], "b": 1})
    ));
    assert!(!holds(&raw("\"1\""), &json!(1)));
}

#[test]
fn two_texts_hold_the_same_value_when_their_parsed_values_are_equal() {
    for (left, right, same) in [
        (r#""x""#, r#""x""#, true),
        (r#""x""#, r#""\u0078""#, true),
        // Go's encoder escapes `<`, `>` and `&`; serde_json does not.
        (r#""<a&b>""#, r#""\u003ca\u0026b\u003e""#, true),
        (r#""x""#, r#""y""#, false),
        (r#""1""#, "1", false),
        ("1", "1", true),
        ("1", "1.0", false),
        ("1.5", "1.50", true),
        ("null", "null", true),
        ("null", "false", false),
        ("[1,2]", "[2,1]", false),
        (r#"{"a":1,"b":[1,2]}"#, r#"{ "b": [1, 2], "a": 1 }"#, true),
        (r#"{"a":1}"#, r#"{"a":1,"b":2}"#, false),
    ] {
        assert_eq!(
            parsed(&raw(left)) == parsed(&raw(right)),
            same,
            "{left} {right}"
        );
        assert_eq!(same_value(&raw(left), &raw(right)), same, "{left} {right}");
        assert_eq!(same_value(&raw(right), &raw(left)), same, "{right} {left}");
    }
}

#[test]
fn a_serialized_map_is_kept_as_its_text_and_anything_else_reads_as_empty() {
    let map = std::collections::BTreeMap::from([("b", json!(1)), ("a", Value::Null)]);
    let metadata = Metadata::from_serialized_map(&map);
    assert_eq!(metadata.json(), r#"{"a":null,"b":1}"#);
    assert_eq!(
        metadata.set_entries().collect::<Vec<_>>(),
        vec![("b".to_owned(), json!(1))],
        "a declared null sets nothing"
    );
    assert!(Metadata::from_serialized_map(&[1, 2]).is_empty());
    assert!(Metadata::from_serialized_map(&"text").is_empty());
    assert!(
        Metadata::from_serialized_map(&std::collections::BTreeMap::<String, u8>::new()).is_empty()
    );
}

#[test]
fn string_sets_compare_without_order_or_repeats_and_refuse_other_arrays() {
    let wanted = |roles: &[&str]| roles.iter().map(|r| r.to_string()).collect::<Vec<_>>();
    let set = |text: &str, roles: &[&str]| same_string_set(&raw(text), &wanted(roles));
    assert_eq!(set(r#"["a","b"]"#, &["b", "a"]), Some(true));
    assert_eq!(set(r#"["a","a","b"]"#, &["b", "a", "b"]), Some(true));
    assert_eq!(set(r#"["a"]"#, &["a", "b"]), Some(false));
    assert_eq!(set(r#"["a","c"]"#, &["a"]), Some(false));
    assert_eq!(set("[]", &[]), Some(true));
    assert_eq!(set(r#"["\u0061"]"#, &["a"]), Some(true));
    assert_eq!(set(r#"["a",1]"#, &["a"]), None);
    assert_eq!(set(r#"{"a":1}"#, &["a"]), None);
    let many: Vec<String> = (0..129).map(|i| format!("r{i}")).collect();
    assert_eq!(same_string_set(&raw("[]"), &many), None);
    assert_eq!(same_string_set(&raw("[]"), &many[..128]), Some(false));
}

#[test]
fn several_keys_are_found_in_one_pass_each_with_its_last_value() {
    let metadata = read(r#"{"managed_by":"a","roles":["x"],"other":{"roles":1},"managed_by":"b"}"#);
    let [owner, roles, missing] = metadata.get_each(["managed_by", "roles", "missing"]);
    assert_eq!(owner.map(RawValue::get), Some("\"b\""));
    assert_eq!(roles.map(RawValue::get), Some(r#"["x"]"#));
    assert!(missing.is_none());
    assert_eq!(strings(roles.expect("roles")), Some(vec!["x".to_owned()]));
    assert_eq!(strings(owner.expect("owner")), None);
    assert_eq!(
        Metadata::default()
            .get_each(["a", "b"])
            .map(|v| v.is_none()),
        [true, true]
    );
}

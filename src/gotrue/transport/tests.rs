use super::*;

fn answered(status: u16) -> Attempt {
    Attempt::Answered {
        status,
        retry_after: None,
        mail_limit: false,
    }
}

const SECONDS_2: Duration = Duration::from_secs(2);

/// Every outcome against every rule, on a first attempt with retries left.
#[test]
fn the_retry_decision_table() {
    use Rule::{Idempotent as Idem, Never, OnlyIfNotReceived as Once};
    use Step::{Accept, Fail, LookUp, Retry};
    let backoff = Retry(Wait::Backoff);
    let rows: Vec<(&str, Attempt, [Step; 3])> = vec![
        // outcome                      Never   Idempotent  OnlyIfNotReceived
        ("200", answered(200), [Accept, Accept, Accept]),
        ("204", answered(204), [Accept, Accept, Accept]),
        (
            "connection refused",
            Attempt::NotSent,
            [Fail, backoff, backoff],
        ),
        (
            "DNS failure / TLS refused",
            Attempt::Unreachable,
            [Fail, Fail, Fail],
        ),
        (
            "timeout after sending",
            Attempt::Lost,
            [Fail, backoff, LookUp],
        ),
        (
            "429 without Retry-After",
            answered(429),
            [Fail, backoff, backoff],
        ),
        (
            "429 with Retry-After: 2",
            Attempt::Answered {
                status: 429,
                retry_after: Some(SECONDS_2),
                mail_limit: false,
            },
            [
                Fail,
                Retry(Wait::RetryAfter(SECONDS_2)),
                Retry(Wait::RetryAfter(SECONDS_2)),
            ],
        ),
        (
            "429 over_email_send_rate_limit",
            Attempt::Answered {
                status: 429,
                retry_after: None,
                mail_limit: true,
            },
            [Fail, Fail, Fail],
        ),
        ("500", answered(500), [Fail, Fail, Fail]),
        ("502", answered(502), [Fail, backoff, LookUp]),
        ("503", answered(503), [Fail, backoff, LookUp]),
        ("504", answered(504), [Fail, backoff, LookUp]),
        ("400", answered(400), [Fail, Fail, Fail]),
        ("401", answered(401), [Fail, Fail, Fail]),
        ("404", answered(404), [Fail, Fail, Fail]),
        ("422", answered(422), [Fail, Fail, Fail]),
        (
            "200, body broke off",
            Attempt::Truncated { status: 200 },
            [Fail, backoff, LookUp],
        ),
        ("200, not JSON", Attempt::Malformed, [Fail, Fail, LookUp]),
    ];
    for (name, attempt, expected) in rows {
        for (rule, want) in [Never, Idem, Once].into_iter().zip(expected) {
            assert_eq!(decide(attempt, rule, 1, 4), want, "{name} under {rule:?}");
        }
    }
}

#[test]
fn retries_stop_when_the_budget_is_spent() {
    for attempt in [
        Attempt::NotSent,
        answered(429),
        answered(503),
        Attempt::Lost,
    ] {
        assert!(matches!(
            decide(attempt, Rule::Idempotent, 4, 3),
            Step::Fail
        ));
        assert!(matches!(
            decide(attempt, Rule::Idempotent, 3, 3),
            Step::Retry(_)
        ));
    }
    // The look-up decides an ambiguous create whatever the budget; the loop then stops.
    assert_eq!(
        decide(Attempt::Lost, Rule::OnlyIfNotReceived, 9, 3),
        Step::LookUp
    );
}

#[test]
fn urls_are_checked_before_anything_is_sent() {
    let ok = |url: &str| parse_base_url(url, false).map(|u| u.as_str().to_owned());
    assert_eq!(
        ok("http://127.0.0.1:8081/").expect("loopback"),
        "http://127.0.0.1:8081/"
    );
    assert!(ok("http://localhost:9999").is_ok());
    assert!(ok("http://[::1]:9999").is_ok());
    assert!(ok("https://site.example/.netlify/identity").is_ok());
    assert!(ok("ftp://x").is_err());
    assert!(ok("not a url").is_err());
    assert!(ok("https://site.example/?x=1").is_err());
}

#[test]
fn plain_http_to_another_host_needs_an_explicit_flag() {
    let error = parse_base_url("http://gotrue.internal.example:8081", false).expect_err("refused");
    let message = error.to_string();
    assert!(message.contains("--allow-insecure-http"), "{message}");
    assert!(parse_base_url("http://gotrue.internal.example:8081", true).is_ok());
    assert!(parse_base_url("http://10.1.2.3", false).is_err());
}

#[test]
fn a_url_with_credentials_is_refused_without_showing_them() {
    for url in [
        "https://admin:hunter2-PW@site.example/",
        "http://admin:hunter2-PW@127.0.0.1:1",
        "https://admin@site.example/",
    ] {
        let error = parse_base_url(url, true).expect_err("credentials refused");
        let message = error.to_string();
        assert!(message.contains("credentials"), "{message}");
        assert!(!message.contains("hunter2-PW"), "{message}");
        assert!(!message.contains("admin@"), "{message}");
    }
}

#[test]
fn a_mail_limit_is_recognised_in_either_place() {
    let mut headers = HeaderMap::new();
    assert!(names_mail_limit(
        &headers,
        br#"{"code":429,"error_code":"over_email_send_rate_limit","msg":"email rate limit exceeded"}"#
    ));
    assert!(names_mail_limit(
        &headers,
        br#"{"code":"over_email_send_rate_limit","message":"email rate limit exceeded"}"#
    ));
    assert!(!names_mail_limit(
        &headers,
        br#"{"code":429,"msg":"Rate limit exceeded"}"#
    ));
    headers.insert(
        "x-sb-error-code",
        reqwest::header::HeaderValue::from_static("over_email_send_rate_limit"),
    );
    assert!(names_mail_limit(&headers, b""));
}

#[test]
fn logged_bodies_mask_secret_fields_before_the_redactor_knows_them() {
    let transport = Transport::new(
        "http://127.0.0.1:1",
        TransportOptions::default(),
        Redactor::new(),
    )
    .expect("transport");
    let answer = br#"{"access_token":"at-NEVER-PRINTED","refresh_token":"rt-NEVER-PRINTED","user":{"id":"1","email":"a@example.com"},"links":[{"hashed_token":"ht-NEVER-PRINTED"}]}"#;
    let logged = transport.loggable_body(answer);
    assert!(!logged.contains("NEVER-PRINTED"), "{logged}");
    assert!(logged.contains("a@example.com"), "{logged}");
    assert_eq!(
        transport.loggable_body(b"not json"),
        "not json",
        "other bodies are shown as they are"
    );
}

#[test]
fn masking_by_name_covers_every_kind_of_value_and_escaped_keys() {
    let shown = mask_secret_fields(
        r#"{"a":1, "password" : {"x":["p1",{"y":"p2"}]},"token":["p3"],"hashed_token":null,"pass\u0077ord":"p4","n":{"refresh_token":12345},"s":"token","t":"é"}"#,
    );
    assert_eq!(
        shown,
        r#"{"a":1, "password" : "(redacted)","token":"(redacted)","hashed_token":null,"pass\u0077ord":"(redacted)","n":{"refresh_token":"(redacted)"},"s":"token","t":"é"}"#
    );
    assert_eq!(mask_secret_fields("not json"), "not json");
    assert_eq!(
        mask_secret_fields("\"password\": "),
        "\"password\": \"(redacted)\""
    );
}

#[test]
fn a_large_body_is_shown_cut_at_4096_characters_without_a_secret_in_part() {
    let transport = Transport::new(
        "http://127.0.0.1:1",
        TransportOptions::default(),
        Redactor::new(),
    )
    .expect("transport");
    let users: Vec<String> = (0..2000)
        .map(|i| format!(r#"{{"id":"{i}","email":"é{i}@example.com","recovery_token":"rt-NEVER-PRINTED-{i}"}}"#))
        .collect();
    let body = format!(r#"{{"users":[{}]}}"#, users.join(","));
    let logged = transport.loggable_body(body.as_bytes());
    assert!(!logged.contains("NEVER"), "{logged}");
    let suffix = format!("… ({} bytes in all)", body.len());
    let shown = logged.strip_suffix(&suffix).expect("cut, saying so");
    assert_eq!(shown.chars().count(), 4096);
    assert!(shown.starts_with(
        r#"{"users":[{"id":"0","email":"é0@example.com","recovery_token":"(redacted)"}"#
    ));

    // A secret the redactor knows is replaced before the body is cut: never shown in part.
    let redactor = Redactor::new();
    let secret = "s3cr3t-".repeat(20);
    redactor.add(&Secret::new(secret.clone()));
    let transport = Transport::new("http://127.0.0.1:1", TransportOptions::default(), redactor)
        .expect("transport");
    let body = format!("{}{secret}{}", "x".repeat(4090), "y".repeat(100));
    let logged = transport.loggable_body(body.as_bytes());
    assert!(!logged.contains("s3cr"), "{logged}");
}

#[test]
fn a_known_secret_is_redacted_however_the_server_escapes_it() {
    let redactor = Redactor::new();
    redactor.add(&Secret::new("p<a>ss/w&rd-é"));
    let transport = Transport::new("http://127.0.0.1:1", TransportOptions::default(), redactor)
        .expect("transport");
    // As Go's encoding/json writes it, and with `/` and `é` escaped too.
    let body = r#"{"msg":"bad p\u003ca\u003ess\/w\u0026rd-\u00e9 given","note":"a \"quote\""}"#;
    let logged = transport.loggable_body(body.as_bytes());
    assert!(
        !logged.contains("ss/w") && !logged.contains("ss\\/w"),
        "{logged}"
    );
    assert_eq!(
        logged,
        r#"{"msg":"bad (redacted) given","note":"a \"quote\""}"#
    );
}

#[test]
fn retry_after_is_read_as_seconds_or_as_an_http_date() {
    let now = httpdate::parse_http_date("Sun, 29 Nov 2026 18:00:00 GMT").expect("date");
    let cases = [
        ("120", Some(Duration::from_secs(120))),
        (" 7 ", Some(Duration::from_secs(7))),
        (
            "Sun, 29 Nov 2026 18:00:30 GMT",
            Some(Duration::from_secs(30)),
        ),
        ("Sun, 29 Nov 2026 17:59:00 GMT", Some(Duration::ZERO)),
        (
            "Sunday, 29-Nov-26 18:01:00 GMT",
            Some(Duration::from_secs(60)),
        ),
        ("soon", None),
        ("-5", None),
    ];
    for (value, expected) in cases {
        assert_eq!(retry_after_value(value, now), expected, "{value:?}");
    }
}

/// A run secret that is part of a field name, or that ends in a quote, must not undo the
/// masking of tokens the redactor does not know yet.
#[test]
fn a_run_secret_inside_a_field_name_or_ending_in_a_quote_does_not_unmask_tokens() {
    for secret in ["access", "refresh", "abcd\"", "token"] {
        let redactor = Redactor::new();
        redactor.add(&Secret::new(secret));
        let transport = Transport::new("http://127.0.0.1:1", TransportOptions::default(), redactor)
            .expect("transport");
        let body = format!(
            r#"{{"note":"{}","access_token":"eyJSECRETACCESS","refresh_token":"RSECRETREFRESH","token_type":"bearer"}}"#,
            secret.replace('"', "\\\"")
        );
        let logged = transport.loggable_body(body.as_bytes());
        assert!(
            !logged.contains("SECRETACCESS") && !logged.contains("SECRETREFRESH"),
            "secret {secret:?}: {logged}"
        );
    }
}

fn kind_of(method: Method, path: &str, query: &[(&str, String)]) -> u64 {
    request_kind(&Call {
        label: RequestLabel::new("GET", path.to_owned(), None),
        method,
        path,
        query,
        payload: Payload::None,
        rule: Rule::Idempotent,
    })
}

#[test]
fn request_kinds_tell_a_listing_page_from_a_look_up_and_a_read_by_id() {
    let page = |n: u32| [("page", n.to_string()), ("per_page", "1000".to_owned())];
    let look_up = [
        ("per_page", "1000".to_owned()),
        ("filter", "a@example.com".to_owned()),
    ];
    let listing = kind_of(Method::GET, "/admin/users", &page(2));
    assert_eq!(listing, kind_of(Method::GET, "/admin/users", &page(7)));
    assert_ne!(listing, kind_of(Method::GET, "/admin/users", &look_up));
    assert_ne!(listing, kind_of(Method::GET, "/admin/users/1", &[]));
    assert_eq!(
        kind_of(Method::PUT, "/admin/users/1", &[]),
        kind_of(Method::PUT, "/admin/users/2", &[])
    );
    assert_ne!(
        kind_of(Method::PUT, "/admin/users/1", &[]),
        kind_of(Method::GET, "/admin/users/1", &[])
    );
}

use super::*;

#[test]
fn the_key_ignores_case_and_trailing_spaces_only() {
    assert!(matches!(
        email_key("a@example.com"),
        Cow::Borrowed("a@example.com")
    ));
    assert_eq!(email_key("A@Example.COM"), "a@example.com");
    assert_eq!(email_key("a@example.com  "), "a@example.com");
    assert_eq!(email_key("Ärger@example.com"), "ärger@example.com");
    // Everything else makes another account.
    assert_ne!(
        email_key(" alice@example.com"),
        email_key("alice@example.com")
    );
    assert_ne!(
        email_key("alice@example.com\t"),
        email_key("alice@example.com")
    );
    assert_ne!(email_key("josé@example.com"), email_key("jose@example.com"));
}

#[test]
fn the_netlify_collation_folds_case_accents_and_expansions() {
    let same = [
        ("jose@example.com", "JOSÉ@example.com"),
        ("rene@example.com", "rené@example.com"),
        ("strasse@example.com", "straße@example.com"),
        ("STRASSE@example.com", "STRAẞE@example.com"),
        ("aeon@example.com", "æon@example.com"),
        ("soren@example.com", "søren@example.com"),
        ("ab@example.com", "a\u{200B}b@example.com"),
        ("ab@example.com", "ａｂ@example.com"),
        ("ab@example.com", "ab@example.com   "),
        // Decomposed and precomposed spellings of é.
        ("jos\u{e9}@example.com", "jose\u{301}@example.com"),
    ];
    for (a, b) in same {
        assert_eq!(collation_fold(a), collation_fold(b), "{a} = {b}");
        assert_eq!(
            Collation::Utf8mb4UnicodeCi.fold(a),
            Collation::Utf8mb4UnicodeCi.fold(b)
        );
    }
    let different = [
        (" alice@example.com", "alice@example.com"),
        ("alice@example.com", "аlice@example.com"), // Cyrillic а
        ("a.b@example.com", "ab@example.com"),
    ];
    for (a, b) in different {
        assert_ne!(collation_fold(a), collation_fold(b), "{a} ≠ {b}");
    }
    assert_ne!(
        Collation::KeyOnly.fold("jose@example.com"),
        Collation::KeyOnly.fold("josé@example.com")
    );
}

#[test]
fn lookalikes_fold_together_for_warnings() {
    for twin in [
        " alice@example.com",
        "alice@example.com\t",
        "аlice@example.com",
        "ALİCE@example.com",
        "alice\u{200B}@example.com",
    ] {
        assert_eq!(
            lookalike_fold(twin),
            lookalike_fold("alice@example.com"),
            "{twin:?}"
        );
    }
    assert_ne!(
        lookalike_fold("alice@example.com"),
        lookalike_fold("alicia@example.com")
    );
}

#[test]
fn address_syntax_matches_the_servers() {
    // §11: observed on netlify/gotrue with a mailer configured.
    let accepted = [
        "alice@example.com",
        "\"quoted local\"@x.com",
        "\"with \\\" escaped quote\"@x.com",
        "user@localhost",
        "user@example",
        "o'brien+tag@example.co.uk",
        "josé@exämple.com",
        "a!#$%&*/=?^_`{|}~-@x.com",
    ];
    for address in accepted {
        assert_eq!(check_address(address), Ok(()), "{address}");
    }
    let rejected = [
        ("", AddressError::Empty),
        (" alice@example.com", AddressError::SurroundingWhitespace),
        ("alice@example.com ", AddressError::SurroundingWhitespace),
        ("ali\u{7}ce@example.com", AddressError::ControlCharacter(7)),
        ("alice.example.com", AddressError::NoAt),
        ("Alice <alice@example.com>", AddressError::NotBare(' ')),
        ("<alice@example.com>", AddressError::NotBare('<')),
        ("(comment)user@x.com", AddressError::NotBare('(')),
        ("user@x.com (comment)", AddressError::NotBare(' ')),
        ("@x.com", AddressError::EmptyLocal),
        ("user@", AddressError::EmptyDomain),
        (
            "a..b@x.com",
            AddressError::Dots {
                part: LOCAL,
                problem: "has two dots in a row",
            },
        ),
        (
            ".a@x.com",
            AddressError::Dots {
                part: LOCAL,
                problem: "starts with a dot",
            },
        ),
        (
            "a.@x.com",
            AddressError::Dots {
                part: LOCAL,
                problem: "ends with a dot",
            },
        ),
        (
            "a@x..com",
            AddressError::Dots {
                part: DOMAIN,
                problem: "has two dots in a row",
            },
        ),
        (
            "a@b@x.com",
            AddressError::Character {
                character: '@',
                part: DOMAIN,
            },
        ),
        (
            "a[b]@x.com",
            AddressError::Character {
                character: '[',
                part: LOCAL,
            },
        ),
        ("\"\"@x.com", AddressError::Quoted("is empty")),
        ("\"open@x.com", AddressError::Quoted("is not closed")),
        (
            "\"a\"b@x.com",
            AddressError::Quoted("must be followed directly by `@`"),
        ),
        ("user@[192.0.2.1]", AddressError::DomainLiteral),
    ];
    for (address, expected) in rejected {
        assert_eq!(check_address(address), Err(expected), "{address:?}");
    }
}

#[test]
fn every_rejection_explains_itself() {
    let message = check_address("a..b@x.com")
        .expect_err("rejected")
        .to_string();
    assert_eq!(message, "the part before the `@` has two dots in a row");
    let message = check_address("(comment)user@x.com")
        .expect_err("rejected")
        .to_string();
    assert!(message.contains("not a bare address"), "{message}");
}

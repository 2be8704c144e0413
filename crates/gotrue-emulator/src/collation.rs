//! How the emulated database compares e-mail addresses.
//!
//! netlify/gotrue leaves comparison to MySQL's `utf8mb4_unicode_ci` collation (§11 of the
//! contract): case- and accent-insensitive, `ß` equal to `ss`, trailing spaces ignored
//! (PAD SPACE) but leading ones significant. supabase/auth lower-cases addresses on write and
//! compares the stored text.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// A comparison rule: two addresses are the same account exactly when their keys are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collation {
    /// MySQL `utf8mb4_unicode_ci`, approximated as: drop trailing spaces, decompose (NFD),
    /// drop combining marks, lower-case, and expand `ß`/`ẞ` to `ss`. The real collation also
    /// equates a few letters without a decomposition (and ignores some control characters);
    /// those are not modelled.
    #[default]
    Utf8mb4UnicodeCi,
    /// supabase/auth: addresses are lower-cased on write and compared as stored (§11).
    Lowercase,
}

impl Collation {
    /// The key under which `email` is stored and looked up.
    pub fn key(self, email: &str) -> String {
        match self {
            Collation::Utf8mb4UnicodeCi => unicode_ci_key(email),
            Collation::Lowercase => email.to_lowercase(),
        }
    }
}

fn unicode_ci_key(email: &str) -> String {
    let mut key = String::with_capacity(email.len());
    for c in email.trim_end_matches(' ').nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'ß' | 'ẞ' => key.push_str("ss"),
            c => key.extend(c.to_lowercase()),
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_ci_folds_case_accents_sharp_s_and_trailing_spaces_only() {
        let key = |e| Collation::Utf8mb4UnicodeCi.key(e);
        assert_eq!(key("Jose@Example.com"), key("josé@example.com"));
        assert_eq!(key("rene@x.com"), key("RENÉ@x.com"));
        assert_eq!(key("straße@x.com"), key("strasse@x.com"));
        assert_eq!(key("a@b.com   "), key("a@b.com"));
        assert_ne!(key(" a@b.com"), key("a@b.com"));
        assert_ne!(key("a@b.com\t"), key("a@b.com"));
        assert_ne!(key("jose@x.com"), key("josh@x.com"));
    }

    #[test]
    fn lowercase_folds_case_only() {
        let key = |e| Collation::Lowercase.key(e);
        assert_eq!(key("Jose@Example.com"), key("jose@example.com"));
        assert_ne!(key("josé@example.com"), key("jose@example.com"));
        assert_ne!(key("a@b.com "), key("a@b.com"));
    }
}

//! How the servers tell e-mail addresses apart. A leaf: no imports from the rest of the crate.
//!
//! Three notions, from strict to loose:
//! - [`email_key`]: the same account. Both servers compare case-insensitively and ignore
//!   trailing spaces (netlify/gotrue through MySQL's PAD SPACE collation; supabase/auth stores
//!   addresses lower-cased). Nothing else is ignored: `" alice@x"` is another account.
//! - [`collation_fold`]: addresses a server refuses to hold side by side. netlify/gotrue's
//!   duplicate check runs in MySQL `utf8mb4_unicode_ci`, which also ignores accents and
//!   expands `ß` to `ss`: with `jose@` stored, inviting `josé@` answers 422.
//! - [`lookalike_fold`]: addresses a person would mistake for one another (surrounding
//!   spaces, invisible characters, Cyrillic or Greek letters that look Latin). Only used to
//!   warn: such an account is never adopted.

use std::borrow::Cow;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The key that identifies an account on the server: lower-cased, trailing spaces removed.
///
/// Only U+0020 is trimmed: MySQL's PAD SPACE pads with spaces, so a trailing tab or a leading
/// space makes another account. Borrows when the address already is its own key, which is
/// nearly always: a plan of 100,000 users keys every one of them.
pub fn email_key(email: &str) -> Cow<'_, str> {
    let trimmed = email.trim_end_matches(' ');
    if trimmed
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(trimmed.to_lowercase())
    }
}

/// How a server decides that a new address collides with a stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collation {
    /// netlify/gotrue on MySQL/MariaDB `utf8mb4_unicode_ci`: case and accents ignored, `ß` = `ss`.
    #[default]
    Utf8mb4UnicodeCi,
    /// Only the [`email_key`] (supabase/auth: lower-cased on write, a unique index on it).
    KeyOnly,
}

impl Collation {
    /// The comparison key of `email` under this collation.
    pub fn fold<'a>(&self, email: &'a str) -> Cow<'a, str> {
        match self {
            Collation::Utf8mb4UnicodeCi => collation_fold(email),
            Collation::KeyOnly => email_key(email),
        }
    }
}

/// The key under which netlify/gotrue's database compares addresses: case and accents folded,
/// `ß`/`æ`/`œ` expanded, letters with a stroke reduced to their base letter, compatibility
/// forms (full-width, ligatures) decomposed, characters the collation ignores (zero-width and
/// other invisible format characters) dropped, trailing spaces removed.
///
/// This reproduces the primary-level equality of UCA 4.0.0 for Latin, Greek and Cyrillic
/// letters, which is what addresses use; it is not a full collation (no contractions of other
/// scripts).
pub fn collation_fold(email: &str) -> Cow<'_, str> {
    let key = email_key(email);
    if key.is_ascii() {
        return key;
    }
    let mut folded = String::with_capacity(key.len());
    for c in key.nfkd() {
        if is_combining_mark(c) || is_ignorable(c) {
            continue;
        }
        match expansion(c) {
            Some(text) => folded.push_str(text),
            None => folded.extend(c.to_lowercase()),
        }
    }
    Cow::Owned(folded)
}

/// A key under which addresses that look the same to a reader are equal: the collation
/// fold, without any whitespace or invisible characters, with the Cyrillic and Greek letters
/// that are drawn like Latin ones replaced by those. Used to warn, never to match.
pub fn lookalike_fold(email: &str) -> String {
    collation_fold(email.trim())
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .map(|c| latin_twin(c).unwrap_or(c))
        .collect()
}

/// Characters `utf8mb4_unicode_ci` gives no weight, so they vanish from comparisons.
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Letters the collation compares as a sequence of others (no canonical decomposition exists
/// for them, so NFKD leaves them alone).
fn expansion(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' => "d",
        'ł' | 'Ł' => "l",
        'ħ' | 'Ħ' => "h",
        'ŧ' | 'Ŧ' => "t",
        'ı' => "i",
        _ => return None,
    })
}

/// The Latin letter a lower-case Cyrillic or Greek letter is drawn like, if any.
fn latin_twin(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'в' => 'b',
        'е' => 'e',
        'һ' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'м' => 'm',
        'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'с' => 'c',
        'ѕ' => 's',
        'т' => 't',
        'у' => 'y',
        'х' | 'χ' => 'x',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'υ' => 'u',
        _ => return None,
    })
}

/// Why an address is not one the servers accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing at all.
    #[error("it is empty")]
    Empty,
    /// Spaces around the address make it another account than the one meant.
    #[error("it has spaces or tabs around it, which make it a different account on the server")]
    SurroundingWhitespace,
    /// A control character (tab, newline, NUL, …) inside.
    #[error("it contains the control character U+{0:04X}")]
    ControlCharacter(u32),
    /// No `@` separating the local part from the domain.
    #[error("it has no `@`")]
    NoAt,
    /// `Name <a@b>` or `a@b (comment)`: the server would store the whole text.
    #[error("it is not a bare address (`{0}` is not allowed here); the server would store the whole text as the address")]
    NotBare(char),
    /// Nothing before the `@`.
    #[error("nothing comes before the `@`")]
    EmptyLocal,
    /// Nothing after the `@`.
    #[error("nothing comes after the `@`")]
    EmptyDomain,
    /// A part starts or ends with a dot, or has two in a row.
    #[error("the {part} {problem}")]
    Dots {
        /// `part before the @` or `domain`.
        part: &'static str,
        /// What is wrong with its dots.
        problem: &'static str,
    },
    /// A character an unquoted part cannot hold.
    #[error("`{character}` cannot appear in the {part} unless it is quoted")]
    Character {
        /// The character.
        character: char,
        /// `part before the @` or `domain`.
        part: &'static str,
    },
    /// A quoted local part that is not closed, is empty or is followed by more text.
    #[error("the quoted part before the `@` {0}")]
    Quoted(&'static str),
    /// A `[…]` domain literal.
    #[error("a domain literal such as `[192.0.2.1]` is not accepted by every server version")]
    DomainLiteral,
}

const LOCAL: &str = "part before the `@`";
const DOMAIN: &str = "domain";

/// Checks that `email` is a bare address netlify/gotrue accepts when it validates addresses
/// (Go's `net/mail` address parser; see the API notes §11), and that it has no surrounding
/// whitespace or control characters, which the server would keep as part of another account.
///
/// Accepted: `alice@example.com`, `"quoted local"@x.com`, `user@localhost`, `user@example`.
/// Rejected: `a..b@x.com`, `.a@x.com`, `a.@x.com`, `(comment)user@x.com`, `Name <a@x.com>`.
pub fn check_address(email: &str) -> Result<(), AddressError> {
    if email.is_empty() {
        return Err(AddressError::Empty);
    }
    if email.trim() != email {
        return Err(AddressError::SurroundingWhitespace);
    }
    if let Some(c) = email.chars().find(|c| c.is_control()) {
        return Err(AddressError::ControlCharacter(u32::from(c)));
    }
    let rest = if let Some(quoted) = email.strip_prefix('"') {
        let end = closing_quote(quoted)?;
        let local = &quoted[..end];
        if local.is_empty() {
            return Err(AddressError::Quoted("is empty"));
        }
        let rest = &quoted[end + 1..];
        match rest.strip_prefix('@') {
            Some(rest) => rest,
            None => return Err(AddressError::Quoted("must be followed directly by `@`")),
        }
    } else {
        let Some((local, domain)) = email.split_once('@') else {
            return Err(match email.chars().find(|c| is_special(*c)) {
                Some(c) => AddressError::NotBare(c),
                None => AddressError::NoAt,
            });
        };
        if local.is_empty() {
            return Err(AddressError::EmptyLocal);
        }
        check_atom(local, LOCAL)?;
        domain
    };
    if rest.is_empty() {
        return Err(AddressError::EmptyDomain);
    }
    if rest.starts_with('[') {
        return Err(AddressError::DomainLiteral);
    }
    check_atom(rest, DOMAIN)
}

/// The byte offset of the quote that closes a quoted string (`text` starts after the opening
/// one); a backslash escapes the next character.
fn closing_quote(text: &str) -> Result<usize, AddressError> {
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Ok(at),
            (false, _) => {}
        }
    }
    Err(AddressError::Quoted("is not closed"))
}

/// A dot-atom: atext characters (any non-ASCII character counts as one, as in Go) separated
/// by single dots, neither first nor last.
fn check_atom(atom: &str, part: &'static str) -> Result<(), AddressError> {
    if let Some(c) = atom.chars().find(|c| !is_atext(*c) && *c != '.') {
        return Err(if matches!(c, '(' | '<' | ' ') {
            AddressError::NotBare(c)
        } else {
            AddressError::Character { character: c, part }
        });
    }
    let problem = if atom.starts_with('.') {
        "starts with a dot"
    } else if atom.ends_with('.') {
        "ends with a dot"
    } else if atom.as_bytes().windows(2).any(|pair| pair == b"..") {
        // Not `contains("..")`: its substring search costs more to set up than this scan
        // of a short atom, once per user of a large manifest.
        "has two dots in a row"
    } else {
        return Ok(());
    };
    Err(AddressError::Dots { part, problem })
}

/// RFC 5322 `atext`, extended to every non-ASCII character as Go's parser does.
fn is_atext(c: char) -> bool {
    if !c.is_ascii() {
        return true;
    }
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Characters that start a display name, comment or angle address.
fn is_special(c: char) -> bool {
    matches!(c, '(' | ')' | '<' | '>' | ' ' | '"' | ',' | ';' | ':')
}

#[cfg(test)]
mod tests;

//! Manifest problems, each pointing at a file, line and column, rendered like a compiler error.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a manifest file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The manifest file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl SourceLocation {
    /// A location in `file`; a line of 0 means "unknown" and points at the file as a whole.
    pub fn new(file: &Path, line: u64, column: u64) -> Self {
        SourceLocation {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    /// The manifest cannot be used.
    #[default]
    Error,
    /// The manifest is usable, but something in it does not do what it seems to.
    Warning,
}

impl Severity {
    /// The heading word: `error` or `warning`.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Whether it stops the manifest from loading.
    pub severity: Severity,
    /// Where the problem is.
    pub location: SourceLocation,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Another place that takes part in the problem (the first of two duplicates).
    pub related: Option<(String, SourceLocation)>,
    /// The source line at `location`, for the snippet.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `location`, with the offending source line taken from `source`
    /// (values under secret-like keys masked). Indexes the whole text: a caller reporting
    /// many problems in one file uses [`Diagnostic::at`] with one [`SourceLines`].
    pub fn new(location: SourceLocation, message: impl Into<String>, source: &str) -> Self {
        Diagnostic::at(location, message, &SourceLines::new(source))
    }

    /// A diagnostic at `location`, with its snippet line from `lines`.
    pub fn at(location: SourceLocation, message: impl Into<String>, lines: &SourceLines) -> Self {
        let source_line = lines.snippet(location.line);
        Diagnostic {
            severity: Severity::Error,
            location,
            message: message.into(),
            hint: None,
            related: None,
            source_line,
        }
    }

    /// A diagnostic about a file as a whole, with no snippet of its content.
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location: SourceLocation::new(file, 0, 0),
            message: message.into(),
            hint: None,
            related: None,
            source_line: None,
        }
    }

    /// Makes it a warning: reported, but the manifest still loads.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Adds a fix hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a related location.
    pub fn with_related(mut self, label: impl Into<String>, location: SourceLocation) -> Self {
        self.related = Some((label.into(), location));
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.severity.label(), self.message)?;
        let gutter = self.location.line.to_string().len();
        let pad = " ".repeat(gutter);
        writeln!(f, "{pad}--> {}", self.location)?;
        if let Some(line) = &self.source_line {
            let caret_at = usize::try_from(self.location.column.saturating_sub(1)).unwrap_or(0);
            // Tabs keep their width in the caret line so the caret stays under the value.
            let lead: String = line
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{pad} |")?;
            writeln!(f, "{} | {line}", self.location.line)?;
            writeln!(f, "{pad} | {lead}^")?;
        }
        if let Some((label, location)) = &self.related {
            writeln!(f, "{pad} = note: {label} {location}")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "{pad} = help: {hint}")?;
        }
        Ok(())
    }
}

/// The lines of a manifest as diagnostics show them: a value written under a key that is, or
/// looks like, a secret's name (`password`, `pasword`, `api_token`, …) is replaced by
/// `(sensitive)`, and so is every line that continues it (a block scalar, a nested mapping,
/// a quoted string left open). The masking reads the text, not the parsed tree, so it works
/// just as well when the file is not valid YAML. Built on the first snippet asked for.
pub struct SourceLines<'a> {
    source: &'a str,
    lines: std::cell::OnceCell<Vec<MaskedLine>>,
}

/// One line: where it starts and ends in the source, and from which byte on it is masked.
#[derive(Debug, Clone, Copy)]
struct MaskedLine {
    start: usize,
    end: usize,
    masked_from: Option<usize>,
}

/// Where a secret's value is still being read on the following lines.
#[derive(Debug, Clone, Copy)]
enum SecretValue {
    /// The value goes on while lines are indented more than its key.
    Block { key_column: usize },
    /// A quoted value not yet closed.
    Quoted { quote: char },
}

impl<'a> SourceLines<'a> {
    /// The lines of `source`.
    pub fn new(source: &'a str) -> Self {
        SourceLines {
            source,
            lines: std::cell::OnceCell::new(),
        }
    }

    /// The text of 1-based `line`, masked where it holds a secret; `None` past the end.
    pub fn snippet(&self, line: u64) -> Option<String> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let found = *self
            .lines
            .get_or_init(|| mask_lines(self.source))
            .get(index)?;
        let text = &self.source[found.start..found.end];
        Some(match found.masked_from {
            None => text.to_owned(),
            Some(from) => {
                let kept = text[..from].trim_end();
                if kept.is_empty() {
                    format!("{}(sensitive)", &text[..from])
                } else {
                    format!("{kept} (sensitive)")
                }
            }
        })
    }
}

fn mask_lines(source: &str) -> Vec<MaskedLine> {
    let mut lines = Vec::new();
    let mut open: Option<SecretValue> = None;
    let mut start = 0;
    for raw in source.split_inclusive('\n') {
        let end = start + raw.trim_end_matches(['\n', '\r']).len();
        let text = &source[start..end];
        let indent = text.len() - text.trim_start().len();
        let mut masked_from = None;
        match open {
            Some(SecretValue::Quoted { quote }) => {
                masked_from = Some(indent);
                if closes_quote(text, quote) {
                    open = None;
                }
            }
            Some(SecretValue::Block { key_column }) => {
                if text.trim().is_empty() || indent > key_column {
                    masked_from = Some(indent);
                } else {
                    open = None;
                }
            }
            None => {}
        }
        if open.is_none() && masked_from.is_none() {
            if let Some((key_column, value_from)) = secret_key_in(text) {
                masked_from = Some(value_from);
                let value = text[value_from..].trim_start();
                open = match value.chars().next() {
                    Some(quote @ ('"' | '\'')) if !closes_quote(&value[1..], quote) => {
                        Some(SecretValue::Quoted { quote })
                    }
                    _ => Some(SecretValue::Block { key_column }),
                };
            }
        }
        lines.push(MaskedLine {
            start,
            end,
            masked_from,
        });
        start += raw.len();
    }
    lines
}

/// Whether `text` holds the quote that closes a string opened with `quote`.
fn closes_quote(text: &str, quote: char) -> bool {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            return true;
        }
    }
    false
}

/// The first key on `line` that names a secret: the column it starts at and the byte after
/// its colon, where the value begins.
fn secret_key_in(line: &str) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    for (colon, _) in line.match_indices(':') {
        let before = &line[..colon];
        let key_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'')))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let key = before[key_start..].trim_matches(['"', '\'']);
        let ends_key = bytes.get(colon + 1).is_none_or(|b| b.is_ascii_whitespace());
        if ends_key && !key.is_empty() && is_secret_like_key(key) {
            return Some((key_start, colon + 1));
        }
    }
    None
}

/// Names whose value is a secret, lower-case without separators.
const SECRET_NAMES: [&str; 8] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "credential",
];

/// Short names that mean a secret only when they are the whole key.
const SECRET_WORDS: [&str; 3] = ["pass", "pwd", "pw"];

/// Whether a mapping key is, contains or is a likely misspelling of a secret's name:
/// `password`, `Password`, `pasword`, `passwd`, `monitor_bot_password`, `api-key`, …
pub fn is_secret_like_key(key: &str) -> bool {
    let squashed: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if SECRET_WORDS.contains(&squashed.as_str())
        || SECRET_NAMES.iter().any(|name| squashed.contains(name))
    {
        return true;
    }
    let words = key
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .chain(std::iter::once(squashed.clone()));
    for word in words {
        if word.is_empty() {
            continue;
        }
        let close = SECRET_NAMES.iter().any(|name| {
            let allowed = if name.len() >= 6 { 2 } else { 1 };
            edit_distance(&word, name) <= allowed
        });
        if close {
            return true;
        }
    }
    false
}

/// Suggests the closest of `candidates` to a misspelt `word`, if one is close enough to be a
/// plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().max(word.len()).div_ceil(3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_field_names_only() {
        let fields = ["email", "roles", "user_metadata", "password"];
        assert_eq!(did_you_mean("emial", fields), Some("email"));
        assert_eq!(did_you_mean("role", ["roles", "role_x"]), Some("roles"));
        assert_eq!(did_you_mean("usermetadata", fields), Some("user_metadata"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }

    #[test]
    fn renders_location_snippet_and_hint() {
        let source = "version: 1\nname: x\nusers:\n  - emial: a@b.c\n";
        let d = Diagnostic::new(
            SourceLocation::new(Path::new("m.yaml"), 4, 5),
            "unknown field `emial`",
            source,
        )
        .with_hint("did you mean `email`?");
        let text = d.to_string();
        assert_eq!(
            text,
            "error: unknown field `emial`\n --> m.yaml:4:5\n  |\n4 |   - emial: a@b.c\n  |     ^\n  = help: did you mean `email`?\n"
        );
    }
}

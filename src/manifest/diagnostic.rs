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

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
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
    /// A diagnostic at `location`, with the offending source line taken from `source`.
    pub fn new(location: SourceLocation, message: impl Into<String>, source: &str) -> Self {
        let source_line = usize::try_from(location.line)
            .ok()
            .and_then(|line| line.checked_sub(1))
            .and_then(|index| source.lines().nth(index))
            .map(str::to_owned);
        Diagnostic {
            location,
            message: message.into(),
            hint: None,
            related: None,
            source_line,
        }
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
        writeln!(f, "error: {}", self.message)?;
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

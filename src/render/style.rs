//! Terminal colours, on only when wanted.

/// ANSI styling that is either on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Colour on (`true`) or plain text.
    pub fn new(enabled: bool) -> Self {
        Style { enabled }
    }

    /// Plain text.
    pub fn plain() -> Self {
        Style { enabled: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Additions.
    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    /// Changes.
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    /// Deletions and failures.
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    /// Emphasis.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    /// De-emphasis.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

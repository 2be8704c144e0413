//! The one place that writes to the terminal: documents to stdout, everything else to stderr.

use std::io::{IsTerminal, Write};

use super::style::Style;

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Writes output: the requested document on stdout; progress, warnings and prompts on stderr.
#[derive(Debug, Clone)]
pub struct Printer {
    out_style: Style,
    err_style: Style,
    quiet: bool,
}

impl Printer {
    /// A printer honouring `--color`, `NO_COLOR` and `--quiet`.
    pub fn new(color: ColorChoice, quiet: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |is_terminal: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        };
        Printer {
            out_style: Style::new(decide(std::io::stdout().is_terminal())),
            err_style: Style::new(decide(std::io::stderr().is_terminal())),
            quiet,
        }
    }

    /// Styling for text bound for stdout.
    pub fn out_style(&self) -> Style {
        self.out_style
    }

    /// Styling for text bound for stderr.
    pub fn err_style(&self) -> Style {
        self.err_style
    }

    /// The document the user asked for (plan, JSON, schema), on stdout.
    pub fn document(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = stdout.write_all(b"\n");
        }
        let _ = stdout.flush();
    }

    /// A progress or status line on stderr (silenced by `--quiet`).
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A report the user must see (apply summary), on stderr, never silenced.
    pub fn report(&self, text: &str) {
        eprint!("{text}");
    }

    /// A warning on stderr (never silenced).
    pub fn warn(&self, text: &str) {
        eprintln!("{} {text}", self.err_style.yellow("warning:"));
    }

    /// An error report on stderr.
    pub fn error(&self, text: &str) {
        eprintln!(
            "{} {text}",
            self.err_style.red(&self.err_style.bold("error:"))
        );
    }
}

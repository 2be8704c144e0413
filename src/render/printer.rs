//! The one place that writes to the terminal: documents to stdout, everything else to stderr.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::escape::escape_lines;
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
    /// Whether stderr is a terminal, where a transient progress line can be redrawn.
    err_terminal: bool,
    /// Whether a progress line is on screen and must be cleared before the next line.
    progress_shown: Arc<AtomicBool>,
}

/// Moves to the start of the line and erases it (ANSI).
const CLEAR_LINE: &str = "\r\x1b[2K";

impl Printer {
    /// A printer honouring `--color`, `NO_COLOR` and `--quiet`.
    pub fn new(color: ColorChoice, quiet: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |is_terminal: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        };
        let err_terminal = std::io::stderr().is_terminal();
        Printer {
            out_style: Style::new(decide(std::io::stdout().is_terminal())),
            err_style: Style::new(decide(err_terminal)),
            quiet,
            err_terminal,
            progress_shown: Arc::new(AtomicBool::new(false)),
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
            self.clear_progress();
            eprintln!("{text}");
        }
    }

    /// A progress bar (see [`super::progress_bar`]) kept on the last line of a terminal and
    /// redrawn in place; lines printed meanwhile appear above it. Not shown when stderr is
    /// not a terminal (CI logs get the status lines only) or with `--quiet`.
    pub fn progress(&self, bar: &str) {
        if self.quiet || !self.err_terminal {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{CLEAR_LINE}{bar}");
        let _ = stderr.flush();
        self.progress_shown.store(true, Ordering::Relaxed);
    }

    /// A report the user must see (apply summary), on stderr, never silenced.
    pub fn report(&self, text: &str) {
        self.clear_progress();
        eprint!("{text}");
    }

    /// Manifest diagnostics (with their own `error:` headings and source snippets) on
    /// stderr, never silenced. The snippets quote the manifest: its control characters are
    /// escaped.
    pub fn diagnostics(&self, text: &str) {
        self.clear_progress();
        eprint!("{}", escape_lines(text));
    }

    /// A warning on stderr (never silenced). It may quote a server: control characters are
    /// escaped.
    pub fn warn(&self, text: &str) {
        self.clear_progress();
        eprintln!(
            "{} {}",
            self.err_style.yellow("warning:"),
            escape_lines(text)
        );
    }

    /// An error report on stderr. It may quote a server or a manifest: control characters
    /// are escaped.
    pub fn error(&self, text: &str) {
        self.clear_progress();
        eprintln!(
            "{} {}",
            self.err_style.red(&self.err_style.bold("error:")),
            escape_lines(text)
        );
    }

    fn clear_progress(&self) {
        if self.progress_shown.swap(false, Ordering::Relaxed) {
            eprint!("{CLEAR_LINE}");
        }
    }
}

//! The one place that writes output: documents to one writer (stdout), everything else to
//! another (stderr). Both are injected, so tests can capture them and the binary can tell a
//! closed pipe from a full disk: every write returns its `io::Result`.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use super::escape::escape_lines;
use super::style::Style;

/// A writer the printer owns.
pub type Sink = Box<dyn Write + Send>;

/// How a printer writes: styling per stream, `--quiet`, and whether a progress line can be
/// redrawn in place on the error stream.
#[derive(Debug, Clone, Copy)]
pub struct PrinterSettings {
    /// Styling of the document stream.
    pub out_style: Style,
    /// Styling of the error stream.
    pub err_style: Style,
    /// Only errors, warnings, reports and the document.
    pub quiet: bool,
    /// The error stream is a terminal (a progress line may be drawn and redrawn).
    pub err_terminal: bool,
}

/// Writes output: the requested document on `out`; progress, warnings and prompts on `err`.
pub struct Printer {
    out: Mutex<Sink>,
    /// Shared with the progress bar, which draws on it.
    err: Arc<Mutex<Sink>>,
    settings: PrinterSettings,
    /// The progress bar on screen, if any; lines are printed above it.
    progress: Mutex<Option<ProgressBar>>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Moves to the start of the line and erases it (ANSI).
const CLEAR_LINE: &str = "\r\x1b[2K";

/// The progress line: bar, count, rate, elapsed time and estimated time left.
const PROGRESS_TEMPLATE: &str =
    "[{bar:30}] {pos}/{len} changes  {per_sec}  elapsed {elapsed}  left ~{eta}";

/// Locks a writer; a writer poisoned by a panic elsewhere is still usable for output.
fn lock(sink: &Mutex<Sink>) -> std::sync::MutexGuard<'_, Sink> {
    sink.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Printer {
    /// A printer writing documents to `out` and everything else to `err`.
    pub fn new(out: Sink, err: Sink, settings: PrinterSettings) -> Self {
        Printer {
            out: Mutex::new(out),
            err: Arc::new(Mutex::new(err)),
            settings,
            progress: Mutex::new(None),
        }
    }

    /// Styling for text bound for the document stream.
    pub fn out_style(&self) -> Style {
        self.settings.out_style
    }

    /// Styling for text bound for the error stream.
    pub fn err_style(&self) -> Style {
        self.settings.err_style
    }

    /// Whether `--quiet` is on.
    pub fn quiet(&self) -> bool {
        self.settings.quiet
    }

    /// The document the user asked for (plan, JSON, schema), on the document stream, ending
    /// with a newline.
    pub fn document(&self, text: &str) -> io::Result<()> {
        let mut out = lock(&self.out);
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    /// A progress or status line (silenced by `--quiet`).
    pub fn status(&self, text: &str) -> io::Result<()> {
        if self.settings.quiet {
            return Ok(());
        }
        self.line(text)
    }

    /// Starts a progress bar of `total` steps on the last line of a terminal (indicatif:
    /// rate, elapsed time, time left), redrawn in place; lines printed meanwhile appear above
    /// it. Nothing is drawn when the error stream is not a terminal (CI logs get the status
    /// lines only) or with `--quiet`.
    pub fn start_progress(&self, total: usize) {
        if self.settings.quiet || !self.settings.err_terminal {
            return;
        }
        let style = ProgressStyle::with_template(PROGRESS_TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>-");
        let target = ProgressDrawTarget::term_like(Box::new(SharedTerm(Arc::clone(&self.err))));
        let bar = ProgressBar::with_draw_target(Some(total as u64), target).with_style(style);
        // Ticks keep the elapsed time and the estimate moving while requests are slow.
        bar.enable_steady_tick(Duration::from_millis(250));
        if let Some(previous) = self.progress_lock().replace(bar) {
            previous.finish_and_clear();
        }
    }

    /// Moves the progress bar to `position` finished steps.
    pub fn advance(&self, position: usize) {
        if let Some(bar) = self.progress_lock().as_ref() {
            bar.set_position(position as u64);
        }
    }

    /// Removes the progress bar from the screen.
    pub fn finish_progress(&self) {
        if let Some(bar) = self.progress_lock().take() {
            bar.finish_and_clear();
        }
    }

    fn progress_lock(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A report the user must see (apply summary), never silenced; written as given. It
    /// ends the progress bar: a report closes a phase.
    pub fn report(&self, text: &str) -> io::Result<()> {
        self.finish_progress();
        let mut err = lock(&self.err);
        err.write_all(text.as_bytes())?;
        err.flush()
    }

    /// Manifest diagnostics (with their own `error:` headings and source snippets), never
    /// silenced. The snippets quote the manifest: its control characters are escaped.
    pub fn diagnostics(&self, text: &str) -> io::Result<()> {
        self.report(&escape_lines(text))
    }

    /// A question on the error stream, without a line end (the answer follows it).
    pub fn prompt(&self, text: &str) -> io::Result<()> {
        self.report(text)
    }

    /// A warning (never silenced). It may quote a server: control characters are escaped.
    pub fn warn(&self, text: &str) -> io::Result<()> {
        let style = self.settings.err_style;
        self.line(&format!(
            "{} {}",
            style.yellow("warning:"),
            escape_lines(text)
        ))
    }

    /// An error report; it ends the progress bar. It may quote a server or a manifest:
    /// control characters are escaped.
    pub fn error(&self, text: &str) -> io::Result<()> {
        self.finish_progress();
        let style = self.settings.err_style;
        self.line(&format!(
            "{} {}",
            style.red(&style.bold("error:")),
            escape_lines(text)
        ))
    }

    fn line(&self, text: &str) -> io::Result<()> {
        let write = || {
            let mut err = lock(&self.err);
            err.write_all(text.as_bytes())?;
            err.write_all(b"\n")?;
            err.flush()
        };
        match self.progress_lock().as_ref() {
            // The bar is cleared, the line written, and the bar drawn again below it.
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

/// The error stream as indicatif's terminal: the bar draws through the same writer as every
/// other line, so nothing reaches the terminal around the printer.
struct SharedTerm(Arc<Mutex<Sink>>);

impl std::fmt::Debug for SharedTerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedTerm")
    }
}

impl SharedTerm {
    fn write(&self, text: &str) -> io::Result<()> {
        lock(&self.0).write_all(text.as_bytes())
    }
}

impl TermLike for SharedTerm {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.write(&format!("\x1b[{n}A"))
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.write(&format!("\x1b[{n}B"))
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.write(&format!("\x1b[{n}C"))
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.write(&format!("\x1b[{n}D"))
    }
    fn write_line(&self, line: &str) -> io::Result<()> {
        self.write(&format!("{line}\n"))
    }
    fn write_str(&self, text: &str) -> io::Result<()> {
        self.write(text)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.write(CLEAR_LINE)
    }
    fn flush(&self) -> io::Result<()> {
        lock(&self.0).flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A writer whose bytes a test can read afterwards.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock_bytes(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn lock_bytes(bytes: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
        bytes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&lock_bytes(&self.0)).into_owned()
        }
    }

    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(self.0))
        }
    }

    fn settings(quiet: bool, err_terminal: bool) -> PrinterSettings {
        PrinterSettings {
            out_style: Style::plain(),
            err_style: Style::plain(),
            quiet,
            err_terminal,
        }
    }

    fn captured(quiet: bool, err_terminal: bool) -> (Printer, Captured, Captured) {
        let (out, err) = (Captured::default(), Captured::default());
        let printer = Printer::new(
            Box::new(out.clone()),
            Box::new(err.clone()),
            settings(quiet, err_terminal),
        );
        (printer, out, err)
    }

    #[test]
    fn documents_go_to_out_and_everything_else_to_err() {
        let (printer, out, err) = captured(false, false);
        printer.document("plan").expect("write");
        printer.status("Listing users").expect("write");
        printer.warn("careful").expect("write");
        printer.error("broken").expect("write");
        assert_eq!(out.text(), "plan\n");
        assert_eq!(
            err.text(),
            "Listing users\nwarning: careful\nerror: broken\n"
        );
    }

    #[test]
    fn warnings_errors_and_diagnostics_show_control_characters_escaped() {
        let (printer, _, err) = captured(false, false);
        printer
            .warn("server said \x1b[31mhi\nsecond line")
            .expect("write");
        printer.error("bad \u{202e}value").expect("write");
        printer
            .diagnostics("error: invalid `\x1b[2J`\n4 |\temail: x\r\n")
            .expect("write");
        assert_eq!(
            err.text(),
            "warning: server said \\u{1b}[31mhi\nsecond line\nerror: bad \\u{202e}value\nerror: invalid `\\u{1b}[2J`\n4 |\temail: x\r\n"
        );
    }

    #[test]
    fn quiet_silences_status_only() {
        let (printer, out, err) = captured(true, true);
        printer.status("Listing users").expect("write");
        printer.start_progress(3);
        printer.advance(1);
        printer.warn("careful").expect("write");
        printer.document("plan").expect("write");
        assert_eq!(err.text(), "warning: careful\n");
        assert_eq!(out.text(), "plan\n");
    }

    #[test]
    fn progress_is_drawn_only_on_a_terminal_and_lines_go_above_it() {
        let (printer, _, err) = captured(false, false);
        printer.start_progress(3);
        printer.advance(1);
        printer.status("line").expect("write");
        printer.finish_progress();
        assert_eq!(err.text(), "line\n", "no bar off a terminal");

        let (printer, _, err) = captured(false, true);
        printer.start_progress(3);
        printer.advance(1);
        printer.status("line").expect("write");
        printer.advance(2);
        printer.finish_progress();
        let text = err.text();
        assert!(text.contains("line\n"), "{text:?}");
        assert!(text.contains("/3 changes"), "the bar was drawn: {text:?}");
        assert!(
            text.contains("elapsed") && text.contains("left ~"),
            "{text:?}"
        );
        let bar = text.find("/3 changes").unwrap_or(usize::MAX);
        let line = text.find("line\n").unwrap_or(0);
        assert!(
            text[..line].rfind(CLEAR_LINE).is_some() || bar > line,
            "the bar is cleared before the line is written: {text:?}"
        );
    }

    #[test]
    fn write_errors_reach_the_caller() {
        let printer = Printer::new(
            Box::new(Failing(io::ErrorKind::BrokenPipe)),
            Box::new(Failing(io::ErrorKind::StorageFull)),
            settings(false, false),
        );
        let out = printer.document("plan").expect_err("stdout is closed");
        assert_eq!(out.kind(), io::ErrorKind::BrokenPipe);
        let err = printer.status("line").expect_err("stderr is full");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }
}

//! The one place that writes output: documents to one writer (stdout), everything else to
//! another (stderr). Both are injected, so tests can capture them and the binary can tell a
//! closed pipe from a full disk: every write returns its `io::Result`.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

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
    err: Mutex<Sink>,
    settings: PrinterSettings,
    /// Whether a progress line is on screen and must be cleared before the next line.
    progress_shown: AtomicBool,
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
            err: Mutex::new(err),
            settings,
            progress_shown: AtomicBool::new(false),
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

    /// A progress line kept on the last line of a terminal and redrawn in place; lines
    /// printed meanwhile appear above it. Not shown when the error stream is not a terminal
    /// (CI logs get the status lines only) or with `--quiet`.
    pub fn progress(&self, bar: &str) -> io::Result<()> {
        if self.settings.quiet || !self.settings.err_terminal {
            return Ok(());
        }
        let mut err = lock(&self.err);
        write!(err, "{CLEAR_LINE}{bar}")?;
        err.flush()?;
        self.progress_shown.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// A report the user must see (apply summary), never silenced; written as given.
    pub fn report(&self, text: &str) -> io::Result<()> {
        let mut err = lock(&self.err);
        self.clear_progress(&mut err)?;
        err.write_all(text.as_bytes())?;
        err.flush()
    }

    /// A question on the error stream, without a line end (the answer follows it).
    pub fn prompt(&self, text: &str) -> io::Result<()> {
        self.report(text)
    }

    /// A warning (never silenced).
    pub fn warn(&self, text: &str) -> io::Result<()> {
        let style = self.settings.err_style;
        self.line(&format!("{} {text}", style.yellow("warning:")))
    }

    /// An error report.
    pub fn error(&self, text: &str) -> io::Result<()> {
        let style = self.settings.err_style;
        self.line(&format!("{} {text}", style.red(&style.bold("error:"))))
    }

    fn line(&self, text: &str) -> io::Result<()> {
        let mut err = lock(&self.err);
        self.clear_progress(&mut err)?;
        err.write_all(text.as_bytes())?;
        err.write_all(b"\n")?;
        err.flush()
    }

    fn clear_progress(&self, err: &mut Sink) -> io::Result<()> {
        if self.progress_shown.swap(false, Ordering::Relaxed) {
            err.write_all(CLEAR_LINE.as_bytes())?;
        }
        Ok(())
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
    fn quiet_silences_status_only() {
        let (printer, out, err) = captured(true, true);
        printer.status("Listing users").expect("write");
        printer.progress("[#--] 1/3").expect("write");
        printer.warn("careful").expect("write");
        printer.document("plan").expect("write");
        assert_eq!(err.text(), "warning: careful\n");
        assert_eq!(out.text(), "plan\n");
    }

    #[test]
    fn progress_is_drawn_only_on_a_terminal_and_cleared_before_the_next_line() {
        let (printer, _, err) = captured(false, false);
        printer.progress("[#--] 1/3").expect("write");
        assert_eq!(err.text(), "");

        let (printer, _, err) = captured(false, true);
        printer.progress("[#--] 1/3").expect("write");
        printer.status("line").expect("write");
        assert_eq!(
            err.text(),
            format!("{CLEAR_LINE}[#--] 1/3{CLEAR_LINE}line\n")
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

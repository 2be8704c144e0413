//! How the workflows' events look on the terminal: every line goes through the [`Printer`].

use std::io;

use crate::apply::Outcome;
use crate::ops::{Event, Observer};
use crate::render::{apply_summary, change_line, plan_human, Printer};

/// Renders events for a person watching.
pub struct Show<'a> {
    printer: &'a Printer,
    /// Draw a progress bar under the change lines (apply; not the demo).
    progress: bool,
    /// Print a line for each change not started, not only their count in the summary.
    list_skipped: bool,
}

impl<'a> Show<'a> {
    /// Events as lines, without a progress bar.
    pub fn new(printer: &'a Printer) -> Self {
        Show {
            printer,
            progress: false,
            list_skipped: true,
        }
    }

    /// Events as lines, with a progress bar under the change lines on a terminal.
    pub fn with_progress(printer: &'a Printer) -> Self {
        Show {
            printer,
            progress: true,
            list_skipped: true,
        }
    }

    /// Whether to print a line for each change not started (`-v`); the summary counts them
    /// either way, so an interrupt at 811 of 2,000 does not scroll its notice away.
    pub fn listing_skipped(self, list_skipped: bool) -> Self {
        Show {
            list_skipped,
            ..self
        }
    }
}

impl Observer for Show<'_> {
    fn event(&self, event: Event<'_>) -> io::Result<()> {
        let printer = self.printer;
        let style = printer.err_style();
        match event {
            Event::Listing { url } => printer.status(&format!("Listing users of {url} ...")),
            Event::Warning(warning) => printer.warn(warning),
            Event::ManifestWarning(diagnostic) => printer.diagnostics(&diagnostic.to_string()),
            Event::CheckingFreshness { plan_file } => printer.status(&format!(
                "Checking that the server has not changed since {} was made ...",
                plan_file.display()
            )),
            Event::ServerUnchanged => {
                printer.status("The server has not changed since the plan was made.")
            }
            Event::ServerChangedElsewhere {
                users_then,
                users_now,
            } => printer.status(&format!(
                "The server changed since the plan was made ({users_then} users then, {users_now} now), but none of the users this plan touches did."
            )),
            Event::Plan(plan) => printer.document(&plan_human(plan, printer.out_style())),
            Event::PlanSaved { path } => printer.status(&format!(
                "Saved the plan to {}. Apply it with: gotrue-sync apply {}",
                path.display(),
                path.display()
            )),
            Event::ApplyStarting { total } => {
                if self.progress {
                    printer.start_progress(total);
                }
                Ok(())
            }
            Event::ChangeFinished {
                result,
                position,
                total,
            } => {
                let skipped = matches!(result.outcome, Outcome::Skipped { .. });
                if !skipped || self.list_skipped {
                    printer.status(&change_line(result, position, total, style))?;
                }
                if self.progress {
                    printer.advance(position);
                }
                Ok(())
            }
            Event::Interrupted => {
                printer.warn("interrupted: finishing the requests in flight, starting no new ones")
            }
            Event::ApplyFinished(report) => {
                printer.report(&format!("{}\n", apply_summary(report, style)))
            }
            Event::ThrowawaySecret { variable } => printer.status(&format!(
                "demo: {variable} is not set; using a throwaway value for the emulator"
            )),
            Event::EmulatorStarted { url, users } => printer.status(&format!(
                "Started a GoTrue emulator at {url} with {users} existing users.\n"
            )),
            Event::DemoStep(command) => printer.status(command),
            Event::DemoFinished { requests } => printer.status(&format!(
                "{requests} HTTP requests in all. Point --url at your own server to do this for real."
            )),
            // Smoke runs are rendered by `smoke`, which knows whether the table is the
            // document or progress.
            Event::SmokeRun { .. } => Ok(()),
        }
    }
}

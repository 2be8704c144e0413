//! How the workflows' events look on the terminal: every line goes through the [`Printer`].

use std::io;

use crate::ops::{Event, Observer};
use crate::render::{apply_summary, change_line, plan_human, progress_bar, Printer};

/// Characters of the progress bar drawn on a terminal.
const PROGRESS_WIDTH: usize = 30;

/// Renders events for a person watching.
pub struct Show<'a> {
    printer: &'a Printer,
    /// Draw a progress bar under the change lines (apply; not the demo).
    progress: bool,
}

impl<'a> Show<'a> {
    /// Events as lines, without a progress bar.
    pub fn new(printer: &'a Printer) -> Self {
        Show {
            printer,
            progress: false,
        }
    }

    /// Events as lines, with a progress bar under the change lines on a terminal.
    pub fn with_progress(printer: &'a Printer) -> Self {
        Show {
            printer,
            progress: true,
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
                    printer.progress(&progress_bar(0, total, PROGRESS_WIDTH))?;
                }
                Ok(())
            }
            Event::ChangeFinished {
                result,
                position,
                total,
            } => {
                printer.status(&change_line(result, position, total, style))?;
                if self.progress {
                    printer.progress(&progress_bar(position, total, PROGRESS_WIDTH))?;
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

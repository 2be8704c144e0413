//! What a workflow reports while it runs, for the command line to render.

use std::io;
use std::path::Path;

use crate::apply::{ApplyReport, ChangeReport};
use crate::manifest::Diagnostic;
use crate::plan::Plan;
use crate::smoke::SmokeReport;

/// Something that happened during a workflow.
#[derive(Debug)]
pub enum Event<'a> {
    /// About to list every user of the server at `url`.
    Listing {
        /// The server.
        url: &'a str,
    },
    /// Something the user should know that does not stop the workflow.
    Warning(&'a str),
    /// A manifest warning, with its location and snippet.
    ManifestWarning(&'a Diagnostic),
    /// About to check that the server has not changed under a saved plan.
    CheckingFreshness {
        /// The saved plan.
        plan_file: &'a Path,
    },
    /// The server is exactly as it was when the saved plan was made.
    ServerUnchanged,
    /// The server changed since the saved plan was made, but no user the plan touches did.
    ServerChangedElsewhere {
        /// Users when the plan was made.
        users_then: usize,
        /// Users now.
        users_now: usize,
    },
    /// A plan to show: the document of `plan`, and what `apply` is about to carry out.
    Plan(&'a Plan),
    /// A plan was saved for `apply PLAN`.
    PlanSaved {
        /// The file.
        path: &'a Path,
    },
    /// Approved: the changes start now.
    ApplyStarting {
        /// Changes to carry out.
        total: usize,
    },
    /// One change finished (done, failed or not started).
    ChangeFinished {
        /// Its result.
        result: &'a ChangeReport,
        /// How many have finished, this one included.
        position: usize,
        /// Changes in all.
        total: usize,
    },
    /// The first Ctrl-C: no new change starts; those in flight finish.
    Interrupted,
    /// Every change of an apply finished or was skipped.
    ApplyFinished(&'a ApplyReport),
    /// Demo: a manifest secret is not set, so the demo uses a throwaway value.
    ThrowawaySecret {
        /// The environment variable the manifest names.
        variable: &'a str,
    },
    /// Demo: the emulator is running.
    EmulatorStarted {
        /// Its URL.
        url: &'a str,
        /// Users it was seeded with.
        users: usize,
    },
    /// Demo: the command it is about to show, as the user would type it.
    DemoStep(&'a str),
    /// Demo: done.
    DemoFinished {
        /// HTTP requests sent in all.
        requests: u64,
    },
    /// Smoke: one run finished.
    SmokeRun {
        /// Its report.
        report: &'a SmokeReport,
        /// Which run (from 1).
        round: u32,
    },
}

/// Receives a workflow's events; a failed write stops the workflow.
pub trait Observer {
    /// Handles one event.
    fn event(&self, event: Event<'_>) -> io::Result<()>;
}

/// An observer that ignores everything (tests, embedding).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: Event<'_>) -> io::Result<()> {
        Ok(())
    }
}

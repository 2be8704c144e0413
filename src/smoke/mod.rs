//! The smoke test: walks the flow a site's visitors go through (signup, confirm, login, read
//! and update the user, refresh, logout; optionally an invitation) against a live instance or
//! the emulator, times each step and reports exactly what works. Test users are deleted
//! afterwards through the admin API, also after a failure.

mod confirm;
mod flow;
mod jwt;
mod report;

pub use confirm::{extract_token, ConfirmVia, MailKind};
pub use flow::{run, run_repeated, Flow, SmokeOptions};
pub use report::{
    latencies, percentile, SmokeReport, StepFailure, StepLatency, StepResult, StepStatus,
};

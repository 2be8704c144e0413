//! Smoke: walk the visitor flows, once or repeatedly.

use std::time::Duration;

use super::{Event, Observer, OpsError};
use crate::gotrue::{AdminClient, UserClient};
use crate::smoke::{run_repeated, SmokeOptions, SmokeReport};

/// How often to walk the flows.
#[derive(Debug, Clone)]
pub struct SmokeRequest {
    /// What each run does.
    pub options: SmokeOptions,
    /// Runs in all (at least one).
    pub repeat: u32,
    /// Pause between runs.
    pub interval: Duration,
}

/// Runs `smoke`, reporting each run to the observer as it finishes. A failed step is part
/// of a report, not an error; only output failures end the workflow early.
pub async fn smoke(
    user: &UserClient,
    admin: Option<&AdminClient>,
    request: &SmokeRequest,
    observer: &dyn Observer,
) -> Result<Vec<SmokeReport>, OpsError> {
    let mut output_error = None;
    let reports = run_repeated(
        user,
        admin,
        &request.options,
        request.repeat,
        request.interval,
        |report, round| {
            if let Err(error) = observer.event(Event::SmokeRun { report, round }) {
                output_error.get_or_insert(error);
            }
        },
    )
    .await;
    match output_error {
        Some(error) => Err(OpsError::Output(error)),
        None => Ok(reports),
    }
}

//! What a smoke run found: one result per step, and latency percentiles over repeated runs.

use std::time::Duration;

use serde::Serialize;

use crate::gotrue::GotrueError;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It worked.
    Passed,
    /// It did not; see the step's failure.
    Failed,
    /// It was not run (the instance makes it unnecessary, or a step it needs failed).
    Skipped,
}

/// Why a step failed, in the server's own words where there are any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepFailure {
    /// `METHOD /path`, when a request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The HTTP status, when the server answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The server's message, or what was wrong with its answer.
    pub message: String,
    /// What probably causes it and what to do, for well-known failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl StepFailure {
    /// A failure that is not a request error (e.g. a wrong claim in a token).
    pub fn check(message: impl Into<String>) -> Self {
        StepFailure {
            request: None,
            status: None,
            message: message.into(),
            hint: None,
        }
    }

    /// A failed request, with a hint for the well-known causes.
    pub fn request(error: &GotrueError) -> Self {
        let (status, message) = match error {
            GotrueError::Api {
                status, message, ..
            } => (Some(*status), message.clone()),
            GotrueError::MailRateLimited { message, .. } => (Some(429), message.clone()),
            GotrueError::Transport { detail, .. } | GotrueError::Decode { detail, .. } => {
                (None, detail.clone())
            }
            GotrueError::InconsistentListing { .. } => (None, error.to_string()),
            GotrueError::Config(message) => (None, message.clone()),
        };
        let request = error.request().map(|r| format!("{} {}", r.method, r.path));
        let hint = hint_for(request.as_deref().unwrap_or(""), status, &message);
        StepFailure {
            request,
            status,
            message,
            hint,
        }
    }

    /// Adds a hint (replacing a generic one).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Hints for the failures operators meet most. The server's message is always shown too;
/// the hint says what it usually means.
fn hint_for(request: &str, status: Option<u16>, message: &str) -> Option<String> {
    let lower = message.to_lowercase();
    let hint = match status? {
        403 if request.ends_with("/signup") => {
            "signups are disabled on this instance (GOTRUE_DISABLE_SIGNUP)"
        }
        400 if lower.contains("email provider") || lower.contains("unsupported provider") => {
            "the e-mail provider is disabled on this instance"
        }
        404 if request.ends_with("/verify") => {
            "the confirmation token was not accepted: wrong, already used, or from an older mail"
        }
        422 if lower.contains("expired") => "the token expired before it was used",
        429 => "rate limited: GoTrue allows 30 /token requests per 5 minutes per rate-limit key; wait, or run less often",
        400 if lower.contains("email not confirmed") => {
            "the user is not confirmed: confirmation did not take effect"
        }
        400 if lower.contains("invalid refresh token") => {
            "the refresh token was rejected: rotation or logout revoked it"
        }
        401 if request.contains("/admin/") || request.ends_with("/invite") => {
            "the admin credentials were refused (see GOTRUE_ADMIN_TOKEN, GOTRUE_JWT_SECRET, GOTRUE_ADMIN_EMAIL/PASSWORD)"
        }
        500..=599 => "the server failed; its logs have the details (error_id in the answer)",
        _ => return None,
    };
    Some(hint.to_owned())
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// Short name, e.g. `signup`.
    pub name: &'static str,
    /// How it ended.
    pub status: StepStatus,
    /// Wall time of the step's requests (zero when skipped).
    #[serde(rename = "latency_ms", serialize_with = "millis")]
    pub latency: Duration,
    /// What was checked or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<StepFailure>,
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1e6).round() / 1e3)
}

/// One walk through the flow(s).
#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    /// The GoTrue root.
    pub url: String,
    /// The test user's address (unique per run).
    pub email: String,
    /// Every step, in order, including skipped ones.
    pub steps: Vec<StepResult>,
    /// The address of a user the run created and did not delete, so someone can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_behind: Option<String>,
}

impl SmokeReport {
    /// Whether no step failed.
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.status != StepStatus::Failed)
    }

    /// How many steps ended with `status`.
    pub fn count(&self, status: StepStatus) -> usize {
        self.steps.iter().filter(|s| s.status == status).count()
    }
}

/// Latency percentiles of one step over several runs.
#[derive(Debug, Clone, Serialize)]
pub struct StepLatency {
    /// The step.
    pub name: &'static str,
    /// Runs in which the step ran (passed or failed).
    pub runs: usize,
    /// Runs in which it failed.
    pub failures: usize,
    /// Median latency.
    #[serde(rename = "p50_ms", serialize_with = "millis")]
    pub p50: Duration,
    /// 95th percentile latency.
    #[serde(rename = "p95_ms", serialize_with = "millis")]
    pub p95: Duration,
}

/// Percentiles per step over `reports`, in the order steps first appear.
pub fn latencies(reports: &[SmokeReport]) -> Vec<StepLatency> {
    let mut names: Vec<&'static str> = Vec::new();
    for step in reports.iter().flat_map(|r| &r.steps) {
        if !names.contains(&step.name) {
            names.push(step.name);
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let ran: Vec<&StepResult> = reports
                .iter()
                .flat_map(|r| &r.steps)
                .filter(|s| s.name == name && s.status != StepStatus::Skipped)
                .collect();
            let mut times: Vec<Duration> = ran.iter().map(|s| s.latency).collect();
            times.sort_unstable();
            Some(StepLatency {
                name,
                runs: ran.len(),
                failures: ran
                    .iter()
                    .filter(|s| s.status == StepStatus::Failed)
                    .count(),
                p50: percentile(&times, 50)?,
                p95: percentile(&times, 95)?,
            })
        })
        .collect()
}

/// The nearest-rank percentile of sorted `values`; `None` when there are none.
pub fn percentile(sorted: &[Duration], percent: usize) -> Option<Duration> {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gotrue::RequestLabel;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values = ms(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(percentile(&values, 50), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&values, 95), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&ms(&[7]), 95), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 50), None);
        let twenty: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&twenty, 95), Some(Duration::from_millis(19)));
    }

    fn step(name: &'static str, status: StepStatus, millis: u64) -> StepResult {
        StepResult {
            name,
            status,
            latency: Duration::from_millis(millis),
            detail: None,
            failure: None,
        }
    }

    #[test]
    fn latencies_skip_skipped_steps_and_count_failures() {
        let run = |a: u64, b: StepStatus| SmokeReport {
            url: "http://x".into(),
            email: "e".into(),
            steps: vec![
                step("signup", StepStatus::Passed, a),
                step("login", b, a * 2),
            ],
            left_behind: None,
        };
        let reports = [
            run(10, StepStatus::Passed),
            run(30, StepStatus::Failed),
            run(20, StepStatus::Skipped),
        ];
        let stats = latencies(&reports);
        assert_eq!(stats[0].name, "signup");
        assert_eq!((stats[0].runs, stats[0].failures), (3, 0));
        assert_eq!(stats[0].p50, Duration::from_millis(20));
        assert_eq!(stats[0].p95, Duration::from_millis(30));
        assert_eq!((stats[1].runs, stats[1].failures), (2, 1));
        assert_eq!(stats[1].p50, Duration::from_millis(20));
    }

    #[test]
    fn well_known_failures_get_hints() {
        let api = |method, path: &str, status, message: &str| GotrueError::Api {
            request: RequestLabel::new(method, path, Some("a@example.com")),
            status,
            message: message.into(),
        };
        let failure = StepFailure::request(&api(
            "POST",
            "/signup",
            403,
            "Signups not allowed for this instance",
        ));
        assert_eq!(failure.request.as_deref(), Some("POST /signup"));
        assert_eq!(failure.status, Some(403));
        assert_eq!(failure.message, "Signups not allowed for this instance");
        assert!(failure.hint.expect("hint").contains("signups are disabled"));
        let limited = StepFailure::request(&api("POST", "/token", 429, "Rate limit exceeded"));
        assert!(limited.hint.expect("hint").contains("rate limited"));
        let wrong = StepFailure::request(&api("POST", "/verify", 404, "User not found"));
        assert!(wrong.hint.expect("hint").contains("confirmation token"));
        let odd = StepFailure::request(&api("GET", "/user", 418, "teapot"));
        assert_eq!(odd.hint, None);
    }
}

//! How many requests may be in flight: a controller that finds the concurrency the server
//! sustains. It starts with one request, which measures the uncontended answer time, and
//! doubles each round (one round = as many answers as the limit) while answers stay within
//! twice that time (slow start), then grows by one per round. It halves on a refusal (429
//! without a mail limit, 5xx) and cuts by a quarter when a round's mean latency climbs past
//! twice the uncontended level: the sign of a server that is busy rather than refusing
//! (GoTrue hashes passwords with bcrypt on every invite). Bounded by the configured maximum
//! (`--parallelism`).

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use super::transport::Attempt;

/// Where the controller starts: one request alone shows the uncontended answer time.
const INITIAL_LIMIT: usize = 1;

/// Latency above this multiple of the uncontended level counts as "climbing".
const LATENCY_CLIMB: f64 = 2.0;

/// The pure controller: no clock, no I/O; latencies come in with the signals.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    current: usize,
    max: usize,
    /// Successes since the limit last changed.
    successes: usize,
    /// Still doubling: nothing has been refused and latency has not climbed yet.
    slow_start: bool,
    /// Sum of the latencies of this round's answers, in seconds.
    round_latency: f64,
    /// The lowest mean latency of a round: the server's uncontended answer time.
    baseline: Option<f64>,
}

/// What one request said about the server's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered normally, in this time.
    Success(Duration),
    /// Refused for load (429 without a mail limit, 5xx): send less.
    Refused,
    /// Tells nothing about load (a 4xx of the request itself, a transport fault).
    Neutral,
}

impl Signal {
    /// The signal of one attempt that took `elapsed`.
    pub fn of(attempt: Attempt, elapsed: Duration) -> Signal {
        match attempt {
            Attempt::Answered {
                mail_limit: true, ..
            } => Signal::Neutral,
            Attempt::Answered { status: 429, .. }
            | Attempt::Answered {
                status: 500..=599, ..
            } => Signal::Refused,
            Attempt::Answered {
                status: 200..=299, ..
            } => Signal::Success(elapsed),
            _ => Signal::Neutral,
        }
    }
}

impl Control {
    /// A controller bounded by `max` (at least 1).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Control {
            current: INITIAL_LIMIT.min(max),
            max,
            successes: 0,
            slow_start: true,
            round_latency: 0.0,
            baseline: None,
        }
    }

    /// The current limit.
    pub fn current(&self) -> usize {
        self.current
    }

    /// Takes one signal into account.
    pub fn observe(&mut self, signal: Signal) {
        match signal {
            Signal::Refused => {
                self.current = (self.current / 2).max(1);
                self.successes = 0;
                self.round_latency = 0.0;
                self.slow_start = false;
            }
            Signal::Success(latency) => {
                self.round_latency += latency.as_secs_f64();
                self.successes += 1;
                // One decision per round of `current` answers, so one burst is judged once.
                if self.successes < self.current {
                    return;
                }
                let mean = self.round_latency / self.successes as f64;
                self.successes = 0;
                self.round_latency = 0.0;
                let baseline = self.baseline.map_or(mean, |b| b.min(mean));
                self.baseline = Some(baseline);
                if mean > LATENCY_CLIMB * baseline && baseline > 0.0 {
                    self.current = (self.current * 3 / 4).max(1);
                    self.slow_start = false;
                } else if self.slow_start {
                    self.current = (self.current * 2).min(self.max);
                } else {
                    self.current = (self.current + 1).min(self.max);
                }
            }
            Signal::Neutral => {}
        }
    }
}

struct State {
    control: Control,
    in_flight: usize,
}

/// The controller as a gate that requests pass.
pub(crate) struct AdaptiveLimit {
    state: Mutex<State>,
    released: Notify,
}

/// Held while a request is in flight.
pub(crate) struct Permit<'a> {
    limit: &'a AdaptiveLimit,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limit.with(|state| state.in_flight -= 1);
        self.limit.released.notify_waiters();
    }
}

impl AdaptiveLimit {
    pub fn new(max: usize) -> Self {
        AdaptiveLimit {
            state: Mutex::new(State {
                control: Control::new(max),
                in_flight: 0,
            }),
            released: Notify::new(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut state)
    }

    pub fn current(&self) -> usize {
        self.with(|state| state.control.current())
    }

    /// Waits until fewer requests than the limit are in flight.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            // Registered before the check, so a release in between is not missed.
            let released = self.released.notified();
            let admitted = self.with(|state| {
                let free = state.in_flight < state.control.current();
                if free {
                    state.in_flight += 1;
                }
                free
            });
            if admitted {
                return Permit { limit: self };
            }
            released.await;
        }
    }

    /// Feeds one attempt's outcome to the controller.
    pub fn record(&self, attempt: Attempt, elapsed: Duration) {
        let signal = Signal::of(attempt, elapsed);
        let changed = self.with(|state| {
            let before = state.control.current();
            state.control.observe(signal);
            before != state.control.current()
        });
        if changed {
            tracing::info!(limit = self.current(), "requests in flight adjusted");
            self.released.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;

//! How many requests may be in flight: an additive-increase, multiplicative-decrease
//! controller. A refusal (429 without a mail limit, 503) halves the limit; every run of
//! `limit` successes raises it by one, up to the configured maximum. A server that rate-limits
//! without `Retry-After` is thus met with fewer requests rather than the same burst again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use super::transport::Attempt;

/// The pure controller: no clock, no I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    current: usize,
    max: usize,
    successes: usize,
}

/// What one request said about the server's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered normally.
    Success,
    /// Refused for load (429, 503): send less.
    Refused,
    /// Tells nothing about load (a 4xx of the request itself, a transport fault).
    Neutral,
}

impl Signal {
    /// The signal of one attempt.
    pub fn of(attempt: Attempt) -> Signal {
        match attempt {
            Attempt::Answered {
                mail_limit: true, ..
            } => Signal::Neutral,
            Attempt::Answered { status: 429, .. } | Attempt::Answered { status: 503, .. } => {
                Signal::Refused
            }
            Attempt::Answered {
                status: 200..=299, ..
            } => Signal::Success,
            _ => Signal::Neutral,
        }
    }
}

impl Control {
    /// Starts at `max` (at least 1).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Control {
            current: max,
            max,
            successes: 0,
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
            }
            Signal::Success => {
                self.successes += 1;
                if self.successes >= self.current {
                    self.successes = 0;
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
    pub fn record(&self, attempt: Attempt, _elapsed: Duration) {
        let signal = Signal::of(attempt);
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
mod tests {
    use super::*;

    fn answered(status: u16, mail_limit: bool) -> Attempt {
        Attempt::Answered {
            status,
            retry_after: None,
            mail_limit,
        }
    }

    #[test]
    fn refusals_halve_the_limit_down_to_one() {
        let mut control = Control::new(32);
        let seen: Vec<usize> = (0..7)
            .map(|_| {
                control.observe(Signal::Refused);
                control.current()
            })
            .collect();
        assert_eq!(seen, [16, 8, 4, 2, 1, 1, 1]);
    }

    #[test]
    fn successes_raise_it_by_one_per_round_up_to_the_maximum() {
        let mut control = Control::new(4);
        control.observe(Signal::Refused);
        control.observe(Signal::Refused);
        assert_eq!(control.current(), 1);
        let mut seen = Vec::new();
        for _ in 0..12 {
            control.observe(Signal::Success);
            seen.push(control.current());
        }
        // One success at 1, two at 2, three at 3, then the maximum holds.
        assert_eq!(seen, [2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4]);
    }

    #[test]
    fn signals_come_from_statuses() {
        assert_eq!(Signal::of(answered(200, false)), Signal::Success);
        assert_eq!(Signal::of(answered(429, false)), Signal::Refused);
        assert_eq!(Signal::of(answered(503, false)), Signal::Refused);
        // A mail limit is not cured by sending fewer requests: the caller stops invites.
        assert_eq!(Signal::of(answered(429, true)), Signal::Neutral);
        assert_eq!(Signal::of(answered(422, false)), Signal::Neutral);
        assert_eq!(Signal::of(Attempt::Lost), Signal::Neutral);
    }

    #[tokio::test]
    async fn the_gate_admits_no_more_than_the_limit() {
        let limit = AdaptiveLimit::new(2);
        let first = limit.acquire().await;
        let _second = limit.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), limit.acquire()).await;
        assert!(
            third.is_err(),
            "a third request waits while two are in flight"
        );
        drop(first);
        let third = tokio::time::timeout(Duration::from_millis(500), limit.acquire()).await;
        assert!(third.is_ok(), "and goes once one finishes");
    }
}

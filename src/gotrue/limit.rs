//! How many requests may be in flight: a controller that finds the concurrency the server
//! sustains. It starts with one request and judges the server a round at a time: a round is
//! the first requests sent under the current limit (as many as the limit, at least
//! [`SHORTEST_ROUND`] past slow start), judged once every one of them is answered, so that
//! the round's slowest answers count as much as its first. A round's latency is compared
//! with what the same requests cost uncontended: each kind of request
//! (method and route: a page of users, an invite, an update) has its own uncontended time,
//! since an invite that hashes a password costs the server far more than the update that
//! follows it. The first request of each kind goes alone, once nothing else is in flight, to
//! measure that time; any faster answer of the kind later lowers it. The round's ratio is its
//! summed latency over the summed uncontended times of its requests.
//!
//! - Flat (ratio ≤ [`FLAT`]): grow — fourfold while nothing has been refused and latency
//!   stays within [`SLOW_START_FLAT`] (slow start), then by a quarter (at least one). The
//!   first request, sent alone to measure its kind, is slow start's round at one.
//! - Climbing (ratio > [`CLIMBING`]): the server is busy rather than refusing (GoTrue hashes
//!   passwords with bcrypt on every invite): cut to the limit at which the round would have
//!   sat at [`FLAT`], assuming latency grows with the number in flight.
//! - In between: hold. A CPU-bound server settles here, about one request queued per core.
//! - Refused (429 without a mail limit, 5xx): halve, once for all the requests in flight.
//!
//! A limit at which latency climbed is the ceiling: growth stops below it, and it is tried
//! again only after [`FIRST_PATIENCE`] flat rounds, twice as many after each try that climbs
//! again, so that probing a server already at capacity costs few slow answers. A flat round
//! at the ceiling lifts it. Uncontended times get [`JITTER`] added, so that
//! answers of a millisecond or two are not judged by scheduling noise.
//!
//! Bounded by the configured maximum (`--parallelism`). [`LimitMode::Fixed`] turns the latency
//! judgement off (start at the maximum, halve on refusals, grow back by one a round): a
//! control for measuring, and for servers whose latency says nothing about their load.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use super::transport::Attempt;

/// Latency at or below this multiple of the uncontended time is flat: room to grow.
const FLAT: f64 = 1.25;

/// Latency above this multiple of the uncontended time has climbed: cut.
const CLIMBING: f64 = 1.6;

/// Slow start grows only while latency stays within this multiple: a server that is
/// already slowing down is approached by a quarter at a time.
const SLOW_START_FLAT: f64 = 1.1;

/// How much slow start multiplies the limit by after a flat round. A round is judged only
/// once its last answer is in, so each step costs a full round trip: after the lone first
/// request, doubling took five more to reach 32, about 12% of a thousand updates at 20 ms;
/// four times takes two. The price is a larger overshoot (from a flat round at n the next
/// goes at 4n, where doubling went to 2n), paid for one round: a round that climbs is cut
/// back to where it would have been flat, and ends slow start. The benchmark's CPU-bound
/// server (two hash slots) sees at most four in flight either way.
const SLOW_START_GROWTH: usize = 4;

/// Past slow start, a round is at least this many answers.
const SHORTEST_ROUND: usize = 4;

/// A kind whose request sent alone failed this many times goes with the others from then
/// on: a run in which every invite fails (the mail limit, taken addresses) must not send
/// everything one at a time. Its first success then sets its uncontended time.
const MEASURING_TRIES: u32 = 3;

/// How the limit moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitMode {
    /// Start at one request and follow latency and refusals (the default).
    Adaptive,
    /// Start at the maximum and leave it there unless the server refuses requests.
    Fixed,
}

/// The pure controller: no clock, no I/O; latencies come in with the signals.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    mode: LimitMode,
    current: usize,
    max: usize,
    /// Requests of the round being judged sent so far, and those answered (or lost).
    round_sent: usize,
    round_answered: usize,
    /// How often the limit has changed: a request carries the epoch it was sent in, and
    /// only requests sent under the current limit make up a round. An answer to one sent
    /// before a raise shows the load before it; one sent before a cut, the load that was cut.
    epoch: u64,
    /// The epoch the last cut began: refusals of requests sent before it were answered by
    /// that cut, so a burst of refusals halves once, not once per refused request.
    cut_epoch: u64,
    /// Still in slow start: nothing has been refused and latency has not risen yet.
    slow_start: bool,
    /// This round's summed latency and the summed uncontended times of its requests, in s.
    round_latency: f64,
    round_uncontended: f64,
    /// The fastest answer seen for each kind of request: its uncontended time, in seconds.
    uncontended: Vec<(u64, f64)>,
    /// The lowest limit at which latency climbed (`usize::MAX`: none since it last held).
    ceiling: usize,
    /// Flat rounds to wait below the ceiling before trying it again, and those waited.
    patience: usize,
    flat_rounds: usize,
    /// A request of this kind is being measured: it was sent alone, and nothing else goes
    /// until it is answered.
    measuring: Option<u64>,
    /// Kinds whose lone request failed, and how often.
    failed_measurements: Vec<(u64, u32)>,
}

/// What one request said about the server's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered normally, in `latency`; `kind` tells requests that cost the server alike.
    Success { kind: u64, latency: Duration },
    /// Refused for load (429 without a mail limit, 5xx): send less.
    Refused,
    /// Tells nothing about load (a 4xx of the request itself, a transport fault).
    Neutral,
}

impl Signal {
    /// The signal of one attempt of a request of `kind` that took `elapsed`.
    pub fn of(attempt: Attempt, kind: u64, elapsed: Duration) -> Signal {
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
            } => Signal::Success {
                kind,
                latency: elapsed,
            },
            _ => Signal::Neutral,
        }
    }
}

/// What a request was admitted as: the epoch it was sent in, and whether it belongs to the
/// round being judged or was sent alone to measure its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    member: bool,
    measuring: bool,
}

/// The shortest latency taken into account, so that a ratio never divides by zero.
const SHORTEST: f64 = 1e-6;

/// Added to every uncontended time: a request that answers in a millisecond or two is not
/// "climbing" when scheduling on a busy client delays it by another, in seconds.
const JITTER: f64 = 0.002;

/// Flat rounds before the first probe of a limit at which latency climbed, and the most
/// (the wait doubles with each probe that fails).
const FIRST_PATIENCE: usize = 8;
const MOST_PATIENCE: usize = 1024;

impl Control {
    /// A controller bounded by `max` (at least 1).
    pub fn new(max: usize, mode: LimitMode) -> Self {
        let max = max.max(1);
        Control {
            mode,
            current: match mode {
                LimitMode::Adaptive => 1,
                LimitMode::Fixed => max,
            },
            max,
            round_sent: 0,
            round_answered: 0,
            epoch: 0,
            cut_epoch: 0,
            slow_start: mode == LimitMode::Adaptive,
            round_latency: 0.0,
            round_uncontended: 0.0,
            uncontended: Vec::new(),
            ceiling: usize::MAX,
            patience: FIRST_PATIENCE,
            flat_rounds: 0,
            measuring: None,
            failed_measurements: Vec::new(),
        }
    }

    /// The current limit.
    pub fn current(&self) -> usize {
        self.current
    }

    /// Whether a request of `kind` may be sent now, with `in_flight` requests in flight and
    /// `unmeasured_waiting` requests of kinds not yet measured waiting (this one included);
    /// if so, the ticket its outcome is observed with. The first request of each kind goes
    /// alone, once nothing else is in flight, so that its answer shows what the kind costs
    /// uncontended; the others wait for it.
    pub fn admit(
        &mut self,
        kind: u64,
        in_flight: usize,
        unmeasured_waiting: usize,
    ) -> Option<Ticket> {
        let admitted = match self.mode {
            LimitMode::Fixed => in_flight < self.current,
            LimitMode::Adaptive if self.measuring.is_some() => false,
            LimitMode::Adaptive if !self.is_measured(kind) => {
                if in_flight != 0 {
                    return None;
                }
                self.measuring = Some(kind);
                return Some(Ticket {
                    epoch: self.epoch,
                    member: false,
                    measuring: true,
                });
            }
            // Known kinds wait while an unmeasured one waits for the requests in flight to
            // end.
            LimitMode::Adaptive => unmeasured_waiting == 0 && in_flight < self.current,
        };
        if !admitted {
            return None;
        }
        let member = self.round_sent < self.round_size();
        self.round_sent += usize::from(member);
        Some(Ticket {
            epoch: self.epoch,
            member,
            measuring: false,
        })
    }

    /// Requests in a round: one decision per burst of `current`, so one burst is judged
    /// once; past slow start, at least a few, so that a round of one or two (a cheap request
    /// beside an expensive one) is not read as the server's load.
    fn round_size(&self) -> usize {
        if self.slow_start {
            self.current
        } else {
            self.current.max(SHORTEST_ROUND)
        }
    }

    /// Whether requests of `kind` no longer go alone: their uncontended time is known, or
    /// [`MEASURING_TRIES`] lone requests of the kind failed.
    pub fn is_measured(&self, kind: u64) -> bool {
        self.mode == LimitMode::Fixed
            || self.uncontended.iter().any(|(k, _)| *k == kind)
            || self
                .failed_measurements
                .iter()
                .any(|(k, tries)| *k == kind && *tries >= MEASURING_TRIES)
    }

    /// A request of `kind` ended without an outcome to observe (its future was dropped:
    /// Ctrl-C, a cancelled sibling). Sent alone, the next request of the kind is measured
    /// instead and the others may go; in a round, the round is judged without it.
    pub fn forget(&mut self, kind: u64, ticket: Ticket) {
        if ticket.measuring {
            if self.measuring == Some(kind) {
                self.measuring = None;
            }
        } else if self.in_round(ticket) {
            self.round_answered += 1;
            self.judge_if_complete();
        }
    }

    /// Whether `ticket` belongs to the round being judged.
    fn in_round(&self, ticket: Ticket) -> bool {
        ticket.member && ticket.epoch == self.epoch
    }

    /// Takes into account the outcome of one request admitted with `ticket`.
    pub fn observe(&mut self, signal: Signal, ticket: Ticket) {
        if ticket.measuring {
            let Some(kind) = self.measuring.take() else {
                return;
            };
            // The request sent alone: its answer is the kind's uncontended time, and says
            // nothing about load. Any other outcome leaves the kind to be measured again, up
            // to `MEASURING_TRIES` times.
            if let Signal::Success { latency, .. } = signal {
                self.uncontended
                    .push((kind, latency.as_secs_f64().max(SHORTEST)));
                // Alone, the request was a round at one in flight, and flat by definition:
                // at the start, a round at one would only repeat it.
                if self.slow_start && self.current == 1 {
                    self.change_to(SLOW_START_GROWTH.min(self.max));
                }
            } else {
                // A refusal ends slow start here too: the next success alone must not
                // quadruple the limit of a server that just refused.
                if signal == Signal::Refused {
                    self.slow_start = false;
                }
                match self
                    .failed_measurements
                    .iter_mut()
                    .find(|(k, _)| *k == kind)
                {
                    Some((_, tries)) => *tries += 1,
                    None => self.failed_measurements.push((kind, 1)),
                }
            }
            return;
        }
        match signal {
            Signal::Refused => {
                // Refusals of requests sent before the last cut were answered by that cut:
                // a burst of them halves once.
                if ticket.epoch < self.cut_epoch {
                    return;
                }
                self.slow_start = false;
                self.change_to((self.current / 2).max(1));
            }
            Signal::Success { kind, latency } => {
                let latency = latency.as_secs_f64().max(SHORTEST);
                // Any answer may show a kind's uncontended time; only the round's tell how
                // the server bears the current limit.
                let uncontended = self.uncontended_time(kind, latency);
                if self.in_round(ticket) {
                    self.round_latency += latency;
                    self.round_uncontended += uncontended + JITTER;
                    self.round_answered += 1;
                    self.judge_if_complete();
                }
            }
            Signal::Neutral => {
                if self.in_round(ticket) {
                    self.round_answered += 1;
                    self.judge_if_complete();
                }
            }
        }
    }

    /// Judges the round once every request of it is answered, then starts the next.
    fn judge_if_complete(&mut self) {
        if self.round_answered < self.round_size() {
            return;
        }
        let (latency, uncontended) = (self.round_latency, self.round_uncontended);
        self.start_round();
        // A round without a success (every answer a 4xx or a fault) says nothing of load.
        if uncontended <= 0.0 {
            return;
        }
        let next = match self.mode {
            LimitMode::Fixed => self.current + 1,
            LimitMode::Adaptive => self.judge(latency / uncontended),
        }
        .clamp(1, self.max);
        self.change_to(next);
    }

    fn start_round(&mut self) {
        self.round_sent = 0;
        self.round_answered = 0;
        self.round_latency = 0.0;
        self.round_uncontended = 0.0;
    }

    /// Moves the limit to `next`, starting a new epoch (and a new round) if it changes.
    fn change_to(&mut self, next: usize) {
        if next == self.current {
            return;
        }
        self.epoch += 1;
        if next < self.current {
            self.cut_epoch = self.epoch;
        }
        self.current = next;
        self.start_round();
    }

    /// The fastest answer of `kind` so far, `latency` included.
    fn uncontended_time(&mut self, kind: u64, latency: f64) -> f64 {
        match self.uncontended.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, fastest)) => {
                *fastest = fastest.min(latency);
                *fastest
            }
            None => {
                self.uncontended.push((kind, latency));
                latency
            }
        }
    }

    /// The next limit after a round whose latency was `ratio` times the uncontended time.
    fn judge(&mut self, ratio: f64) -> usize {
        let current = self.current;
        if ratio > CLIMBING {
            self.slow_start = false;
            self.patience = if current >= self.ceiling {
                // A probe of the ceiling failed again: wait twice as long before the next.
                (self.patience * 2).min(MOST_PATIENCE)
            } else {
                FIRST_PATIENCE
            };
            self.ceiling = self.ceiling.min(current);
            self.flat_rounds = 0;
            // Latency grows about in proportion to the requests in flight once the server is
            // saturated: this is where the round would have been flat.
            return ((current as f64 * FLAT / ratio) as usize).min(current - 1);
        }
        if ratio > FLAT {
            self.slow_start = false;
            return current;
        }
        if current >= self.ceiling {
            // Flat where latency climbed before: the server got faster, or the load that
            // made it climb is gone, so nothing holds the limit below this any more.
            self.ceiling = usize::MAX;
            self.patience = FIRST_PATIENCE;
        }
        if ratio > SLOW_START_FLAT {
            self.slow_start = false;
        }
        let grown = if self.slow_start {
            current * SLOW_START_GROWTH
        } else {
            current + (current / 4).max(1)
        };
        if grown < self.ceiling {
            return grown;
        }
        // Reaching the limit at which latency climbed is a probe, and a probe that fails
        // puts every request of its round past the goal: probe after `patience` flat rounds.
        self.flat_rounds += 1;
        if self.flat_rounds > self.patience {
            self.flat_rounds = 0;
            self.ceiling
        } else {
            (self.ceiling - 1).max(current)
        }
    }
}

struct State {
    control: Control,
    in_flight: usize,
    /// Requests of kinds not measured yet that wait to go alone.
    unmeasured_waiting: usize,
}

/// The controller as a gate that requests pass.
pub(crate) struct AdaptiveLimit {
    state: Mutex<State>,
    released: Notify,
}

/// Held while a request is in flight.
pub(crate) struct Permit<'a> {
    limit: &'a AdaptiveLimit,
    kind: u64,
    ticket: Ticket,
    /// Whether the outcome went to the controller.
    recorded: bool,
}

impl Permit<'_> {
    /// Feeds the outcome of this request, answered in `elapsed`, to the controller.
    pub fn record(mut self, attempt: Attempt, elapsed: Duration) {
        self.recorded = true;
        let signal = Signal::of(attempt, self.kind, elapsed);
        let changed = self.limit.with(|state| {
            let before = state.control.current();
            state.control.observe(signal, self.ticket);
            before != state.control.current()
        });
        if changed {
            tracing::info!(limit = self.limit.current(), "requests in flight adjusted");
            self.limit.released.notify_waiters();
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limit.with(|state| {
            state.in_flight -= 1;
            // A request dropped before its answer (Ctrl-C, a cancelled sibling) must not
            // hold every other one back, nor leave its round waiting for it.
            if !self.recorded {
                state.control.forget(self.kind, self.ticket);
            }
        });
        self.limit.released.notify_waiters();
    }
}

/// Counts a request of an unmeasured kind as waiting, for as long as it waits (also when
/// its future is dropped while waiting).
struct Waiting<'a> {
    limit: &'a AdaptiveLimit,
    counted: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.counted {
            self.limit.with(|state| state.unmeasured_waiting -= 1);
            self.limit.released.notify_waiters();
        }
    }
}

impl AdaptiveLimit {
    pub fn new(max: usize, mode: LimitMode) -> Self {
        AdaptiveLimit {
            state: Mutex::new(State {
                control: Control::new(max, mode),
                in_flight: 0,
                unmeasured_waiting: 0,
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

    /// Waits until the controller admits a request of `kind` (see [`Control::admit`]).
    pub async fn acquire(&self, kind: u64) -> Permit<'_> {
        let mut waiting = Waiting {
            limit: self,
            counted: false,
        };
        loop {
            // Registered before the check, so a release in between is not missed.
            let released = self.released.notified();
            let admitted = self.with(|state| {
                let unmeasured = !state.control.is_measured(kind);
                if unmeasured != waiting.counted {
                    // Counted while its kind is unmeasured: not after another request of the
                    // kind has been measured, nor once it goes itself.
                    if unmeasured {
                        state.unmeasured_waiting += 1;
                    } else {
                        state.unmeasured_waiting -= 1;
                    }
                    waiting.counted = unmeasured;
                }
                let ticket = state
                    .control
                    .admit(kind, state.in_flight, state.unmeasured_waiting);
                if ticket.is_some() {
                    state.in_flight += 1;
                    if waiting.counted {
                        state.unmeasured_waiting -= 1;
                        waiting.counted = false;
                    }
                }
                ticket
            });
            if let Some(ticket) = admitted {
                return Permit {
                    limit: self,
                    kind,
                    ticket,
                    recorded: false,
                };
            }
            released.await;
        }
    }
}

#[cfg(test)]
mod tests;

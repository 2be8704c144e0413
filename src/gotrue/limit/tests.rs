use super::*;

const MS: Duration = Duration::from_millis(1);

/// Two kinds of request: an invite (the server hashes a password) and the update after it.
const INVITE: u64 = 1;
const UPDATE: u64 = 2;

fn answered(status: u16, mail_limit: bool) -> Attempt {
    Attempt::Answered {
        status,
        retry_after: None,
        mail_limit,
    }
}

fn success(kind: u64, latency: Duration) -> Signal {
    Signal::Success { kind, latency }
}

/// Sends the first request of `kind` alone and answers it in `latency`: its uncontended time.
fn measure(control: &mut Control, kind: u64, latency: Duration) {
    let alone = control.admit(kind, 0, 1).expect("sent alone");
    control.observe(success(kind, latency), alone);
}

/// Admits `n` requests of `kind` at once.
fn send(control: &mut Control, kind: u64, n: usize) -> Vec<Ticket> {
    (0..n)
        .map(|in_flight| control.admit(kind, in_flight, 0).expect("admitted"))
        .collect()
}

/// Measures `kind` if it is not yet, then sends `rounds` bursts of `current` requests of it,
/// each answered in `latency(current)`; returns the limit after each burst.
fn run(
    control: &mut Control,
    rounds: usize,
    kind: u64,
    latency: impl Fn(usize) -> Duration,
) -> Vec<usize> {
    if !control.is_measured(kind) {
        measure(control, kind, latency(1));
    }
    (0..rounds)
        .map(|_| {
            let in_flight = control.current();
            for ticket in send(control, kind, in_flight) {
                control.observe(success(kind, latency(in_flight)), ticket);
            }
            control.current()
        })
        .collect()
}

/// A server with `cores` cores that spends `service` of CPU on each answer: beyond `cores`
/// requests at once, the others queue and latency grows with the number in flight.
fn cpu_bound(service: Duration, cores: usize) -> impl Fn(usize) -> Duration {
    move |in_flight| service * (in_flight.max(cores) as u32) / cores as u32
}

#[test]
fn flat_latency_grows_fourfold_from_one_up_to_the_maximum() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    assert_eq!(control.current(), 1);
    // The lone first request is slow start's round at one.
    measure(&mut control, INVITE, 20 * MS);
    assert_eq!(control.current(), 4);
    assert_eq!(run(&mut control, 4, INVITE, |_| 20 * MS), [16, 32, 32, 32]);
    let mut small = Control::new(8, LimitMode::Adaptive);
    assert_eq!(run(&mut small, 3, INVITE, |_| 20 * MS), [8, 8, 8]);
    for max in [1, 2, 3] {
        let mut capped = Control::new(max, LimitMode::Adaptive);
        measure(&mut capped, INVITE, 20 * MS);
        assert_eq!(capped.current(), max, "the first step is capped too");
        assert_eq!(run(&mut capped, 2, INVITE, |_| 20 * MS), [max, max]);
    }
}

#[test]
fn latency_that_wavers_within_the_flat_band_still_reaches_the_maximum() {
    // A remote server 20 ms away on a busy client: answers take 20–24 ms.
    let mut control = Control::new(32, LimitMode::Adaptive);
    let seen = run(&mut control, 12, UPDATE, |in_flight| {
        (20 + (in_flight % 5) as u32) * MS
    });
    assert_eq!(seen.last(), Some(&32), "limits {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "limits {seen:?}");
}

#[test]
fn refusals_halve_the_limit_down_to_one() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    run(&mut control, 6, INVITE, |_| 20 * MS);
    assert_eq!(control.current(), 32);
    let seen: Vec<usize> = (0..7)
        .map(|_| {
            let ticket = send(&mut control, INVITE, 1)[0];
            control.observe(Signal::Refused, ticket);
            control.current()
        })
        .collect();
    assert_eq!(seen, [16, 8, 4, 2, 1, 1, 1]);
}

#[test]
fn a_burst_of_refusals_halves_once() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    run(&mut control, 6, INVITE, |_| 20 * MS);
    // 32 requests were in flight at 32 and the server refused them all: one cut answers
    // them, and a refusal of a request sent after it cuts again.
    for ticket in send(&mut control, INVITE, 32) {
        control.observe(Signal::Refused, ticket);
    }
    assert_eq!(control.current(), 16);
    let after_the_cut = send(&mut control, INVITE, 1)[0];
    control.observe(Signal::Refused, after_the_cut);
    assert_eq!(control.current(), 8);
}

#[test]
fn after_a_refusal_it_grows_by_a_quarter_per_round() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    run(&mut control, 6, INVITE, |_| 20 * MS);
    let refused = send(&mut control, INVITE, 1)[0];
    control.observe(Signal::Refused, refused);
    assert_eq!(control.current(), 16);
    assert_eq!(
        run(&mut control, 5, INVITE, |_| 20 * MS),
        [20, 25, 31, 32, 32]
    );
    let mut small = Control::new(8, LimitMode::Adaptive);
    run(&mut small, 4, INVITE, |_| 20 * MS);
    let refused = send(&mut small, INVITE, 1)[0];
    small.observe(Signal::Refused, refused);
    assert_eq!(small.current(), 4);
    assert_eq!(run(&mut small, 5, INVITE, |_| 20 * MS), [5, 6, 7, 8, 8]);
}

/// The goal of issue 16: on a CPU-bound server the controller does not drive latency past
/// twice its uncontended value, yet keeps every core busy.
#[test]
fn a_cpu_bound_server_is_kept_busy_without_doubling_its_latency() {
    let service = 100 * MS;
    for cores in [1, 2, 4, 8] {
        let latency = cpu_bound(service, cores);
        let mut control = Control::new(32, LimitMode::Adaptive);
        let seen = run(&mut control, 60, INVITE, &latency);
        let settled = &seen[20..];
        assert!(
            settled.iter().all(|&limit| limit >= cores),
            "{cores} cores: an idle core, limits {seen:?}"
        );
        let worst = settled
            .iter()
            .map(|&l| latency(l))
            .max()
            .unwrap_or_default();
        assert!(
            worst <= service * 2,
            "{cores} cores: latency {worst:?} with limits {seen:?}"
        );
    }
}

/// A server that is already at capacity with one request (one core, or a busy machine):
/// trying two again and again would put every other round past twice the uncontended time.
/// Each try that climbs doubles the wait before the next, so few answers are slow.
#[test]
fn probing_a_server_at_capacity_backs_off() {
    let service = 100 * MS;
    let latency = cpu_bound(service, 1);
    let mut control = Control::new(32, LimitMode::Adaptive);
    measure(&mut control, INVITE, service);
    let mut answers = 0;
    let mut slow = 0;
    let mut probes = Vec::new();
    let mut before = 1;
    for round in 0..2000 {
        let in_flight = control.current();
        if in_flight > 1 && before == 1 {
            probes.push(round);
        }
        before = in_flight;
        for ticket in send(&mut control, INVITE, in_flight) {
            answers += 1;
            if latency(in_flight) > service * 3 / 2 {
                slow += 1;
            }
            control.observe(success(INVITE, latency(in_flight)), ticket);
        }
    }
    assert!(
        slow * 100 <= answers * 2,
        "{slow} of {answers} answers slow; tried more than one at rounds {probes:?}"
    );
    let gaps: Vec<usize> = probes.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.windows(2).all(|w| w[1] > w[0] * 3 / 2),
        "waits between tries {gaps:?}"
    );
}

#[test]
fn a_ceiling_is_lifted_once_the_server_sustains_it() {
    let service = 100 * MS;
    let mut control = Control::new(32, LimitMode::Adaptive);
    run(&mut control, 40, INVITE, cpu_bound(service, 2));
    let held = control.current();
    assert!(held <= 4, "held at {held}");
    // The server is no longer busy (other load went away): after the wait below the
    // ceiling, the limit grows past it to the maximum.
    let seen = run(&mut control, 60, INVITE, |_| service);
    assert_eq!(seen.last(), Some(&32), "limits {seen:?}");
}

/// An invite costs the server a password hash, the update after it almost nothing: each is
/// judged against its own uncontended time, so the cheap update's fast answer does not make
/// every invite look slow.
#[test]
fn each_kind_of_request_is_judged_against_its_own_uncontended_time() {
    let service = 100 * MS;
    let invite_latency = cpu_bound(service, 2);
    let mut control = Control::new(32, LimitMode::Adaptive);
    measure(&mut control, INVITE, service);
    measure(&mut control, UPDATE, 3 * MS);
    let mut seen = Vec::new();
    for _ in 0..60 {
        let in_flight = control.current();
        let kinds: Vec<u64> = (0..in_flight)
            .map(|n| if n % 2 == 0 { INVITE } else { UPDATE })
            .collect();
        let tickets: Vec<Ticket> = kinds
            .iter()
            .enumerate()
            .map(|(n, &kind)| control.admit(kind, n, 0).expect("admitted"))
            .collect();
        for (kind, ticket) in kinds.into_iter().zip(tickets) {
            let latency = if kind == INVITE {
                invite_latency(in_flight)
            } else {
                3 * MS
            };
            control.observe(success(kind, latency), ticket);
        }
        seen.push(control.current());
    }
    let settled = &seen[20..];
    assert!(
        settled.iter().all(|&limit| (2..=4).contains(&limit)),
        "limits {seen:?}"
    );
}

/// On a server with four cores, four requests in flight answer as fast as one. A request
/// sent at four that is answered after the raise to sixteen shows the load at four: were it
/// counted, the round at sixteen would look partly flat where the server has queued.
#[test]
fn answers_to_requests_sent_before_a_raise_are_not_judged() {
    let (alone, queued) = (100 * MS, 400 * MS);
    let mut control = Control::new(32, LimitMode::Adaptive);
    measure(&mut control, INVITE, alone);
    assert_eq!(control.current(), 4);
    let mut at_4 = send(&mut control, INVITE, 4);
    control.observe(success(INVITE, alone), at_4.remove(0));
    // Sent in the place of the first, still under the limit of four.
    let sent_at_4 = control.admit(INVITE, 3, 0).expect("at four");
    for ticket in at_4 {
        control.observe(success(INVITE, alone), ticket);
    }
    assert_eq!(control.current(), 16);
    let mut at_16: Vec<Ticket> = (1..16)
        .map(|n| control.admit(INVITE, n, 0).expect("at sixteen"))
        .collect();
    control.observe(success(INVITE, alone), sent_at_4);
    at_16.push(control.admit(INVITE, 15, 0).expect("at sixteen"));
    let last = at_16.pop().expect("sixteen");
    for ticket in at_16 {
        control.observe(success(INVITE, queued), ticket);
    }
    assert_eq!(
        control.current(),
        16,
        "the round at sixteen lacks one answer: the one sent at four is not in it"
    );
    control.observe(success(INVITE, queued), last);
    assert_eq!(
        control.current(),
        5,
        "sixteen in flight queue on four cores"
    );
}

/// The first answers of a round are the requests that found the server idle; those queued
/// behind them answer last. Judged by its first answers (here two fast ones, and two fast
/// answers to requests sent after it), the round at four would look flat and grow.
#[test]
fn a_round_is_judged_once_every_request_of_it_is_answered() {
    let (alone, queued) = (100 * MS, 250 * MS);
    let mut control = Control::new(32, LimitMode::Adaptive);
    measure(&mut control, INVITE, alone);
    assert_eq!(control.current(), 4);
    let round = send(&mut control, INVITE, 4);
    control.observe(success(INVITE, alone), round[0]);
    control.observe(success(INVITE, alone), round[1]);
    for ticket in send(&mut control, INVITE, 2) {
        control.observe(success(INVITE, alone), ticket);
    }
    assert_eq!(control.current(), 4, "the round is not complete");
    control.observe(success(INVITE, queued), round[2]);
    control.observe(success(INVITE, queued), round[3]);
    assert_eq!(control.current(), 2, "its last answers climbed");
}

/// A round's requests that end without an answer (dropped: Ctrl-C, a cancelled sibling) do
/// not leave it waiting for ever.
#[test]
fn a_round_is_judged_without_its_forgotten_requests() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    measure(&mut control, INVITE, 20 * MS);
    let round = send(&mut control, INVITE, 4);
    for &ticket in &round[..3] {
        control.observe(success(INVITE, 20 * MS), ticket);
    }
    assert_eq!(control.current(), 4);
    control.forget(INVITE, round[3]);
    assert_eq!(control.current(), 16);
}

#[test]
fn climbing_latency_cuts_once_per_burst_and_flat_latency_grows_back() {
    let (flat, slow) = (200 * MS, 400 * MS);
    let mut control = Control::new(32, LimitMode::Adaptive);
    run(&mut control, 6, UPDATE, |_| flat);
    assert_eq!(control.current(), 32);
    // The server slows down to twice its uncontended time: cut to where it would be flat.
    // Each answer of the burst at 32 lets another request go, still at 32.
    let burst = send(&mut control, UPDATE, 32);
    let mut sent_at_32 = Vec::new();
    for ticket in burst {
        control.observe(success(UPDATE, slow), ticket);
        sent_at_32.extend(control.admit(UPDATE, 31, 0));
    }
    assert_eq!(control.current(), 20);
    // The rest of the burst that was in flight when it was cut is not judged again.
    for ticket in sent_at_32 {
        control.observe(success(UPDATE, slow), ticket);
    }
    assert_eq!(control.current(), 20);
    // A round sent at the new limit that is still slow cuts again.
    for ticket in send(&mut control, UPDATE, 20) {
        control.observe(success(UPDATE, slow), ticket);
    }
    assert_eq!(control.current(), 12);
    // Between flat and climbing: hold.
    assert_eq!(run(&mut control, 3, UPDATE, |_| 300 * MS), [12, 12, 12]);
    // Flat again: grow by a quarter, up to just below 20, where latency last climbed; try
    // 20 after eight flat rounds there, and once 20 is flat, grow on to the maximum.
    assert_eq!(
        run(&mut control, 15, UPDATE, |_| flat),
        [15, 18, 19, 19, 19, 19, 19, 19, 19, 19, 20, 25, 31, 32, 32]
    );
}

#[test]
fn a_fixed_limit_starts_at_the_maximum_ignores_latency_and_yields_to_refusals() {
    let mut control = Control::new(16, LimitMode::Fixed);
    assert_eq!(control.current(), 16);
    assert_eq!(
        run(&mut control, 4, INVITE, cpu_bound(100 * MS, 1)),
        [16, 16, 16, 16]
    );
    let refused = send(&mut control, INVITE, 1)[0];
    control.observe(Signal::Refused, refused);
    assert_eq!(control.current(), 8);
    assert_eq!(run(&mut control, 3, INVITE, |_| 20 * MS), [9, 10, 11]);
}

#[test]
fn signals_come_from_statuses() {
    assert_eq!(
        Signal::of(answered(200, false), INVITE, MS),
        success(INVITE, MS)
    );
    assert_eq!(
        Signal::of(answered(429, false), INVITE, MS),
        Signal::Refused
    );
    assert_eq!(
        Signal::of(answered(503, false), INVITE, MS),
        Signal::Refused
    );
    assert_eq!(
        Signal::of(answered(500, false), INVITE, MS),
        Signal::Refused
    );
    // A mail limit is not cured by sending fewer requests: the caller stops invites.
    assert_eq!(Signal::of(answered(429, true), INVITE, MS), Signal::Neutral);
    assert_eq!(
        Signal::of(answered(422, false), INVITE, MS),
        Signal::Neutral
    );
    assert_eq!(Signal::of(Attempt::Lost, INVITE, MS), Signal::Neutral);
}

#[test]
fn the_first_request_of_each_kind_goes_alone_and_is_not_judged() {
    let mut control = Control::new(8, LimitMode::Adaptive);
    run(&mut control, 1, UPDATE, |_| 20 * MS);
    assert_eq!(control.current(), 8);
    // An invite, never measured: not while requests are in flight, and known kinds wait
    // while it waits.
    assert!(control.admit(INVITE, 3, 1).is_none());
    assert!(control.admit(UPDATE, 3, 1).is_none());
    let alone = control.admit(INVITE, 0, 1).expect("alone");
    // While it is measured, nothing else goes.
    assert!(control.admit(UPDATE, 1, 0).is_none());
    assert!(control.admit(INVITE, 1, 0).is_none());
    control.observe(success(INVITE, 100 * MS), alone);
    assert!(control.is_measured(INVITE));
    assert_eq!(control.current(), 8, "the lone answer is not judged");
    let mut eight = send(&mut control, INVITE, 7);
    eight.extend(control.admit(INVITE, 7, 0));
    assert!(control.admit(INVITE, 8, 0).is_none());
    // Invites are judged against the time measured alone: eight at once, each 200 ms, cut.
    for ticket in eight {
        control.observe(success(INVITE, 200 * MS), ticket);
    }
    assert_eq!(control.current(), 5);
}

#[test]
fn a_refusal_alone_ends_slow_start() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    let alone = control.admit(INVITE, 0, 1).expect("alone");
    control.observe(Signal::Refused, alone);
    measure(&mut control, INVITE, 20 * MS);
    assert_eq!(control.current(), 1, "no fourfold step after a refusal");
    // Past slow start a round is four answers, and a flat one adds a quarter (at least one).
    assert_eq!(run(&mut control, 4, INVITE, |_| 20 * MS), [1, 1, 1, 2]);
}

#[test]
fn a_failed_measurement_is_taken_again() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    let alone = control.admit(INVITE, 0, 1).expect("alone");
    control.observe(Signal::Neutral, alone);
    assert!(!control.is_measured(INVITE));
    assert_eq!(control.current(), 1, "a failure alone is no flat round");
    let again = control.admit(INVITE, 0, 1).expect("alone again");
    control.observe(success(INVITE, 100 * MS), again);
    assert!(control.is_measured(INVITE));
    assert_eq!(
        control.current(),
        4,
        "the first success alone is slow start's round at one"
    );
}

#[test]
fn a_kind_that_keeps_failing_alone_stops_going_alone() {
    let mut control = Control::new(8, LimitMode::Adaptive);
    run(&mut control, 1, UPDATE, |_| 20 * MS);
    assert_eq!(control.current(), 8);
    // Every invite fails (the mail limit, taken addresses): after a few lone tries the
    // invites go with the updates instead of holding everything to one at a time.
    for _ in 0..MEASURING_TRIES {
        assert!(!control.is_measured(INVITE));
        let alone = control.admit(INVITE, 0, 1).expect("alone");
        control.observe(Signal::Neutral, alone);
    }
    assert!(control.is_measured(INVITE));
    let invite = control.admit(INVITE, 6, 0).expect("with the others");
    assert!(control.admit(UPDATE, 7, 0).is_some());
    assert!(control.admit(INVITE, 8, 0).is_none());
    // A later success sets the kind's time, judged with the rest.
    control.observe(success(INVITE, 100 * MS), invite);
    assert_eq!(control.current(), 8);
}

#[test]
fn a_forgotten_measurement_lets_the_others_go() {
    let mut control = Control::new(32, LimitMode::Adaptive);
    run(&mut control, 3, UPDATE, |_| 20 * MS);
    let alone = control.admit(INVITE, 0, 1).expect("alone");
    assert!(
        control.admit(UPDATE, 0, 0).is_none(),
        "held while the invite is measured"
    );
    control.forget(INVITE, alone);
    assert!(control.admit(UPDATE, 0, 0).is_some());
    assert!(
        !control.is_measured(INVITE),
        "the next invite is measured instead"
    );
}

#[tokio::test]
async fn a_measuring_request_dropped_before_its_answer_does_not_block_the_gate() {
    let limit = AdaptiveLimit::new(4, LimitMode::Adaptive);
    let measuring = limit.acquire(INVITE).await;
    drop(measuring);
    let next = tokio::time::timeout(Duration::from_millis(500), limit.acquire(INVITE)).await;
    assert!(next.is_ok(), "the gate is open again");
}

#[test]
fn a_fixed_limit_measures_nothing_alone() {
    let mut control = Control::new(4, LimitMode::Fixed);
    assert!(control.admit(INVITE, 3, 1).is_some());
    assert!(control.admit(INVITE, 4, 1).is_none());
}

#[tokio::test]
async fn the_gate_admits_no_more_than_the_limit() {
    let wait = Duration::from_millis(50);
    let limit = AdaptiveLimit::new(4, LimitMode::Adaptive);
    // An unmeasured kind goes alone: a second request waits for the first's answer.
    let first = limit.acquire(INVITE).await;
    let second = tokio::time::timeout(wait, limit.acquire(INVITE)).await;
    assert!(
        second.is_err(),
        "a second request waits while one is measured"
    );
    first.record(answered(200, false), 20 * MS);
    // Measured, the kind goes up to the limit, four after a flat first answer.
    assert_eq!(limit.current(), 4);
    let mut four = Vec::new();
    for _ in 0..4 {
        four.push(limit.acquire(INVITE).await);
    }
    let fifth = tokio::time::timeout(wait, limit.acquire(INVITE)).await;
    assert!(
        fifth.is_err(),
        "a fifth request waits while four are in flight"
    );
    drop(four.pop());
    let fifth = tokio::time::timeout(Duration::from_millis(500), limit.acquire(INVITE)).await;
    assert!(fifth.is_ok(), "and goes once one of them finishes");
}

#[tokio::test]
async fn known_kinds_wait_while_an_unmeasured_kind_waits_to_go_alone() {
    let limit = AdaptiveLimit::new(4, LimitMode::Adaptive);
    // Measure updates: then up to four in flight.
    let measured = limit.acquire(UPDATE).await;
    measured.record(answered(200, false), 20 * MS);
    assert_eq!(limit.current(), 4);
    let update = limit.acquire(UPDATE).await;
    // An invite (unmeasured) waits for the update in flight; a second update waits too,
    // though the limit has room, so that the invite's turn comes.
    let (invite, second_update) = tokio::join!(
        tokio::time::timeout(Duration::from_millis(100), limit.acquire(INVITE)),
        async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            tokio::time::timeout(Duration::from_millis(50), limit.acquire(UPDATE)).await
        }
    );
    assert!(invite.is_err(), "the invite waits for the update in flight");
    assert!(
        second_update.is_err(),
        "a known kind waits behind the unmeasured one"
    );
    drop(update);
    // Nothing in flight: the invite goes alone.
    let invite = tokio::time::timeout(Duration::from_millis(500), limit.acquire(INVITE)).await;
    assert!(invite.is_ok());
}

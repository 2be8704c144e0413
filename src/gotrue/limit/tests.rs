use super::*;

const MS: Duration = Duration::from_millis(1);

fn answered(status: u16, mail_limit: bool) -> Attempt {
    Attempt::Answered {
        status,
        retry_after: None,
        mail_limit,
    }
}

/// Feeds `rounds` rounds of `current` successes, each taking `latency(current)`.
fn run(control: &mut Control, rounds: usize, latency: impl Fn(usize) -> Duration) -> Vec<usize> {
    let mut seen = Vec::new();
    for _ in 0..rounds {
        let in_flight = control.current();
        for _ in 0..in_flight {
            control.observe(Signal::Success(latency(in_flight)));
        }
        seen.push(control.current());
    }
    seen
}

#[test]
fn refusals_halve_the_limit_down_to_one() {
    let mut control = Control::new(32);
    run(&mut control, 10, |_| 20 * MS);
    assert_eq!(control.current(), 32);
    let seen: Vec<usize> = (0..7)
        .map(|_| {
            control.observe(Signal::Refused);
            control.current()
        })
        .collect();
    assert_eq!(seen, [16, 8, 4, 2, 1, 1, 1]);
}

#[test]
fn flat_latency_doubles_up_to_the_maximum() {
    let mut control = Control::new(32);
    assert_eq!(control.current(), INITIAL_LIMIT);
    assert_eq!(run(&mut control, 7, |_| 20 * MS), [2, 4, 8, 16, 32, 32, 32]);
}

#[test]
fn after_a_refusal_it_grows_by_one_per_round() {
    let mut control = Control::new(8);
    run(&mut control, 4, |_| 20 * MS);
    assert_eq!(control.current(), 8);
    control.observe(Signal::Refused);
    assert_eq!(control.current(), 4);
    assert_eq!(run(&mut control, 6, |_| 20 * MS), [5, 6, 7, 8, 8, 8]);
}

/// A CPU-bound server (e.g. bcrypt on 2 cores): answers take `base × in_flight / 2` beyond
/// two at once. The controller settles where latency stays within twice the uncontended
/// level instead of driving it up with the maximum.
#[test]
fn climbing_latency_holds_the_limit_near_what_the_server_sustains() {
    let base = 100 * MS;
    let cores = 2usize;
    let latency = |in_flight: usize| base * (in_flight.max(cores) as u32) / cores as u32;
    let mut control = Control::new(32);
    let seen = run(&mut control, 60, latency);
    let settled = &seen[20..];
    assert!(
        settled
            .iter()
            .all(|&limit| (cores..=2 * cores + 1).contains(&limit)),
        "limits {seen:?}"
    );
    // Each round runs at the limit set by the previous one: it probes one past the 2× goal
    // and steps back, so the mean stays at the goal and no round exceeds it by more than one
    // request's share.
    let latencies: Vec<Duration> = settled.iter().map(|&l| latency(l)).collect();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    assert!(mean <= base * 21 / 10, "mean {mean:?} with limits {seen:?}");
    let worst = latencies.iter().max().copied().unwrap_or_default();
    assert!(
        worst <= base * 5 / 2,
        "worst {worst:?} with limits {seen:?}"
    );
}

#[test]
fn signals_come_from_statuses() {
    assert_eq!(Signal::of(answered(200, false), MS), Signal::Success(MS));
    assert_eq!(Signal::of(answered(429, false), MS), Signal::Refused);
    assert_eq!(Signal::of(answered(503, false), MS), Signal::Refused);
    assert_eq!(Signal::of(answered(500, false), MS), Signal::Refused);
    // A mail limit is not cured by sending fewer requests: the caller stops invites.
    assert_eq!(Signal::of(answered(429, true), MS), Signal::Neutral);
    assert_eq!(Signal::of(answered(422, false), MS), Signal::Neutral);
    assert_eq!(Signal::of(Attempt::Lost, MS), Signal::Neutral);
}

#[tokio::test]
async fn the_gate_admits_no_more_than_the_limit() {
    // The gate starts at one request in flight.
    let limit = AdaptiveLimit::new(2);
    let first = limit.acquire().await;
    let second = tokio::time::timeout(Duration::from_millis(50), limit.acquire()).await;
    assert!(
        second.is_err(),
        "a second request waits while one is in flight"
    );
    drop(first);
    let second = tokio::time::timeout(Duration::from_millis(500), limit.acquire()).await;
    assert!(second.is_ok(), "and goes once it finishes");
}

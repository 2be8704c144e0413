//! Scale benchmarks: `cargo bench --bench scale [-- [--quick] [--huge] [GROUP…]]`.
//!
//! Every scenario runs the release `gotrue-sync` binary end to end, as a user would: the
//! manifest is a YAML file on disk, the server is the release `gotrue-sync emulator` in its
//! own process on 127.0.0.1. Beside each run, in the same process and against the same files
//! and server, the benchmark measures the scenario's floor: what the work costs with nothing
//! of ours in between (the YAML parser's events over the file; every listing page fetched
//! and parsed as plain JSON; for an apply, the rounds of requests its latency forces).
//!
//! Requests are counted from the binary's own debug log (`-vv` logs each request it sends,
//! retries included, and the `GET /settings` that tells the server's flavour). Peak RSS is the binary's, from the kernel (`getrusage` of the waited
//! child; the emulator is still running then, so it is not included).
//!
//! Groups: `validate`, `plan` (the growth table: 1k, 10k, 100k users; 1M with `--huge`),
//! `latency` (plan at 20 ms per request and parallelism 1, 8, 32), `apply` (invites at 20 ms).
//! `--quick` uses small sizes, for a smoke run of the harness. The table goes to stdout.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const TOKEN: &str = "bench-operator-token";
const NAME: &str = "bench";
const PAGE: usize = 1000;
const BINARY: &str = env!("CARGO_BIN_EXE_gotrue-sync");

struct Emulator {
    child: Child,
    url: String,
    _seed: tempfile::NamedTempFile,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn email(i: usize) -> String {
    format!("user{i:07}@example.com")
}

fn seeded_user(i: usize) -> serde_json::Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"),
        "aud": "", "role": "", "email": email(i),
        "confirmed_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "app_metadata": {"provider": "email", "roles": ["member"], "managed_by": format!("gotrue-sync:{NAME}")},
        "user_metadata": {"full_name": format!("User {i}")}
    })
}

fn start_emulator(users: usize, latency: &str) -> Emulator {
    let mut seed = tempfile::NamedTempFile::new().expect("seed file");
    let mut out = std::io::BufWriter::new(seed.as_file_mut());
    out.write_all(b"{\"users\":[").expect("write seed");
    for i in 0..users {
        if i > 0 {
            out.write_all(b",").expect("write seed");
        }
        serde_json::to_writer(&mut out, &seeded_user(i)).expect("write seed");
    }
    out.write_all(b"]}").expect("write seed");
    out.flush().expect("flush");
    drop(out);
    let port = free_port();
    let child = Command::new(BINARY)
        .args([
            "emulator",
            "--port",
            &port.to_string(),
            "--operator-token",
            TOKEN,
            "--latency",
            latency,
            "--seed",
        ])
        .arg(seed.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the emulator did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Emulator {
        child,
        url,
        _seed: seed,
    }
}

/// A manifest of `users` users as the emulator holds them (roles and metadata: a plan finds
/// nothing to change), plus `invites` new users, written the way a person would write it.
fn write_manifest(dir: &Path, users: usize, invites: usize) -> PathBuf {
    let path = dir.join("users.yaml");
    let file = std::fs::File::create(&path).expect("manifest file");
    let mut out = std::io::BufWriter::new(file);
    write!(
        out,
        "version: 1\nname: {NAME}\npolicy:\n  max_deletes: 0\nusers:\n"
    )
    .expect("write");
    for i in 0..users {
        write!(
            out,
            "  - email: {}\n    roles: [member]\n    user_metadata:\n      full_name: User {i}\n",
            email(i)
        )
        .expect("write");
    }
    for i in 0..invites {
        writeln!(out, "  - email: new{i:07}@example.com").expect("write");
    }
    out.flush().expect("flush");
    path
}

/// What one run of the binary cost.
struct Run {
    wall: Duration,
    requests: u64,
    peak_rss: u64,
}

/// Runs the release binary with `args`, timing it and counting the requests it logs.
fn run_binary(args: &[&str], url: Option<&str>) -> Run {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .arg("-vv")
        .env("GOTRUE_ADMIN_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = url {
        command.env("GOTRUE_URL", url);
    }
    let started = Instant::now();
    let output = command.output().expect("run gotrue-sync");
    let wall = started.elapsed();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "gotrue-sync {args:?} failed: {}",
        log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    Run {
        wall,
        requests: log.lines().filter(|l| l.contains(" sending")).count() as u64,
        peak_rss: children_peak_rss(),
    }
}

/// The largest peak resident set of the children waited for so far, in bytes.
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
}

/// The loading floor: the file read and every parser event pulled, nothing built.
fn parse_floor(path: &Path) -> Duration {
    let started = Instant::now();
    let text = std::fs::read_to_string(path).expect("read the manifest");
    let mut events = 0usize;
    for event in granit_parser::Parser::new_from_str(&text) {
        event.expect("valid YAML");
        events += 1;
    }
    assert!(events > 0);
    started.elapsed()
}

/// The listing floor: every page fetched one after another and parsed as plain JSON.
fn listing_floor(runtime: &tokio::runtime::Runtime, url: &str, users: usize) -> Duration {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let listed = runtime.block_on(async {
        let mut listed = 0;
        for page in 1..=pages(users) {
            let url = format!("{url}/admin/users?per_page={PAGE}&page={page}");
            let response = http.get(url).bearer_auth(TOKEN).send().await.expect("page");
            let body = response.bytes().await.expect("body");
            let page: serde_json::Value = serde_json::from_slice(&body).expect("json");
            listed += page["users"].as_array().map_or(0, Vec::len);
        }
        listed
    });
    assert_eq!(listed, users, "every user listed once");
    started.elapsed()
}

fn pages(users: usize) -> usize {
    users.div_ceil(PAGE).max(1)
}

struct Row {
    scenario: String,
    users: usize,
    changes: usize,
    run: Run,
    floor: Option<Duration>,
    minimum: u64,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn validate_scenario(users: usize) -> Row {
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write_manifest(dir.path(), users, 0);
    let file = manifest.to_str().expect("UTF-8 path");
    let run = run_binary(&["validate", "-f", file], None);
    Row {
        scenario: "validate".into(),
        users,
        changes: 0,
        run,
        floor: Some(parse_floor(&manifest)),
        minimum: 0,
    }
}

fn plan_scenario(users: usize, latency: &str, parallelism: usize) -> Row {
    let emulator = start_emulator(users, latency);
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write_manifest(dir.path(), users, 0);
    let file = manifest.to_str().expect("UTF-8 path");
    let parallelism = parallelism.to_string();
    let run = run_binary(
        &[
            "plan",
            "-f",
            file,
            "--parallelism",
            &parallelism,
            "--detailed-exitcode",
        ],
        Some(&emulator.url),
    );
    let floor = parse_floor(&manifest) + listing_floor(&runtime(), &emulator.url, users);
    Row {
        scenario: format!("plan, no changes, latency {latency}, parallelism {parallelism}"),
        users,
        changes: 0,
        run,
        floor: Some(floor),
        // The listing pages, and the `GET /settings` that tells the server's flavour.
        minimum: pages(users) as u64 + 1,
    }
}

fn apply_scenario(invites: usize, latency: &str, parallelism: usize) -> Row {
    let emulator = start_emulator(0, latency);
    let dir = tempfile::tempdir().expect("dir");
    let manifest = write_manifest(dir.path(), 0, invites);
    let file = manifest.to_str().expect("UTF-8 path");
    let parallelism_text = parallelism.to_string();
    let run = run_binary(
        &[
            "apply",
            "-f",
            file,
            "--auto-approve",
            "--parallelism",
            &parallelism_text,
        ],
        Some(&emulator.url),
    );
    // The latency bound: the listing, then rounds of `parallelism` invites, each an invite
    // and its app-metadata write one after the other.
    let latency_ms: u64 = latency
        .trim_end_matches("ms")
        .parse()
        .expect("latency in ms");
    let rounds = invites.div_ceil(parallelism) as u64;
    let floor = Duration::from_millis(latency_ms * (1 + 2 * rounds));
    Row {
        scenario: format!("apply {invites} invites, latency {latency}, parallelism {parallelism}"),
        users: 0,
        changes: invites,
        run,
        floor: Some(floor),
        // The flavour's `GET /settings`, the plan's listing, the same again right before
        // applying (the preconditions), then an invite and the app-metadata PUT per user.
        minimum: 3 + 2 * invites as u64,
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    Validate {
        users: usize,
    },
    Plan {
        users: usize,
        latency: &'static str,
        parallelism: usize,
    },
    Apply {
        invites: usize,
        latency: &'static str,
        parallelism: usize,
    },
}

fn scenarios(quick: bool, huge: bool, wanted: impl Fn(&str) -> bool) -> Vec<Scenario> {
    let mut sizes = if quick {
        vec![1_000, 10_000]
    } else {
        vec![1_000, 10_000, 100_000]
    };
    if huge {
        sizes.push(1_000_000);
    }
    let mut all = Vec::new();
    if wanted("validate") {
        all.extend(sizes.iter().map(|&users| Scenario::Validate { users }));
    }
    if wanted("plan") {
        all.extend(sizes.iter().map(|&users| Scenario::Plan {
            users,
            latency: "0ms",
            parallelism: 8,
        }));
    }
    if wanted("latency") {
        let users = if quick { 10_000 } else { 100_000 };
        for parallelism in [1, 8, 32] {
            all.push(Scenario::Plan {
                users,
                latency: "20ms",
                parallelism,
            });
        }
    }
    if wanted("apply") {
        let invites = if quick { 50 } else { 1_000 };
        for parallelism in [1, 8, 32] {
            all.push(Scenario::Apply {
                invites,
                latency: "20ms",
                parallelism,
            });
        }
    }
    all
}

fn run(scenario: Scenario) -> Row {
    match scenario {
        Scenario::Validate { users } => validate_scenario(users),
        Scenario::Plan {
            users,
            latency,
            parallelism,
        } => plan_scenario(users, latency, parallelism),
        Scenario::Apply {
            invites,
            latency,
            parallelism,
        } => apply_scenario(invites, latency, parallelism),
    }
}

/// Each scenario runs in a fresh child process of this benchmark (`--scenario N`), so that
/// the children whose peak memory it reports are that scenario's alone.
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let quick = args.iter().any(|a| a == "--quick");
    let huge = args.iter().any(|a| a == "--huge");
    let groups: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .map(String::as_str)
        .collect();
    let all = scenarios(quick, huge, |group| {
        groups.is_empty() || groups.contains(&group)
    });
    if let Some(position) = args.iter().position(|a| a == "--scenario") {
        let index: usize = args[position + 1].parse().expect("scenario index");
        let row = run(all[index]);
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.scenario,
            row.users,
            row.changes,
            row.run.wall.as_secs_f64(),
            row.floor.map_or(0.0, |f| f.as_secs_f64()),
            row.run.requests,
            row.minimum,
            row.run.peak_rss,
        );
        return;
    }

    let me = std::env::current_exe().expect("the benchmark's own path");
    println!("| scenario | users | changes | wall | floor | wall / floor | requests | minimum | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for index in 0..all.len() {
        let output = Command::new(&me)
            .args(&args)
            .args(["--scenario", &index.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("run a scenario");
        assert!(output.status.success(), "scenario {index} failed");
        let line = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = line.trim_end().split('\t').collect();
        let number = |i: usize| fields[i].parse::<f64>().expect("a number");
        let (wall, floor) = (number(3), number(4));
        let ratio = if floor == 0.0 {
            "-".to_owned()
        } else {
            format!("{:.2}", wall / floor)
        };
        let requests = if fields[0] == "validate" {
            "-".to_owned()
        } else {
            fields[5].to_owned()
        };
        let minimum = if fields[0] == "validate" {
            "-".to_owned()
        } else {
            fields[6].to_owned()
        };
        println!(
            "| {} | {} | {} | {wall:.3} s | {floor:.3} s | {ratio} | {requests} | {minimum} | {:.0} MB |",
            fields[0],
            fields[1],
            fields[2],
            number(7) / 1e6
        );
    }
}

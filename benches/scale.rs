//! Scale benchmarks: `cargo bench --bench scale`.
//!
//! The emulator runs as a child process (the release `gotrue-sync emulator`), so the figures
//! for memory are the client's own: this process counts its live heap bytes with a wrapping
//! allocator and reports the peak of each scenario, beside the kernel's peak resident set
//! size (reset before each scenario). Requests are counted by the client.
//! The table goes to stdout; BENCHMARKS.md records it with the machine and the date.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gotrue_sync::apply::{execute, ApplyOptions};
use gotrue_sync::gotrue::{AdminClient, AdminCredentials, ClientOptions, RemoteUser};
use gotrue_sync::manifest::{Manifest, Policy, UserSpec};
use gotrue_sync::plan::{plan, server_fingerprint};
use gotrue_sync::secret::Secret;
use serde_json::json;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TOKEN: &str = "bench-operator-token";
const NAME: &str = "bench";
const PAGE: u32 = 1000;

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

fn seeded_user(i: usize) -> serde_json::Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"),
        "aud": "", "role": "", "email": format!("user{i:06}@example.com"),
        "confirmed_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "app_metadata": {"provider": "email", "roles": ["member"], "managed_by": format!("gotrue-sync:{NAME}")},
        "user_metadata": {"full_name": format!("User {i}")}
    })
}

fn start_emulator(users: usize, latency: &str) -> Emulator {
    let mut seed = tempfile::NamedTempFile::new().expect("seed file");
    // Streamed user by user: building the whole document first would leave this process's
    // allocator holding pages that then count towards every peak RSS figure.
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
    let child = Command::new(env!("CARGO_BIN_EXE_gotrue-sync"))
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
    let deadline = Instant::now() + Duration::from_secs(60);
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

fn client(url: &str, parallelism: usize) -> AdminClient {
    let options = ClientOptions {
        page_size: PAGE,
        list_parallelism: parallelism,
        ..ClientOptions::default()
    };
    AdminClient::new(url, AdminCredentials::Token(Secret::new(TOKEN)), options).expect("client")
}

fn manifest(users: usize, extra_invites: usize) -> Manifest {
    let mut specs: Vec<UserSpec> = (0..users)
        .map(|i| {
            let mut spec = UserSpec::new(format!("user{i:06}@example.com"));
            spec.roles = Some(vec!["member".into()]);
            spec
        })
        .collect();
    specs.extend((0..extra_invites).map(|i| UserSpec::new(format!("new{i:06}@example.com"))));
    Manifest {
        version: 1,
        name: NAME.into(),
        policy: Policy {
            max_deletes: 0,
            ..Policy::default()
        },
        users: specs,
    }
}

struct Row {
    scenario: String,
    users: usize,
    changes: usize,
    wall: Duration,
    requests: u64,
    minimum: u64,
    peak_bytes: usize,
    peak_rss: Option<usize>,
}

fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    // Writing 5 to clear_refs resets the kernel's high-water mark of resident memory.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last [`reset_peak`], from the kernel (Linux only).
fn peak_rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn pages(users: usize) -> u64 {
    (users as u64).div_ceil(u64::from(PAGE)).max(1)
}

fn plan_scenario(
    runtime: &tokio::runtime::Runtime,
    users: usize,
    latency: &str,
    parallelism: usize,
) -> Row {
    let emulator = start_emulator(users, latency);
    let desired = manifest(users, 0);
    let admin = client(&emulator.url, parallelism);
    reset_peak();
    let started = Instant::now();
    let result = runtime.block_on(async {
        let listing = admin.list_users().await.expect("list");
        plan(&desired, &listing.users)
    });
    let wall = started.elapsed();
    assert!(
        !result.summary.has_changes(),
        "the no-change plan has changes"
    );
    Row {
        scenario: format!("plan, no changes, latency {latency}, parallelism {parallelism}"),
        users,
        changes: 0,
        wall,
        requests: admin.requests_sent(),
        minimum: pages(users),
        peak_bytes: PEAK.load(Ordering::Relaxed),
        peak_rss: peak_rss(),
    }
}

fn apply_scenario(
    runtime: &tokio::runtime::Runtime,
    invites: usize,
    latency: &str,
    parallelism: usize,
) -> Row {
    let emulator = start_emulator(0, latency);
    let desired = manifest(0, invites);
    let admin = client(&emulator.url, parallelism);
    reset_peak();
    let started = Instant::now();
    let report = runtime.block_on(async {
        let listing = admin.list_users().await.expect("list");
        let planned = plan(&desired, &listing.users);
        let options = ApplyOptions {
            parallelism,
            ..ApplyOptions::default()
        };
        execute(&planned, &admin, &options, |_| {}).await
    });
    let wall = started.elapsed();
    assert_eq!(report.done(), invites, "every invite succeeds");
    Row {
        scenario: format!("apply {invites} invites, latency {latency}, parallelism {parallelism}"),
        users: 0,
        changes: invites,
        wall,
        requests: admin.requests_sent(),
        // One list page to plan, the same again right before applying (the preconditions),
        // then an invite and the app-metadata PUT per user.
        minimum: 2 + 2 * invites as u64,
        peak_bytes: PEAK.load(Ordering::Relaxed),
        peak_rss: peak_rss(),
    }
}

fn pure_diff(users: usize) -> Row {
    let remote: Vec<RemoteUser> = (0..users)
        .map(|i| serde_json::from_value(seeded_user(i)).expect("user"))
        .collect();
    let desired = manifest(users, 0);
    let mut best = Duration::MAX;
    reset_peak();
    for _ in 0..5 {
        let started = Instant::now();
        let result = plan(&desired, &remote);
        best = best.min(started.elapsed());
        assert!(!result.summary.has_changes());
    }
    Row {
        scenario: "pure diff plan() (best of 5)".into(),
        users,
        changes: 0,
        wall: best,
        requests: 0,
        minimum: 0,
        peak_bytes: PEAK.load(Ordering::Relaxed),
        peak_rss: peak_rss(),
    }
}

/// The emulator on its own: 100 pages of 1,000 users fetched one after another and parsed
/// for ids only, so that nearly all the time is the server's. Our own measurements are only
/// as good as the emulator is fast.
fn emulator_list(runtime: &tokio::runtime::Runtime, users: usize) -> Row {
    #[derive(serde::Deserialize)]
    struct Page {
        users: Vec<Id>,
    }
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let emulator = start_emulator(users, "0ms");
    let http = reqwest::Client::new();
    reset_peak();
    let started = Instant::now();
    let listed = runtime.block_on(async {
        let mut listed = std::collections::HashSet::new();
        for page in 1..=pages(users) {
            let url = format!("{}/admin/users?per_page={PAGE}&page={page}", emulator.url);
            let response = http.get(url).bearer_auth(TOKEN).send().await.expect("page");
            let page = response.json::<Page>().await.expect("json");
            listed.extend(page.users.into_iter().map(|user| user.id));
        }
        listed
    });
    let wall = started.elapsed();
    assert_eq!(listed.len(), users, "every user listed once");
    Row {
        scenario: "emulator alone: list every page, one at a time".into(),
        users,
        changes: 0,
        wall,
        requests: pages(users),
        minimum: pages(users),
        peak_bytes: PEAK.load(Ordering::Relaxed),
        peak_rss: peak_rss(),
    }
}

/// The server fingerprint that `plan --out` and `--json` add to a plan (not part of plan()).
fn fingerprint_alone(users: usize) -> Row {
    let remote: Vec<RemoteUser> = (0..users)
        .map(|i| serde_json::from_value(seeded_user(i)).expect("user"))
        .collect();
    let mut best = Duration::MAX;
    reset_peak();
    for _ in 0..5 {
        let started = Instant::now();
        let hash = server_fingerprint(&remote);
        best = best.min(started.elapsed());
        assert!(!hash.is_empty());
    }
    Row {
        scenario: "server_fingerprint(), for --out/--json (best of 5)".into(),
        users,
        changes: 0,
        wall: best,
        requests: 0,
        minimum: 0,
        peak_bytes: PEAK.load(Ordering::Relaxed),
        peak_rss: peak_rss(),
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
enum Scenario {
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
    Diff {
        users: usize,
    },
    Fingerprint {
        users: usize,
    },
    EmulatorList {
        users: usize,
    },
}

fn scenarios(quick: bool, wanted: impl Fn(&str) -> bool) -> Vec<Scenario> {
    let mut all = Vec::new();
    if wanted("plan") {
        let sizes: &[usize] = if quick {
            &[1_000]
        } else {
            &[1_000, 10_000, 100_000]
        };
        for &users in sizes {
            all.push(Scenario::Plan {
                users,
                latency: "0ms",
                parallelism: 8,
            });
        }
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
    if wanted("diff") {
        let users = if quick { 10_000 } else { 100_000 };
        all.push(Scenario::Diff { users });
        all.push(Scenario::Fingerprint { users });
    }
    if wanted("emulator") {
        all.push(Scenario::EmulatorList {
            users: if quick { 10_000 } else { 100_000 },
        });
    }
    all
}

fn run(scenario: Scenario) -> Row {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match scenario {
        Scenario::Plan {
            users,
            latency,
            parallelism,
        } => plan_scenario(&runtime, users, latency, parallelism),
        Scenario::Apply {
            invites,
            latency,
            parallelism,
        } => apply_scenario(&runtime, invites, latency, parallelism),
        Scenario::Diff { users } => pure_diff(users),
        Scenario::Fingerprint { users } => fingerprint_alone(users),
        Scenario::EmulatorList { users } => emulator_list(&runtime, users),
    }
}

/// `cargo bench --bench scale [-- [--quick] [GROUP…]]`, groups: `plan`, `latency`, `apply`,
/// `diff`, `emulator` (all by default). `--quick` uses small sizes, for a smoke run of the harness.
///
/// Each scenario runs in a fresh child process of this benchmark (`--scenario N`), so that
/// its peak resident memory is its own and not what earlier scenarios left to the allocator.
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let quick = args.iter().any(|a| a == "--quick");
    let groups: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .map(String::as_str)
        .collect();
    let all = scenarios(quick, |group| groups.is_empty() || groups.contains(&group));
    if let Some(position) = args.iter().position(|a| a == "--scenario") {
        let index: usize = args[position + 1].parse().expect("scenario index");
        let row = run(all[index]);
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.scenario,
            row.users,
            row.changes,
            row.wall.as_secs_f64(),
            row.requests,
            row.minimum,
            row.peak_bytes,
            row.peak_rss.unwrap_or(0)
        );
        return;
    }

    let me = std::env::current_exe().expect("the benchmark's own path");
    println!(
        "| scenario | users | changes | wall | requests | minimum | ratio | peak heap | peak RSS |"
    );
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
        let (requests, minimum) = (number(4), number(5));
        let ratio = if minimum == 0.0 {
            "-".to_owned()
        } else {
            format!("{:.2}", requests / minimum)
        };
        let rss = if number(7) == 0.0 {
            "-".to_owned()
        } else {
            format!("{:.0} MB", number(7) / 1e6)
        };
        println!(
            "| {} | {} | {} | {:.3} s | {} | {} | {ratio} | {:.1} MB | {rss} |",
            fields[0],
            fields[1],
            fields[2],
            number(3),
            fields[4],
            fields[5],
            number(6) / 1e6
        );
    }
}

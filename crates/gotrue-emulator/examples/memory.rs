//! Memory and listing cost of a large emulator: seeds N users shaped like the `scale`
//! benchmark's (roles, marker, full name), then prints resident memory and the time of a
//! first and a last listing page. Linux only (reads /proc/self/status).
//!
//! `cargo run --release -p gotrue-emulator --example memory -- 1000000`

use std::time::Instant;

use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};
use serde_json::{json, Map, Value};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// `VmRSS` and `VmHWM` (peak) of this process, in MiB.
fn resident_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let (before, _) = resident_mib();
    let started = Instant::now();
    const BATCH: usize = 100_000;
    for first in (0..users).step_by(BATCH) {
        let batch = (first..users.min(first + BATCH))
            .map(|i| SeedUser {
                email: format!("user{i:07}@example.com"),
                confirmed: true,
                app_metadata: object(json!({
                    "provider": "email", "roles": ["member"], "managed_by": "gotrue-sync:bench"
                })),
                user_metadata: object(json!({"full_name": format!("User {i}")})),
                ..SeedUser::default()
            })
            .collect();
        emulator.seed(batch)?;
    }
    let seeded = started.elapsed();
    let (rss, peak) = resident_mib();
    println!(
        "{users} users seeded in {:.1} s: RSS {rss} MiB (empty emulator {before} MiB), peak {peak} MiB",
        seeded.as_secs_f64()
    );
    let client = reqwest::Client::new();
    let token = emulator.config().operator_token.clone();
    let last_page = users.div_ceil(1000).max(1);
    for page in [1, last_page / 2, last_page] {
        let started = Instant::now();
        let body = client
            .get(format!(
                "{}/admin/users?per_page=1000&page={page}",
                emulator.url()
            ))
            .bearer_auth(&token)
            .send()
            .await?
            .bytes()
            .await?;
        println!(
            "page {page} of {last_page} (1000 per page): {:.1} ms, {} bytes",
            started.elapsed().as_secs_f64() * 1000.0,
            body.len()
        );
    }
    emulator.shutdown().await;
    Ok(())
}

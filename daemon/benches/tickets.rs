//! Ticket benchmark.
//!
//! ```text
//! cargo bench -p sitewarden --bench tickets
//! ```
//!
//! * `create`: tickets opened per second from raised conditions, through the
//!   store with durable commits (WAL, `synchronous=FULL`, one fsync per
//!   commit), in the desk's batches of up to 512 and, for the worst case,
//!   one condition per commit.
//! * `list`: `GET /api/v1/tickets` latency over HTTP with 100,000 archived
//!   tickets in the store: p50/p99/max over 2,000 requests of each query.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use sitewarden::tickets::Origin;
use sitewarden::tickets::store::{ConditionInput, NewTicket, Outlets, TicketStore};
use sitewarden::vocab::{Category, Priority, Severity};

fn outlets() -> Outlets {
    Outlets {
        site: "bench".into(),
        topics: Some(sitewarden::topics::Topics::new("bench")),
        webhook: true,
        messages: std::sync::Arc::new(sitewarden::locale::Messages::english()),
    }
}

/// A raised condition of rule `n % 40` on device `n / 40`: every key distinct.
fn raised(n: usize, at: Timestamp) -> ConditionInput {
    ConditionInput::Raised(Box::new(NewTicket {
        origin: Origin::Condition,
        category: Category::Repair,
        priority: Priority::P2,
        title: format!("Device {}: fault {}", n / 40, n % 40),
        description: None,
        device: Some(format!("d{}", n / 40)),
        location: Some("Plant room".into()),
        rule: Some(format!("pack.rule{}", n % 40)),
        point: Some("p".into()),
        value: Some(300.0),
        threshold: Some(250.0),
        severity: Some(Severity::Major),
        requester: None,
        contact: None,
        dedup_key: Some(format!("condition:pack.rule{}:d{}:p", n % 40, n / 40)),
        form: None,
        at,
        response_due: at + Duration::from_secs(3600),
        resolution_due: at + Duration::from_secs(86_400),
    }))
}

fn create() -> anyhow::Result<()> {
    for batch in [512usize, 1] {
        let dir = tempfile::tempdir()?;
        let store = TicketStore::open(dir.path(), outlets())?;
        let total = if batch == 1 { 2_000 } else { 50_000 };
        let now = Timestamp::now();
        let inputs: Vec<ConditionInput> = (0..total).map(|n| raised(n, now)).collect();
        let begun = Instant::now();
        for chunk in inputs.chunks(batch) {
            store.apply_conditions(chunk)?;
        }
        let secs = begun.elapsed().as_secs_f64();
        println!(
            "create     batches of {batch:>3}: {total} tickets (each with 2 outbox deliveries) in {secs:.2} s = {:.0} tickets/s, durable commits",
            total as f64 / secs
        );
    }
    Ok(())
}

/// 100,000 archived tickets written straight into a fresh store.
fn fill_archive(data: &Path) -> anyhow::Result<()> {
    let store = TicketStore::open(
        data,
        Outlets {
            site: "bench".into(),
            topics: None,
            webhook: false,
            messages: std::sync::Arc::new(sitewarden::locale::Messages::english()),
        },
    )?;
    let start = Timestamp::now() - Duration::from_secs(400 * 86_400);
    let inputs: Vec<ConditionInput> = (0..100_000)
        .map(|n| raised(n, start + Duration::from_secs(n as u64 * 300)))
        .collect();
    for chunk in inputs.chunks(5_000) {
        store.apply_conditions(chunk)?;
    }
    drop(store);
    let conn = rusqlite::Connection::open(data.join("operations.db"))?;
    conn.execute(
        "UPDATE ticket SET status = 'archived', assignee = 'tech' || (id % 7),
             responded_us = created_us + 600000000, resolved_us = created_us + 3600000000,
             accepted_us = created_us + 7200000000, archived_us = created_us + 8000000000",
        [],
    )?;
    Ok(())
}

fn list() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        fill_archive(&data)?;
        std::fs::write(
            dir.path().join("site.toml"),
            "[site]\nid = \"bench\"\nname = \"Bench\"\ntime_zone = \"Asia/Shanghai\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n",
        )?;
        let running = common::start_daemon(dir.path()).await?;
        let base = format!("http://{}", running.api_addr);
        let client = reqwest::Client::new();
        let queries = [
            "/api/v1/tickets",
            "/api/v1/tickets?status=archived",
            "/api/v1/tickets?status=archived&before=50000",
            "/api/v1/tickets?device=d1234",
            "/api/v1/tickets?assignee=tech3&priority=p2&limit=1000",
            "/api/v1/tickets?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            "/api/v1/tickets/77777",
        ];
        for query in queries {
            let mut times = Vec::with_capacity(2_000);
            let mut count = 0;
            for _ in 0..2_000 {
                let started = Instant::now();
                let body = client.get(format!("{base}{query}")).send().await?.error_for_status()?.bytes().await?;
                times.push(started.elapsed());
                count = body.len();
            }
            times.sort();
            let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)];
            println!(
                "list       {query:<62} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({count} bytes)",
                at(0.50).as_secs_f64() * 1e3,
                at(0.99).as_secs_f64() * 1e3,
                times[times.len() - 1].as_secs_f64() * 1e3
            );
        }
        running.stop().await;
        Ok(())
    })
}

fn main() -> anyhow::Result<()> {
    let phases = common::wanted_phases();
    match phases.first().map(String::as_str) {
        Some("create") => create(),
        Some("list") => list(),
        _ => common::run_each_in_own_process(&["create", "list"]),
    }
}

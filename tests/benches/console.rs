//! The duty console on a site with history (issue 18): 100,000 stored
//! tickets (the newest 200 open, the rest archived) and 10,000 alerts (the
//! newest 100 open), the daemon started on them as a user runs it, an
//! engineer signed in; each page is fetched 30 times on loopback and the
//! time to its whole answer reported (target ≤ 200 ms server time).
//!
//! `cargo bench -p sitewarden-tests --bench console`

use std::time::{Duration, Instant};

use jiff::Timestamp;
use sitewarden::alerts::{AlertInput, Raise};
use sitewarden::tickets::Origin;
use sitewarden::tickets::store::{ConditionInput, NewTicket, Outlets, TicketStore};
use sitewarden::vocab::{AlertClass, Category, Priority, Severity};
use sitewarden_tests::{SiteDir, form_request, load, start_daemon};

const TICKETS: usize = 100_000;
const OPEN_TICKETS: usize = 200;
const ALERTS: usize = 10_000;
const OPEN_ALERTS: usize = 100;
const PASSWORD: &str = "bench-engineer";

fn ticket(n: usize, at: Timestamp) -> ConditionInput {
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
        requester: Some("Ms Wu".into()),
        contact: Some("+86 138 0000 0009".into()),
        dedup_key: Some(format!("condition:pack.rule{}:d{}:p", n % 40, n / 40)),
        form: None,
        at,
        response_due: at + Duration::from_secs(3600),
        resolution_due: at + Duration::from_secs(86_400),
    }))
}

fn alarm(n: usize, at: Timestamp) -> AlertInput {
    AlertInput::Raised(Box::new(Raise {
        key: format!("bench.alarm|d{n}"),
        class: if n % 10 == 0 {
            AlertClass::Fire
        } else {
            AlertClass::Equipment
        },
        severity: Severity::Major,
        rule: None,
        device: Some(format!("d{n}")),
        location: Some("Plant room".into()),
        title: format!("Bench alarm {n}"),
        point: "p".into(),
        zone: Some(format!("{}", n % 8)),
        value: Some(1.0),
        at,
        ends_on_ack: false,
    }))
}

/// Fills the data directory the daemon will start on.
fn fill(site: &SiteDir, catalog: &sitewarden::catalog::Catalog) -> anyhow::Result<()> {
    let data = site.dir.path().join("data");
    let start = Timestamp::now() - Duration::from_secs(400 * 86_400);
    let tickets = TicketStore::open(
        &data,
        Outlets {
            site: "test-site".into(),
            topics: None,
            webhook: false,
            messages: catalog.site.messages.clone(),
        },
    )?;
    let inputs: Vec<ConditionInput> = (0..TICKETS)
        .map(|n| ticket(n, start + Duration::from_secs(n as u64 * 300)))
        .collect();
    for chunk in inputs.chunks(5_000) {
        tickets.apply_conditions(chunk)?;
    }
    drop(tickets);
    rusqlite::Connection::open(data.join("operations.db"))?.execute(
        "UPDATE ticket SET status = 'archived', archived_us = created_us + 8000000000 WHERE id <= ?1",
        [(TICKETS - OPEN_TICKETS) as i64],
    )?;
    let alerts =
        sitewarden::alerts::store::AlertStore::open(&data, "test-site".into(), None, None)?;
    let inputs: Vec<AlertInput> = (0..ALERTS)
        .map(|n| alarm(n, start + Duration::from_secs(n as u64 * 3000)))
        .collect();
    for chunk in inputs.chunks(500) {
        alerts.apply(catalog, chunk, Timestamp::now())?;
    }
    drop(alerts);
    rusqlite::Connection::open(data.join("alerts.db"))?.execute(
        "UPDATE alert SET status = 'resolved', active = 0, next_at_us = NULL WHERE id <= ?1",
        [(ALERTS - OPEN_ALERTS) as i64],
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let site = SiteDir::new()?;
        let hash = sitewarden::api::session::hash_password(PASSWORD)?;
        let config = format!(
            "[[people]]\nid = \"chen.jing\"\nname = \"Chen Jing\"\npassword_hash = \"{hash}\"\nrole = \"engineer\"\n"
        );
        let catalog = load(&site.site(&config)?);
        let filling = Instant::now();
        fill(&site, &catalog)?;
        println!(
            "filled {TICKETS} tickets ({OPEN_TICKETS} open) and {ALERTS} alerts ({OPEN_ALERTS} open) in {:.1} s",
            filling.elapsed().as_secs_f64()
        );
        let daemon = start_daemon(catalog, &site, 0).await?;
        let api = daemon.api_addr;
        let form = format!("person=chen.jing&password={PASSWORD}");
        let (_, _, session) = tokio::task::spawn_blocking(move || form_request(api, "POST", "/login", "", &form)).await??;
        let cookie = session.ok_or_else(|| anyhow::anyhow!("no session"))?;
        println!("| page | bytes | min | p50 | max | (30 requests, whole answer, loopback) |");
        println!("|---|---|---|---|---|---|");
        for page in ["/", "/console/alarms", "/repairs", "/repairs/report?month=2026-01", "/patrols", "/equipment"] {
            let cookie = cookie.clone();
            let (size, mut times) = tokio::task::spawn_blocking(move || {
                let mut times = Vec::new();
                let mut size = 0;
                for _ in 0..30 {
                    let begun = Instant::now();
                    let (status, bytes, _) = form_request(api, "GET", page, &cookie, "")?;
                    anyhow::ensure!(status == 200, "{page}: {status}");
                    times.push(begun.elapsed());
                    size = bytes;
                }
                Ok::<_, anyhow::Error>((size, times))
            })
            .await??;
            times.sort();
            println!(
                "| `{page}` | {size} | {:.1} ms | {:.1} ms | {:.1} ms | |",
                times[0].as_secs_f64() * 1e3,
                times[15].as_secs_f64() * 1e3,
                times[29].as_secs_f64() * 1e3
            );
        }
        daemon.stop().await;
        Ok(())
    })
}

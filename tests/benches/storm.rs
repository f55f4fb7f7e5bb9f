//! MQTT storm and soak benchmark (issue 15), against the daemon as its own
//! process (`daemon-process`, as `sitewarden run` runs it).
//!
//! Storm: 100,000 malformed messages on one sensor's topic (one in 1,000 of
//! 512 KiB) with one emergency-button press in the middle, through the
//! embedded broker and through an external mosquitto: every message
//! accounted for, the button's condition event on MQTT after the press,
//! the daemon's memory before, right after and a minute after.
//!
//! Soak: 1,000,000 ordinary readings from 200 sensors at 10,000 messages a
//! second through the embedded broker: the daemon's and the broker's
//! memory at start, peak and end.
//!
//! `cargo bench -p sitewarden-tests --bench storm` (`STORM=100000`,
//! `SOAK=1000000`, `SETTLE=60` seconds).

use std::time::Duration;

use sitewarden_tests::storm::{StormBroker, soak, storm};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_daemon-process"));
    let messages = env("STORM", 100_000);
    let settle = Duration::from_secs(env("SETTLE", 60));
    println!(
        "| broker | malformed sent (512 KiB) | counted by the daemon (throttled) | dropped by the broker | flooding client disconnected | alarm after | daemon RSS before / after / {}s later | broker RSS |",
        settle.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|");
    for broker in [StormBroker::Embedded, StormBroker::External] {
        let r = storm(binary, broker, messages, 1_000, settle).await?;
        println!(
            "| {broker:?} | {} ({}) | {} ({}) | {} | {} | {} | {:.1} / {:.1} / {:.1} MB | {} |",
            r.small_sent + r.big_sent,
            r.big_sent,
            r.daemon_counted,
            r.throttled,
            r.broker_dropped,
            r.big_client_dropped,
            r.alarm_after.map_or("lost".into(), |d| format!(
                "{:.0} ms",
                d.as_secs_f64() * 1000.0
            )),
            r.rss_kb.0 as f64 / 1024.0,
            r.rss_kb.1 as f64 / 1024.0,
            r.rss_kb.2 as f64 / 1024.0,
            if r.broker_rss_kb == 0 {
                "(external)".to_owned()
            } else {
                format!("{:.1} MB", r.broker_rss_kb as f64 / 1024.0)
            },
        );
    }
    let messages = env("SOAK", 1_000_000);
    let r = soak(binary, messages, 200, 10_000).await?;
    println!();
    println!(
        "| soak | sent | received by the daemon | seconds | daemon RSS start / peak / end | broker RSS start / peak / end |"
    );
    println!("|---|---|---|---|---|---|");
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "| 200 sensors | {} | {} | {:.0} | {:.1} / {:.1} / {:.1} MB | {:.1} / {:.1} / {:.1} MB |",
        r.sent,
        r.received,
        r.seconds,
        mb(r.daemon_kb.0),
        mb(r.daemon_kb.1),
        mb(r.daemon_kb.2),
        mb(r.broker_kb.0),
        mb(r.broker_kb.1),
        mb(r.broker_kb.2),
    );
    Ok(())
}

//! Clock steps (issue 14): the system clock stepped an hour back and an hour
//! forward under a running daemon, through the injectable clock of the
//! `fault-injection` build. A pending fire alarm is raised when its delay is
//! up, not an hour late; escalation repeats keep their pace, with no burst
//! of "missed" repeats after a forward step and no pause after a backward
//! one. A binary of its own: the daemon clock is process-wide.

use std::time::{Duration, Instant};

use jiff::SignedDuration;
use site_sim::Step;
use sitewarden_runtime::clock;
use sitewarden_tests::{
    HttpReceiver, SiteDir, frozen, http, http_get, load, start_daemon, start_sim, wait_until,
};

const PACK: &str = r#"pack = "t"
[[rule]]
id = "confirmed_fire"
description = "Fire alarm held for three seconds"
kind = "state"
role = "fire_alarm"
equals = true
on_delay = "3s"
severity = "critical"
action = "alert"
class = "fire"
"#;

fn open_alerts(api: std::net::SocketAddr) -> Vec<serde_json::Value> {
    http(api, "GET", "/api/v1/alerts?status=open", None, None)
        .map(|(_, body)| body["alerts"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// Repeats the receiver got for the alert since `from` (index into posted).
fn repeats(hook: &HttpReceiver, from: usize) -> Vec<serde_json::Value> {
    hook.posted()
        .into_iter()
        .skip(from)
        .map(|p| p.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_and_escalation_keep_their_pace_across_clock_steps() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    let hook = HttpReceiver::start(0).await.unwrap();
    site.write("pack.toml", PACK).unwrap();
    let config = format!(
        r#"
[rules]
packs = ["pack.toml"]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts.channels.hook]
kind = "webhook"
url = "http://{hook}/hook"

[alerts.policies.fire]
repeat = "3s"
steps = [{{ notify = ["guard"], channels = ["hook"], wait = "3s" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{fire}" }}
poll_interval = "100ms"
"#,
        hook = hook.addr,
        fire = sim.addr("fire-panel-1").unwrap(),
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The alarm goes pending, then the clock steps an hour back.
    let step = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    sim.apply(&toml::from_str::<Step>(step).unwrap());
    let set_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    clock::inject_step(SignedDuration::from_hours(-1));
    assert!(
        wait_until(Duration::from_secs(10), || !open_alerts(api).is_empty()).await,
        "the pending fire alarm was held by the backward step"
    );
    let raised_after = set_at.elapsed();
    assert!(
        raised_after >= Duration::from_millis(2900) && raised_after < Duration::from_secs(6),
        "raised {raised_after:?} after the alarm, its delay is 3 s"
    );
    assert!(wait_until(Duration::from_secs(3), || clock::steps() == 1).await);

    // Escalation repeats every 3 s; forward an hour: no burst, no "missed".
    assert!(wait_until(Duration::from_secs(5), || !hook.posted().is_empty()).await);
    let before = hook.posted().len();
    clock::inject_step(SignedDuration::from_hours(1));
    tokio::time::sleep(Duration::from_secs(7)).await;
    let after_forward = repeats(&hook, before);
    assert!(
        (1..=3).contains(&after_forward.len()),
        "{} notifications in 7 s at one per 3 s after a forward step",
        after_forward.len()
    );
    assert!(
        after_forward.iter().all(|b| b["missed"].is_null()),
        "a clock step is not missed repeats: {after_forward:?}"
    );

    // Back an hour: the repeats go on at their pace, not an hour later.
    let before = hook.posted().len();
    clock::inject_step(SignedDuration::from_hours(-1));
    tokio::time::sleep(Duration::from_secs(7)).await;
    let after_back = repeats(&hook, before).len();
    assert!(
        (1..=3).contains(&after_back),
        "{after_back} notifications in 7 s at one per 3 s after a backward step"
    );
    assert_eq!(clock::steps(), 3);
    let (_, metrics) = http_get(api, "/metrics").unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sitewarden_clock_steps_total") && l.ends_with(" 3")),
        "the steps are counted in the metrics"
    );
    daemon.stop().await;
}

//! Late notifications (issue 14): two webhook channels whose receivers
//! refuse the first attempts, so the fire notification waits past the
//! channels' `late_after` (1 s). The `mark` channel delivers it once, its
//! text saying when it was queued and with a `late` object; the `drop`
//! channel never sends it and its delivery says why; both are counted.

use std::time::Duration;

use site_sim::Step;
use sitewarden_tests::{
    HttpReceiver, SiteDir, frozen, http, http_get, load, repo_root, start_daemon, start_sim,
    wait_until,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_notification_is_marked_or_dropped_as_its_channel_says() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    // 0.5 s, 1 s, 2 s back-off: the fourth attempt, 3.5 s after queueing, is let through.
    let marked = HttpReceiver::start(3).await.unwrap();
    let dropped = HttpReceiver::start(3).await.unwrap();
    let fire = repo_root().join("config/standards/fire.toml");
    let config = format!(
        r#"
[rules]
packs = [{fire:?}]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts]
self_test_every = "0s"

[alerts.channels.marked]
kind = "webhook"
url = "http://{marked}/hook"
late_after = "1s"
late = "mark"

[alerts.channels.dropped]
kind = "webhook"
url = "http://{dropped}/hook"
late_after = "1s"
late = "drop"

[alerts.policies.fire]
repeat = "1h"
steps = [{{ notify = ["guard"], channels = ["marked", "dropped"], wait = "1h" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
        fire = fire.display().to_string(),
        marked = marked.addr,
        dropped = dropped.addr,
        panel = sim.addr("fire-panel-1").unwrap(),
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let on = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    sim.apply(&toml::from_str::<Step>(on).unwrap());

    assert!(
        wait_until(Duration::from_secs(15), || !marked.posted().is_empty()).await,
        "the marked channel never delivered"
    );
    let body = &marked.posted()[0].body;
    let text = body["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("[LATE: queued "), "{text}");
    assert!(
        text.contains("[FIRE]"),
        "the message itself follows: {text}"
    );
    assert!(body["late"]["late_by_s"].as_u64().is_some(), "{body}");
    let reasons: Vec<_> = marked
        .posted()
        .iter()
        .map(|p| (p.body["reason"].clone(), p.body["key"].clone()))
        .collect();
    assert_eq!(marked.posted().len(), 1, "sent once: {reasons:?}");

    // The drop channel gives up on it: never accepted, counted, and the
    // alert's delivery says it was dropped.
    let series = |name: &str, channel: &str| {
        let (_, metrics) = http_get(api, "/metrics").unwrap();
        let prefix = format!("{name}{{site=\"test-site\",channel=\"{channel}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
    };
    assert!(
        wait_until(Duration::from_secs(10), || series(
            "sitewarden_delivery_dropped_late_total",
            "alerts-dropped"
        )
        .as_deref()
            == Some("1"))
        .await,
        "the drop channel did not drop the late notification"
    );
    assert_eq!(
        series("sitewarden_delivery_late_total", "alerts-marked").as_deref(),
        Some("1"),
        "one late notification marked and confirmed"
    );
    assert!(
        dropped.posted().is_empty(),
        "a dropped notification was sent"
    );
    let (_, alerts) = http(api, "GET", "/api/v1/alerts?status=open", None, None).unwrap();
    let id = alerts["alerts"][0]["id"].as_i64().unwrap();
    let (_, alert) = http(api, "GET", &format!("/api/v1/alerts/{id}"), None, None).unwrap();
    let deliveries = alert["deliveries"].as_array().unwrap();
    assert!(
        deliveries.iter().any(|d| d["channel"] == "alerts-dropped"
            && d["last_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("dropped: "))
            && d["delivered_at"].is_null()),
        "{deliveries:?}"
    );
    daemon.stop().await;
}

/// A robot that refuses (HTTP 200, `errcode` 45009, rate limited) while an
/// alarm escalates every second: once it answers again, everything its
/// channel held back goes out at once, not each message after its own
/// grown back-off (which reached minutes before the fix; found by the
/// fault benchmark).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_channel_sends_what_it_held_back_at_once() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    let robot = HttpReceiver::start(0).await.unwrap();
    robot
        .robot_refuses
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let fire = repo_root().join("config/standards/fire.toml");
    let config = format!(
        r#"
[rules]
packs = [{fire:?}]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts]
self_test_every = "0s"

[alerts.channels.robot]
kind = "wecom"
url = "http://{robot}/wecom"

[alerts.policies.fire]
repeat = "1s"
steps = [{{ notify = ["guard"], channels = ["robot"], wait = "1s" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
        fire = fire.display().to_string(),
        robot = robot.addr,
        panel = sim.addr("fire-panel-1").unwrap(),
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let on = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    sim.apply(&toml::from_str::<Step>(on).unwrap());
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        robot.posted().is_empty(),
        "the robot refused everything so far"
    );
    robot
        .robot_refuses
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let undelivered = || {
        let (_, alerts) = http(api, "GET", "/api/v1/alerts?status=open", None, None).unwrap();
        let id = alerts["alerts"][0]["id"].as_i64().unwrap_or(0);
        let (_, alert) = http(api, "GET", &format!("/api/v1/alerts/{id}"), None, None).unwrap();
        alert["deliveries"]
            .as_array()
            .map(|d| d.iter().filter(|d| d["delivered_at"].is_null()).count())
            .unwrap_or(usize::MAX)
    };
    assert!(undelivered() >= 5, "the escalation queued its repeats");
    assert!(
        wait_until(Duration::from_secs(15), || undelivered() == 0).await,
        "{} notifications still held back 15 s after the robot recovered",
        undelivered()
    );
    daemon.stop().await;
}

//! Shift check-in with a real HTTP receiver for the supervisor's channel:
//! the two people of a shift are expected to check in within its grace
//! time; the one who does is recorded with the handover note, the one who
//! does not raises a duty alert that reaches the supervisor and that the
//! late check-in ends.

use std::time::Duration;

use sitewarden::config::hash_token;
use sitewarden_tests::{HttpReceiver, SiteDir, http, load, start_daemon, wait_until};

const GUARD: &str = "tok-zhao";
const ENGINEER: &str = "tok-chen";

/// `HH:MM` of `ms` (Unix milliseconds, UTC: the test site's zone).
fn clock(ms: i64) -> String {
    let t = jiff::Timestamp::from_millisecond(ms).unwrap();
    t.strftime("%H:%M").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shift_nobody_checks_in_for_raises_a_duty_alert_that_the_late_check_in_ends() {
    let hook = HttpReceiver::start(0).await.unwrap();
    // The shift starts at the next minute (at least 8 s away: the daemon
    // is up before it).
    let now = jiff::Timestamp::now().as_millisecond();
    let mut start = (now / 60_000 + 1) * 60_000;
    if start - now < 8_000 {
        start += 60_000;
    }
    let hours = format!("{}-{}", clock(start), clock(start + 2 * 3_600_000));
    let site = SiteDir::new().unwrap();
    let config = format!(
        r#"
[[people]]
id = "zhao.min"
name = "Zhao Min"

[[people]]
id = "chen.jing"
name = "Chen Jing"

[[api.tokens]]
name = "zhao.min"
role = "security"
sha256 = "{guard}"

[[api.tokens]]
name = "chen.jing"
role = "engineer"
sha256 = "{engineer}"

[[roster]]
role = "night-watch"
person = "zhao.min"
hours = "{hours}"

[[roster]]
role = "night-watch"
person = "chen.jing"
hours = "{hours}"

[alerts]
self_test_every = "0s"
check_in_roles = ["night-watch"]
check_in_within = "3s"

[alerts.channels.hook]
kind = "webhook"
url = "http://{hook}/hook"

[alerts.policies.duty]
repeat = "1h"
steps = [{{ notify = ["chen.jing"], channels = ["hook"], wait = "1h" }}]
"#,
        guard = hash_token(GUARD),
        engineer = hash_token(ENGINEER),
        hook = hook.addr,
    );
    let path = site.site(&config).unwrap();
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let check_in = |token: &str, body: &str| {
        http(
            api,
            "POST",
            "/api/v1/duty/check-in",
            Some(token),
            Some(body),
        )
        .unwrap()
    };
    // Nobody's shift yet.
    let (status, body) = check_in(GUARD, "{}");
    assert_eq!(status, 400, "{body}");
    let wait = start - jiff::Timestamp::now().as_millisecond();
    tokio::time::sleep(Duration::from_millis(wait as u64 + 500)).await;
    let (status, done) = check_in(ENGINEER, r#"{"note":"all quiet, gate 2 lock sticky"}"#);
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["check_in"]["person"], "chen.jing");
    assert_eq!(done["check_in"]["role"], "night-watch");
    let duty_alerts = || {
        let (_, body) = http(api, "GET", "/api/v1/alerts", None, None).unwrap();
        body["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["class"] == "duty")
            .collect::<Vec<_>>()
    };
    assert!(
        wait_until(Duration::from_secs(8), || !duty_alerts().is_empty()).await,
        "no duty alert for the missing check-in"
    );
    let alerts = duty_alerts();
    assert_eq!(alerts.len(), 1, "only Zhao Min's: {alerts:#?}");
    let alert = &alerts[0];
    let title = alert["title"].as_str().unwrap();
    assert!(
        title.starts_with("Nobody checked in: Zhao Min's night-watch shift from"),
        "{title}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || hook
            .posted()
            .iter()
            .any(|p| p.body["alert"]["id"] == alert["id"]))
        .await,
        "the supervisor's channel heard nothing"
    );
    // Zhao Min arrives late and checks in: the alert ends, with her name.
    let (status, late) = check_in(GUARD, r#"{"note":"arrived, bus was late"}"#);
    assert_eq!(status, 201, "{late}");
    assert_eq!(late["check_in"]["person"], "zhao.min");
    let id = alert["id"].as_i64().unwrap();
    let (_, detail) = http(api, "GET", &format!("/api/v1/alerts/{id}"), None, None).unwrap();
    assert_eq!(detail["status"], "resolved", "{detail}");
    assert_eq!(detail["acknowledged_by"], "zhao.min", "{detail}");
    assert_eq!(check_in(GUARD, "{}").0, 409, "once per shift");
    daemon.stop().await;
}

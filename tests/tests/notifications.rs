//! Every channel kind's notification, rendered in English and in Chinese
//! from the site's message files, compared with golden files a reviewer
//! can read: `tests/golden/notifications/<locale>/<case>.json`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p sitewarden-tests --test notifications`
//! rewrites them after a deliberate change of wording; `git diff` then
//! shows exactly what people will read differently.

use std::path::PathBuf;

use jiff::Timestamp;
use sitewarden::alerts::notify::{self, Reason, Wording};
use sitewarden::alerts::{Alert, AlertStatus, Member};
use sitewarden::catalog::{Catalog, Person};
use sitewarden::vocab::{AlertClass, Severity};
use sitewarden_tests::{SiteDir, load, repo_root};

/// A site in Shanghai with one channel of every kind, a fire panel and a
/// panic button with names and locations, in `locale`.
fn site(locale: &str) -> (SiteDir, std::sync::Arc<Catalog>) {
    let site = SiteDir::new().unwrap();
    let fire_pack = repo_root().join("config/standards/fire.toml");
    let fire_pack = fire_pack.display();
    std::fs::write(site.dir.path().join("hmac.key"), "0123456789abcdef").unwrap();
    let path = site
        .write(
            "site.toml",
            &format!(
                r#"[site]
id = "riverside-sales"
name = "Riverside sales office"
time_zone = "Asia/Shanghai"
locale = "{locale}"

[api]
listen = "127.0.0.1:0"

[rules]
packs = ["{fire_pack}"]

[mqtt]
host = "127.0.0.1"
port = 1883

[[people]]
id = "zhao.min"
name = "Zhao Min"
phone = "+8613800000001"

[[people]]
id = "chen.jing"
name = "Chen Jing"
email = "chen.jing@example.com"

[alerts.channels.screen]
kind = "mqtt"

[alerts.channels.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret = {{ file = "hmac.key" }}

[alerts.channels.mail]
kind = "email"
smtp = "127.0.0.1:25"
from = "sitewarden@site.example"
security = "none"

[alerts.channels.wecom]
kind = "wecom"
url = "http://127.0.0.1:9/wecom"

[alerts.channels.dingtalk]
kind = "dingtalk"
url = "http://127.0.0.1:9/dingtalk?access_token=t"
keywords = ["sitewarden", "告警"]

[alerts.channels.slack]
kind = "slack"
url = "http://127.0.0.1:9/slack"

[alerts.policies.default]
repeat = "1h"
steps = [{{ notify = ["zhao.min"], channels = ["screen"], wait = "1h" }}]

[[devices]]
id = "fire-panel-1"
name = "Fire alarm panel"
location = "Fire control room"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "127.0.0.1:1502" }}
"#
            ),
        )
        .unwrap();
    let catalog = load(&path);
    (site, catalog)
}

/// A fire alarm in zones 3 and 5, titled as `catalog`'s fire pack words it.
fn fire_alarm(catalog: &Catalog) -> Alert {
    let rule = catalog
        .rules
        .iter()
        .find(|r| r.id == "fire.fire_alarm")
        .unwrap();
    let raised: Timestamp = "2026-12-01T04:35:09Z".parse().unwrap();
    let zone = |z: &str| Member {
        point: format!("{z}_alarm"),
        zone: Some(z.to_owned()),
        active: true,
        value: Some(1.0),
        raised_at: raised,
        cleared_at: None,
    };
    Alert {
        id: 42,
        class: AlertClass::Fire,
        severity: Severity::Critical,
        title: rule.description.clone(),
        rule: Some("fire.fire_alarm".into()),
        device: Some("fire-panel-1".into()),
        location: Some("Fire control room".into()),
        first_point: Some("zone3_alarm".into()),
        first_zone: Some("3".into()),
        first_value: Some(1.0),
        status: AlertStatus::Open,
        active: true,
        suppressed: None,
        suppressed_by: None,
        drill: false,
        raised_at: raised,
        cleared_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
        ack_note: None,
        resolved_at: None,
        step: 1,
        next_escalation_at: None,
        notifications: 1,
        revision: 1,
        members: vec![zone("3"), zone("5")],
        ends_on_ack: false,
        members_over: 0,
    }
}

/// The cases: (file name, channel, reason, alert).
fn cases(catalog: &Catalog) -> Vec<(&'static str, &'static str, Reason, Option<Alert>)> {
    let fire_alarm = || fire_alarm(catalog);
    let acknowledged = Alert {
        acknowledged_by: Some("Zhao Min".into()),
        ..fire_alarm()
    };
    let drill = Alert {
        drill: true,
        ..fire_alarm()
    };
    vec![
        ("mqtt-step", "screen", Reason::Step(1), Some(fire_alarm())),
        ("webhook-step", "hook", Reason::Step(1), Some(fire_alarm())),
        ("email-step", "mail", Reason::Step(2), Some(fire_alarm())),
        ("wecom-step", "wecom", Reason::Step(1), Some(fire_alarm())),
        (
            "dingtalk-step",
            "dingtalk",
            Reason::Step(1),
            Some(fire_alarm()),
        ),
        ("slack-step", "slack", Reason::Step(1), Some(fire_alarm())),
        (
            "wecom-repeat",
            "wecom",
            Reason::Repeat { step: 2, missed: 0 },
            Some(fire_alarm()),
        ),
        (
            "wecom-repeat-missed-one",
            "wecom",
            Reason::Repeat { step: 2, missed: 1 },
            Some(fire_alarm()),
        ),
        (
            "wecom-repeat-missed-three",
            "wecom",
            Reason::Repeat { step: 2, missed: 3 },
            Some(fire_alarm()),
        ),
        ("wecom-drill", "wecom", Reason::Drill, Some(drill)),
        (
            "wecom-acknowledged",
            "wecom",
            Reason::Acknowledged,
            Some(acknowledged),
        ),
        ("email-self-test", "mail", Reason::SelfTest, None),
        ("wecom-self-test", "wecom", Reason::SelfTest, None),
    ]
}

fn render(catalog: &Catalog, channel: &str, reason: Reason, alert: Option<&Alert>) -> String {
    let settings = catalog
        .alerts
        .channels
        .iter()
        .find(|c| c.name == channel)
        .unwrap();
    let people: Vec<&Person> = catalog.alerts.people.iter().collect();
    let payload = notify::payload(
        settings,
        "riverside-sales-alert-42-n1",
        &catalog.site.id,
        Wording::of(catalog, alert),
        alert,
        reason,
        &people,
    );
    let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}

fn golden(locale: &str, case: &str) -> PathBuf {
    repo_root()
        .join("tests/golden/notifications")
        .join(locale)
        .join(format!("{case}.json"))
}

#[test]
fn every_channel_kind_reads_as_its_golden_file_in_both_languages() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut different = Vec::new();
    for locale in ["en", "zh-CN"] {
        let (_site, catalog) = site(locale);
        for (case, channel, reason, alert) in cases(&catalog) {
            let rendered = render(&catalog, channel, reason, alert.as_ref());
            let path = golden(locale, case);
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &rendered).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&path).unwrap_or_default();
            if expected != rendered {
                different.push(format!("{}:\n{rendered}", path.display()));
            }
        }
    }
    assert!(
        different.is_empty(),
        "rendered notifications differ from their golden files (UPDATE_GOLDEN=1 rewrites them):\n{}",
        different.join("\n")
    );
}

#[test]
fn a_guard_reads_the_place_the_local_time_and_what_to_do() {
    let (_site, catalog) = site("zh-CN");
    let alert = fire_alarm(&catalog);
    let text = notify::text(
        Wording::of(&catalog, Some(&alert)),
        Some(&alert),
        Reason::Step(1),
        &[],
    );
    assert!(
        text.starts_with("【火警】火灾报警"),
        "the title in Chinese: {text}"
    );
    assert!(
        text.contains("处理：立即赶到报警区域核实"),
        "what to do, from the pack's advice: {text}"
    );
    assert!(
        text.contains("Fire alarm panel（Fire control room）"),
        "the device's name, not its id: {text}"
    );
    assert!(
        text.contains("2026-12-01 12:35:09 +08:00"),
        "Shanghai time: {text}"
    );
    assert!(!text.contains("UTC"), "{text}");
    assert!(text.contains("POST /api/v1/alerts/42/ack"), "{text}");
    let (_site, english) = site("en");
    let alert = fire_alarm(&english);
    let text = notify::text(
        Wording::of(&english, Some(&alert)),
        Some(&alert),
        Reason::Step(1),
        &[],
    );
    assert!(
        text.starts_with(
            "[FIRE] FIRE ALARM Where: Fire alarm panel (Fire control room), zones 3, 5."
        ),
        "{text}"
    );
}

#[test]
fn a_wecom_text_never_exceeds_the_robots_limit() {
    let (_site, catalog) = site("zh-CN");
    let alert = Alert {
        title: "火".repeat(1000),
        ..fire_alarm(&catalog)
    };
    let payload: serde_json::Value =
        serde_json::from_str(&render(&catalog, "wecom", Reason::Step(1), Some(&alert))).unwrap();
    let content = payload["text"]["content"].as_str().unwrap();
    assert!(content.len() <= 2048, "{} bytes", content.len());
    assert!(content.ends_with('…'));
}

#[test]
fn a_dingtalk_text_holds_one_of_the_robots_keywords() {
    for locale in ["en", "zh-CN"] {
        let (_site, catalog) = site(locale);
        let alert = fire_alarm(&catalog);
        let payload: serde_json::Value =
            serde_json::from_str(&render(&catalog, "dingtalk", Reason::Step(1), Some(&alert)))
                .unwrap();
        let content = payload["text"]["content"].as_str().unwrap();
        let expected = if locale == "en" {
            "[sitewarden] [FIRE]"
        } else {
            "【sitewarden】【火警】"
        };
        assert!(content.starts_with(expected), "{content}");
        let test: serde_json::Value =
            serde_json::from_str(&render(&catalog, "dingtalk", Reason::SelfTest, None)).unwrap();
        let content = test["text"]["content"].as_str().unwrap();
        assert!(
            !content.starts_with("[sitewarden]") && !content.starts_with("【sitewarden】"),
            "a text that holds a keyword is left as it is: {content}"
        );
    }
}

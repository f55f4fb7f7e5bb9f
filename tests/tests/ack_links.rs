//! Acknowledging from a phone (issue 18): a fire alarm's MQTT
//! notification carries a personal link; a real browser (chromium through
//! chromedriver) at phone size opens it, presses "I'm on it" with a note,
//! and the alert is acknowledged in that guard's name. The same link does
//! not work twice; a changed one, one signed with another key and an
//! expired one are refused. Screenshots go to `docs/console/`.

use std::time::Duration;

use site_sim::Step;
use sitewarden::alerts::ack_link::{AckLinks, LinkKey};
use sitewarden_tests::{
    Browser, Mosquitto, SiteDir, Subscriber, frozen, http, http_get, load, repo_root, start_daemon,
    start_sim, wait_until,
};

/// What the site file calls the address phones reach; the test swaps it
/// for the daemon's loopback address.
const PUBLIC_URL: &str = "https://duty.riverside.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_acknowledges_a_fire_alarm_from_the_link_on_their_phone() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    let broker = Mosquitto::start().unwrap();
    let control_room = Subscriber::start(
        broker.addr,
        "control-room",
        "sitewarden/test-site/alerts/+/notifications",
    )
    .await
    .unwrap();
    let fire = repo_root().join("config/standards/fire.toml");
    let config = format!(
        r#"
[rules]
packs = [{fire:?}]

[[people]]
id = "zhao.min"
name = "Zhao Min"

[[people]]
id = "chen.jing"
name = "Chen Jing"

[alerts]
self_test_every = "0s"

[mqtt]
host = "127.0.0.1"
port = {port}

[alerts.channels.screen]
kind = "mqtt"

[alerts.policies.fire]
repeat = "1h"
steps = [{{ notify = ["zhao.min", "chen.jing"], channels = ["screen"], wait = "1h" }}]

[[devices]]
id = "fire-panel-1"
name = "Fire alarm panel"
location = "Fire control room"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
        fire = fire.display().to_string(),
        port = broker.addr.port(),
        panel = sim.addr("fire-panel-1").unwrap(),
    );
    let site_file = site.site(&config).unwrap();
    let text = std::fs::read_to_string(&site_file).unwrap();
    std::fs::write(
        &site_file,
        text.replace(
            "[api]\n",
            &format!("[api]\npublic_url = \"{PUBLIC_URL}\"\n"),
        ),
    )
    .unwrap();
    let daemon = start_daemon(load(&site_file), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The control room's screen shows the board before anything happens.
    let docs = repo_root().join("docs/console");
    let screen = Browser::start(1280, 800).unwrap();
    screen.open(&format!("http://{api}/")).unwrap();
    let board = screen.text().unwrap();
    assert!(board.contains("No open alarms"), "{board}");
    let on = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    let set_at = std::time::Instant::now();
    sim.apply(&toml::from_str::<Step>(on).unwrap());
    // It appears without a reload, pushed over Server-Sent Events.
    assert!(
        wait_until(Duration::from_secs(2), || screen
            .text()
            .is_ok_and(|t| t.contains("FIRE ALARM")
                && t.contains("Nobody has acknowledged yet")
                && t.contains("step 1 via screen to Zhao Min, Chen Jing")))
        .await,
        "the board did not show the fire alarm within 2 s: {}",
        screen.text().unwrap_or_default()
    );
    println!(
        "fire alarm on the board {} ms after the register changed",
        set_at.elapsed().as_millis()
    );
    screen.screenshot(&docs.join("board-desktop.png")).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !control_room
            .messages()
            .is_empty())
        .await,
        "no notification on MQTT"
    );
    let notification: serde_json::Value =
        serde_json::from_str(&control_room.messages()[0].payload).unwrap();
    let text = notification["text"].as_str().unwrap().to_owned();
    let link_of = |name: &str| {
        let line = text
            .split(&format!("{name}, tap to acknowledge: "))
            .nth(1)
            .unwrap_or_else(|| panic!("no link for {name}: {text}"));
        let link = line.split_whitespace().next().unwrap().to_owned();
        assert!(link.starts_with(&format!("{PUBLIC_URL}/a/")), "{link}");
        link.replace(PUBLIC_URL, &format!("http://{api}"))
    };
    let zhao = link_of("Zhao Min");
    let chen = link_of("Chen Jing");
    assert_ne!(zhao, chen, "each person has their own link");

    // The guard's phone.
    let browser = Browser::start(390, 844).unwrap();
    browser.open(&zhao).unwrap();
    let page = browser.text().unwrap();
    assert!(page.contains("FIRE ALARM"), "{page}");
    assert!(
        page.contains("Fire alarm panel (Fire control room)"),
        "{page}"
    );
    assert!(
        page.contains("Acknowledging as Zhao Min"),
        "{}",
        browser.source().unwrap_or_default()
    );
    browser
        .screenshot(&docs.join("ack-link-phone.png"))
        .unwrap();
    browser.type_into("#note", "On my way to zone 3").unwrap();
    browser.click("#ack").unwrap();
    browser
        .wait_for_text("Acknowledged by Zhao Min", Duration::from_secs(5))
        .unwrap();
    browser
        .screenshot(&docs.join("ack-link-phone-done.png"))
        .unwrap();

    assert!(
        wait_until(Duration::from_secs(2), || screen
            .text()
            .is_ok_and(|t| t.contains("Taken by Zhao Min")))
        .await,
        "the board did not show who took it: {}",
        screen.text().unwrap_or_default()
    );
    screen
        .screenshot(&docs.join("board-desktop-taken.png"))
        .unwrap();
    browser.open(&format!("http://{api}/")).unwrap();
    browser.screenshot(&docs.join("board-phone.png")).unwrap();

    let (_, alerts) = http(api, "GET", "/api/v1/alerts?status=open", None, None).unwrap();
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["acknowledged_by"], "zhao.min", "{alert}");
    assert_eq!(alert["ack_note"], "On my way to zone 3", "{alert}");

    // Used once: the same link, and the other person's, now say so.
    browser.open(&zhao).unwrap();
    browser
        .wait_for_text("Already acknowledged by Zhao Min", Duration::from_secs(5))
        .unwrap();
    let path = |link: &str| link.replace(&format!("http://{api}"), "");
    let (status, _) = http(api, "POST", &path(&zhao), None, Some("")).unwrap();
    assert_eq!(status, 410, "a used link does not acknowledge again");
    let (status, _) = http_get(api, &path(&chen)).unwrap();
    assert_eq!(status, 410, "the alert is taken");

    // A changed link, another site's key and an expired link are refused.
    let mut forged = path(&zhao);
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, body) = http_get(api, &forged).unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("not a valid acknowledgement link"), "{body}");
    let id = alert["id"].as_i64().unwrap();
    let foreign = AckLinks::with_key(
        PUBLIC_URL,
        LinkKey::from_bytes([9; 32]),
        Duration::from_secs(3600),
    );
    let (status, _) = http_get(
        api,
        &foreign
            .link(id, "zhao.min", jiff::Timestamp::now())
            .replace(PUBLIC_URL, ""),
    )
    .unwrap();
    assert_eq!(status, 403, "signed with another key");
    let key: [u8; 32] = std::fs::read(site.dir.path().join("data/ack-link.key"))
        .unwrap()
        .try_into()
        .unwrap();
    let expired = AckLinks::with_key(PUBLIC_URL, LinkKey::from_bytes(key), Duration::ZERO);
    let link = expired.link(
        id,
        "chen.jing",
        jiff::Timestamp::now() - Duration::from_secs(1),
    );
    let (status, body) = http_get(api, &link.replace(PUBLIC_URL, "")).unwrap();
    assert_eq!(status, 410, "{body}");
    assert!(body.contains("expired"), "{body}");
    let (_, metrics) = http_get(api, "/metrics").unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sitewarden_api_rejected_requests_total") && !l.ends_with(" 0")),
        "refused links are counted"
    );
    // An open board (its event stream) does not hold up the shutdown.
    let stopping = std::time::Instant::now();
    daemon.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "stopping took {:?} with a board open",
        stopping.elapsed()
    );
    drop(screen);
}

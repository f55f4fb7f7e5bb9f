//! The duty console's sign-in and the board's acknowledgement (issue 18),
//! in a real browser (chromium through chromedriver): a wrong password is
//! refused, the engineer signs in with their own password, sees the fire
//! alarm arrive without reloading and acknowledges it on the board in
//! their name; a form without the session's CSRF token is refused, and
//! guessing a password is braked. Screenshots go to `docs/console/`.

use std::net::SocketAddr;
use std::time::Duration;

use site_sim::Step;
use sitewarden_tests::{
    Browser, HttpReceiver, SiteDir, checkpoint_station, frozen, hex, http, load, repo_root,
    start_daemon, start_sim, wait_until,
};

const ENGINEER_PASSWORD: &str = "fire-drill-every-month";

/// A form POST as a browser sends it; the status code.
fn post_form(api: SocketAddr, path: &str, cookie: Option<&str>, body: &str) -> u16 {
    let cookie = cookie
        .map(|c| format!("sitewarden_session={c}"))
        .unwrap_or_default();
    sitewarden_tests::form_request(api, "POST", path, &cookie, body)
        .map_or(0, |(status, _, _)| status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engineer_signs_in_and_acknowledges_a_fire_alarm_on_the_board() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    let hook = HttpReceiver::start(0).await.unwrap();
    let fire = repo_root().join("config/standards/fire.toml");
    let hash = sitewarden::api::session::hash_password(ENGINEER_PASSWORD).unwrap();
    let other = sitewarden::api::session::hash_password("night-shift").unwrap();
    let config = format!(
        r#"
[rules]
packs = [{fire:?}]

[[people]]
id = "chen.jing"
name = "Chen Jing"
password_hash = "{hash}"
role = "engineer"

[[people]]
id = "zhao.min"
name = "Zhao Min"
password_hash = "{other}"
role = "front-desk"

[grafana]
url = "http://grafana.example:3000/"

[alerts]
self_test_every = "0s"

[alerts.channels.hook]
kind = "webhook"
url = "http://{hook}/hook"

[alerts.policies.fire]
repeat = "1h"
steps = [{{ notify = ["zhao.min"], channels = ["hook"], wait = "1h" }}]

[alerts.plans.fire]
steps = [
    {{ do = "Confirm on site", within = "3m" }},
    {{ do = "Call 119", within = "5m" }},
    {{ do = "Count heads at the assembly point" }},
]

[alerts.drill]
notify = ["chen.jing"]
channels = ["hook"]

[[devices]]
id = "fire-panel-1"
name = "Fire alarm panel"
location = "Fire control room"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
        fire = fire.display().to_string(),
        panel = sim.addr("fire-panel-1").unwrap(),
        hook = hook.addr,
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    let docs = repo_root().join("docs/console");
    let screen = Browser::start(1280, 800).unwrap();

    screen.open(&format!("http://{api}/login")).unwrap();
    screen.screenshot(&docs.join("signin-desktop.png")).unwrap();
    screen.type_into("#person", "chen.jing").unwrap();
    screen.type_into("#password", "not-the-password").unwrap();
    screen.click("#signin").unwrap();
    screen
        .wait_for_text("Wrong id or password", Duration::from_secs(5))
        .unwrap();
    screen.type_into("#person", "chen.jing").unwrap();
    screen.type_into("#password", ENGINEER_PASSWORD).unwrap();
    screen.click("#signin").unwrap();
    let board = screen
        .wait_for_text("Signed in as Chen Jing", Duration::from_secs(5))
        .unwrap();
    assert!(board.contains("No open alarms"), "{board}");

    let on = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    sim.apply(&toml::from_str::<Step>(on).unwrap());
    assert!(
        wait_until(Duration::from_secs(2), || screen
            .text()
            .is_ok_and(|t| t.contains("FIRE ALARM")))
        .await,
        "the fire alarm did not arrive within 2 s: {}",
        screen.text().unwrap_or_default()
    );
    screen
        .screenshot(&docs.join("board-signed-in.png"))
        .unwrap();

    // A form without the session's CSRF token is refused, even with the cookie.
    let cookie = screen.cookie("sitewarden_session").unwrap();
    let (_, alerts) = http(api, "GET", "/api/v1/alerts?status=open", None, None).unwrap();
    let id = alerts["alerts"][0]["id"].as_i64().unwrap();
    let path = format!("/console/alarms/{id}/ack");
    assert_eq!(
        post_form(api, &path, Some(&cookie), "csrf=guessed&note=x"),
        403
    );
    assert_eq!(
        post_form(api, &path, None, "csrf=guessed&note=x"),
        303,
        "no session: to the sign-in page"
    );

    screen
        .type_into(
            "form.ack input[name=note]",
            "Checked zone 3: false alarm, dust",
        )
        .unwrap();
    screen.click("form.ack button").unwrap();
    assert!(
        wait_until(Duration::from_secs(2), || screen
            .text()
            .is_ok_and(|t| t.contains("Taken by Chen Jing")))
        .await,
        "{}",
        screen.text().unwrap_or_default()
    );
    let (_, alerts) = http(api, "GET", "/api/v1/alerts?status=open", None, None).unwrap();
    assert_eq!(alerts["alerts"][0]["acknowledged_by"], "chen.jing");

    // The alarm's own page: its timeline, who was called and who took it.
    screen.click("article.alarm h2 a").unwrap();
    let timeline = screen
        .wait_for_text("Timeline", Duration::from_secs(5))
        .unwrap();
    for needle in [
        "raised",
        "called",
        "Zhao Min",
        "acknowledged",
        "Chen Jing took it: Checked zone 3: false alarm, dust",
    ] {
        assert!(timeline.contains(needle), "no `{needle}` in {timeline}");
    }
    screen.screenshot(&docs.join("alarm-desktop.png")).unwrap();
    screen.open(&format!("http://{api}/")).unwrap();
    assert_eq!(
        alerts["alerts"][0]["ack_note"],
        "Checked zone 3: false alarm, dust"
    );

    // The engineer declares a drill; the front desk may not, even with a
    // valid session and token.
    screen
        .type_into("input[name=note]:not(form.ack input)", "Monthly fire drill")
        .unwrap();
    screen.click("#declare-drill").unwrap();
    screen
        .wait_for_text("declared by Chen Jing", Duration::from_secs(5))
        .unwrap();
    let desk = Browser::start(1280, 800).unwrap();
    desk.open(&format!("http://{api}/login")).unwrap();
    desk.type_into("#person", "zhao.min").unwrap();
    desk.type_into("#password", "night-shift").unwrap();
    desk.click("#signin").unwrap();
    let board = desk
        .wait_for_text("Signed in as Zhao Min", Duration::from_secs(5))
        .unwrap();
    assert!(
        board.contains("declared by Chen Jing"),
        "the front desk sees the drill: {board}"
    );
    assert!(
        desk.find("#declare-drill").is_err(),
        "but has no form to declare one"
    );
    let desk_cookie = desk.cookie("sitewarden_session").unwrap();
    let csrf = desk.source().unwrap();
    let csrf = csrf
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        post_form(
            api,
            "/console/drills",
            Some(&desk_cookie),
            &format!("csrf={csrf}&starts_in_minutes=5&minutes=30&note=x")
        ),
        403,
        "a front-desk user cannot declare a drill"
    );
    drop(desk);

    // The engineer ends the drill early.
    screen.click(".drills form.end button").unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || screen.text().is_ok_and(|t| t
            .contains("Silences")
            && !t.contains("declared by Chen Jing")))
        .await,
        "the drill did not end: {}",
        screen.text().unwrap_or_default()
    );
    let (_, drills) = http(api, "GET", "/api/v1/drills", None, None).unwrap();
    assert_eq!(drills, serde_json::json!([]), "{drills}");

    // Silencing the fire panel would silence fire alarms: refused, on a
    // page that says why.
    screen
        .type_into("input[name=reason]", "detector cleaning")
        .unwrap();
    screen.click("#add-silence").unwrap();
    let refusal = screen
        .wait_for_text("Not done", Duration::from_secs(5))
        .unwrap();
    assert!(refusal.contains("fire.fire_alarm"), "{refusal}");
    screen
        .screenshot(&docs.join("refused-desktop.png"))
        .unwrap();
    let (_, silences) = http(api, "GET", "/api/v1/silences", None, None).unwrap();
    assert_eq!(silences, serde_json::json!([]), "{silences}");

    // The equipment page: the panel online, the zone in alarm, the
    // condition raised, a link to its Grafana dashboard.
    screen.open(&format!("http://{api}/equipment")).unwrap();
    let equipment = screen
        .wait_for_text("Online since", Duration::from_secs(5))
        .unwrap();
    for needle in ["Fire alarm panel", "zone3_alarm", "on", "good", "ACTIVE"] {
        assert!(equipment.contains(needle), "no `{needle}` in {equipment}");
    }
    let source = screen.source().unwrap();
    assert!(
        source.contains(
            "http://grafana.example:3000/d/sitewarden-fire-security?var-site=test-site&amp;var-device=fire-panel-1"
        ),
        "no dashboard link in {source}"
    );
    screen
        .screenshot(&docs.join("equipment-desktop.png"))
        .unwrap();

    // A call to the hotline: the engineer raises it from the board and
    // works through the fire plan on the alarm's page.
    screen.open(&format!("http://{api}/")).unwrap();
    screen
        .type_into("input[name=location]", "Show flat 3, kitchen")
        .unwrap();
    screen.type_into("input[name=reporter]", "Mr Sun").unwrap();
    screen
        .type_into(".report input[name=note]", "smoke from the oven")
        .unwrap();
    screen.click("#report-emergency").unwrap();
    let page = screen
        .wait_for_text("Response plan", Duration::from_secs(5))
        .unwrap();
    assert!(
        page.contains("FIRE reported: Show flat 3, kitchen"),
        "{page}"
    );
    assert!(
        page.contains("Reported by Mr Sun: smoke from the oven"),
        "{page}"
    );
    screen
        .type_into(r#"li[data-step="1"] input[name=note]"#, "smoke, no flames")
        .unwrap();
    screen.click(r#"li[data-step="1"] button"#).unwrap();
    let page = screen
        .wait_for_text("by Chen Jing", Duration::from_secs(5))
        .unwrap();
    assert!(page.contains("smoke, no flames"), "{page}");
    screen
        .screenshot(&docs.join("alarm-plan-desktop.png"))
        .unwrap();

    // Guessing is braked: after five failures even the right password waits.
    for _ in 0..5 {
        assert_eq!(
            post_form(api, "/login", None, "person=zhao.min&password=guess"),
            401
        );
    }
    assert_eq!(
        post_form(api, "/login", None, "person=zhao.min&password=night-shift"),
        429
    );
    assert_eq!(
        post_form(
            api,
            "/login",
            None,
            "person=chen.jing&password=fire-drill-every-month"
        ),
        303
    );

    let phone = Browser::start(390, 844).unwrap();
    phone.open(&format!("http://{api}/login")).unwrap();
    phone.screenshot(&docs.join("signin-phone.png")).unwrap();
    sign_in(&phone, api, "chen.jing", ENGINEER_PASSWORD);
    phone.open(&format!("http://{api}/equipment")).unwrap();
    phone
        .wait_for_text("Online since", Duration::from_secs(5))
        .unwrap();
    phone.screenshot(&docs.join("equipment-phone.png")).unwrap();
    daemon.stop().await;
}

/// Signs `person` in on `browser` and waits for the board.
fn sign_in(browser: &Browser, api: SocketAddr, person: &str, password: &str) {
    browser.open(&format!("http://{api}/login")).unwrap();
    browser.type_into("#person", person).unwrap();
    browser.type_into("#password", password).unwrap();
    browser.click("#signin").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while browser.find("form.who").is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{person} was not signed in"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Takes the step `action` on the only ticket, with `input` in its field.
fn step(browser: &Browser, action: &str, input: &str) {
    let form = format!("form.step:has(button[data-action={action}])");
    browser
        .type_into(&format!("{form} input:not([type=hidden])"), input)
        .unwrap();
    browser.click(&format!("{form} button")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phoned_in_repair_is_registered_and_walked_to_acceptance() {
    let site = SiteDir::new().unwrap();
    let engineer = sitewarden::api::session::hash_password(ENGINEER_PASSWORD).unwrap();
    let desk = sitewarden::api::session::hash_password("front-desk-pass").unwrap();
    let config = format!(
        r#"
[[people]]
id = "chen.jing"
name = "Chen Jing"
password_hash = "{engineer}"
role = "engineer"

[[people]]
id = "zhao.min"
name = "Zhao Min"
password_hash = "{desk}"
role = "front-desk"

[[people]]
id = "li.wei"
name = "Li Wei"

# This site keeps dispatching to its engineer (the plan lets the front desk too).
[tickets.roles]
dispatch = ["engineer"]
"#
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    let docs = repo_root().join("docs/console");
    let screen = Browser::start(1280, 900).unwrap();

    // The front desk takes the call.
    sign_in(&screen, api, "zhao.min", "front-desk-pass");
    screen.open(&format!("http://{api}/repairs")).unwrap();
    screen
        .type_into("input[name=requester]", "Ms Wu (show flat 2 visitor)")
        .unwrap();
    screen
        .type_into("input[name=contact]", "+86 138 0000 0009")
        .unwrap();
    screen
        .type_into("input[name=location]", "Show flat 2, bathroom")
        .unwrap();
    screen
        .type_into("input[name=title]", "Tap leaking")
        .unwrap();
    screen
        .type_into("input[name=cause]", "dripping since the morning")
        .unwrap();
    screen.click("#register").unwrap();
    let page = screen
        .wait_for_text("Tap leaking", Duration::from_secs(5))
        .unwrap();
    assert!(
        page.contains("Asked by Ms Wu (show flat 2 visitor) (+86 138 0000 0009)"),
        "{page}"
    );
    for needle in ["Reported by phone at", "Cause: dripping since the morning"] {
        assert!(page.contains(needle), "no `{needle}` in {page}");
    }
    assert!(
        screen.find("button[data-action=dispatch]").is_err(),
        "dispatch is the engineer's on this site"
    );
    screen
        .screenshot(&docs.join("repairs-registered.png"))
        .unwrap();
    screen.click("form.who button").unwrap();

    // The engineer walks it through the repair process.
    sign_in(&screen, api, "chen.jing", ENGINEER_PASSWORD);
    screen.open(&format!("http://{api}/repairs")).unwrap();
    step(&screen, "dispatch", "li.wei");
    screen
        .wait_for_text("Technician: Li Wei", Duration::from_secs(5))
        .unwrap();
    step(&screen, "hold", "waiting for a cartridge");
    screen
        .wait_for_text("waiting for a cartridge", Duration::from_secs(5))
        .unwrap();
    step(&screen, "resume", "cartridge arrived");
    screen
        .wait_for_text("Start", Duration::from_secs(5))
        .unwrap();
    step(&screen, "start", "on site");
    screen
        .wait_for_text("Resolved", Duration::from_secs(5))
        .unwrap();
    step(&screen, "resolve", "washer replaced");
    screen
        .wait_for_text("Accept", Duration::from_secs(5))
        .unwrap();
    screen
        .screenshot(&docs.join("repairs-resolved.png"))
        .unwrap();
    step(&screen, "accept", "Ms Wu satisfied");
    let accepted = || {
        http(api, "GET", "/api/v1/tickets", None, None)
            .is_ok_and(|(_, t)| t["tickets"][0]["status"] == "accepted")
    };
    assert!(
        wait_until(Duration::from_secs(5), accepted).await,
        "the repair was not accepted"
    );
    let (_, tickets) = http(api, "GET", "/api/v1/tickets", None, None).unwrap();
    let ticket = &tickets["tickets"][0];
    assert_eq!(ticket["status"], "accepted", "{ticket}");
    assert_eq!(ticket["assignee"], "li.wei", "{ticket}");
    let id = ticket["id"].as_i64().unwrap();
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{id}"), None, None).unwrap();
    let steps: Vec<(String, String)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["actor"].as_str().unwrap_or_default().to_owned(),
                h["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("zhao.min", "register"),
            ("chen.jing", "dispatch"),
            ("chen.jing", "hold"),
            ("chen.jing", "resume"),
            ("chen.jing", "start"),
            ("chen.jing", "resolve"),
            ("chen.jing", "accept"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned())),
        "{detail}"
    );
    // The month's report, from the month picker.
    screen.open(&format!("http://{api}/repairs")).unwrap();
    screen.click("#report").unwrap();
    let report = screen
        .wait_for_text("Requests registered: 1", Duration::from_secs(5))
        .unwrap();
    assert!(report.contains("By state now: accepted 1"), "{report}");
    screen.screenshot(&docs.join("repairs-report.png")).unwrap();

    // A week on, the return visit: the accepted repair waits in its column.
    screen.open(&format!("http://{api}/repairs")).unwrap();
    screen
        .wait_for_text("Return visit due", Duration::from_secs(5))
        .unwrap();
    step(&screen, "visit", "Ms Wu: no more dripping");
    let visited = || {
        http(api, "GET", "/api/v1/tickets", None, None)
            .is_ok_and(|(_, t)| t["tickets"][0]["satisfaction"] == 5)
    };
    assert!(
        wait_until(Duration::from_secs(5), visited).await,
        "the return visit was not recorded"
    );
    let phone = Browser::start(390, 844).unwrap();
    sign_in(&phone, api, "chen.jing", ENGINEER_PASSWORD);
    phone.open(&format!("http://{api}/repairs")).unwrap();
    phone.screenshot(&docs.join("repairs-phone.png")).unwrap();
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patrols_page_shows_rounds_planned_against_actual_and_refused_taps() {
    use checkpoint_fw::station::Tap;
    let (entrance_key, stairs_key, garage_key) = ([0x11; 32], [0x22; 32], [0x33; 32]);
    let entrance = checkpoint_station(1, entrance_key).await;
    let stairs = checkpoint_station(2, stairs_key).await;
    let garage = checkpoint_station(3, garage_key).await;
    let site = SiteDir::new().unwrap();
    site.write("keys/a.key", &hex(&entrance_key)).unwrap();
    site.write("keys/b.key", &hex(&stairs_key)).unwrap();
    site.write("keys/c.key", &hex(&garage_key)).unwrap();
    let hash = sitewarden::api::session::hash_password(ENGINEER_PASSWORD).unwrap();
    // A round every 12 s (site time is UTC), checkpoints 3 s apart, 2 s either side.
    let config = format!(
        r#"
[[people]]
id = "chen.jing"
name = "Chen Jing"
password_hash = "{hash}"
role = "engineer"

[[patrol.stations]]
id = "entrance"
checkpoint = 1
location = "Main entrance"
gateway = "{entrance}"
key = {{ file = "keys/a.key" }}
poll_interval = "200ms"

[[patrol.stations]]
id = "stairs"
checkpoint = 2
location = "Stair B, 2nd floor"
gateway = "{stairs}"
key = {{ file = "keys/b.key" }}
poll_interval = "200ms"

[[patrol.stations]]
id = "garage"
checkpoint = 3
location = "Car park gate"
gateway = "{garage}"
key = {{ file = "keys/c.key" }}
poll_interval = "200ms"

[[patrol.guards]]
id = "wang.lei"
name = "Wang Lei"
badges = ["04A1B2C3"]

[[patrol.routes]]
id = "lobby-round"
checkpoints = ["entrance", "stairs"]
every = "12s"
leg = "3s"
window = "2s"
"#,
        entrance = entrance.addr,
        stairs = stairs.addr,
        garage = garage.addr,
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    let badge = [0x04, 0xA1, 0xB2, 0xC3];
    // The guard walks one round, then skips the stairs in the next; a
    // stranger's badge and a forged record arrive in between.
    let now = jiff::Timestamp::now().as_millisecond();
    let next = (now / 12_000 + 1) * 12_000;
    tokio::time::sleep(Duration::from_millis((next - now) as u64 + 300)).await;
    assert!(matches!(entrance.tap(&badge), Tap::Recorded(_)));
    assert!(matches!(
        entrance.tap(&[0x04, 0x0B, 0xAD, 0xBA, 0xD0, 0x00, 0x01]),
        Tap::Recorded(_)
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(matches!(stairs.tap(&badge), Tap::Recorded(_)));
    garage.forge();
    assert!(matches!(garage.tap(&badge), Tap::Recorded(_)));
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(matches!(entrance.tap(&badge), Tap::Recorded(_)));

    let docs = repo_root().join("docs/console");
    let screen = Browser::start(1280, 1000).unwrap();
    screen.open(&format!("http://{api}/patrols")).unwrap();
    screen
        .wait_for_text("Sign in", Duration::from_secs(5))
        .unwrap();
    sign_in(&screen, api, "chen.jing", ENGINEER_PASSWORD);
    screen.open(&format!("http://{api}/patrols")).unwrap();
    let shows_all = |t: &str| {
        t.contains("50 % of checkpoints reached")
            && t.contains("Missed checkpoint stairs")
            && t.contains("FORGED record")
            && t.contains("unknown badge")
    };
    assert!(
        wait_until(Duration::from_secs(15), || {
            let _ = screen.open(&format!("http://{api}/patrols"));
            screen.text().is_ok_and(|t| shows_all(&t))
        })
        .await,
        "{}",
        screen.text().unwrap_or_default()
    );
    let page = screen.text().unwrap();
    for needle in [
        "Route lobby-round",
        "Walked by Wang Lei",
        "100 % of checkpoints reached",
        "MISSED",
        "on time",
        "Main entrance",
        "Car park gate",
    ] {
        assert!(page.contains(needle), "no `{needle}` in {page}");
    }
    screen
        .screenshot(&docs.join("patrols-desktop.png"))
        .unwrap();
    let phone = Browser::start(390, 844).unwrap();
    sign_in(&phone, api, "chen.jing", ENGINEER_PASSWORD);
    phone.open(&format!("http://{api}/patrols")).unwrap();
    phone
        .wait_for_text("Today's rounds", Duration::from_secs(5))
        .unwrap();
    phone.screenshot(&docs.join("patrols-phone.png")).unwrap();
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_personal_data_needs_a_session_or_a_token() {
    use sha2::Digest as _;
    let site = SiteDir::new().unwrap();
    let pki = sitewarden_tests::TestPki::generate(site.dir.path()).unwrap();
    let hash = sitewarden::api::session::hash_password(ENGINEER_PASSWORD).unwrap();
    let token: String = sha2::Sha256::digest(b"desk-token")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // A loopback listener behind a proxy: personal data needs sign-in anyway.
    let config = format!(
        r#"[site]
id = "test-site"
name = "Test site"
time_zone = "UTC"

[api]
listen = "127.0.0.1:0"
personal_data_needs_sign_in = true
tls = {{ cert = {cert:?}, key = {key:?} }}

[[api.tokens]]
name = "desk"
role = "front-desk"
sha256 = "{token}"

[[people]]
id = "chen.jing"
name = "Chen Jing"
password_hash = "{hash}"
role = "engineer"
"#,
        cert = pki.server.0.display().to_string(),
        key = pki.server.1.display().to_string(),
    );
    let daemon = start_daemon(load(&site.write("site.toml", &config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    let get = |path: &str, extra: &str| {
        sitewarden_tests::https(
            api,
            &pki.ca,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n"),
        )
        .unwrap()
    };
    let health = get("/healthz", "");
    assert_eq!(health.status, 200, "{health:?}");
    for path in [
        "/api/v1/tickets",
        "/api/v1/alerts",
        "/api/v1/patrol/taps",
        "/api/v1/patrol/rounds",
    ] {
        let answer = get(path, "");
        assert_eq!(answer.status, 401, "{path}: {answer:?}");
        assert!(answer.body.contains("personal data"), "{answer:?}");
        let answer = get(path, "Authorization: Bearer desk-token\r\n");
        assert_eq!(answer.status, 200, "{path} with a token: {answer:?}");
    }
    assert_eq!(get("/api/v1/devices", "").status, 200, "no personal data");

    // Signing in over HTTPS gives a session that reads them too.
    let body = format!("person=chen.jing&password={ENGINEER_PASSWORD}");
    let signed_in = sitewarden_tests::https(
        api,
        &pki.ca,
        &format!(
            "POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .unwrap();
    assert_eq!(signed_in.status, 303, "{signed_in:?}");
    let cookie = signed_in
        .head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: sitewarden_session="))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {}", signed_in.head))
        .to_owned();
    let answer = get(
        "/api/v1/tickets",
        &format!("Cookie: sitewarden_session={cookie}\r\n"),
    );
    assert_eq!(answer.status, 200, "{answer:?}");

    // Plain HTTP on the HTTPS port gets nothing, and is counted.
    assert!(
        http(api, "GET", "/healthz", None, None).is_err(),
        "plain HTTP was answered"
    );
    let metrics = get("/metrics", "");
    assert!(
        metrics
            .body
            .contains("sitewarden_api_tls_failures_total{site=\"test-site\"} 1"),
        "{}",
        metrics.body
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_speaks_the_sites_language() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    let fire = repo_root().join("config/standards/fire.toml");
    let hash = sitewarden::api::session::hash_password(ENGINEER_PASSWORD).unwrap();
    let config = format!(
        r#"[site]
id = "test-site"
name = "示范区售楼处"
time_zone = "Asia/Shanghai"
locale = "zh-CN"

[api]
listen = "127.0.0.1:0"

[rules]
packs = [{fire:?}]

[[people]]
id = "chen.jing"
name = "陈静"
password_hash = "{hash}"
role = "engineer"

[alerts]
self_test_every = "0s"

[[devices]]
id = "fire-panel-1"
name = "火灾报警控制器"
location = "消防控制室"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
        fire = fire.display().to_string(),
        panel = sim.addr("fire-panel-1").unwrap(),
    );
    let daemon = start_daemon(load(&site.write("site.toml", &config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    let docs = repo_root().join("docs/console");
    let screen = Browser::start(1280, 800).unwrap();
    sign_in(&screen, api, "chen.jing", ENGINEER_PASSWORD);
    let board = screen
        .wait_for_text("当前用户：陈静", Duration::from_secs(5))
        .unwrap();
    for needle in ["警报", "维修", "巡更", "设备", "没有未关闭的警报。"] {
        assert!(board.contains(needle), "no `{needle}` in {board}");
    }
    let on = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    sim.apply(&toml::from_str::<Step>(on).unwrap());
    // The alarm's card, by its place: the class name "火警" is on the
    // hotline form's list too.
    let board = screen
        .wait_for_text("消防控制室", Duration::from_secs(5))
        .unwrap();
    assert!(board.contains("火警"), "{board}");
    assert!(board.contains("+08:00"), "site time: {board}");
    screen.screenshot(&docs.join("board-zh-CN.png")).unwrap();
    screen.open(&format!("http://{api}/equipment")).unwrap();
    screen
        .wait_for_text("起在线", Duration::from_secs(5))
        .unwrap();
    screen
        .screenshot(&docs.join("equipment-zh-CN.png"))
        .unwrap();
    let phone = Browser::start(390, 844).unwrap();
    sign_in(&phone, api, "chen.jing", ENGINEER_PASSWORD);
    phone.open(&format!("http://{api}/repairs")).unwrap();
    phone
        .wait_for_text("登记电话报修", Duration::from_secs(5))
        .unwrap();
    phone
        .screenshot(&docs.join("repairs-zh-CN-phone.png"))
        .unwrap();
    daemon.stop().await;
}

//! The repair process with the customer in the loop, end to end with real
//! peers: a phoned-in request is dispatched (the technician told on the
//! team's WeCom robot), started and resolved; the requester, told by
//! e-mail with a signed link, sends it back from the link in a real
//! browser; it is re-dispatched to another technician, resolved, and
//! accepted through the new link with a score; the return visit falls due
//! and is recorded. A forged, an outdated, a reused and an expired link
//! are refused; a repair nobody answers for reminds the front desk. Every
//! change is on real mosquitto. The technician works through the daily
//! lift check's checklist on the duty console, and a failed item opens a
//! linked repair.

use std::time::Duration;

use sitewarden::config::hash_token;
use sitewarden::tickets::accept_link::{AcceptLinks, LinkKey};
use sitewarden_tests::{
    Browser, HttpReceiver, Mosquitto, SiteDir, SmtpSink, Subscriber, http, http_bytes, http_get,
    load, repo_root, start_daemon, wait_until,
};

const PUBLIC_URL: &str = "https://site.example";
const FRONT_DESK: &str = "tok-front-desk";
const TECHNICIAN: &str = "tok-technician";

fn site_config(smtp: &SmtpSink, robot: &HttpReceiver, broker: &Mosquitto, extra: &str) -> String {
    let desk_hash = sitewarden::api::session::hash_password("desk-password").unwrap();
    format!(
        r#"
[mqtt]
host = "127.0.0.1"
port = {port}

[[people]]
id = "zhao.min"
name = "Zhao Min"
email = "desk@site.example"
phone = "+8613800000001"
password_hash = "{desk_hash}"
role = "front-desk"

[[people]]
id = "li.wei"
name = "Li Wei"
phone = "+8613800000003"

[[people]]
id = "wang.fang"
name = "Wang Fang"
phone = "+8613800000004"

[[api.tokens]]
name = "desk"
role = "front-desk"
sha256 = "{desk}"

[[api.tokens]]
name = "li.wei"
role = "technician"
sha256 = "{tech}"

[alerts]
self_test_every = "0s"

[alerts.channels.team]
kind = "wecom"
url = "http://{robot}/wecom-team"

[alerts.channels.mail]
kind = "email"
smtp = "{smtp}"
from = "service@site.example"
security = "none"

[tickets]
notify = ["team"]
tell_requesters = ["mail"]
{extra}
"#,
        port = broker.addr.port(),
        desk = hash_token(FRONT_DESK),
        tech = hash_token(TECHNICIAN),
        robot = robot.addr,
        smtp = smtp.addr,
    )
}

/// Writes the site with `[api] public_url` set.
fn write_site(site: &SiteDir, config: &str) -> std::path::PathBuf {
    let path = site.site(config).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "[api]\n",
            &format!("[api]\npublic_url = \"{PUBLIC_URL}\"\n"),
        ),
    )
    .unwrap();
    path
}

fn step(api: std::net::SocketAddr, id: i64, token: &str, body: &str) -> serde_json::Value {
    let path = format!("/api/v1/tickets/{id}/transition");
    let (status, answer) = http(api, "POST", &path, Some(token), Some(body)).unwrap();
    assert_eq!(status, 200, "{body}: {answer}");
    answer
}

/// The acceptance link in the latest mail to the requester, on the test's address.
fn link_in(smtp: &SmtpSink, api: std::net::SocketAddr, nth_ready: usize) -> String {
    let mails = smtp.messages();
    let ready: Vec<&serde_json::Value> = mails
        .iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.contains("repaired, please check"))
        })
        .collect();
    let body = ready
        .get(nth_ready)
        .and_then(|m| m["body"].as_str())
        .unwrap_or_else(|| panic!("no mail {nth_ready} ready for acceptance: {mails:#?}"));
    let link = body
        .split("here: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no link in {body}"));
    assert!(link.starts_with(&format!("{PUBLIC_URL}/r/")), "{link}");
    link.replace(PUBLIC_URL, &format!("http://{api}"))
}

async fn ready_mails(smtp: &SmtpSink, count: usize) {
    assert!(
        wait_until(Duration::from_secs(10), || smtp
            .messages()
            .iter()
            .filter(|m| m["subject"]
                .as_str()
                .is_some_and(|s| s.contains("repaired, please check")))
            .count()
            >= count)
        .await,
        "{:#?}",
        smtp.messages()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phoned_in_repair_is_sent_back_and_then_accepted_from_the_requesters_links() {
    let smtp = SmtpSink::start(0).unwrap();
    let robot = HttpReceiver::start(0).await.unwrap();
    let broker = Mosquitto::start().unwrap();
    let changes = Subscriber::start(broker.addr, "cmms", "sitewarden/+/tickets/#")
        .await
        .unwrap();
    let site = SiteDir::new().unwrap();
    let path = write_site(&site, &site_config(&smtp, &robot, &broker, ""));
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;

    // Ms Wu phones the desk at 08:40; it is registered at once.
    let reported = jiff::Timestamp::now() - Duration::from_secs(600);
    let request = format!(
        r#"{{"title":"Show flat 2: bathroom tap leaking","category":"repair","channel":"phone",
            "cause":"washer worn","location":"Show flat 2, bathroom","requester":"Ms Wu",
            "contact":"wu@example.com","reported_at":"{reported}"}}"#
    );
    let (status, ticket) = http(
        api,
        "POST",
        "/api/v1/tickets",
        Some(FRONT_DESK),
        Some(&request),
    )
    .unwrap();
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_i64().unwrap();
    assert_eq!(ticket["channel"], "phone");

    // Dispatched to Li Wei, who is told on the team's robot.
    step(
        api,
        id,
        FRONT_DESK,
        r#"{"action":"dispatch","assignee":"li.wei"}"#,
    );
    assert!(
        wait_until(Duration::from_secs(10), || !robot.posted().is_empty()).await,
        "the technician was not told"
    );
    let told = robot.posted()[0].body["text"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        told.contains(&format!("Repair #{id} is yours, Li Wei")),
        "{told}"
    );
    step(api, id, TECHNICIAN, r#"{"action":"start"}"#);
    step(
        api,
        id,
        TECHNICIAN,
        r#"{"action":"resolve","note":"washer replaced"}"#,
    );

    // Ms Wu gets the link; a forged one and another site's are refused.
    ready_mails(&smtp, 1).await;
    let first = link_in(&smtp, api, 0);
    let relative = |link: &str| link.replace(&format!("http://{api}"), "");
    let mut forged = relative(&first);
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, body) = http_get(api, &forged).unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("This is not a valid link"), "{body}");
    let foreign = AcceptLinks::with_site_key(
        PUBLIC_URL,
        &LinkKey::from_bytes([9; 32]),
        Duration::from_secs(3600),
    );
    let (status, _) =
        http_get(api, &relative(&foreign.link(id, 0, jiff::Timestamp::now()))).unwrap();
    assert_eq!(status, 403, "signed with another key");
    let key: [u8; 32] = std::fs::read(site.dir.path().join("data/ack-link.key"))
        .unwrap()
        .try_into()
        .unwrap();
    // An alert acknowledgement link with the very same claims (alert `id`,
    // person "0") is signed under the site key itself: it accepts nothing.
    let ack = sitewarden::alerts::ack_link::AckLinks::with_key(
        PUBLIC_URL,
        LinkKey::from_bytes(key),
        Duration::from_secs(3600),
    )
    .link(id, "0", jiff::Timestamp::now())
    .replace("/a/", "/r/");
    let (status, _) = http_get(api, &relative(&ack)).unwrap();
    assert_eq!(
        status, 403,
        "an acknowledgement signature is not an acceptance"
    );
    // An expired link.
    let expired = AcceptLinks::with_site_key(PUBLIC_URL, &LinkKey::from_bytes(key), Duration::ZERO);
    let (status, body) = http_get(
        api,
        &relative(&expired.link(id, 0, jiff::Timestamp::now() - Duration::from_secs(1))),
    )
    .unwrap();
    assert_eq!(status, 410, "{body}");
    assert!(body.contains("This link has expired"), "{body}");

    // She opens it on her phone and sends the repair back.
    let docs = repo_root().join("docs/console");
    let phone = Browser::start(390, 844).unwrap();
    phone.open(&first).unwrap();
    let page = phone.text().unwrap();
    assert!(
        page.contains(&format!("Repair #{id}: Show flat 2: bathroom tap leaking")),
        "{page}"
    );
    assert!(page.contains("Is it fixed to your satisfaction?"), "{page}");
    phone
        .screenshot(&docs.join("accept-link-phone.png"))
        .unwrap();
    // Sending it back without saying why is refused, and the link still works.
    phone.click("#reject").unwrap();
    phone
        .wait_for_text("Please say what is still wrong", Duration::from_secs(5))
        .unwrap();
    phone.open(&first).unwrap();
    phone.type_into("#note", "Still dripping at night").unwrap();
    phone.click("#reject").unwrap();
    phone
        .wait_for_text(
            "the repair goes back to a technician",
            Duration::from_secs(5),
        )
        .unwrap();
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{id}"), None, None).unwrap();
    assert_eq!(detail["status"], "in_progress", "{detail}");
    assert_eq!(detail["reworks"], 1, "{detail}");
    let rejected = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["action"] == "reject")
        .unwrap_or_else(|| panic!("{detail}"));
    assert_eq!(rejected["actor"], "link:Ms Wu", "{rejected}");
    assert_eq!(rejected["note"], "Still dripping at night", "{rejected}");
    // Used once.
    let (status, body) = http_get(api, &relative(&first)).unwrap();
    assert_eq!(status, 410, "{body}");
    assert!(body.contains("This link has already been used"), "{body}");

    // The rework goes to Wang Fang, who fixes it; a new link comes.
    step(
        api,
        id,
        FRONT_DESK,
        r#"{"action":"dispatch","assignee":"wang.fang","note":"second look"}"#,
    );
    assert!(
        wait_until(Duration::from_secs(10), || robot.posted().len() >= 2).await,
        "the second technician was not told"
    );
    let told = robot.posted()[1].body["text"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        told.contains(&format!("Repair #{id} is yours, Wang Fang")),
        "{told}"
    );
    step(api, id, TECHNICIAN, r#"{"action":"start"}"#);
    step(
        api,
        id,
        TECHNICIAN,
        r#"{"action":"resolve","note":"cartridge replaced"}"#,
    );
    ready_mails(&smtp, 2).await;
    let second = link_in(&smtp, api, 1);
    assert_ne!(first, second);
    // The round before the rework cannot answer for this one: the first
    // link was used; a fresh link signed for round 0 is outdated.
    let round_zero = AcceptLinks::with_site_key(
        PUBLIC_URL,
        &LinkKey::from_bytes(key),
        Duration::from_secs(3600),
    );
    let (status, body) = http_get(
        api,
        &relative(&round_zero.link(id, 0, jiff::Timestamp::now())),
    )
    .unwrap();
    assert_eq!(status, 410, "{body}");
    assert!(body.contains("not waiting for your answer"), "{body}");

    // She accepts with a score of 4.
    phone.open(&second).unwrap();
    phone.type_into("#score", "4").unwrap();
    phone.click("#accept").unwrap();
    phone
        .wait_for_text("Thank you: the repair is accepted.", Duration::from_secs(5))
        .unwrap();
    phone
        .screenshot(&docs.join("accept-link-phone-done.png"))
        .unwrap();
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{id}"), None, None).unwrap();
    assert_eq!(detail["status"], "accepted", "{detail}");
    assert_eq!(detail["accepted_via"], "link", "{detail}");
    assert_eq!(detail["satisfaction"], 4, "{detail}");
    assert_eq!(detail["assignee"], "wang.fang", "{detail}");
    assert!(
        detail["visit_due"].is_string(),
        "the return visit is due: {detail}"
    );
    let (status, _) = http(api, "POST", &relative(&second), None, Some("answer=accept")).unwrap();
    assert_eq!(status, 410, "a used link does not answer again");

    // The return visit, made by the desk.
    step(
        api,
        id,
        FRONT_DESK,
        r#"{"action":"visit","score":5,"note":"happy, no more drips"}"#,
    );
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{id}"), None, None).unwrap();
    assert!(detail["visited_at"].is_string(), "{detail}");
    assert_eq!(detail["satisfaction"], 5, "{detail}");

    // Every change went to the broker: registered … accepted, visited.
    assert!(
        wait_until(Duration::from_secs(10), || changes
            .messages()
            .iter()
            .filter_map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).ok())
            .any(|c| c["action"] == "visit"))
        .await,
        "no visit on MQTT"
    );
    let actions: Vec<String> = changes
        .messages()
        .iter()
        .filter_map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).ok())
        .filter(|c| c["ticket"]["id"] == id)
        .map(|c| {
            c["action"]
                .as_str()
                .unwrap_or(c["change"].as_str().unwrap_or(""))
                .to_owned()
        })
        .collect();
    assert_eq!(
        actions,
        [
            "created", "dispatch", "start", "resolve", "reject", "dispatch", "start", "resolve",
            "accept", "visit"
        ],
        "{actions:?}"
    );
    // The month's report counts the rework, the link acceptance and the score.
    let month = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let (_, report) = http(
        api,
        "GET",
        &format!("/api/v1/reports/tickets?month={month}"),
        None,
        None,
    )
    .unwrap();
    assert_eq!(report["reworks"], 1, "{report}");
    assert_eq!(report["accepted_via"]["link"], 1, "{report}");
    assert_eq!(report["acceptance_wait"]["count"], 1, "{report}");
    assert_eq!(report["satisfaction"]["visits_done"], 1, "{report}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_nobody_answers_for_reminds_the_front_desk_once() {
    let smtp = SmtpSink::start(0).unwrap();
    let robot = HttpReceiver::start(0).await.unwrap();
    let broker = Mosquitto::start().unwrap();
    let site = SiteDir::new().unwrap();
    let config = site_config(&smtp, &robot, &broker, "remind_acceptance_after = \"2s\"\n");
    let path = write_site(&site, &config);
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let request = r#"{"title":"Lobby door closer loose","requester":"Mr Li","contact":"+8613900000001","channel":"desk"}"#;
    let (_, ticket) = http(
        api,
        "POST",
        "/api/v1/tickets",
        Some(FRONT_DESK),
        Some(request),
    )
    .unwrap();
    let id = ticket["id"].as_i64().unwrap();
    step(
        api,
        id,
        FRONT_DESK,
        r#"{"action":"dispatch","assignee":"li.wei"}"#,
    );
    step(api, id, TECHNICIAN, r#"{"action":"start"}"#);
    let resolved = std::time::Instant::now();
    step(
        api,
        id,
        TECHNICIAN,
        r#"{"action":"resolve","note":"screw tightened"}"#,
    );
    let reminded = || {
        robot
            .posted()
            .iter()
            .filter(|p| {
                p.body["text"]["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("still waits for the requester's acceptance"))
            })
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(10), || reminded() == 1).await,
        "the front desk was not reminded: {:#?}",
        robot.posted()
    );
    assert!(
        resolved.elapsed() >= Duration::from_secs(2),
        "not before the wait was over"
    );
    let reminder = robot
        .posted()
        .into_iter()
        .find(|p| {
            p.body["text"]["content"]
                .as_str()
                .is_some_and(|t| t.contains("still waits"))
        })
        .unwrap();
    let text = reminder.body["text"]["content"].as_str().unwrap();
    assert!(
        text.contains("Please call Mr Li, +8613900000001."),
        "{text}"
    );
    assert_eq!(
        reminder.body["text"]["mentioned_mobile_list"],
        serde_json::json!(["+8613800000001"]),
        "the front desk is mentioned"
    );
    // The desk's e-mail is not a [tickets] notify channel: nothing there but the requester's mails.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reminded(), 1, "reminded once per round");
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{id}"), None, None).unwrap();
    assert!(detail["acceptance_reminded_at"].is_string(), "{detail}");
    assert_eq!(
        detail["status"], "resolved",
        "no default acceptance configured"
    );
    // Staff take the acceptance on the phone: recorded as theirs.
    step(
        api,
        id,
        FRONT_DESK,
        r#"{"action":"accept","note":"Mr Li confirmed by phone","score":3}"#,
    );
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{id}"), None, None).unwrap();
    assert_eq!(detail["accepted_via"], "staff", "{detail}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_technician_fails_a_lift_check_item_on_the_console_and_a_linked_repair_opens() {
    let smtp = SmtpSink::start(0).unwrap();
    let robot = HttpReceiver::start(0).await.unwrap();
    let broker = Mosquitto::start().unwrap();
    let site = SiteDir::new().unwrap();
    let tech_hash = sitewarden::api::session::hash_password("tech-password").unwrap();
    let schedule = "[[tickets.preventive]]\nid = \"lift-check\"\ntitle = \"Daily lift check\"\n\
        every = \"day\"\nat = \"00:00\"\n\
        checklist = [\"Brakes\", \"Door locks\", \"Alarm bell\"]\n";
    let config = site_config(&smtp, &robot, &broker, "")
        .replace(
            "[[people]]\nid = \"li.wei\"\nname = \"Li Wei\"\n",
            &format!(
                "[[people]]\nid = \"li.wei\"\nname = \"Li Wei\"\npassword_hash = \"{tech_hash}\"\nrole = \"technician\"\n"
            ),
        )
        .replace("[tickets]\n", &format!("{schedule}\n[tickets]\n"));
    let path = write_site(&site, &config);
    let catalog = load(&path);
    // The schedule has run before: today's check is due at once.
    let data = site.dir.path().join("data");
    let outlets = sitewarden::tickets::store::Outlets {
        site: catalog.site.id.clone(),
        topics: None,
        webhook: false,
        messages: catalog.site.messages.clone(),
    };
    sitewarden::tickets::store::TicketStore::open(&data, outlets)
        .unwrap()
        .preventive_start(
            "lift-check",
            jiff::Timestamp::now() - Duration::from_secs(2 * 86_400),
        )
        .unwrap();
    let daemon = start_daemon(catalog, &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let list = || http(api, "GET", "/api/v1/tickets", None, None).unwrap().1;
    assert!(
        wait_until(Duration::from_secs(10), || list()["tickets"]
            .as_array()
            .is_some_and(|t| !t.is_empty()))
        .await,
        "no check ticket: {}",
        list()
    );
    let id = list()["tickets"][0]["id"].as_i64().unwrap();
    step(
        api,
        id,
        FRONT_DESK,
        r#"{"action":"dispatch","assignee":"li.wei"}"#,
    );
    step(api, id, TECHNICIAN, r#"{"action":"start"}"#);

    let phone = Browser::start(390, 844).unwrap();
    phone.open(&format!("http://{api}/login")).unwrap();
    phone.type_into("#person", "li.wei").unwrap();
    phone.type_into("#password", "tech-password").unwrap();
    phone.click("#signin").unwrap();
    phone
        .wait_for_text("Signed in as Li Wei", Duration::from_secs(5))
        .unwrap();
    phone.open(&format!("http://{api}/repairs")).unwrap();
    let page = phone.text().unwrap();
    assert!(
        page.contains("Brakes") && page.contains("Alarm bell"),
        "{page}"
    );
    phone
        .click(r#"li[data-item="0"] button[value="pass"]"#)
        .unwrap();
    phone.wait_for_text("Pass", Duration::from_secs(5)).unwrap();
    phone
        .type_into(
            r#"li[data-item="1"] input[name="note"]"#,
            "rear landing door lock slips",
        )
        .unwrap();
    phone
        .click(r#"li[data-item="1"] button[value="fail"]"#)
        .unwrap();
    let page = phone
        .wait_for_text(
            "Door locks failed in: Daily lift check",
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(page.contains("rear landing door lock slips"), "{page}");
    assert!(
        page.contains(&format!("Opened by a failed check on #{id}")),
        "{page}"
    );
    // A photo of the slipping lock, from the phone's camera, on the new repair.
    let repair = list()["tickets"][0]["id"].as_i64().unwrap();
    let photo = site.dir.path().join("lock.png");
    std::fs::copy(repo_root().join("docs/console/signin-phone.png"), &photo).unwrap();
    phone
        .type_into(
            &format!(r#"article[data-id="{repair}"] input[type="file"]"#),
            &photo.display().to_string(),
        )
        .unwrap();
    phone
        .click(&format!(r#"article[data-id="{repair}"] form.photo button"#))
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || phone
            .find(&format!(r#"article[data-id="{repair}"] .photos img"#))
            .is_ok())
        .await,
        "the photo is not on the card"
    );
    phone
        .screenshot(&repo_root().join("docs/console/repairs-checklist-phone.png"))
        .unwrap();
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{repair}"), None, None).unwrap();
    let kept = &detail["photos"][0];
    assert_eq!(kept["content_type"], "image/png", "{detail}");
    let sent = std::fs::read(&photo).unwrap();
    assert_eq!(kept["bytes"], sent.len(), "{detail}");
    let (status, head, body) = http_bytes(
        api,
        "GET",
        &format!("/api/v1/tickets/{repair}/photos/{}", kept["id"]),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: image/png"),
        "{head}"
    );
    assert_eq!(body, sent, "the photo comes back byte for byte");
    // The front desk cannot tick a checklist: the API refuses the role.
    let (status, _) = http(
        api,
        "POST",
        &format!("/api/v1/tickets/{id}/checklist/2"),
        Some(FRONT_DESK),
        Some(r#"{"result":"pass"}"#),
    )
    .unwrap();
    assert_eq!(status, 403);
    // Resolving with the alarm bell unchecked is refused with the reason.
    let path = format!("/api/v1/tickets/{id}/transition");
    let (status, body) = http(
        api,
        "POST",
        &path,
        Some(TECHNICIAN),
        Some(r#"{"action":"resolve"}"#),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("Alarm bell"), "{body}");
    let (status, _) = http(
        api,
        "POST",
        &format!("/api/v1/tickets/{id}/checklist/2"),
        Some(TECHNICIAN),
        Some(r#"{"result":"pass"}"#),
    )
    .unwrap();
    assert_eq!(status, 200);
    step(api, id, TECHNICIAN, r#"{"action":"resolve"}"#);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_kept_with_a_request_within_their_limits_and_only_as_images() {
    let smtp = SmtpSink::start(0).unwrap();
    let robot = HttpReceiver::start(0).await.unwrap();
    let broker = Mosquitto::start().unwrap();
    let site = SiteDir::new().unwrap();
    let path = write_site(&site, &site_config(&smtp, &robot, &broker, ""));
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let request = r#"{"title":"Ceiling stain in the VIP room","requester":"Ms Wu","contact":"wu@example.com"}"#;
    let (_, ticket) = http(
        api,
        "POST",
        "/api/v1/tickets",
        Some(FRONT_DESK),
        Some(request),
    )
    .unwrap();
    let id = ticket["id"].as_i64().unwrap();
    let photos = format!("/api/v1/tickets/{id}/photos");
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend(std::iter::repeat_n(0x55, 1000));
    let (status, head, body) = http_bytes(api, "POST", &photos, Some(FRONT_DESK), &jpeg).unwrap();
    assert_eq!(status, 201, "{head}");
    let kept: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (kept["content_type"].as_str(), kept["bytes"].as_u64()),
        (Some("image/jpeg"), Some(1004))
    );
    // Not an image, no token, too large, past the count: refused, nothing kept.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>";
    let (status, _, body) = http_bytes(api, "POST", &photos, Some(FRONT_DESK), svg).unwrap();
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("only JPEG, PNG or WebP"));
    assert_eq!(
        http_bytes(api, "POST", &photos, None, &jpeg).unwrap().0,
        401
    );
    let mut big = jpeg.clone();
    big.resize(2 * 1024 * 1024 + 1, 0x55);
    let (status, _, body) = http_bytes(api, "POST", &photos, Some(FRONT_DESK), &big).unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("at most 2097152"));
    big.resize(8 * 1024 * 1024, 0x55);
    let (status, head, _) = http_bytes(api, "POST", &photos, Some(FRONT_DESK), &big).unwrap();
    assert_eq!(status, 413, "{head}");
    for _ in 1..6 {
        assert_eq!(
            http_bytes(api, "POST", &photos, Some(TECHNICIAN), &jpeg)
                .unwrap()
                .0,
            201
        );
    }
    let (status, _, body) = http_bytes(api, "POST", &photos, Some(FRONT_DESK), &jpeg).unwrap();
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("has 6 photos already"));
    let (_, detail) = http(api, "GET", &format!("/api/v1/tickets/{id}"), None, None).unwrap();
    assert_eq!(
        detail["photos"].as_array().map(Vec::len),
        Some(6),
        "{detail}"
    );
    assert_eq!(
        detail["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["action"] == "photo")
            .count(),
        6
    );
    let (status, _, _) = http_bytes(
        api,
        "GET",
        &format!("/api/v1/tickets/{id}/photos/999"),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(status, 404);
    daemon.stop().await;
}

//! Patrol taps end to end: stations of `checkpoint-sim` (the firmware's own
//! logic behind an RTU-over-TCP gateway) polled by the daemon, which
//! verifies, stores and releases every record; a power cut in the station
//! loses nothing; forged and replayed records and unknown badges are
//! refused or flagged and raise intrusion alerts.

use std::time::Duration;

use checkpoint_fw::station::Tap;
use sitewarden_tests::{SiteDir, checkpoint_station, hex, http, load, start_daemon, wait_until};

const LOBBY_KEY: [u8; 32] = [0x11; 32];
const GARAGE_KEY: [u8; 32] = [0x22; 32];

fn taps(api: std::net::SocketAddr, station: &str) -> Vec<serde_json::Value> {
    let (_, body) = http(
        api,
        "GET",
        &format!("/api/v1/patrol/taps?station={station}"),
        None,
        None,
    )
    .unwrap();
    let mut taps = body.as_array().cloned().unwrap_or_default();
    taps.reverse();
    taps
}

fn open_alert_titles(api: std::net::SocketAddr) -> Vec<String> {
    let (_, body) = http(api, "GET", "/api/v1/alerts?status=open", None, None).unwrap();
    body["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taps_are_verified_stored_and_released_and_forgeries_are_caught() {
    let lobby = checkpoint_station(3, LOBBY_KEY).await;
    let garage = checkpoint_station(4, GARAGE_KEY).await;
    let site = SiteDir::new().unwrap();
    site.write("keys/lobby.key", &hex(&LOBBY_KEY)).unwrap();
    site.write("keys/garage.key", &hex(&GARAGE_KEY)).unwrap();
    let path = site
        .site(&format!(
            "[[patrol.stations]]\nid = \"lobby\"\ncheckpoint = 3\ngateway = \"{}\"\nkey = {{ file = \"keys/lobby.key\" }}\npoll_interval = \"200ms\"\nlocation = \"Sales hall entrance\"\n\n\
             [[patrol.stations]]\nid = \"garage\"\ncheckpoint = 4\ngateway = \"{}\"\nkey = {{ file = \"keys/garage.key\" }}\npoll_interval = \"200ms\"\n\n\
             [[patrol.guards]]\nid = \"wang.lei\"\nname = \"Wang Lei\"\nbadges = [\"04A1B2C3\"]\n",
            lobby.addr, garage.addr
        ))
        .unwrap();
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;

    // Three taps, then the station loses power before the daemon had them all.
    assert_eq!(lobby.tap(&[0x04, 0xA1, 0xB2, 0xC3]), Tap::Recorded(1));
    lobby.power_cut();
    assert!(wait_until(Duration::from_secs(5), || taps(api, "lobby").len() == 1).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(lobby.tap(&[0x04, 0xA1, 0xB2, 0xC3]), Tap::Recorded(2));
    assert_eq!(
        lobby.tap(&[0x04, 0x0B, 0xAD, 0xBA, 0xD0, 0x00, 0x01]),
        Tap::Recorded(3)
    );
    assert!(
        wait_until(Duration::from_secs(5), || taps(api, "lobby").len() == 3).await,
        "{:?}",
        taps(api, "lobby")
    );
    let lobby_taps = taps(api, "lobby");
    assert_eq!(
        lobby_taps
            .iter()
            .map(|t| t["seq"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(lobby_taps[0]["verdict"], "accepted");
    assert_eq!(lobby_taps[0]["guard"], "wang.lei");
    assert_eq!(lobby_taps[0]["badge"], "04A1B2C3");
    assert_eq!(lobby_taps[2]["verdict"], "unknown_badge");
    assert_eq!(
        lobby_taps[1]["boot"], 2,
        "the second tap came after the power cut"
    );
    assert!(
        wait_until(Duration::from_secs(3), || lobby.waiting() == 0).await,
        "the station still holds records"
    );
    // The tap is stored first, its alert a moment later.
    assert!(
        wait_until(Duration::from_secs(5), || open_alert_titles(api)
            .iter()
            .any(
                |t| t == "Unknown badge at checkpoint lobby (Sales hall entrance)"
            ))
        .await,
        "no alert `Unknown badge at checkpoint lobby (Sales hall entrance)`"
    );

    // An attacker on the bus answers an old record again.
    assert!(lobby.replay());
    assert!(
        wait_until(Duration::from_secs(5), || taps(api, "lobby")
            .iter()
            .any(|t| t["verdict"] == "replayed"))
        .await
    );
    // The tap is stored first, its alert a moment later.
    assert!(
        wait_until(Duration::from_secs(5), || open_alert_titles(api)
            .iter()
            .any(
                |t| t == "Replayed patrol record at checkpoint lobby (Sales hall entrance)"
            ))
        .await,
        "no alert `Replayed patrol record at checkpoint lobby (Sales hall entrance)`"
    );
    assert_eq!(
        taps(api, "lobby")
            .iter()
            .filter(|t| t["verdict"] == "accepted")
            .count(),
        2,
        "the replay was not accepted"
    );

    // A station signing with a key the daemon does not have.
    garage.forge();
    assert_eq!(garage.tap(&[0x04, 0xA1, 0xB2, 0xC3]), Tap::Recorded(1));
    assert!(
        wait_until(Duration::from_secs(5), || taps(api, "garage")
            .iter()
            .any(|t| t["verdict"] == "forged"))
        .await
    );
    assert!(
        wait_until(Duration::from_secs(5), || open_alert_titles(api)
            .iter()
            .any(|t| t == "Forged patrol record at checkpoint garage"))
        .await,
        "no alert `Forged patrol record at checkpoint garage`"
    );
    assert!(
        wait_until(Duration::from_secs(3), || garage.waiting() == 0).await,
        "the forged record blocks the station"
    );
    let metrics = sitewarden_tests::http_get(api, "/metrics").unwrap().1;
    assert!(
        metrics.contains("sitewarden_patrol_taps_total{site=\"test-site\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("sitewarden_patrol_records_rejected_total{site=\"test-site\"} 2"));
    assert_eq!(
        http(api, "GET", "/api/v1/patrol/taps?station=roof", None, None)
            .unwrap()
            .0,
        404
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_are_judged_in_real_time_and_a_missed_checkpoint_raises_an_alert() {
    let entrance = checkpoint_station(1, LOBBY_KEY).await;
    let stairs = checkpoint_station(2, GARAGE_KEY).await;
    let site = SiteDir::new().unwrap();
    site.write("keys/a.key", &hex(&LOBBY_KEY)).unwrap();
    site.write("keys/b.key", &hex(&GARAGE_KEY)).unwrap();
    // A round every 12 s (site time is UTC), checkpoints 3 s apart, 2 s either side.
    let path = site
        .site(&format!(
            "[[patrol.stations]]\nid = \"entrance\"\ncheckpoint = 1\ngateway = \"{}\"\nkey = {{ file = \"keys/a.key\" }}\npoll_interval = \"200ms\"\n\n\
             [[patrol.stations]]\nid = \"stairs\"\ncheckpoint = 2\ngateway = \"{}\"\nkey = {{ file = \"keys/b.key\" }}\npoll_interval = \"200ms\"\n\n\
             [[patrol.guards]]\nid = \"wang.lei\"\nname = \"Wang Lei\"\nbadges = [\"04A1B2C3\"]\n\n\
             [[patrol.routes]]\nid = \"lobby-round\"\ncheckpoints = [\"entrance\", \"stairs\"]\nevery = \"12s\"\nleg = \"3s\"\nwindow = \"2s\"\n",
            entrance.addr, stairs.addr
        ))
        .unwrap();
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let badge = [0x04, 0xA1, 0xB2, 0xC3];
    // Wait for the next round start (a multiple of 12 s since midnight UTC).
    let now = jiff::Timestamp::now().as_millisecond();
    let next = (now / 12_000 + 1) * 12_000;
    tokio::time::sleep(Duration::from_millis((next - now) as u64 + 300)).await;
    assert!(matches!(entrance.tap(&badge), Tap::Recorded(_)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(matches!(stairs.tap(&badge), Tap::Recorded(_)));
    // The next round: the guard skips the stairs.
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(matches!(entrance.tap(&badge), Tap::Recorded(_)));
    let rounds = || {
        let (_, body) = http(
            api,
            "GET",
            "/api/v1/patrol/rounds?route=lobby-round",
            None,
            None,
        )
        .unwrap();
        let mut rounds = body.as_array().cloned().unwrap_or_default();
        rounds.reverse();
        rounds
    };
    // Rounds the guard walked (a round already under way when the daemon started is all missed).
    let done = |r: &serde_json::Value| {
        r["status"] == "done" && r["checkpoints"][0]["verdict"] == "on_time"
    };
    assert!(
        wait_until(Duration::from_secs(15), || rounds()
            .iter()
            .filter(|r| done(r))
            .count()
            >= 2)
        .await,
        "{:#?}",
        rounds()
    );
    let walked: Vec<serde_json::Value> = rounds()
        .into_iter()
        .filter(|r| r["checkpoints"][0]["verdict"] == "on_time")
        .collect();
    assert!(walked.len() >= 2, "{:#?}", rounds());
    let verdicts = |r: &serde_json::Value| -> Vec<String> {
        r["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["verdict"].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    assert_eq!(
        verdicts(&walked[0]),
        ["on_time", "on_time"],
        "{:#?}",
        walked[0]
    );
    assert_eq!(walked[0]["completion"], 1.0);
    assert_eq!(walked[0]["guard"], "wang.lei");
    assert_eq!(
        verdicts(&walked[1]),
        ["on_time", "missed"],
        "{:#?}",
        walked[1]
    );
    assert_eq!(walked[1]["completion"], 0.5);
    assert!(
        wait_until(Duration::from_secs(5), || open_alert_titles(api)
            .iter()
            .any(
                |t| t == "Missed checkpoint stairs on patrol route lobby-round"
            ))
        .await,
        "no alert `Missed checkpoint stairs on patrol route lobby-round`"
    );
    assert_eq!(
        http(api, "GET", "/api/v1/patrol/rounds?route=nope", None, None)
            .unwrap()
            .0,
        404
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_walked_while_the_daemon_was_down_is_judged_on_the_taps_the_stations_kept() {
    let entrance = checkpoint_station(1, LOBBY_KEY).await;
    let stairs = checkpoint_station(2, GARAGE_KEY).await;
    let site = SiteDir::new().unwrap();
    site.write("keys/a.key", &hex(&LOBBY_KEY)).unwrap();
    site.write("keys/b.key", &hex(&GARAGE_KEY)).unwrap();
    let path = site
        .site(&format!(
            "[[patrol.stations]]\nid = \"entrance\"\ncheckpoint = 1\ngateway = \"{}\"\nkey = {{ file = \"keys/a.key\" }}\npoll_interval = \"200ms\"\n\n\
             [[patrol.stations]]\nid = \"stairs\"\ncheckpoint = 2\ngateway = \"{}\"\nkey = {{ file = \"keys/b.key\" }}\npoll_interval = \"200ms\"\n\n\
             [[patrol.guards]]\nid = \"wang.lei\"\nname = \"Wang Lei\"\nbadges = [\"04A1B2C3\"]\n\n\
             [[patrol.routes]]\nid = \"lobby-round\"\ncheckpoints = [\"entrance\", \"stairs\"]\nevery = \"12s\"\nleg = \"3s\"\nwindow = \"2s\"\n",
            entrance.addr, stairs.addr
        ))
        .unwrap();
    // The daemon runs shortly before a round (when no round is under way)
    // and stops; the guard walks the round while it is down, and the taps
    // wait in the stations.
    let now = jiff::Timestamp::now().as_millisecond();
    let mut next = (now / 12_000 + 1) * 12_000;
    if next - now < 3_500 {
        next += 12_000;
    }
    tokio::time::sleep(Duration::from_millis((next - now - 3_500) as u64)).await;
    let first = start_daemon(load(&path), &site, 0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.stop().await;
    let now = jiff::Timestamp::now().as_millisecond();
    tokio::time::sleep(Duration::from_millis((next - now) as u64 + 300)).await;
    let badge = [0x04, 0xA1, 0xB2, 0xC3];
    assert!(matches!(entrance.tap(&badge), Tap::Recorded(_)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(matches!(stairs.tap(&badge), Tap::Recorded(_)));
    // Back after the round's last window closed (3 s + 2 s).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let round = || {
        let (_, body) = http(
            api,
            "GET",
            "/api/v1/patrol/rounds?route=lobby-round",
            None,
            None,
        )
        .unwrap();
        body.as_array()
            .into_iter()
            .flatten()
            .find(|r| {
                r["start"]
                    .as_str()
                    .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                    .is_some_and(|s| s.as_millisecond() == next)
            })
            .cloned()
    };
    assert!(
        wait_until(Duration::from_secs(10), || round()
            .is_some_and(|r| r["status"] == "done"))
        .await,
        "{:#?}",
        round()
    );
    let walked = round().unwrap();
    let verdicts: Vec<&str> = walked["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(verdicts, ["on_time", "on_time"], "{walked:#}");
    assert!(
        !open_alert_titles(api)
            .iter()
            .any(|t| t.starts_with("Missed checkpoint")),
        "{:?}",
        open_alert_titles(api)
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_ok_finding_on_a_round_opens_a_linked_ticket_and_a_listed_one_an_alert() {
    let entrance = checkpoint_station(1, LOBBY_KEY).await;
    let site = SiteDir::new().unwrap();
    site.write("keys/a.key", &hex(&LOBBY_KEY)).unwrap();
    let path = site
        .site(&format!(
            "[[api.tokens]]\nname = \"wang.lei\"\nrole = \"security\"\nsha256 = \"{}\"\n\n\
             [[patrol.stations]]\nid = \"entrance\"\nlocation = \"Main entrance\"\ncheckpoint = 1\ngateway = \"{}\"\n\
             key = {{ file = \"keys/a.key\" }}\npoll_interval = \"200ms\"\n\
             checklist = [\"Doors locked\", \"Fire exits clear\", \"No water on the floor\"]\n\
             alert_on = [\"Fire exits clear\"]\n\n\
             [[patrol.guards]]\nid = \"wang.lei\"\nname = \"Wang Lei\"\nbadges = [\"04A1B2C3\"]\n\n\
             [[patrol.routes]]\nid = \"lobby-round\"\ncheckpoints = [\"entrance\"]\nevery = \"12s\"\nleg = \"3s\"\nwindow = \"2s\"\n",
            sitewarden::config::hash_token("tok-wang"),
            entrance.addr
        ))
        .unwrap();
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let now = jiff::Timestamp::now().as_millisecond();
    let next = (now / 12_000 + 1) * 12_000;
    tokio::time::sleep(Duration::from_millis((next - now) as u64 + 300)).await;
    assert!(matches!(
        entrance.tap(&[0x04, 0xA1, 0xB2, 0xC3]),
        Tap::Recorded(_)
    ));
    let rounds = || {
        http(
            api,
            "GET",
            "/api/v1/patrol/rounds?route=lobby-round",
            None,
            None,
        )
        .unwrap()
        .1
    };
    assert!(
        wait_until(
            Duration::from_secs(5),
            || rounds()[0]["checkpoints"][0]["verdict"] == "on_time"
        )
        .await,
        "{:#}",
        rounds()
    );
    let round = rounds()[0]["id"].as_i64().unwrap();
    let post = |token: Option<&str>, body: &str| {
        http(api, "POST", "/api/v1/patrol/findings", token, Some(body)).unwrap()
    };
    let report = r#"{"station":"entrance","items":[
        {"item":"Doors locked","ok":true},
        {"item":"Fire exits clear","ok":false,"note":"boxes stacked in the east stairwell"},
        {"item":"No water on the floor","ok":true}]}"#;
    assert_eq!(post(None, report).0, 401);
    for bad in [
        r#"{"station":"entrance","items":[{"item":"Roof","ok":true}]}"#,
        r#"{"station":"entrance","items":[{"item":"Doors locked","ok":false}]}"#,
        r#"{"station":"nowhere","items":[{"item":"Doors locked","ok":true}]}"#,
    ] {
        assert_eq!(post(Some("tok-wang"), bad).0, 400, "{bad}");
    }
    let (status, found) = post(Some("tok-wang"), report);
    assert_eq!(status, 201, "{found}");
    let found = found.as_array().cloned().unwrap();
    assert_eq!(found.len(), 3);
    assert!(
        found
            .iter()
            .all(|f| f["round"] == round && f["guard"] == "wang.lei"),
        "{found:?}"
    );
    let blocked = &found[1];
    assert_eq!(blocked["ok"], false);
    let ticket = blocked["ticket"]
        .as_i64()
        .unwrap_or_else(|| panic!("{blocked}"));
    assert!(found[0]["ticket"].is_null() && found[2]["ticket"].is_null());
    let (_, t) = http(api, "GET", &format!("/api/v1/tickets/{ticket}"), None, None).unwrap();
    assert_eq!(t["origin"], "patrol", "{t}");
    assert_eq!(t["location"], "Main entrance");
    assert_eq!(t["priority"], "p2", "an alert item is urgent");
    assert!(
        t["description"]
            .as_str()
            .is_some_and(|d| d.contains("boxes stacked in the east stairwell")
                && d.contains(&format!("patrol round #{round}"))),
        "{t}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || open_alert_titles(api)
            .iter()
            .any(|a| a.starts_with("Fire exits clear: not ok at entrance")))
        .await,
        "{:?}",
        open_alert_titles(api)
    );
    // Presence and findings together on the round.
    let this = rounds()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == round)
        .cloned()
        .unwrap();
    assert_eq!(
        this["findings"].as_array().map(Vec::len),
        Some(3),
        "{this:#}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_station_refuses_taps_opens_a_ticket_and_loses_nothing() {
    let station = checkpoint_station(6, LOBBY_KEY).await;
    // Nobody collects: the station fills its flash queue, then refuses.
    let mut recorded = 0;
    for n in 0..200u32 {
        match station.tap(&(0x0400_0000 | n).to_be_bytes()) {
            Tap::Recorded(_) => recorded += 1,
            Tap::QueueFull => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(station.tap(&[0x04, 0xA1, 0xB2, 0xC3]), Tap::QueueFull);
    let site = SiteDir::new().unwrap();
    site.write("keys/s.key", &hex(&LOBBY_KEY)).unwrap();
    let path = site
        .site(&format!(
            "[[patrol.stations]]\nid = \"gate\"\ncheckpoint = 6\ngateway = \"{}\"\nkey = {{ file = \"keys/s.key\" }}\npoll_interval = \"100ms\"\n",
            station.addr
        ))
        .unwrap();
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let ticket = || {
        let (_, body) = http(api, "GET", "/api/v1/tickets?device=gate", None, None).unwrap();
        body["tickets"].as_array().and_then(|t| t.first().cloned())
    };
    assert!(
        wait_until(Duration::from_secs(5), || ticket().is_some()).await,
        "no ticket for the full station"
    );
    assert!(
        ticket().unwrap()["title"]
            .as_str()
            .unwrap()
            .contains("queue is full")
    );
    // Everything it held is collected, in order, and it takes taps again.
    assert!(
        wait_until(Duration::from_secs(60), || station.waiting() == 0).await,
        "{} still waiting",
        station.waiting()
    );
    let (_, body) = http(
        api,
        "GET",
        "/api/v1/patrol/taps?station=gate&limit=1000",
        None,
        None,
    )
    .unwrap();
    let seqs: Vec<i64> = body
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|t| t["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=recorded).collect::<Vec<i64>>());
    assert!(matches!(
        station.tap(&[0x04, 0xA1, 0xB2, 0xC3]),
        Tap::Recorded(_)
    ));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_out_of_order_and_a_guard_who_stops_moving() {
    let keys = [[0x31u8; 32], [0x32; 32], [0x33; 32]];
    let mut stations = Vec::new();
    let site = SiteDir::new().unwrap();
    let mut config = String::new();
    for (i, key) in keys.iter().enumerate() {
        let station = checkpoint_station(i as u16 + 1, *key).await;
        site.write(&format!("keys/{i}.key"), &hex(key)).unwrap();
        config.push_str(&format!(
            "[[patrol.stations]]\nid = \"cp{i}\"\ncheckpoint = {}\ngateway = \"{}\"\nkey = {{ file = \"keys/{i}.key\" }}\npoll_interval = \"200ms\"\n\n",
            i + 1,
            station.addr
        ));
        stations.push(station);
    }
    // Rounds every 12 s, checkpoints 3 s apart, 2 s either side; a guard silent 2 s past a checkpoint's time is checked on.
    config.push_str(
        "[[patrol.guards]]\nid = \"wang.lei\"\nname = \"Wang Lei\"\nbadges = [\"04A1B2C3\"]\n\n\
         [[patrol.routes]]\nid = \"r\"\ncheckpoints = [\"cp0\", \"cp1\", \"cp2\"]\nevery = \"12s\"\nleg = \"3s\"\nwindow = \"2s\"\nlone_worker_after = \"2s\"\n",
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    let badge = [0x04, 0xA1, 0xB2, 0xC3];
    let now = jiff::Timestamp::now().as_millisecond();
    let next = (now / 12_000 + 1) * 12_000;
    tokio::time::sleep(Duration::from_millis((next - now) as u64 + 300)).await;
    let start = next;
    // Round 1: cp0, then cp2 before cp1.
    assert!(matches!(stations[0].tap(&badge), Tap::Recorded(_)));
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(matches!(stations[2].tap(&badge), Tap::Recorded(_)));
    // Round 2: cp0 only, then nothing.
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    assert!(matches!(stations[0].tap(&badge), Tap::Recorded(_)));
    let round = |at: i64| {
        let (_, body) = http(api, "GET", "/api/v1/patrol/rounds?route=r", None, None).unwrap();
        let at = jiff::Timestamp::from_millisecond(at).unwrap().to_string();
        body.as_array()
            .unwrap()
            .iter()
            .find(|r| r["start"] == at.as_str())
            .cloned()
    };
    let verdicts = |r: &serde_json::Value| -> Vec<String> {
        r["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["verdict"].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(10), || round(start)
            .is_some_and(|r| r["status"] == "done"))
        .await,
        "{:#?}",
        round(start)
    );
    assert_eq!(
        verdicts(&round(start).unwrap()),
        ["on_time", "missed", "out_of_order"]
    );
    // cp1 of round 2 was due 3 s after its start; 2 s later the guard is checked on.
    let lone = "Guard Wang Lei on route r has not reached cp1: check on them";
    assert!(
        wait_until(Duration::from_secs(10), || open_alert_titles(api)
            .iter()
            .any(|t| t == lone))
        .await,
        "{:?}",
        open_alert_titles(api)
    );
    let (_, alerts) = http(
        api,
        "GET",
        "/api/v1/alerts?status=open&class=guard_safety",
        None,
        None,
    )
    .unwrap();
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 1, "raised once");
    daemon.stop().await;
}

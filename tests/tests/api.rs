//! The HTTP API as a client sees it: JSON errors for bad requests, bearer
//! tokens with roles for changes, and a service record that resets a
//! run-hours counter and clears its condition.

use std::time::Duration;

use site_sim::Step;
use sitewarden::rules::ConditionState;
use sitewarden_tests::{
    SiteDir, frozen, http, load, repo_root, start_daemon, start_sim, wait_until,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_and_service_records_over_http() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("lighting-1", "lighting-panel")], frozen())
        .await
        .unwrap();
    let hash = |t: &str| sitewarden::config::hash_token(t);
    let pack = repo_root().join("config/standards/lighting.toml");
    let config = format!(
        "[[api.tokens]]\nname = \"desk\"\nrole = \"front-desk\"\nsha256 = \"{}\"\n\n[[api.tokens]]\nname = \"wang\"\nrole = \"technician\"\nsha256 = \"{}\"\n\n\
         [rules]\npacks = [{:?}]\n\n[[devices]]\nid = \"lighting-1\"\nprofile = \"lighting-panel\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"100ms\"\n",
        hash("desk-token"),
        hash("tech-token"),
        pack.display().to_string(),
        sim.addr("lighting-1").unwrap()
    );
    let catalog = load(&site.site(&config).unwrap());
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let step: Step = toml::from_str(
        "device = \"lighting-1\"\naction = \"set\"\npoint = \"circuit1_lamp_hours\"\nvalue = 51000",
    )
    .unwrap();
    sim.apply(&step);
    let lamp_state = || {
        let view = daemon.rules.view.read();
        catalog
            .rule_instances
            .iter()
            .zip(view.iter())
            .find(|(i, _)| {
                catalog.rule(i.rule).id == "lighting.lamp_rated_life"
                    && catalog.point(i.point).name == "circuit1_lamp_hours"
            })
            .map(|(_, s)| s.state)
    };
    assert!(
        wait_until(Duration::from_secs(5), || lamp_state()
            == Some(ConditionState::Active))
        .await
    );

    let call = |method: &str, path: &str, token: Option<&str>, body: Option<&str>| {
        let (addr, method, path) = (api, method.to_owned(), path.to_owned());
        let (token, body) = (token.map(str::to_owned), body.map(str::to_owned));
        async move {
            tokio::task::spawn_blocking(move || {
                http(addr, &method, &path, token.as_deref(), body.as_deref()).unwrap()
            })
            .await
            .unwrap()
        }
    };

    // Reading conditions: filters, and JSON errors for bad ones.
    let (status, body) = call(
        "GET",
        "/api/v1/conditions?rule=lighting.lamp_rated_life",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let active = body["active"].as_array().unwrap();
    assert_eq!(active.len(), 1, "{body}");
    assert_eq!(active[0]["point"], "circuit1_lamp_hours");
    assert_eq!(active[0]["threshold"], 50000.0);
    assert_eq!(body["recent"][0]["transition"], "raised");
    let (status, body) = call("GET", "/api/v1/conditions?colour=red", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    let (status, body) = call("GET", "/api/v1/conditions?device=nope", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = call("GET", "/api/v1/nothing-here", None, None).await;
    assert_eq!(status, 404);

    // Recording service: authentication, roles, validation, then success.
    let record = r#"{"device":"lighting-1","rule":"lighting.lamp_rated_life"}"#;
    let (status, body) = call("POST", "/api/v1/service-records", None, Some(record)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = call(
        "POST",
        "/api/v1/service-records",
        Some("wrong"),
        Some(record),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = call(
        "POST",
        "/api/v1/service-records",
        Some("desk-token"),
        Some(record),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = call(
        "POST",
        "/api/v1/service-records",
        Some("tech-token"),
        Some("{not json"),
    )
    .await;
    assert_eq!(status, 400);
    let huge = format!(r#"{{"device":"{}","rule":"x"}}"#, "a".repeat(100_000));
    let (status, _) = call(
        "POST",
        "/api/v1/service-records",
        Some("tech-token"),
        Some(&huge),
    )
    .await;
    assert!(
        status == 400 || status == 413,
        "oversized body got {status}"
    );
    let (status, _) = call(
        "POST",
        "/api/v1/service-records",
        Some("tech-token"),
        Some(r#"{"device":"lighting-1","rule":"lighting.nope"}"#),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = call(
        "POST",
        "/api/v1/service-records",
        Some("tech-token"),
        Some(r#"{"device":"lighting-1","rule":"lighting.lamp_fault"}"#),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    assert_eq!(
        lamp_state(),
        Some(ConditionState::Active),
        "a refused request changed something"
    );

    let (status, body) = call(
        "POST",
        "/api/v1/service-records",
        Some("tech-token"),
        Some(record),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["by"], "wang");
    assert!(
        body["baselines"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(51000.0)),
        "{body}"
    );
    assert!(
        wait_until(Duration::from_secs(3), || lamp_state()
            == Some(ConditionState::Normal))
        .await
    );
    // The history is committed by the store's writer thread a moment after the live view changes.
    let mut answer = (0, serde_json::Value::Null);
    for _ in 0..100 {
        answer = call(
            "GET",
            "/api/v1/conditions?rule=lighting.lamp_rated_life",
            None,
            None,
        )
        .await;
        if answer.1["recent"][0]["transition"] == "cleared" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = answer;
    assert_eq!(status, 200);
    assert_eq!(body["active"].as_array().map(Vec::len), Some(0), "{body}");
    assert_eq!(body["recent"][0]["transition"], "cleared");
    daemon.stop().await;
}

/// A stage whose task panics (injected into the alert desk) is announced,
/// not only logged: `/healthz` answers 503 naming it, the metrics show it
/// down and counted, and the rest of the daemon (the API here) keeps
/// answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_that_panics_turns_healthz_to_503_with_its_name() {
    let site = SiteDir::new().unwrap();
    let config = "[[devices]]\nid = \"plc\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:9\" }\n\n[[devices.points]]\nname = \"p\"\nkind = \"holding\"\naddress = 0\n";
    let catalog = load(&site.site(config).unwrap());
    let options = sitewarden::daemon::RunOptions {
        api_listen: Some(([127, 0, 0, 1], 0).into()),
        data_dir: Some(site.dir.path().join("data")),
        panic_stage: Some("alerts-desk".into()),
        ..Default::default()
    };
    let daemon = sitewarden::daemon::start(catalog, options).await.unwrap();
    let api = daemon.api_addr;
    let (code, health) = http(api, "GET", "/healthz", None, None).unwrap();
    assert_eq!(code, 200, "every stage runs at first: {health}");
    assert_eq!(health["stages_down"], serde_json::json!([]));
    assert!(
        wait_until(Duration::from_secs(5), || http(
            api, "GET", "/healthz", None, None
        )
        .is_ok_and(|(code, _)| code == 503))
        .await,
        "healthz never reported the dead stage"
    );
    let (_, health) = http(api, "GET", "/healthz", None, None).unwrap();
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["stages_down"], serde_json::json!(["alerts-desk"]));
    let console =
        sitewarden::console::render_faults(&daemon.alerts.catalog.site.messages, &daemon.metrics);
    assert!(
        console.contains("STAGE DOWN: alerts-desk"),
        "the console says it too: {console}"
    );
    let (_, metrics) = sitewarden_tests::http_get(api, "/metrics").unwrap();
    assert!(
        metrics.contains("sitewarden_stage_up{site=\"test-site\",stage=\"alerts-desk\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "sitewarden_stage_failures_total{site=\"test-site\",stage=\"alerts-desk\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("sitewarden_stage_up{site=\"test-site\",stage=\"rules\"} 1"),
        "{metrics}"
    );
    daemon.stop().await;
}

/// A supervised stage (here the retention task) that panics is down while
/// it waits out its back-off, then built again and restarted: `/healthz`
/// goes 503 naming it and back to 200, and the restart is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervised_stage_that_panics_is_restarted_and_healthz_recovers() {
    let site = SiteDir::new().unwrap();
    let config = "[[devices]]\nid = \"plc\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:9\" }\n\n[[devices.points]]\nname = \"p\"\nkind = \"holding\"\naddress = 0\n";
    let catalog = load(&site.site(config).unwrap());
    let options = sitewarden::daemon::RunOptions {
        api_listen: Some(([127, 0, 0, 1], 0).into()),
        data_dir: Some(site.dir.path().join("data")),
        panic_stage: Some("retention".into()),
        ..Default::default()
    };
    let daemon = sitewarden::daemon::start(catalog, options).await.unwrap();
    let api = daemon.api_addr;
    let health = || http(api, "GET", "/healthz", None, None).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || health().0 == 503).await,
        "healthz never reported the panicked stage"
    );
    assert_eq!(health().1["stages_down"], serde_json::json!(["retention"]));
    assert!(
        wait_until(Duration::from_secs(5), || health().0 == 200).await,
        "the stage was not restarted: {}",
        health().1
    );
    let (_, metrics) = sitewarden_tests::http_get(api, "/metrics").unwrap();
    for line in [
        "sitewarden_stage_up{site=\"test-site\",stage=\"retention\"} 1",
        "sitewarden_stage_failures_total{site=\"test-site\",stage=\"retention\"} 1",
        "sitewarden_stage_restarts_total{site=\"test-site\",stage=\"retention\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    // The pollers are supervised too, and named after their device.
    assert!(metrics.contains("sitewarden_stage_up{site=\"test-site\",stage=\"poller-plc\"} 1"));
    daemon.stop().await;
}

/// A corrupt database at start does not stop the daemon: it is moved
/// aside, a fresh one is created, and an alert and a repair ticket say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_database_at_start_is_moved_aside_and_announced() {
    let site = SiteDir::new().unwrap();
    let data = site.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("sitewarden.db"),
        b"this is not an SQLite database, it is a disk fault ".repeat(200),
    )
    .unwrap();
    let config = "[[devices]]\nid = \"plc\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:9\" }\n\n[[devices.points]]\nname = \"p\"\nkind = \"holding\"\naddress = 0\n";
    let catalog = load(&site.site(config).unwrap());
    let daemon = start_daemon(catalog, &site, 0).await.unwrap();
    let api = daemon.api_addr;
    let moved: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sitewarden.db.corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "the corrupt file is kept aside: {moved:?}");
    let (_, tickets) = http(api, "GET", "/api/v1/tickets", None, None).unwrap();
    let ticket = tickets["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["title"]
                .as_str()
                .is_some_and(|t| t.contains("`sitewarden.db` was corrupt"))
        })
        .cloned();
    assert!(ticket.is_some(), "{tickets}");
    let (_, alerts) = http(api, "GET", "/api/v1/alerts?status=open", None, None).unwrap();
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["rule"] == "sitewarden.database_corrupt"),
        "{alerts}"
    );
    let (code, _) = http(api, "GET", "/healthz", None, None).unwrap();
    assert_eq!(code, 200, "everything else runs");
    daemon.stop().await;
}

/// `GET /healthz` from the client address `from` (any of 127.0.0.0/8):
/// the status code, or `None` when the daemon closed the connection.
async fn healthz_from(from: [u8; 4], api: std::net::SocketAddr) -> Option<u16> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(std::net::SocketAddr::from((from, 0))).ok()?;
    let mut stream = socket.connect(api).await.ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .ok()?
        .ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

/// Whether the daemon closed `stream` (a read ends) within `within`.
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read as _;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// One client address holding idle connections gets its share and no more;
/// another client is served meanwhile; idle connections that never send
/// their headers are closed after `header_timeout`, and the client is
/// served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_holding_idle_connections_gets_its_share_and_is_timed_out() {
    let site = SiteDir::new().unwrap();
    let config = site
        .write(
            "site.toml",
            "[site]\nid = \"test-site\"\nname = \"Test site\"\ntime_zone = \"UTC\"\n\n\
             [api]\nlisten = \"127.0.0.1:0\"\nmax_connections_per_client = 4\nheader_timeout = \"1s\"\n\n\
             [[devices]]\nid = \"plc\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:9\" }\n\n\
             [[devices.points]]\nname = \"p\"\nkind = \"holding\"\naddress = 0\n",
        )
        .unwrap();
    let daemon = start_daemon(load(&config), &site, 0).await.unwrap();
    let api = daemon.api_addr;
    // Client A takes its four connections and sends nothing.
    let mut idle: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(api).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = std::net::TcpStream::connect(api).unwrap();
    assert!(
        closed_within(&mut fifth, Duration::from_millis(500)),
        "a fifth connection from the same client was kept"
    );
    // Client B is served while A holds its share.
    assert_eq!(healthz_from([127, 0, 0, 2], api).await, Some(200));
    // A's idle connections go after the header timeout; A is served again.
    for stream in &mut idle {
        assert!(
            closed_within(stream, Duration::from_secs(3)),
            "an idle connection outlived the 1 s header timeout"
        );
    }
    assert_eq!(healthz_from([127, 0, 0, 1], api).await, Some(200));
    let (_, metrics) = sitewarden_tests::http_get(api, "/metrics").unwrap();
    assert!(
        metrics.lines().any(|l| l
            .starts_with("sitewarden_api_connections_refused_total{site=\"test-site\"} ")
            && !l.ends_with(" 0")),
        "{metrics}"
    );
    daemon.stop().await;
}

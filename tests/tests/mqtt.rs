//! MQTT out: against real mosquitto and against the embedded broker, the
//! daemon's availability, device states and condition events arrive on the
//! documented topics; a broker restart loses no event and keeps their order.

use std::time::Duration;

use site_sim::Step;
use sitewarden_tests::{
    Mosquitto, Received, SiteDir, Subscriber, frozen, load, repo_root, start_daemon, start_sim,
    wait_until,
};

fn config(site: &SiteDir, mqtt: &str, access: std::net::SocketAddr) -> std::path::PathBuf {
    let pack = repo_root().join("config/standards/security.toml");
    site.site(&format!(
        "[mqtt]\n{mqtt}\n\n[rules]\npacks = [{:?}]\n\n[[devices]]\nid = \"access-1\"\nprofile = \"access-control\"\n\
         transport = {{ kind = \"modbus-tcp\", host = \"{access}\" }}\npoll_interval = \"100ms\"\n",
        pack.display().to_string()
    ))
    .unwrap()
}

/// The simulated access controller, and a site file that polls it with `mqtt` settings.
async fn access_site(site: &SiteDir, mqtt: &str) -> (site_sim::RunningSite, std::path::PathBuf) {
    let sim = start_sim(site, &[("access-1", "access-control")], frozen())
        .await
        .unwrap();
    let path = config(site, mqtt, sim.addr("access-1").unwrap());
    (sim, path)
}

fn door(sim: &site_sim::RunningSite, forced: bool) {
    let step = format!(
        "device = \"access-1\"\naction = \"set\"\npoint = \"door2_forced\"\nvalue = {}",
        u8::from(forced)
    );
    sim.apply(&toml::from_str::<Step>(&step).unwrap());
}

fn conditions(messages: &[Received]) -> Vec<serde_json::Value> {
    messages
        .iter()
        .filter(|m| m.topic == "sitewarden/test-site/conditions/access-1/security.door_forced")
        .map(|m| serde_json::from_str(&m.payload).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_survive_a_broker_restart_in_order() {
    let mut broker = Mosquitto::start().unwrap();
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("access-1", "access-control")], frozen())
        .await
        .unwrap();
    let subscriber = Subscriber::start(broker.addr, "test-subscriber", "sitewarden/test-site/#")
        .await
        .unwrap();
    let path = config(
        &site,
        &format!("host = \"127.0.0.1\"\nport = {}", broker.addr.port()),
        sim.addr("access-1").unwrap(),
    );
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();

    // Availability and device state are retained; a forced door is an event.
    assert!(
        wait_until(Duration::from_secs(10), || subscriber
            .messages()
            .iter()
            .any(
                |m| m.topic == "sitewarden/test-site/status" && m.payload == "online"
            ))
        .await
    );
    door(&sim, true);
    assert!(
        wait_until(Duration::from_secs(10), || conditions(
            &subscriber.messages()
        )
        .len()
            == 1)
        .await,
        "no condition event"
    );
    let first = &conditions(&subscriber.messages())[0];
    assert_eq!(first["transition"], "raised");
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["point"], "door2_forced");
    assert!(first["id"].as_str().unwrap().starts_with("test-site-"));
    let state = subscriber
        .messages()
        .into_iter()
        .find(|m| m.topic == "sitewarden/test-site/devices/access-1/state")
        .expect("no device state");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&state.payload).unwrap()["state"],
        "online"
    );

    // The broker goes away; six more transitions happen meanwhile.
    broker.stop();
    for forced in [false, true, false, true, false, true] {
        tokio::time::sleep(Duration::from_millis(400)).await;
        door(&sim, forced);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        daemon
            .metrics
            .mqtt
            .queued
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 6,
        "events were not kept in the outbox"
    );
    broker.resume().unwrap();
    let all_arrived = wait_until(Duration::from_secs(40), || {
        conditions(&subscriber.messages()).len() >= 7
    })
    .await;
    let events = conditions(&subscriber.messages());
    let published = daemon
        .metrics
        .mqtt
        .published
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        all_arrived,
        "only {} of 7 events arrived; the daemon counts {published} published; broker log:\n{}",
        events.len(),
        broker.log()
    );
    let transitions: Vec<&str> = events
        .iter()
        .map(|e| e["transition"].as_str().unwrap())
        .collect();
    assert_eq!(
        transitions,
        [
            "raised", "cleared", "raised", "cleared", "raised", "cleared", "raised"
        ]
    );
    let ids: Vec<u64> = events
        .iter()
        .map(|e| {
            e["id"]
                .as_str()
                .unwrap()
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "out of order or duplicated: {ids:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_embedded_broker_port_is_a_clear_error() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap();
    let site = SiteDir::new().unwrap();
    let (_sim, path) = access_site(&site, &format!("embedded_listen = \"{busy}\"")).await;
    let error = start_daemon(load(&path), &site, 0)
        .await
        .err()
        .expect("started on a busy port");
    assert!(
        error
            .to_string()
            .contains(&format!("cannot start the embedded MQTT broker on {busy}")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_follow_the_api_rules_and_answer_on_the_response_topic() {
    use std::sync::atomic::Ordering::Relaxed;
    let broker = Mosquitto::start().unwrap();
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("lighting-1", "lighting-panel")], frozen())
        .await
        .unwrap();
    let pack = repo_root().join("config/standards/lighting.toml");
    let hash = sitewarden::config::hash_token;
    let path = site
        .site(&format!(
            "[mqtt]\nhost = \"127.0.0.1\"\nport = {}\n\n[[api.tokens]]\nname = \"desk\"\nrole = \"front-desk\"\nsha256 = \"{}\"\n\n\
             [[api.tokens]]\nname = \"wang\"\nrole = \"technician\"\nsha256 = \"{}\"\n\n[rules]\npacks = [{:?}]\n\n\
             [[devices]]\nid = \"lighting-1\"\nprofile = \"lighting-panel\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"100ms\"\n",
            broker.addr.port(),
            hash("desk-token"),
            hash("tech-token"),
            pack.display().to_string(),
            sim.addr("lighting-1").unwrap()
        ))
        .unwrap();
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let step =
        "device = \"lighting-1\"\naction = \"set\"\npoint = \"circuit1_lamp_hours\"\nvalue = 51000";
    sim.apply(&toml::from_str::<Step>(step).unwrap());
    let responses = Subscriber::start(broker.addr, "operator", "sitewarden/test-site/responses/#")
        .await
        .unwrap();
    let mut options = rumqttc::MqttOptions::new("operator-tx", "127.0.0.1", broker.addr.port());
    // Room for the oversized command below (the client's default is 10 KiB).
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 64);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let command = |name: &str, body: String| {
        let client = client.clone();
        let topic = format!("sitewarden/test-site/commands/{name}");
        async move {
            client
                .publish(topic, rumqttc::QoS::AtLeastOnce, false, body)
                .await
                .unwrap()
        }
    };
    let topic = |name: &str| format!("sitewarden/test-site/commands/{name}");
    let answer = |id: &str| {
        responses
            .messages()
            .into_iter()
            .find(|m| m.topic == format!("sitewarden/test-site/responses/{id}"))
            .map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).unwrap())
    };
    let body = |id: &str| serde_json::json!({"correlation_id": id, "device": "lighting-1", "rule": "lighting.lamp_rated_life"});
    let tech = |id: &str| {
        sitewarden_tests::signed_command(
            &topic("record_service"),
            "wang",
            "tech-token",
            body(id),
            0,
        )
    };
    // The old form, a bearer token in the payload, is answered 401 and never run.
    let mut with_token = body("c1");
    with_token["token"] = "tech-token".into();
    command("record_service", with_token.to_string()).await;
    // Signed by a role that may not (front desk), by a wrong token, an unknown command.
    let desk = sitewarden_tests::signed_command(
        &topic("record_service"),
        "desk",
        "desk-token",
        body("c2"),
        0,
    );
    command("record_service", desk).await;
    let forged = sitewarden_tests::signed_command(
        &topic("record_service"),
        "wang",
        "guessed",
        body("c3"),
        0,
    );
    command("record_service", forged).await;
    let unknown = sitewarden_tests::signed_command(
        &topic("open_the_pod_bay_doors"),
        "wang",
        "tech-token",
        body("c4"),
        0,
    );
    command("open_the_pod_bay_doors", unknown).await;
    command("record_service", "\"not an object\"".into()).await;
    // Signed two minutes ago: stale. Signed for another command's topic: forged.
    let stale = sitewarden_tests::signed_command(
        &topic("record_service"),
        "wang",
        "tech-token",
        body("c10"),
        -120,
    );
    command("record_service", stale).await;
    let elsewhere = sitewarden_tests::signed_command(
        &topic("end_silence"),
        "wang",
        "tech-token",
        body("c11"),
        0,
    );
    command("record_service", elsewhere).await;
    tokio::time::sleep(Duration::from_secs(1)).await; // let the rule raise first
    let good = tech("c5");
    command("record_service", good.clone()).await;
    assert!(
        wait_until(Duration::from_secs(10), || answer("c5").is_some()).await,
        "no answer to c5"
    );
    for (id, status) in [
        ("c1", 401),
        ("c2", 403),
        ("c3", 401),
        ("c4", 404),
        ("c10", 401),
        ("c11", 401),
    ] {
        let a = answer(id).unwrap_or_else(|| panic!("no answer to {id}"));
        assert_eq!(a["status"], status, "{id}: {a}");
        assert_eq!(a["ok"], false);
    }
    assert!(
        answer("c10").unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stale")
    );
    let ok = answer("c5").unwrap();
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["result"]["by"], "wang");
    assert_eq!(daemon.metrics.mqtt_in.commands_refused.load(Relaxed), 7);
    // The same signed message again (a recorded command replayed): refused.
    let answers_to_c5 = || {
        responses
            .messages()
            .iter()
            .filter(|m| m.topic.ends_with("/c5"))
            .count()
    };
    command("record_service", good).await;
    assert!(
        wait_until(Duration::from_secs(10), || answers_to_c5() == 2).await,
        "no answer to the replay"
    );
    let replay = responses
        .messages()
        .into_iter()
        .rfind(|m| m.topic.ends_with("/c5"))
        .unwrap();
    assert!(replay.payload.contains("replayed"), "{}", replay.payload);
    assert_eq!(daemon.metrics.mqtt_in.commands_refused.load(Relaxed), 8);

    // reply_to stays under responses/: elsewhere is refused (answered on
    // the default response topic), a topic under it is used.
    let mut outside = body("c6");
    outside["reply_to"] = "sitewarden/test-site/alerts/1".into();
    let outside = sitewarden_tests::signed_command(
        &topic("record_service"),
        "wang",
        "tech-token",
        outside,
        0,
    );
    command("record_service", outside).await;
    let mut inside = body("c7");
    inside["reply_to"] = "sitewarden/test-site/responses/desk/c7".into();
    let inside =
        sitewarden_tests::signed_command(&topic("record_service"), "wang", "tech-token", inside, 0);
    command("record_service", inside).await;
    assert!(
        wait_until(Duration::from_secs(10), || answer("c6").is_some()
            && answer("desk/c7").is_some())
        .await,
        "no answers to c6 and c7"
    );
    let refused = answer("c6").unwrap();
    assert_eq!(refused["status"], 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("responses/")
    );
    assert_eq!(answer("desk/c7").unwrap()["ok"], true);

    // A payload past 64 KiB (the HTTP body limit too) is refused unread.
    let mut huge = body("c9");
    huge["note"] = "x".repeat(100_000).into();
    command(
        "record_service",
        sitewarden_tests::signed_command(&topic("record_service"), "wang", "tech-token", huge, 0),
    )
    .await;
    assert!(
        wait_until(Duration::from_secs(5), || daemon
            .metrics
            .mqtt_in
            .commands_refused
            .load(Relaxed)
            == 10)
        .await,
        "the oversized command was not refused"
    );
    assert!(answer("c9").is_none());

    // A command published retained runs once; the broker hands it again
    // (flagged retained) to every later subscription, and there it is
    // ignored and counted, not run again.
    client
        .publish(
            "sitewarden/test-site/commands/record_service",
            rumqttc::QoS::AtLeastOnce,
            true,
            tech("c8"),
        )
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || answer("c8").is_some()).await,
        "no answer to c8"
    );
    daemon.stop().await;
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .metrics
            .mqtt_in
            .commands_refused
            .load(Relaxed)
            == 1)
        .await,
        "the retained command handed again on subscribing was not refused"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c8 = responses
        .messages()
        .iter()
        .filter(|m| m.topic == "sitewarden/test-site/responses/c8")
        .count();
    assert_eq!(c8, 1, "the retained command ran again");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_custom_ca_and_a_client_certificate() {
    use std::sync::atomic::Ordering::Relaxed;
    let site = SiteDir::new().unwrap();
    let pki = sitewarden_tests::TestPki::generate(site.dir.path()).unwrap();
    let broker = Mosquitto::start_tls(&pki).unwrap();
    let sim = start_sim(&site, &[("access-1", "access-control")], frozen())
        .await
        .unwrap();
    let tls = |with_client: bool| {
        let client = if with_client {
            format!(
                ", cert = {:?}, key = {:?}",
                pki.client.0.display().to_string(),
                pki.client.1.display().to_string()
            )
        } else {
            String::new()
        };
        format!(
            "host = \"127.0.0.1\"\nport = {}\ntls = {{ ca = {:?}{client} }}",
            broker.addr.port(),
            pki.ca.display().to_string()
        )
    };
    // With the client certificate: connected, and the broker confirms what we publish.
    let path = config(&site, &tls(true), sim.addr("access-1").unwrap());
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    door(&sim, true);
    let m = daemon.metrics.mqtt.clone();
    assert!(
        wait_until(Duration::from_secs(10), || m.published.load(Relaxed) >= 2).await,
        "nothing confirmed over TLS: connects {}, errors {}",
        m.connects.load(Relaxed),
        m.connection_errors.load(Relaxed)
    );
    daemon.stop().await;
    // Without it, the broker refuses the connection; events wait in the outbox.
    let site2 = SiteDir::new().unwrap();
    let path = config(&site2, &tls(false), sim.addr("access-1").unwrap());
    let daemon = start_daemon(load(&path), &site2, 0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        daemon.metrics.mqtt.connects.load(Relaxed),
        0,
        "connected without a client certificate"
    );
    assert!(daemon.metrics.mqtt.connection_errors.load(Relaxed) > 0);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_the_daemon_cannot_verify_is_refused() {
    use std::sync::atomic::Ordering::Relaxed;
    let site = SiteDir::new().unwrap();
    let pki = sitewarden_tests::TestPki::generate(site.dir.path()).unwrap();
    let sim = start_sim(&site, &[("access-1", "access-control")], frozen())
        .await
        .unwrap();
    // The same daemon settings each time: the site's CA, no client certificate needed.
    let connects = |server: &(std::path::PathBuf, std::path::PathBuf)| {
        let broker = Mosquitto::start_tls_as(&pki, server, false).unwrap();
        let tls = format!(
            "host = \"127.0.0.1\"\nport = {}\ntls = {{ ca = {:?} }}",
            broker.addr.port(),
            pki.ca.display().to_string()
        );
        let dir = SiteDir::new().unwrap();
        let path = config(&dir, &tls, sim.addr("access-1").unwrap());
        async move {
            let daemon = start_daemon(load(&path), &dir, 0).await.unwrap();
            let m = daemon.metrics.mqtt.clone();
            wait_until(Duration::from_secs(3), || {
                m.connects.load(Relaxed) > 0 || m.connection_errors.load(Relaxed) > 1
            })
            .await;
            let answer = (m.connects.load(Relaxed), m.connection_errors.load(Relaxed));
            daemon.stop().await;
            drop(broker);
            answer
        }
    };
    // The right certificate: connected (the control for the two refusals).
    let (ok, _) = connects(&pki.server).await;
    assert!(
        ok > 0,
        "no connection to the broker with the right certificate"
    );
    // A certificate for 127.0.0.1 from another CA.
    let (rogue, errors) = connects(&pki.rogue_server).await;
    assert_eq!(
        rogue, 0,
        "connected to a broker whose certificate another CA signed"
    );
    assert!(errors > 0);
    // A certificate from the site's CA, but for another host.
    let (other, errors) = connects(&pki.other_host_server).await;
    assert_eq!(
        other, 0,
        "connected to a broker whose certificate names another host"
    );
    assert!(errors > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_5_publishes_events_and_reads_sensors() {
    let broker = Mosquitto::start().unwrap();
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("access-1", "access-control")], frozen())
        .await
        .unwrap();
    let subscriber = Subscriber::start(broker.addr, "v311-screen", "sitewarden/test-site/#")
        .await
        .unwrap();
    let mut path = config(
        &site,
        &format!(
            "host = \"127.0.0.1\"\nport = {}\nprotocol = \"5\"",
            broker.addr.port()
        ),
        sim.addr("access-1").unwrap(),
    );
    // One MQTT sensor too, read over MQTT 5.
    let text = std::fs::read_to_string(&path).unwrap()
        + "\n[[devices]]\nid = \"hall\"\ntransport = { kind = \"mqtt\" }\n\n[[devices.points]]\nname = \"temperature\"\nrole = \"room_temp\"\ntopic = \"sensors/{device}/temperature\"\n";
    path = site.write("site.toml", &text).unwrap();
    let catalog = load(&path);
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();
    door(&sim, true);
    assert!(
        wait_until(Duration::from_secs(10), || conditions(
            &subscriber.messages()
        )
        .len()
            == 1)
        .await,
        "no event over MQTT 5"
    );
    let (client, mut eventloop) = rumqttc::AsyncClient::new(
        rumqttc::MqttOptions::new("v311-sensor", "127.0.0.1", broker.addr.port()),
        16,
    );
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let temperature = || sitewarden_tests::point(&daemon, &catalog, "hall", "temperature").0;
    let arrived = wait_until(Duration::from_secs(10), || {
        let _ = client.try_publish(
            "sensors/hall/temperature",
            rumqttc::QoS::AtLeastOnce,
            false,
            "19.5",
        );
        temperature() == Some(sitewarden::readings::Value::Number(19.5))
    })
    .await;
    assert!(arrived, "sensor not read over MQTT 5");
    daemon.stop().await;
    // On the wire: mosquitto logs each client's protocol, p5 for MQTT 5, p2 for 3.1.1.
    let log = broker.log();
    let protocol_of = |client: &str| -> Vec<String> {
        log.lines()
            .filter(|l| {
                l.contains("New client connected") && l.contains(&format!(" as {client} ("))
            })
            .filter_map(|l| l.split(" (").nth(1).and_then(|r| r.split(',').next()))
            .map(str::to_owned)
            .collect()
    };
    // Every connection of the daemon speaks MQTT 5 (the publisher may
    // reconnect once while the daemon stops; each connection is checked).
    let all_p5 =
        |protocols: Vec<String>| !protocols.is_empty() && protocols.iter().all(|p| p == "p5");
    assert_eq!(protocol_of("v311-screen"), ["p2"], "{log}");
    assert!(all_p5(protocol_of("sitewarden-test-site")), "{log}");
    assert!(all_p5(protocol_of("sitewarden-test-site-in")), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_speaks_mqtt_5_when_asked() {
    use std::sync::atomic::Ordering::Relaxed;
    let port = sitewarden_tests::free_port();
    let site = SiteDir::new().unwrap();
    let (sim, path) = access_site(
        &site,
        &format!(
            "embedded_listen = \"127.0.0.1:{port}\"\nprotocol = \"5\"\nallow_anonymous = true"
        ),
    )
    .await;
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    door(&sim, true);
    let m = daemon.metrics.mqtt.clone();
    assert!(
        wait_until(Duration::from_secs(10), || m.published.load(Relaxed) >= 2).await,
        "nothing confirmed by the MQTT 5 broker"
    );
    // On the wire: an MQTT 5 CONNECT is answered with an MQTT 5 CONNACK
    // (success, and a properties section 3.1.1 does not have).
    let connack = raw_mqtt5_connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await;
    assert_eq!(
        connack.first(),
        Some(&0x20),
        "not a CONNACK: {connack:02x?}"
    );
    assert_eq!(connack.get(3), Some(&0), "refused: {connack:02x?}");
    assert!(
        connack.get(1).is_some_and(|len| *len >= 3),
        "a CONNACK without properties is MQTT 3.1.1: {connack:02x?}"
    );
    daemon.stop().await;
}

/// Sends a bare MQTT 5 CONNECT and returns the broker's first answer.
async fn raw_mqtt5_connect(addr: std::net::SocketAddr) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // CONNECT: "MQTT", level 5, clean start, keep-alive 30 s, no properties, client id "w".
    let connect = [
        0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 30, 0, 0, 1, b'w',
    ];
    stream.write_all(&connect).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    answer.truncate(n);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_values_are_published_when_asked() {
    let port = sitewarden_tests::free_port();
    let site = SiteDir::new().unwrap();
    let mqtt = format!(
        "embedded_listen = \"127.0.0.1:{port}\"\nallow_anonymous = true\npublish_values = true\nvalues_min_interval = \"1h\""
    );
    let (sim, path) = access_site(&site, &mqtt).await;
    let daemon = start_daemon(load(&path), &site, 0).await.unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let subscriber = Subscriber::start(
        addr,
        "screen",
        "sitewarden/test-site/points/access-1/door2_forced",
    )
    .await
    .unwrap();
    door(&sim, true);
    let values = || -> Vec<serde_json::Value> {
        subscriber
            .messages()
            .into_iter()
            .filter_map(|m| serde_json::from_str(&m.payload).ok())
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(5), || values()
            .iter()
            .any(|v| v["value"] == true && v["quality"] == "good"))
        .await,
        "the forced door's value was not published: {:?}",
        values()
    );
    // Polled every 100 ms, but unchanged: not published again within the interval.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let trues = values().iter().filter(|v| v["value"] == true).count();
    assert_eq!(
        trues,
        1,
        "an unchanged value was published again: {:?}",
        values()
    );
    door(&sim, false);
    let changed_back =
        || values().last().is_some_and(|v| v["value"] == false) && values().len() > trues;
    assert!(
        wait_until(Duration::from_secs(5), changed_back).await,
        "the change back was not published: {:?}",
        values()
    );
    daemon.stop().await;
}

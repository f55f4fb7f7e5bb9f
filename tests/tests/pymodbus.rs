//! Interoperability: the daemon polls pymodbus, an independent Modbus
//! implementation, over Modbus TCP, over RTU framing through a TCP gateway,
//! and over RTU on a serial line (a socat pty pair), and every decoded value
//! is checked.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use sitewarden::readings::{BadReason, Quality};
use sitewarden_tests::{
    Framing, Pymodbus, SerialPair, SiteDir, boolean, load, number, point, start_daemon, wait_until,
};

fn devices(transport: &str) -> String {
    let mut s = format!(
        r#"
[[devices]]
id = "meter-7"
transport = {transport}
unit_id = 7
poll_interval = "200ms"
timeout = "1s"
max_gap_registers = 8
"#
    );
    let points = [
        r#"name = "temp" kind = "holding" address = 100 type = "f32" word_order = "low-first" role = "x_temp""#,
        r#"name = "counter" kind = "holding" address = 102 type = "u32""#,
        r#"name = "counter_swapped" kind = "holding" address = 104 type = "u32" word_order = "low-first""#,
        r#"name = "signed" kind = "holding" address = 106 type = "i16" scale = 0.1"#,
        r#"name = "flag0" kind = "holding" address = 107 type = "bit" bit = 0"#,
        r#"name = "flag1" kind = "holding" address = 107 type = "bit" bit = 1"#,
        r#"name = "flag15" kind = "holding" address = 107 type = "bit" bit = 15"#,
        r#"name = "missing" kind = "holding" address = 109 type = "u16""#,
        r#"name = "energy" kind = "holding" address = 110 type = "f64""#,
        r#"name = "big" kind = "holding" address = 114 type = "u64""#,
        r#"name = "scaled" kind = "input" address = 0 type = "u16" scale = 0.01 offset = -1.0"#,
        r#"name = "minus_one" kind = "input" address = 1 type = "i16""#,
        r#"name = "coil1" kind = "coil" address = 1"#,
        r#"name = "coil3" kind = "coil" address = 3"#,
    ];
    for p in points {
        s.push_str(&format!(
            "\n[[devices.points]]\n{}\n",
            p.replace("\" ", "\"\n")
                .replace(" kind", "\nkind")
                .replace(" address", "\naddress")
                .replace(" type", "\ntype")
                .replace(" bit =", "\nbit =")
                .replace(" scale", "\nscale")
                .replace(" offset", "\noffset")
                .replace(" word_order", "\nword_order")
                .replace(" role", "\nrole")
        ));
    }
    for i in 0..8 {
        s.push_str(&format!(
            "\n[[devices.points]]\nname = \"di{i}\"\nkind = \"discrete-input\"\naddress = {i}\n"
        ));
    }
    s
}

async fn polls_pymodbus_and_decodes_every_value(transport: &str) {
    let site = SiteDir::new().unwrap();
    let path = site.site(&devices(transport)).unwrap();
    let catalog = load(&path);
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();

    let seen = wait_until(Duration::from_secs(10), || {
        point(&daemon, &catalog, "meter-7", "big").1 == Some(Quality::Good)
            && point(&daemon, &catalog, "meter-7", "missing").1.is_some()
    })
    .await;
    assert!(seen, "no readings from pymodbus within 10 s");

    let get = |name: &str| point(&daemon, &catalog, "meter-7", name);
    assert_eq!(number(get("temp")), 23.75);
    assert_eq!(number(get("counter")), 3_000_000_123.0);
    assert_eq!(number(get("counter_swapped")), 70_000.0);
    assert!((number(get("signed")) + 12.5).abs() < 1e-9);
    assert!(boolean(get("flag0")));
    assert!(!boolean(get("flag1")));
    assert!(boolean(get("flag15")));
    assert_eq!(number(get("energy")), 1234.5678);
    assert_eq!(number(get("big")), ((1u64 << 40) + 5) as f64);
    assert!((number(get("scaled")) - 4.0).abs() < 1e-9);
    assert_eq!(number(get("minus_one")), -1.0);
    assert!(boolean(get("coil1")));
    assert!(!boolean(get("coil3")));
    let pattern = [true, false, true, true, false, false, false, true];
    for (i, expected) in pattern.iter().enumerate() {
        assert_eq!(boolean(get(&format!("di{i}"))), *expected, "di{i}");
    }
    // The one address pymodbus does not have is bad with exception 2, alone.
    assert_eq!(
        get("missing").1,
        Some(Quality::Bad(BadReason::Exception(2)))
    );

    // After isolating address 109 the rest stays merged: holding 100..108,
    // 109 alone, 110..118, plus one read each for inputs, coils and discrete
    // inputs: six requests per poll.
    let m = &daemon.metrics.devices[0];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (r0, p0) = (m.requests.load(Relaxed), m.polls.load(Relaxed));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (r1, p1) = (m.requests.load(Relaxed), m.polls.load(Relaxed));
    assert!(p1 - p0 >= 5, "too few polls: {}", p1 - p0);
    assert_eq!(
        (r1 - r0) as f64 / (p1 - p0) as f64,
        6.0,
        "requests per poll"
    );
    assert!(m.is_online());
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_tcp_against_pymodbus() {
    let peer = Pymodbus::start(Framing::Tcp).expect("pymodbus");
    let transport = format!("{{ kind = \"modbus-tcp\", host = \"{}\" }}", peer.addr);
    polls_pymodbus_and_decodes_every_value(&transport).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_rtu_on_a_serial_line_against_pymodbus() {
    let line = SerialPair::new().expect("socat");
    let _peer = Pymodbus::start_serial(&line.b).expect("pymodbus");
    let transport = format!(
        "{{ kind = \"modbus-rtu\", serial = \"{}\", baud = 19200, parity = \"none\", stop_bits = 1 }}",
        line.a.display()
    );
    polls_pymodbus_and_decodes_every_value(&transport).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtu_over_tcp_against_pymodbus() {
    let peer = Pymodbus::start(Framing::RtuOverTcp).expect("pymodbus");
    let transport = format!(
        "{{ kind = \"modbus-rtu-over-tcp\", host = \"{}\" }}",
        peer.addr
    );
    polls_pymodbus_and_decodes_every_value(&transport).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_unit_behind_a_gateway_does_not_slow_its_neighbour() {
    let peer = Pymodbus::start(Framing::RtuOverTcp).expect("pymodbus");
    let site = SiteDir::new().unwrap();
    let port = peer.addr.port();
    let config = format!(
        r#"
[[devices]]
id = "alive"
transport = {{ kind = "modbus-rtu-over-tcp", host = "127.0.0.1:{port}" }}
unit_id = 7
poll_interval = "100ms"
timeout = "150ms"
retries = 0

[[devices.points]]
name = "scaled"
kind = "input"
address = 0

[[devices]]
id = "dead"
transport = {{ kind = "modbus-rtu-over-tcp", host = "127.0.0.1:{port}" }}
unit_id = 9
poll_interval = "100ms"
timeout = "150ms"
retries = 0
offline_after = 2

[[devices.points]]
name = "scaled"
kind = "input"
address = 0
"#
    );
    let catalog = load(&site.site(&config).unwrap());
    assert_eq!(catalog.lines.len(), 1, "both units share the gateway line");
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();
    let offline = wait_until(Duration::from_secs(5), || {
        sitewarden_tests::device_state(&daemon, &catalog, "dead")
            == sitewarden::readings::DeviceState::Offline
    })
    .await;
    assert!(offline, "unit 9 never went offline");
    let alive = &daemon.metrics.devices[0];
    let dead = &daemon.metrics.devices[1];
    let (a0, d0) = (alive.polls.load(Relaxed), dead.polls.load(Relaxed));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (a1, d1) = (alive.polls.load(Relaxed), dead.polls.load(Relaxed));
    // The live unit keeps (nearly) its 10 polls a second; the dead one is
    // backed off to a few tries in the same time.
    assert!(
        a1 - a0 >= 20,
        "live unit polled only {} times in 3 s",
        a1 - a0
    );
    assert!(
        d1 - d0 <= 6,
        "dead unit polled {} times in 3 s despite backoff",
        d1 - d0
    );
    assert_eq!(alive.failed_polls.load(Relaxed), 0);
    assert!(number(point(&daemon, &catalog, "alive", "scaled")) == 500.0);
    daemon.stop().await;
}

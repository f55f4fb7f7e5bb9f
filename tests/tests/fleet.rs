//! The fleet test bed (issue 23): twenty site daemons, each with its own
//! site id, data directory, simulator and ports, publish to one mosquitto
//! (the portfolio broker, with users and ACLs generated from a fleet file by
//! `scripts/fleet.py`) and write to one VictoriaMetrics, which also scrapes
//! every daemon's `/metrics`. A central subscriber reads every site; the
//! broker is restarted and the store stopped for a while; then every
//! alert and ticket each daemon holds must have reached the subscriber,
//! every site's state snapshots must cover the store outage, a site's
//! credentials must not reach another site's topics, and every panel of the
//! PromQL dashboards must answer where the store holds its metrics.
//! The run prints the figures docs/scaling.md is built on.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sitewarden_tests::{
    ChildGuard, Mosquitto, Received, Subscriber, VictoriaMetrics, free_port, http, repo_root,
};

const SITES: usize = 20;
/// The test bed's snapshot interval (`[sinks.influx] snapshot_every`).
const SNAPSHOT_S: i64 = 5;
/// Ports each site's block holds (scripts/fleet.py PORTS_PER_SITE).
const PORTS_PER_SITE: u16 = 20;

/// A block of `n` consecutive free loopback ports below the kernel's
/// ephemeral range. Inside that range, a source port the kernel hands to
/// one of the twenty daemons' outgoing connections could take a port of
/// the block before the site meant to listen on it starts, and that site's
/// daemon would stop on "address in use" (seen once in CI).
fn free_block(n: u16) -> u16 {
    let (low, span) = ports_outside_ephemeral_range(n);
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u64);
    for attempt in 0..200u64 {
        let base = low + ((seed.wrapping_mul(7919) + attempt * 1_231) % span) as u16;
        if (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no block of {n} free ports");
}

/// Where a block of `n` ports may start: the first port and how many
/// starts there are, all below the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 on Debian), else above it.
fn ports_outside_ephemeral_range(n: u16) -> (u16, u64) {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .unwrap_or_else(|_| "32768 60999".into());
    let mut bounds = range
        .split_whitespace()
        .filter_map(|p| p.parse::<u16>().ok());
    let (first, last) = (
        bounds.next().unwrap_or(32768),
        bounds.next().unwrap_or(60999),
    );
    const LOWEST: u16 = 10_000;
    if first > LOWEST + n {
        (LOWEST, u64::from(first - n - LOWEST))
    } else {
        let above = last.saturating_add(1);
        assert!(
            above < u16::MAX - n,
            "no ports outside the ephemeral range {range}"
        );
        (above, u64::from(u16::MAX - n - above))
    }
}

/// `scripts/fleet.py` with arguments; its stdout, or a panic with its stderr.
fn fleet_py(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(repo_root().join("scripts/fleet.py"))
        .args(args)
        .output()
        .expect("running scripts/fleet.py");
    assert!(
        out.status.success(),
        "fleet.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_fleet_file_gives_each_site_only_its_own_topics() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::copy(repo_root().join("config/fleet.example.toml"), &fleet).unwrap();
    // Without the password files the fleet file names, nothing is written.
    let out = Command::new("python3")
        .arg(repo_root().join("scripts/fleet.py"))
        .args(["acl", "--fleet"])
        .arg(&fleet)
        .arg("--out")
        .arg(dir.path().join("broker"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("riverside-sales") && error.contains("password"),
        "{error}"
    );
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    for name in ["portfolio", "riverside-sales", "harbour-show-flat"] {
        std::fs::write(
            dir.path().join(format!("secrets/{name}.password")),
            "s3cret\n",
        )
        .unwrap();
    }
    fleet_py(&[
        "acl",
        "--fleet",
        fleet.to_str().unwrap(),
        "--out",
        dir.path().join("broker").to_str().unwrap(),
    ]);
    let acl = std::fs::read_to_string(dir.path().join("broker/acl")).unwrap();
    for expected in [
        "user riverside-sales\ntopic readwrite sitewarden/riverside-sales/#\n",
        "user harbour-show-flat\ntopic readwrite sitewarden/harbour-show-flat/#\n",
        "user portfolio\ntopic read sitewarden/#\n",
    ] {
        assert!(acl.contains(expected), "{acl}");
    }
    let passwd = std::fs::read_to_string(dir.path().join("broker/passwd")).unwrap();
    assert_eq!(passwd.lines().count(), 3, "{passwd}");
    assert!(passwd.lines().all(|l| l.contains(":$7$")), "{passwd}");
}

/// One site of the test bed as `fleet.py testbed` laid it out.
struct Site {
    id: String,
    config: PathBuf,
    data_dir: PathBuf,
    api: SocketAddr,
    password: String,
}

/// Starts one site's daemon with its simulator.
fn start_site(site: &Site) -> ChildGuard {
    let log = std::fs::File::create(site.data_dir.parent().unwrap().join("daemon.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_daemon-process"))
        .arg(&site.config)
        .arg(&site.data_dir)
        .arg("--simulate")
        .arg(repo_root().join("config/scenarios/demo.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    ChildGuard::new(child)
}

/// Whether a log line is a frame of a printed backtrace (`  12: name` or
/// `      at file:line`), which says nothing about why a daemon stopped.
fn is_backtrace_frame(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("at ")
        || line
            .split_once(": ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Messages of `site`, by what follows `sitewarden/<site>/`.
fn of_site<'a>(all: &'a [Received], site: &str) -> Vec<(&'a str, &'a Received)> {
    let prefix = format!("sitewarden/{site}/");
    all.iter()
        .filter_map(|m| m.topic.strip_prefix(&prefix).map(|rest| (rest, m)))
        .collect()
}

/// Ids in topics `<kind>/<id>` (not `<kind>/<id>/notifications`).
fn ids(messages: &[(&str, &Received)], kind: &str) -> BTreeSet<i64> {
    messages
        .iter()
        .filter_map(|(rest, _)| rest.strip_prefix(kind)?.strip_prefix('/')?.parse().ok())
        .collect()
}

/// Ids of what a daemon's API lists under `key`.
fn api_ids(addr: SocketAddr, path: &str, key: &str) -> BTreeSet<i64> {
    let (status, body) = http(addr, "GET", path, None, None).unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["id"].as_i64())
        .collect()
}

/// Sets a PromQL expression's Grafana variables to what the test bed has.
fn substitute(expr: &str) -> String {
    expr.replace("$site", ".*")
        .replace("$__range", "5m")
        .replace("$__interval", "30s")
}

/// The metric names a PromQL expression selects.
fn metrics_of(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    for (i, _) in expr.match_indices('{') {
        let start = expr[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        let name = &expr[start..i];
        if !name.is_empty() && !bytes[start].is_ascii_digit() {
            out.push(name.to_owned());
        }
    }
    out
}

fn has_result(answer: &serde_json::Value) -> bool {
    answer["data"]["result"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
}

/// The value of a one-series instant answer.
fn scalar(answer: &serde_json::Value) -> Option<f64> {
    answer["data"]["result"][0]["value"][1]
        .as_str()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sites_share_a_broker_and_a_store_and_lose_nothing_across_their_outages() {
    let dir = tempfile::tempdir().unwrap();
    let broker_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let store_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let base = free_block(PORTS_PER_SITE * SITES as u16);
    let layout: serde_json::Value = serde_json::from_str(&fleet_py(&[
        "testbed",
        "--sites",
        &SITES.to_string(),
        "--out",
        dir.path().to_str().unwrap(),
        "--base-port",
        &base.to_string(),
        "--broker-port",
        &broker_addr.port().to_string(),
        "--store-port",
        &store_addr.port().to_string(),
        "--snapshot-every",
        &format!("{SNAPSHOT_S}s"),
    ]))
    .unwrap();
    let sites: Vec<Site> = layout["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Site {
            id: s["id"].as_str().unwrap().to_owned(),
            config: s["config"].as_str().unwrap().into(),
            data_dir: s["data_dir"].as_str().unwrap().into(),
            api: s["api"].as_str().unwrap().parse().unwrap(),
            password: s["password"].as_str().unwrap().to_owned(),
        })
        .collect();
    assert_eq!(sites.len(), SITES);
    let mut broker =
        Mosquitto::start_configured(broker_addr, &dir.path().join("broker/mosquitto.conf"))
            .unwrap();
    let scrape = format!(
        "-promscrape.config={}",
        dir.path().join("scrape.yaml").display()
    );
    // Queries see samples at once (VictoriaMetrics hides the last 30 s by
    // default), so a panel and the check of what is stored agree.
    let flags = [scrape, "-search.latencyOffset=0s".to_owned()];
    let mut store = VictoriaMetrics::start_on(store_addr, &flags).unwrap();
    let reader = layout["reader"]["password"].as_str().unwrap();
    let central = Subscriber::start_as(
        broker_addr,
        "portfolio-central",
        "sitewarden/#",
        Some(("portfolio", reader)),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut daemons: Vec<ChildGuard> = sites.iter().map(start_site).collect();

    // Every site comes online on the shared broker with its devices.
    let not_online = || {
        let all = central.messages();
        sites
            .iter()
            .filter(|s| {
                let mine = of_site(&all, &s.id);
                let online = mine
                    .iter()
                    .any(|(rest, m)| *rest == "status" && m.payload == "online");
                let devices: BTreeSet<&str> = mine
                    .iter()
                    .filter_map(|(rest, _)| rest.strip_prefix("devices/")?.strip_suffix("/state"))
                    .collect();
                !(online && devices.len() == 8)
            })
            .map(|s| s.id.clone())
            .collect::<Vec<_>>()
    };
    if !sitewarden_tests::wait_until(Duration::from_secs(120), || not_online().is_empty()).await {
        let logs: Vec<String> = not_online()
            .iter()
            .map(|id| {
                let log =
                    std::fs::read_to_string(dir.path().join(format!("sites/{id}/daemon.log")))
                        .unwrap_or_default();
                // The last lines that are not a backtrace's frames: the
                // error or panic message comes before its backtrace.
                let tail: Vec<&str> = log
                    .lines()
                    .filter(|l| !is_backtrace_frame(l))
                    .rev()
                    .take(8)
                    .collect();
                format!("{id}: {tail:#?}")
            })
            .collect();
        panic!("sites not online with their 8 devices: {logs:#?}");
    }
    let online_after = started.elapsed();

    isolation_holds(broker_addr, &sites, &central).await;

    // The broker restarts; then the store is away for a while.
    tokio::time::sleep(Duration::from_secs(20)).await;
    broker.stop();
    let broker_down = jiff::Timestamp::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    broker.resume().unwrap();
    let broker_up = jiff::Timestamp::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    store.stop();
    let outage_from = jiff::Timestamp::now();
    tokio::time::sleep(Duration::from_secs(15)).await;
    store.resume().unwrap();
    let outage_to = jiff::Timestamp::now();
    tokio::time::sleep(Duration::from_secs(25)).await;

    // What every daemon holds, then a moment for the last messages to land.
    let held: Vec<(BTreeSet<i64>, BTreeSet<i64>)> = sites
        .iter()
        .map(|s| {
            (
                api_ids(s.api, "/api/v1/alerts?limit=1000", "alerts"),
                api_ids(s.api, "/api/v1/tickets?limit=1000", "tickets"),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let run = started.elapsed();
    let all = central.messages();
    let mut failures = Vec::new();
    let (mut alerts_total, mut tickets_total) = (0, 0);
    for (site, (alerts, tickets)) in sites.iter().zip(&held) {
        let mine = of_site(&all, &site.id);
        let missing_alerts: Vec<i64> = alerts.difference(&ids(&mine, "alerts")).copied().collect();
        let missing_tickets: Vec<i64> = tickets
            .difference(&ids(&mine, "tickets"))
            .copied()
            .collect();
        if !missing_alerts.is_empty() || !missing_tickets.is_empty() {
            failures.push(format!(
                "{}: alerts {missing_alerts:?} and tickets {missing_tickets:?} never reached the broker",
                site.id
            ));
        }
        if alerts.is_empty() || tickets.is_empty() {
            failures.push(format!(
                "{}: the scenario raised no alert or ticket",
                site.id
            ));
        }
        if !mine.iter().any(|(rest, _)| rest.starts_with("conditions/")) {
            failures.push(format!("{}: no condition events", site.id));
        }
        alerts_total += alerts.len();
        tickets_total += tickets.len();
    }
    // Condition events that happened while the broker was down were held
    // by the daemons and arrived afterwards.
    let while_down = all
        .iter()
        .filter(|m| m.topic.contains("/conditions/"))
        .filter_map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).ok())
        .filter_map(|v| v["at"].as_str()?.parse::<jiff::Timestamp>().ok())
        .filter(|at| *at > broker_down && *at < broker_up)
        .count();
    if while_down == 0 {
        failures.push("no condition event from the broker's downtime arrived".into());
    }
    failures.extend(snapshots_cover(&store, &sites, outage_from, outage_to));
    let scraped = store.query(r#"sum(up{job="sitewarden"})"#).unwrap();
    if scalar(&scraped) != Some(SITES as f64) {
        failures.push(format!(
            "VictoriaMetrics scraped {scraped} daemons, not {SITES}"
        ));
    }
    failures.extend(promql_dashboards_answer(&store));
    let figures = figures(&store, &all, &sites, run);
    for daemon in &mut daemons {
        daemon.kill_9();
    }
    println!(
        "FLEET FIGURES ({SITES} sites, {:.0} s run, all online after {:.1} s)\n{figures}\n  alerts {alerts_total}, tickets {tickets_total} across the fleet, every one on the broker; {while_down} condition events from the broker's downtime delivered after it",
        run.as_secs_f64(),
        online_after.as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A site's credentials reach only its own topics: site-01 publishing under
/// site-02 and subscribing to site-02 get nothing through; its own topic does.
async fn isolation_holds(broker: SocketAddr, sites: &[Site], central: &Subscriber) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let (me, other) = (&sites[0], &sites[1]);
    let mut options = MqttOptions::new("intruder", broker.ip().to_string(), broker.port());
    options.set_credentials(me.id.clone(), me.password.clone());
    let (client, mut events) = AsyncClient::new(options, 16);
    let forged = format!("sitewarden/{}/status", other.id);
    let probe = format!("sitewarden/{}/probe", me.id);
    client
        .subscribe(format!("sitewarden/{}/#", other.id), QoS::AtLeastOnce)
        .await
        .unwrap();
    client
        .publish(&forged, QoS::AtLeastOnce, false, "forged by site-01")
        .await
        .unwrap();
    client
        .publish(&probe, QoS::AtLeastOnce, false, "own topic")
        .await
        .unwrap();
    let mut peeked = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, events.poll()).await {
        if let Event::Incoming(Packet::Publish(p)) = event
            && p.topic.starts_with(&format!("sitewarden/{}/", other.id))
        {
            peeked += 1;
        }
    }
    let all = central.messages();
    assert!(
        all.iter().any(|m| m.topic == probe),
        "the site's own topic did not arrive, so the check below proves nothing"
    );
    assert!(
        !all.iter().any(|m| m.payload == "forged by site-01"),
        "site-01 published under site-02"
    );
    assert_eq!(peeked, 0, "site-01 read site-02's topics");
}

/// Every site's `site_state` snapshots, one per `SNAPSHOT_S`, run through
/// the store outage without a gap: the daemons buffered and replayed them.
fn snapshots_cover(
    store: &VictoriaMetrics,
    sites: &[Site],
    from: jiff::Timestamp,
    to: jiff::Timestamp,
) -> Vec<String> {
    let series = store.export("site_state_devices").unwrap();
    let mut out = Vec::new();
    let (from, to) = (from.as_millisecond(), to.as_millisecond());
    for site in sites {
        let Some(s) = series
            .iter()
            .find(|s| s.labels.get("site") == Some(&site.id))
        else {
            out.push(format!("{}: no site_state in the store", site.id));
            continue;
        };
        let around: Vec<i64> = s
            .timestamps
            .iter()
            .copied()
            .filter(|t| *t >= from - 20_000 && *t <= to + 20_000)
            .collect();
        let widest = around
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(i64::MAX);
        let during = around.iter().filter(|t| **t >= from && **t <= to).count();
        if widest > 2 * SNAPSHOT_S * 1000 + 1000 || during < 2 {
            out.push(format!(
                "{}: snapshots around the store outage {around:?} (gap {widest} ms, {during} during it)",
                site.id
            ));
        }
    }
    out
}

/// Every panel of the PromQL dashboards answers where the store holds the
/// metrics it reads; the portfolio shows all twenty sites and none offline.
fn promql_dashboards_answer(store: &VictoriaMetrics) -> Vec<String> {
    let root = repo_root().join("dashboards");
    let files = [
        root.join("daemon-health.json"),
        root.join("victoriametrics/portfolio.json"),
        root.join("victoriametrics/site-overview.json"),
    ];
    let mut failures = Vec::new();
    let mut answered = 0;
    for file in &files {
        let d: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for panel in d["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = substitute(target["expr"].as_str().unwrap());
                let answer = match store.query(&expr) {
                    Ok(a) => a,
                    Err(e) => {
                        failures.push(format!("{name}: {}: {e}", panel["title"]));
                        continue;
                    }
                };
                if has_result(&answer) {
                    answered += 1;
                    continue;
                }
                // Stored within the window the panel reads (`$__range` = 5m).
                let stored: Vec<String> = metrics_of(&expr)
                    .into_iter()
                    .filter(|m| {
                        store
                            .query(&format!("count(last_over_time({m}[5m]))"))
                            .is_ok_and(|a| has_result(&a))
                    })
                    .collect();
                if !stored.is_empty() {
                    failures.push(format!(
                        "{name}: {}: empty although {stored:?} are stored: {expr}",
                        panel["title"]
                    ));
                }
            }
        }
    }
    if answered < 20 {
        failures.push(format!("only {answered} PromQL panels answered"));
    }
    let portfolio = store
        .query(r#"last_over_time(site_state_devices_online{site=~".*"}[10m])"#)
        .unwrap();
    let rows = portfolio["data"]["result"].as_array().map_or(0, Vec::len);
    if rows != SITES {
        failures.push(format!("the portfolio lists {rows} sites, not {SITES}"));
    }
    let offline = store
        .query(r#"count(lag(site_state_devices{site=~".*"}[1d]) > 180) or vector(0)"#)
        .unwrap();
    if scalar(&offline) != Some(0.0) {
        failures.push(format!("sites offline: {offline}"));
    }
    failures
}

/// What one site costs the broker and the store, measured on this run.
fn figures(store: &VictoriaMetrics, all: &[Received], sites: &[Site], run: Duration) -> String {
    let per_site = |expr: &str| {
        let answer = store.query(expr).unwrap();
        let values: Vec<f64> = answer["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["value"][1].as_str()?.parse().ok())
            .collect();
        values.iter().sum::<f64>() / sites.len() as f64
    };
    let messages = all.len() as f64 / sites.len() as f64 / run.as_secs_f64();
    let bytes = all
        .iter()
        .map(|m| m.topic.len() + m.payload.len())
        .sum::<usize>() as f64
        / sites.len() as f64
        / run.as_secs_f64();
    let by_topic: BTreeMap<String, usize> = all.iter().fold(BTreeMap::new(), |mut acc, m| {
        let kind = m.topic.split('/').nth(2).unwrap_or("").to_owned();
        *acc.entry(kind).or_default() += 1;
        acc
    });
    // Samples the store took, from its own counters, per site and second.
    let (_, text) = sitewarden_tests::http_get(store.addr, "/metrics").unwrap();
    let rows = |kind: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("vm_rows_inserted_total{{type=\"{kind}\"}}")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / sites.len() as f64
            / run.as_secs_f64()
    };
    format!(
        "  MQTT per site: {messages:.2} messages/s, {bytes:.0} bytes/s of topic and payload; by kind {by_topic:?}\n  store per site: {:.1} lines/s written = {:.1} samples/s from line protocol and {:.1} samples/s scraped (every 5 s); {:.0} series from line protocol, {:.0} series scraped from /metrics",
        per_site(r#"sum by (site) (rate(sitewarden_influx_lines_written_total[1m]))"#),
        rows("influx"),
        rows("promscrape"),
        per_site(r#"count by (site) ({site=~"site-.*", job=""})"#),
        per_site(r#"count by (site) ({site=~"site-.*", job="sitewarden"})"#),
    )
}

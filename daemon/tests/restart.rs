//! Condition state survives `kill -9`: a restart in the middle of a pending
//! on-delay raises on the original schedule, and a restart while active
//! neither raises again nor forgets the condition.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{get_json, kill_9, start};
use site_sim::{SimOptions, Step};

/// State of `hvac.filter_dp_high` on ahu-1 and the stored transitions, oldest first.
fn condition(port: u16) -> Option<(Option<String>, Vec<String>)> {
    let v = get_json(
        port,
        "/api/v1/conditions?rule=hvac.filter_dp_high&limit=1000",
    )?;
    let state = v["active"]
        .as_array()?
        .first()
        .and_then(|c| c["state"].as_str())
        .map(str::to_owned);
    let mut history: Vec<String> = v["recent"]
        .as_array()?
        .iter()
        .filter_map(|e| e["transition"].as_str().map(str::to_owned))
        .collect();
    history.reverse();
    Some((state, history))
}

/// Time between the stored `pending` and `raised` transitions.
fn stored_on_delay(port: u16) -> Duration {
    let v = get_json(
        port,
        "/api/v1/conditions?rule=hvac.filter_dp_high&limit=1000",
    )
    .unwrap();
    let at = |transition: &str| -> jiff::Timestamp {
        v["recent"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["transition"] == transition)
            .and_then(|e| e["at"].as_str())
            .unwrap()
            .parse()
            .unwrap()
    };
    let held = at("raised").duration_since(at("pending"));
    Duration::try_from(held).unwrap()
}

fn wait_for(
    port: u16,
    timeout: Duration,
    mut ok: impl FnMut(&Option<String>, &[String]) -> bool,
) -> Option<(Option<String>, Vec<String>)> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some((state, history)) = condition(port)
            && ok(&state, &history)
        {
            return Some((state, history));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_pending_and_mid_active_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(
        repo.join("config/profiles/ahu.toml"),
        profiles.join("ahu.toml"),
    )
    .unwrap();
    let sim_config = dir.path().join("sim.toml");
    std::fs::write(&sim_config, "[[devices]]\nid = \"ahu-1\"\nprofile = \"ahu\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:0\" }\n").unwrap();
    let options = SimOptions {
        time_scale: 0.0,
        ..SimOptions::default()
    };
    let sim = site_sim::start(
        site_sim::load_site(&sim_config).unwrap(),
        site_sim::Scenario::default(),
        options,
    )
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("site.toml");
    let pack = repo.join("config/standards/hvac.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:{port}\"\n\n\
             [rules]\npacks = [{pack:?}]\n\n[[rules.overrides]]\nrule = \"hvac.filter_dp_high\"\non_delay = \"6s\"\noff_delay = \"2s\"\n\n\
             [[devices]]\nid = \"ahu-1\"\nprofile = \"ahu\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"200ms\"\n",
            sim.addr("ahu-1").unwrap()
        ),
    )
    .unwrap();
    let set = |value: f64| {
        let step: Step = toml::from_str(&format!(
            "device = \"ahu-1\"\naction = \"set\"\npoint = \"filter_dp\"\nvalue = {value}"
        ))
        .unwrap();
        sim.apply(&step);
    };

    let mut daemon = start(&config);
    assert!(
        wait_for(port, Duration::from_secs(10), |_, _| true).is_some(),
        "daemon API never came up"
    );
    set(300.0);
    let pending = wait_for(port, Duration::from_secs(5), |s, _| {
        s.as_deref() == Some("pending")
    });
    assert!(pending.is_some(), "never pending");
    let pending_since = Instant::now();

    // Killed three seconds into the six-second on-delay.
    std::thread::sleep(Duration::from_secs(3));
    kill_9(&mut daemon);
    let mut daemon = start(&config);
    let raised = wait_for(port, Duration::from_secs(10), |s, _| {
        s.as_deref() == Some("active")
    });
    let raised_after = pending_since.elapsed();
    let (_, history) = raised.expect("never raised after the restart");
    // On the original schedule (6 s from pending), not 6 s after the restart (9 s or more).
    assert!(
        raised_after < Duration::from_millis(8500),
        "raised {raised_after:?} after pending: the on-delay restarted"
    );
    // Nor at once: the rest of the on-delay (3 s) still ran after the restart.
    assert!(
        raised_after > Duration::from_millis(5500),
        "raised {raised_after:?} after pending: the rest of the on-delay was dropped"
    );
    // The stored transitions say the same: raised 6 s (one 200 ms poll more at most) after pending.
    let held = stored_on_delay(port);
    assert!(
        held >= Duration::from_secs(6) && held < Duration::from_millis(6500),
        "stored raise {held:?} after pending"
    );
    assert_eq!(history, ["pending", "raised"], "one pending, one raise");

    // Killed while active: still active afterwards, not raised again.
    std::thread::sleep(Duration::from_millis(500));
    kill_9(&mut daemon);
    let _daemon = start(&config);
    assert!(wait_for(port, Duration::from_secs(10), |s, _| s.is_some()).is_some());
    std::thread::sleep(Duration::from_secs(2));
    let (state, history) = condition(port).unwrap();
    assert_eq!(
        state.as_deref(),
        Some("active"),
        "forgotten after the restart"
    );
    assert_eq!(
        history,
        ["pending", "raised"],
        "raised again after the restart"
    );

    set(100.0);
    let cleared = wait_for(port, Duration::from_secs(10), |s, _| s.is_none());
    let (_, history) = cleared.expect("never cleared");
    assert_eq!(history, ["pending", "raised", "clearing", "cleared"]);
}

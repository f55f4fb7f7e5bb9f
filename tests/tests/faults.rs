//! Fault tests: the daemon against the simulator through a proxy that
//! misbehaves. A device that stops answering goes offline once and comes
//! back; exceptions, short replies, garbage and dropped connections mark
//! points bad without stopping the device's task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use site_sim::{RunningSite, SimOptions, Step};
use sitewarden::catalog::Catalog;
use sitewarden::daemon::RunningDaemon;
use sitewarden::readings::{BadReason, DeviceState, Quality, ReadingEvent};
use sitewarden_tests::proxy::{Mode, Proxy};
use sitewarden_tests::{SiteDir, device_state, load, point, start_daemon, start_sim, wait_until};

struct Rig {
    _site: SiteDir,
    sim: RunningSite,
    proxy: Proxy,
    catalog: Arc<Catalog>,
    daemon: RunningDaemon,
}

/// Simulated AHU behind a proxy, polled every 100 ms.
async fn rig(taps: usize) -> Rig {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("ahu-1", "ahu")], SimOptions::default())
        .await
        .unwrap();
    let upstream: SocketAddr = sim.addr("ahu-1").unwrap();
    let proxy = Proxy::start(upstream).await.unwrap();
    let config = format!(
        "[[devices]]\nid = \"ahu-1\"\nprofile = \"ahu\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"100ms\"\ntimeout = \"200ms\"\nretries = 1\noffline_after = 2\n",
        proxy.addr
    );
    let catalog = load(&site.site(&config).unwrap());
    let daemon = start_daemon(catalog.clone(), &site, taps).await.unwrap();
    let rig = Rig {
        _site: site,
        sim,
        proxy,
        catalog,
        daemon,
    };
    assert!(
        rig.wait_state(DeviceState::Online, 5).await,
        "device never came online"
    );
    rig
}

impl Rig {
    async fn wait_state(&self, state: DeviceState, secs: u64) -> bool {
        wait_until(Duration::from_secs(secs), || {
            device_state(&self.daemon, &self.catalog, "ahu-1") == state
        })
        .await
    }

    async fn wait_quality(&self, name: &str, quality: Quality, secs: u64) -> bool {
        wait_until(Duration::from_secs(secs), || {
            point(&self.daemon, &self.catalog, "ahu-1", name).1 == Some(quality)
        })
        .await
    }

    fn step(&self, toml: &str) {
        let step: Step = toml::from_str(&format!("device = \"ahu-1\"\n{toml}")).unwrap();
        self.sim.apply(&step);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_stops_answering_goes_offline_once_and_comes_back() {
    let mut rig = rig(1).await;
    rig.step("action = \"offline\"");
    assert!(
        rig.wait_state(DeviceState::Offline, 5).await,
        "never went offline"
    );
    assert!(
        rig.wait_quality("filter_dp", Quality::Bad(BadReason::Timeout), 2)
            .await
    );
    // Stay down a while: the state changes once, not once per failed poll.
    tokio::time::sleep(Duration::from_secs(2)).await;
    rig.step("action = \"online\"");
    assert!(
        rig.wait_state(DeviceState::Online, 10).await,
        "never came back"
    );
    assert!(rig.wait_quality("filter_dp", Quality::Good, 2).await);
    let mut tap = rig.daemon.taps.remove(0);
    let mut transitions = Vec::new();
    while let Ok(event) = tap.try_recv() {
        if let ReadingEvent::DeviceState { state, .. } = event {
            transitions.push(state);
        }
    }
    assert_eq!(
        transitions,
        vec![
            DeviceState::Online,
            DeviceState::Offline,
            DeviceState::Online
        ]
    );
    assert_eq!(rig.daemon.metrics.devices[0].state_changes.load(Relaxed), 3);
    rig.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exception_replies_mark_points_bad_and_keep_the_device_online() {
    let rig = rig(0).await;
    // Server device failure on any read touching input register 3 (filter_dp).
    rig.step("action = \"exception\"\ncode = 4\naddress = 3");
    assert!(
        rig.wait_quality("filter_dp", Quality::Bad(BadReason::Exception(4)), 3)
            .await
    );
    // Its merged neighbours in the input table share the refusal; other tables do not.
    let (_, q) = point(&rig.daemon, &rig.catalog, "ahu-1", "supply_air_temp");
    assert_eq!(q, Some(Quality::Bad(BadReason::Exception(4))));
    let (_, q) = point(&rig.daemon, &rig.catalog, "ahu-1", "supply_air_setpoint");
    assert_eq!(q, Some(Quality::Good));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        device_state(&rig.daemon, &rig.catalog, "ahu-1"),
        DeviceState::Online
    );
    assert!(rig.daemon.metrics.devices[0].request_errors(BadReason::Exception(4)) > 0);
    rig.step("action = \"online\"");
    assert!(rig.wait_quality("filter_dp", Quality::Good, 3).await);
    rig.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_mid_request_is_reopened() {
    let rig = rig(0).await;
    let connects = rig.daemon.metrics.devices[0].connects.load(Relaxed);
    rig.proxy.set(Mode::CloseMidRequest);
    assert!(rig.wait_state(DeviceState::Offline, 5).await);
    assert!(rig.daemon.metrics.devices[0].request_errors(BadReason::Transport) > 0);
    rig.proxy.set(Mode::Pass);
    assert!(rig.wait_state(DeviceState::Online, 10).await);
    assert!(rig.wait_quality("filter_dp", Quality::Good, 3).await);
    assert!(rig.daemon.metrics.devices[0].connects.load(Relaxed) > connects);
    rig.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_with_the_wrong_length_is_refused_and_counted() {
    let rig = rig(0).await;
    rig.proxy.set(Mode::ShortReply);
    assert!(
        rig.wait_quality("filter_dp", Quality::Bad(BadReason::Malformed), 3)
            .await
    );
    assert!(rig.daemon.metrics.devices[0].request_errors(BadReason::Malformed) > 0);
    rig.proxy.set(Mode::Pass);
    assert!(rig.wait_quality("filter_dp", Quality::Good, 10).await);
    let value =
        sitewarden_tests::number(point(&rig.daemon, &rig.catalog, "ahu-1", "supply_air_temp"));
    assert!((10.0..30.0).contains(&value), "implausible {value}");
    rig.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_wire_is_refused_and_the_device_recovers() {
    let rig = rig(0).await;
    rig.proxy.set(Mode::Garbage);
    assert!(rig.wait_state(DeviceState::Offline, 5).await);
    let m = &rig.daemon.metrics.devices[0];
    assert!(
        m.request_errors(BadReason::Malformed)
            + m.request_errors(BadReason::Transport)
            + m.request_errors(BadReason::Timeout)
            > 0
    );
    // Refused for what it is: a reply that is not a Modbus frame, not a
    // silence the daemon waited out.
    assert!(
        m.request_errors(BadReason::Malformed) > 0,
        "garbage was not counted as malformed: timeouts {}, transport {}",
        m.request_errors(BadReason::Timeout),
        m.request_errors(BadReason::Transport)
    );
    assert_eq!(
        m.request_errors(BadReason::Timeout),
        0,
        "the daemon waited for a reply the garbage had already given"
    );
    rig.proxy.set(Mode::Pass);
    assert!(rig.wait_state(DeviceState::Online, 10).await);
    rig.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_an_outage_with_backoff() {
    let rig = rig(0).await;
    rig.proxy.set(Mode::Down);
    assert!(rig.wait_state(DeviceState::Offline, 5).await);
    let offline_at = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let m = &rig.daemon.metrics.devices[0];
    // Backed off: far fewer attempts than the 60 polls 6 s would hold.
    let failed = m.failed_polls.load(Relaxed);
    assert!(failed < 30, "{failed} failed polls in ~6 s: no backoff");
    // And backed off exponentially: the waits between attempts on the wire
    // grow (a poll's own retry follows it at once, so attempts are the
    // connections more than 50 ms apart).
    let mut attempts: Vec<std::time::Instant> = Vec::new();
    for at in rig.proxy.connections.lock().unwrap().iter() {
        if *at > offline_at
            && attempts
                .last()
                .is_none_or(|l| at.duration_since(*l) > Duration::from_millis(50))
        {
            attempts.push(*at);
        }
    }
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 3, "too few attempts to judge: {gaps:?}");
    assert!(
        *gaps.last().unwrap() >= gaps[0] * 3,
        "the wait between attempts does not grow: {gaps:?}"
    );
    rig.proxy.set(Mode::Pass);
    // The backoff is capped, so the device is back within one capped delay.
    assert!(
        rig.wait_state(DeviceState::Online, 35).await,
        "did not reconnect"
    );
    assert!(rig.wait_quality("filter_dp", Quality::Good, 3).await);
    rig.daemon.stop().await;
}

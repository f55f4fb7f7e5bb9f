//! A full disk (issue 14): the data directory on a 48 MiB tmpfs, filled by
//! another writer until the file system refuses. The daemon announces it
//! (a `sitewarden.disk_full` alert, `/healthz` 503 with `disk_full`, the
//! metrics), releases its reserve so a fire alarm raised meanwhile is still
//! stored and notified, and when the space comes back holds the reserve
//! again and clears the alert. Mounting needs root, as `scripts/test.sh`
//! runs; without it the test fails and says so.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use site_sim::Step;
use sitewarden_tests::{
    HttpReceiver, SiteDir, frozen, http, load, start_daemon, start_sim, wait_until,
};

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "cannot mount a tmpfs at {}: the disk-full test needs root (scripts/test.sh runs as root)",
            at.display()
        );
        Self(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the file system refuses; the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 256 * 1024];
    let mut written = 0;
    while file.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    let _ = file.sync_all();
    written
}

fn open_alert(api: std::net::SocketAddr, rule: &str) -> Option<serde_json::Value> {
    alert(api, "status=open", rule)
}

/// The newest alert of `rule` the list answers with `query`.
fn alert(api: std::net::SocketAddr, query: &str, rule: &str) -> Option<serde_json::Value> {
    let path = format!("/api/v1/alerts?{query}");
    let (_, body) = http(api, "GET", &path, None, None).ok()?;
    body["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["rule"] == rule)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_announced_and_alarms_are_still_stored_and_notified() {
    let site = SiteDir::new().unwrap();
    let data = site.dir.path().join("data");
    let _tmpfs = Tmpfs::mount(&data, "48m");
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    let hook = HttpReceiver::start(0).await.unwrap();
    let fire = sitewarden_tests::repo_root().join("config/standards/fire.toml");
    let config = format!(
        r#"
[storage]
min_free = "24MiB"
reserve = "8MiB"

[rules]
packs = [{fire:?}]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts.channels.hook]
kind = "webhook"
url = "http://{hook}/hook"

[alerts.policies.fire]
repeat = "1h"
steps = [{{ notify = ["guard"], channels = ["hook"], wait = "1h" }}]

[alerts.policies.default]
repeat = "1h"
steps = [{{ notify = ["guard"], channels = ["hook"], wait = "1h" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
        fire = fire.display().to_string(),
        hook = hook.addr,
        panel = sim.addr("fire-panel-1").unwrap(),
    );
    let daemon = start_daemon(load(&site.site(&config).unwrap()), &site, 0)
        .await
        .unwrap();
    let api = daemon.api_addr;
    let reserve = data.join("reserve");
    let health = || http(api, "GET", "/healthz", None, None).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || reserve
            .metadata()
            .is_ok_and(|m| m.len() == 8 << 20))
        .await,
        "the reserve was not held at start"
    );
    assert_eq!(health().0, 200);

    // Another writer takes every byte left.
    let filler = data.join("filler");
    let filled = fill(&filler);
    assert!(filled > 10 << 20, "only {filled} bytes filled");
    assert!(
        wait_until(Duration::from_secs(15), || open_alert(
            api,
            "sitewarden.disk_full"
        )
        .is_some())
        .await,
        "no disk-full alert"
    );
    let (code, body) = health();
    assert_eq!(
        (code, &body["disk_full"]),
        (503, &serde_json::json!(true)),
        "{body}"
    );
    assert!(!reserve.exists(), "the reserve was not released");
    let console =
        sitewarden::console::render_faults(&daemon.alerts.catalog.site.messages, &daemon.metrics);
    assert!(
        console.contains("DISK FULL"),
        "the console says it too: {console}"
    );
    let (_, metrics) = sitewarden_tests::http_get(api, "/metrics").unwrap();
    assert!(
        metrics.contains("sitewarden_disk_full{site=\"test-site\"} 1"),
        "{metrics}"
    );

    // A fire alarm on the full disk is stored and notified all the same.
    let on = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    sim.apply(&toml::from_str::<Step>(on).unwrap());
    assert!(
        wait_until(Duration::from_secs(15), || open_alert(
            api,
            "fire.fire_alarm"
        )
        .is_some())
        .await,
        "the fire alarm was not stored on the full disk"
    );
    let fire_id = open_alert(api, "fire.fire_alarm").unwrap()["id"].clone();
    assert!(
        wait_until(Duration::from_secs(15), || hook
            .posted()
            .iter()
            .any(|p| p.body["alert"]["id"] == fire_id))
        .await,
        "the fire alarm was not notified on the full disk"
    );

    // Space comes back: the reserve is held again and the alert clears.
    std::fs::remove_file(&filler).unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || health().0 == 200).await,
        "healthz stayed degraded: {}",
        health().1
    );
    // An equipment alert whose condition cleared resolves by itself.
    let resolved = || alert(api, "limit=100", "sitewarden.disk_full");
    assert!(
        wait_until(Duration::from_secs(5), || resolved()
            .is_some_and(|a| a["active"] == false && a["status"] == "resolved"))
        .await,
        "the disk-full alert did not clear: {:?}",
        resolved()
    );
    assert!(
        reserve.metadata().is_ok_and(|m| m.len() == 8 << 20),
        "the reserve was not held again"
    );
    daemon.stop().await;
}

//! The `sitewarden` binary: `check` output and exit codes, clean shutdown on
//! SIGTERM, and a clear start-up error for a busy API port.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sitewarden");

fn site(dir: &tempfile::TempDir, listen: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.path().join("site.toml");
    let text = format!(
        "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"{listen}\"\n\n[[devices]]\nid = \"plc\"\ntransport = {{ kind = \"modbus-tcp\", host = \"127.0.0.1:9\" }}\n{extra}\n[[devices.points]]\nname = \"p\"\nkind = \"holding\"\naddress = 0\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_prints_every_error_with_its_position_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(&dir, "127.0.0.1:0", "poll_interval = \"1ms\"\nretries = 99");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("site.toml:12:17: poll_interval 1ms is out of range"),
        "{stderr}"
    );
    assert!(
        stderr.contains("site.toml:13:11: retries 99 is out of range"),
        "{stderr}"
    );
    assert!(stderr.contains("2 errors in the configuration"), "{stderr}");
}

#[test]
fn check_summarises_a_valid_config() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");
    let out = Command::new(BIN)
        .args(["check", "--config", config])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("6 devices, 79 points, 4 Modbus lines"),
        "{stdout}"
    );
    assert!(stdout.contains("hall-sensors"), "{stdout}");
    assert!(stdout.contains("fire-panel-1"), "{stdout}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
}

#[test]
fn sigterm_stops_the_daemon_cleanly_within_five_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(&dir, "127.0.0.1:0", "");
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(child.try_wait().unwrap().is_none(), "daemon exited early");
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("sitewarden stopped"), "{log}");
}

#[test]
fn a_busy_api_port_is_a_clear_start_up_error() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = site(&dir, &busy, "");
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {busy} for the HTTP API")),
        "{stderr}"
    );
}

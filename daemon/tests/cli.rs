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

/// `sitewarden check --config path`: its exit code and what it wrote to stderr.
fn check(path: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_prints_every_error_with_its_position_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(&dir, "127.0.0.1:0", "poll_interval = \"1ms\"\nretries = 99");
    let (code, stderr) = check(&path);
    assert_eq!(code, Some(1), "{stderr}");
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
        stdout.contains("10 devices, 103 points, 8 Modbus lines"),
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

/// `GET /healthz` on a fresh connection: the status code, or `None` when
/// the API does not answer within two seconds.
fn healthz(addr: &str) -> Option<u16> {
    use std::io::Write as _;
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

/// `GET /healthz` from another loopback address than the test's own
/// 127.0.0.1 (the daemon bounds connections per client address).
fn healthz_from(from: [u8; 4], addr: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let target: std::net::SocketAddr = addr.parse().ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.bind(std::net::SocketAddr::from((from, 0))).ok()?;
        let mut stream = tokio::time::timeout(Duration::from_secs(2), socket.connect(target))
            .await
            .ok()?
            .ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut answer))
            .await
            .ok()?
            .ok()?;
        answer.split(' ').nth(1)?.parse().ok()
    })
}

/// An MQTT 3.1.1 CONNECT on a fresh connection: whether the broker answers CONNACK 0.
fn broker_accepts(addr: &str) -> bool {
    use std::io::Write as _;
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let connect = [
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b't',
    ];
    let mut connack = [0u8; 4];
    stream.write_all(&connect).is_ok()
        && stream.read_exact(&mut connack).is_ok()
        && connack == [0x20, 2, 0, 0]
}

fn free_addr() -> String {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().to_string()
}

/// Started under systemd's default soft limit of 1,024 open files and
/// flooded with 1,500 connections to the API port from one address, the
/// daemon keeps its API (for other clients) and its embedded broker
/// answering during the flood, and the flooding address too after it: it
/// raises its soft limit to the hard one at start, and closes a client's
/// connections past its share at once.
#[test]
fn a_flood_of_connections_under_a_1024_file_limit_leaves_the_api_and_broker_answering() {
    // The test itself holds 1,500 sockets.
    sitewarden::limits::raise_open_files_limit();
    let (api, broker) = (free_addr(), free_addr());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.toml");
    std::fs::write(
        &path,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"{api}\"\n\n\
             [mqtt]\nembedded_listen = \"{broker}\"\nallow_anonymous = true\n\n[[devices]]\nid = \"plc\"\n\
             transport = {{ kind = \"modbus-tcp\", host = \"127.0.0.1:9\" }}\n\n\
             [[devices.points]]\nname = \"p\"\nkind = \"holding\"\naddress = 0\n"
        ),
    )
    .unwrap();
    let child = Command::new("sh")
        .args(["-c", "ulimit -Sn 1024 && exec \"$0\" \"$@\"", BIN, "run"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildKiller(child);
    let started = Instant::now();
    while healthz(&api) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.0.id())).unwrap();
    let soft: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(soft > 1024, "the soft limit stayed at {soft}: {limits}");
    // A daemon out of descriptors stops accepting: the kernel's backlog
    // fills and further connects hang, so each gets a short timeout.
    let target = api.parse().unwrap();
    let mut flood = Vec::new();
    for _ in 0..1500 {
        match std::net::TcpStream::connect_timeout(&target, Duration::from_secs(5)) {
            Ok(stream) => flood.push(stream),
            Err(_) => break,
        }
    }
    assert_eq!(flood.len(), 1500, "every flood connection was accepted");
    assert_eq!(
        healthz_from([127, 0, 0, 2], &api),
        Some(200),
        "the API answers another client during the flood"
    );
    assert!(
        broker_accepts(&broker),
        "the broker answers during the flood"
    );
    drop(flood);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(healthz(&api), Some(200), "the API answers after the flood");
    assert!(
        broker_accepts(&broker),
        "the broker answers after the flood"
    );
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
}

/// Kills the child when the test ends, passed or not.
struct ChildKiller(std::process::Child);

impl Drop for ChildKiller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn check_warns_of_a_console_beyond_loopback_without_tls_and_points_at_a_bad_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(&dir, "0.0.0.0:8080", "");
    let (code, stderr) = check(&path);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: [api] listen 0.0.0.0:8080 is beyond loopback without [api] tls"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("api.pem"), "not a certificate").unwrap();
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[[devices]]",
        "[api.tls]\ncert = \"api.pem\"\nkey = \"api.key\"\n\n[[devices]]",
    );
    std::fs::write(&path, text).unwrap();
    let (code, stderr) = check(&path);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("site.toml:11:7: cannot read api.key"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("api.key"), "not a key").unwrap();
    let (code, stderr) = check(&path);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("site.toml:10:8: the certificate file holds no certificate"),
        "{stderr}"
    );
}

#[test]
fn init_writes_a_site_that_checks_prints_each_token_once_and_keeps_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let share = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
    let init = |extra: &[&str]| {
        Command::new(BIN)
            .args(["init", "--dir"])
            .arg(dir.path())
            .args([
                "--site-id",
                "north-gate",
                "--time-zone",
                "Asia/Shanghai",
                "--locale",
                "zh-CN",
                "--device",
                "ahu:ahu-1@127.0.0.1:1502",
                "--device",
                "lift-controller:lift-1@127.0.0.1:1503",
                "--token",
                "engineer:chen.jing",
                "--share",
                share,
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = init(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("configuration OK: 2 devices"), "{stdout}");
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("API token for chen.jing (engineer), shown this once: "))
        .unwrap()
        .to_owned();
    let site = std::fs::read_to_string(dir.path().join("site.toml")).unwrap();
    assert!(!site.contains(&token), "the token itself is never written");
    assert!(site.contains(&sitewarden::config::hash_token(&token)));
    let (code, stderr) = check(&dir.path().join("site.toml"));
    assert_eq!(code, Some(0), "{stderr}");
    // An existing site is kept unless asked.
    let again = init(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists; pass --force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("site.toml")).unwrap(),
        site
    );
    // A bare kind is an example device to fill in.
    let example = init(&["--force", "--device", "fire-panel"]);
    assert!(
        example.status.success(),
        "{}",
        String::from_utf8_lossy(&example.stderr)
    );
    let site = std::fs::read_to_string(dir.path().join("site.toml")).unwrap();
    assert!(
        site.contains("id = \"fire-panel-1\"\nprofile = \"fire-panel\""),
        "{site}"
    );
    // A device the profiles do not have fails the check, naming where.
    let bad = init(&["--force", "--device", "boiler:b-1@127.0.0.1:1504"]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("site.toml:") && stderr.contains("boiler"),
        "{stderr}"
    );
}

#[test]
fn check_warns_that_a_port_below_1024_needs_a_capability_under_the_packaged_unit() {
    let dir = tempfile::tempdir().unwrap();
    let path = site(&dir, "127.0.0.1:80", "");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = format!("{stdout}{stderr}");
    assert!(
        said.contains("[api] listen 127.0.0.1:80 is below port 1024")
            && said.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE"),
        "{said}"
    );
    // Port 8080 needs nothing.
    let path = site(&dir, "127.0.0.1:8080", "");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!said.contains("below port 1024"), "{said}");
}

//! The embedded MQTT broker: a mosquitto the daemon configures, starts and
//! keeps running, for sites without a broker of their own.
//!
//! Why mosquitto and not a broker linked into the daemon: the site's broker
//! must bound its memory whatever arrives, authenticate every client with a
//! hashed password and enforce per-user topic permissions (a sensor writes
//! only its own topics, a screen never reads commands). rumqttd, which the
//! daemon embedded before, has authentication but no topic permissions, and
//! its per-topic in-memory log grew the daemon to 1.4 GB in a storm
//! (docs/benchmarks.md). mosquitto does all of it, is packaged by every
//! distribution, and runs in its own process: a flood it absorbs cannot take
//! the daemon's memory with it.
//!
//! The daemon writes `mosquitto.conf`, a password file and an ACL file into
//! `<data dir>/broker/` at every start (the daemon's own clients get a
//! fresh random password each time), starts mosquitto with them, and
//! restarts it if it ever exits.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use crate::backoff::Backoff;
use crate::logging::LogLimiter;
use crate::shutdown::Shutdown;

/// PBKDF2 rounds of mosquitto's `$7$` password hashes (its default).
const ROUNDS: u32 = 101;

/// What a user may do with a topic filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Subscribe and receive.
    Read,
    /// Publish.
    Write,
    /// Both.
    ReadWrite,
    /// Neither, even where a broader grant allows it.
    Deny,
}

impl Access {
    fn word(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::ReadWrite => "readwrite",
            Self::Deny => "deny",
        }
    }
}

/// One broker user and its topic permissions.
#[derive(Debug, Clone)]
pub struct BrokerUser {
    /// User name.
    pub name: String,
    /// mosquitto `$7$` hash ([`hash_password`]).
    pub password_hash: String,
    /// Grants and denials; nothing else is allowed.
    pub topics: Vec<(Access, String)>,
}

/// Everything mosquitto is started with.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Users, the daemon's own included.
    pub users: Vec<BrokerUser>,
    /// Permissions of clients without a user name; `None`: refused.
    pub anonymous: Option<Vec<(Access, String)>>,
    /// Largest MQTT packet; a client sending a larger one is disconnected.
    pub max_packet: usize,
    /// Messages queued per client that does not keep up (the rest dropped, counted).
    pub max_queued: usize,
    /// Bytes queued per client that does not keep up.
    pub max_queued_bytes: usize,
    /// The broker's whole heap; publishes beyond it are dropped.
    pub memory_limit: usize,
}

/// A mosquitto `$7$` (PBKDF2-SHA512) hash of `password` with a random salt,
/// as `mosquitto_passwd` writes it.
pub fn hash_password(password: &str) -> String {
    let salt: [u8; 12] = rand::random();
    hash_with_salt(password, &salt)
}

fn hash_with_salt(password: &str, salt: &[u8]) -> String {
    let mut hash = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), salt, ROUNDS, &mut hash);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!("$7${ROUNDS}${}${}", b64.encode(salt), b64.encode(hash))
}

/// The three files: `mosquitto.conf`, password file, ACL file.
fn render(config: &BrokerConfig, dir: &Path) -> (String, String, String) {
    let mut conf = String::new();
    let _ = write!(
        conf,
        "# Written by sitewarden at every start; edit the site file instead.\n\
         user {user}\n\
         per_listener_settings false\n\
         listener {port} {host}\n\
         allow_anonymous {anonymous}\n\
         password_file {dir}/passwd\n\
         acl_file {dir}/acl\n\
         persistence false\n\
         max_packet_size {max_packet}\n\
         max_queued_messages {max_queued}\n\
         max_queued_bytes {max_queued_bytes}\n\
         max_inflight_messages 20\n\
         memory_limit {memory_limit}\n\
         max_keepalive 3600\n\
         sys_interval 5\n\
         log_dest stderr\n\
         log_type error\n\
         log_type warning\n\
         connection_messages false\n",
        user = user_name(),
        port = config.listen.port(),
        host = config.listen.ip(),
        anonymous = config.anonymous.is_some(),
        dir = dir.display(),
        max_packet = config.max_packet,
        max_queued = config.max_queued,
        max_queued_bytes = config.max_queued_bytes,
        memory_limit = config.memory_limit,
    );
    let mut passwd = String::new();
    let mut acl = String::new();
    if let Some(topics) = &config.anonymous {
        write_topics(&mut acl, topics);
    }
    for user in &config.users {
        let _ = writeln!(passwd, "{}:{}", user.name, user.password_hash);
        let _ = writeln!(acl, "\nuser {}", user.name);
        write_topics(&mut acl, &user.topics);
    }
    (conf, passwd, acl)
}

/// The daemon's own user: mosquitto started by root would otherwise switch
/// to the `mosquitto` user, which cannot read the daemon's files.
fn user_name() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; the
    // name is copied out at once.
    unsafe {
        let entry = libc::getpwuid(libc::geteuid());
        if entry.is_null() || (*entry).pw_name.is_null() {
            return "root".into();
        }
        std::ffi::CStr::from_ptr((*entry).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

fn write_topics(acl: &mut String, topics: &[(Access, String)]) {
    for (access, topic) in topics {
        let _ = writeln!(acl, "topic {} {topic}", access.word());
    }
}

/// Counters of the embedded broker.
#[derive(Debug, Default)]
pub struct BrokerMetrics {
    /// Times mosquitto exited and was started again.
    pub restarts: AtomicU64,
}

impl BrokerMetrics {
    /// Prometheus families.
    pub fn render(&self, out: &mut String, site: &str) {
        let name = "sitewarden_mqtt_broker_restarts_total";
        crate::metrics::family(
            out,
            name,
            "counter",
            "Times the embedded MQTT broker exited and was started again.",
        );
        crate::metrics::sample(out, name, site, self.restarts.load(Relaxed));
    }
}

/// A running mosquitto and what it needs to be started again.
pub struct Broker {
    child: Child,
    dir: PathBuf,
    binary: PathBuf,
    metrics: Arc<BrokerMetrics>,
}

/// mosquitto's path: `/usr/sbin/mosquitto` (Debian) or the first on `PATH`.
fn binary() -> anyhow::Result<PathBuf> {
    let debian = Path::new("/usr/sbin/mosquitto");
    if debian.exists() {
        return Ok(debian.to_path_buf());
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("mosquitto"))
        .find(|p| p.exists())
        .context(
            "the embedded MQTT broker needs mosquitto (Debian: apt-get install mosquitto), \
             or set [mqtt] host to the site's broker",
        )
}

/// Writes the configuration into `dir`, starts mosquitto and waits until it
/// accepts connections. A busy port or a refused configuration is an error
/// here, with mosquitto's own words, before anything else starts.
pub async fn start(
    config: &BrokerConfig,
    dir: &Path,
    metrics: Arc<BrokerMetrics>,
) -> anyhow::Result<Broker> {
    let binary = binary()?;
    std::net::TcpListener::bind(config.listen).with_context(|| {
        format!(
            "cannot start the embedded MQTT broker on {}: the port is in use (set [mqtt] embedded_listen, or host for an external broker)",
            config.listen
        )
    })?;
    write_files(config, dir)?;
    let child = spawn(&binary, dir)?;
    let mut broker = Broker {
        child,
        dir: dir.to_path_buf(),
        binary,
        metrics,
    };
    broker.wait_ready(config.listen).await?;
    Ok(broker)
}

fn write_files(config: &BrokerConfig, dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (conf, passwd, acl) = render(config, dir);
    for (name, text) in [("mosquitto.conf", conf), ("passwd", passwd), ("acl", acl)] {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn spawn(binary: &Path, dir: &Path) -> anyhow::Result<Child> {
    let mut command = Command::new(binary);
    command
        .arg("-c")
        .arg(dir.join("mosquitto.conf"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to stop
    // the broker when the daemon dies, even by SIGKILL, so no orphan keeps
    // the port.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_log(stderr));
    }
    Ok(child)
}

/// mosquitto logs only errors and warnings (see [`render`]): each becomes a
/// warning of ours, at most one every 30 s.
async fn forward_log(stderr: tokio::process::ChildStderr) {
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let mut limit = LogLimiter::new(Duration::from_secs(30));
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(held_back) = limit.allow() {
            // mosquitto starts each line with its Unix time: `1764650000: Error: …`.
            let text = line
                .split_once(": ")
                .map_or(line.as_str(), |(_, rest)| rest);
            if text.contains("should not be run as root") {
                // The daemon runs as root (a demo) and the broker runs as the daemon's user.
                continue;
            }
            tracing::warn!(broker = %text.trim(), held_back, "embedded MQTT broker");
        }
    }
}

impl Broker {
    async fn wait_ready(&mut self, listen: SocketAddr) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the embedded MQTT broker (mosquitto) exited at start with {status}; its configuration is in {}",
                    self.dir.display()
                );
            }
            if tokio::net::TcpStream::connect(listen).await.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the embedded MQTT broker did not listen on {listen} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Keeps mosquitto running until shutdown: started again (with growing
    /// pauses) whenever it exits, counted in [`BrokerMetrics::restarts`];
    /// stopped with SIGTERM at shutdown.
    pub async fn supervise(mut self, mut shutdown: Shutdown) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            tokio::select! {
                status = self.child.wait() => {
                    self.metrics.restarts.fetch_add(1, Relaxed);
                    tracing::error!(?status, "the embedded MQTT broker exited; starting it again");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_delay()) => {}
                        () = shutdown.wait() => return,
                    }
                    match spawn(&self.binary, &self.dir) {
                        Ok(child) => self.child = child,
                        Err(e) => tracing::error!(error = %e, "cannot start the embedded MQTT broker"),
                    }
                }
                () = shutdown.wait() => {
                    self.stop().await;
                    return;
                }
            }
        }
    }

    async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signalling our own child by its pid.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_mosquitto_passwd() {
        // `mosquitto_passwd -b` wrote this for "secret".
        let theirs = "$7$101$Jp2z9MKXBdFuRvK9$IrCRFEKRq8wiCHFSvv0nVLZYJtbHHmPZNTOL2Mh8tJyyYTPJb6g87pDiMhEmf1dfdXYcXBcL45HqMQt/shnO1Q==";
        let salt = base64::engine::general_purpose::STANDARD
            .decode("Jp2z9MKXBdFuRvK9")
            .unwrap();
        assert_eq!(hash_with_salt("secret", &salt), theirs);
        assert_ne!(hash_password("secret"), hash_password("secret"), "salted");
    }

    #[test]
    fn files_grant_only_what_is_listed() {
        let config = BrokerConfig {
            listen: "127.0.0.1:1883".parse().unwrap(),
            users: vec![BrokerUser {
                name: "roof".into(),
                password_hash: "$7$h".into(),
                topics: vec![(Access::Write, "sensors/roof/#".into())],
            }],
            anonymous: None,
            max_packet: 1000,
            max_queued: 10,
            max_queued_bytes: 100,
            memory_limit: 1 << 20,
        };
        let (conf, passwd, acl) = render(&config, Path::new("/d"));
        assert!(conf.contains("allow_anonymous false\n"));
        assert!(conf.contains("listener 1883 127.0.0.1\n"));
        assert!(conf.contains("memory_limit 1048576\n"));
        assert_eq!(passwd, "roof:$7$h\n");
        assert_eq!(acl, "\nuser roof\ntopic write sensors/roof/#\n");
    }
}

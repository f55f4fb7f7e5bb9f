//! mosquitto, a real MQTT broker (plain or TLS), and a subscriber that
//! records what it receives.

use super::*;

/// A mosquitto broker (Debian's `mosquitto`) on a free port, persisting
/// sessions in its own directory, so a restart keeps a subscriber's queue.
pub struct Mosquitto {
    /// Where it listens.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Option<ChildGuard>,
    /// A configuration of the caller's (listener, users, ACL), kept across restarts.
    config: Option<String>,
}

impl Mosquitto {
    /// Starts it and waits until it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        let mut broker = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            dir: tempfile::tempdir()?,
            child: None,
            config: None,
        };
        broker.resume()?;
        Ok(broker)
    }

    /// Starts mosquitto listening on `addr` with the configuration file at
    /// `path` (its `user` line left out: the broker runs as this user, so
    /// it can read its password file and keep its persistence).
    pub fn start_configured(addr: SocketAddr, path: &Path) -> anyhow::Result<Self> {
        let config: String = std::fs::read_to_string(path)?
            .lines()
            .filter(|l| !l.starts_with("user "))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut broker = Self {
            addr,
            dir: tempfile::tempdir()?,
            child: None,
            config: Some(config),
        };
        broker.resume()?;
        Ok(broker)
    }

    /// Starts it again after [`Self::stop`], same port and persistence.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        if let Some(config) = self.config.clone() {
            return self.launch(&config);
        }
        let config = format!(
            "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n",
            self.addr.port(),
            self.dir.path().display()
        );
        self.launch(&config)
    }

    /// Writes `config`, starts mosquitto with it and waits for the port.
    /// The broker logs connections to `mosquitto.log` ([`Self::log`]).
    fn launch(&mut self, config: &str) -> anyhow::Result<()> {
        let path = self.dir.path().join("mosquitto.conf");
        let log = self.dir.path().join("mosquitto.log");
        // Started by root, mosquitto would switch to the `mosquitto` user,
        // which cannot write its persistence file into our directory: the
        // subscriber's session would not survive a restart.
        let config = format!(
            "user {}\n{config}log_dest stderr\nconnection_messages true\n",
            user_name()
        );
        std::fs::write(&path, config)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let binary = if Path::new("/usr/sbin/mosquitto").exists() {
            "/usr/sbin/mosquitto"
        } else {
            "mosquitto"
        };
        let child = Command::new(binary)
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting mosquitto (run scripts/test.sh to install it)")?;
        self.child = Some(ChildGuard::new(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(self.addr).is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "mosquitto did not come up on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// What the broker logged so far, e.g. `New client connected from … as
    /// <client id> (p5, c1, k30).`, where `p5` is MQTT 5 and `p2` MQTT 3.1.1.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// Stops it with SIGTERM, so it saves its sessions, as a broker restart would.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &guard.0.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && !matches!(guard.0.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// One message a subscriber received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Topic.
    pub topic: String,
    /// Payload as text.
    pub payload: String,
    /// Retained flag as delivered.
    pub retain: bool,
}

/// A subscriber with a persistent session that records what it receives,
/// reconnecting by itself when the broker goes away.
pub struct Subscriber {
    /// Everything received, in order.
    pub received: Arc<std::sync::Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Subscriber {
    /// Connects to `addr` as `client_id` and subscribes to `filter` with QoS 1.
    pub async fn start(addr: SocketAddr, client_id: &str, filter: &str) -> anyhow::Result<Self> {
        Self::start_as(addr, client_id, filter, None).await
    }

    /// Like [`Self::start`], logging in as `user` with `password`.
    pub async fn start_as(
        addr: SocketAddr,
        client_id: &str,
        filter: &str,
        login: Option<(&str, &str)>,
    ) -> anyhow::Result<Self> {
        use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
        let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
        if let Some((user, password)) = login {
            options.set_credentials(user, password);
        }
        options.set_clean_session(false);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        client.subscribe(filter, QoS::AtLeastOnce).await?;
        let received: Arc<std::sync::Mutex<Vec<Received>>> = Arc::default();
        let sink = received.clone();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let mut ready_tx = Some(ready_tx);
        let filter = filter.to_owned();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(tx) = ready_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::ConnAck(ack))) if !ack.session_present => {
                        let _ = client.subscribe(filter.clone(), QoS::AtLeastOnce).await;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => sink
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Received {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retain: p.retain,
                        }),
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), ready).await??;
        Ok(Self { received, task })
    }

    /// A copy of what arrived so far.
    pub fn messages(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Mosquitto {
    /// Starts a broker that accepts only TLS clients with a certificate from `pki`'s CA.
    pub fn start_tls(pki: &TestPki) -> anyhow::Result<Self> {
        Self::start_tls_as(pki, &pki.server, true)
    }

    /// Starts a TLS broker presenting `server` (certificate and key), asking
    /// clients for a certificate from `pki`'s CA if `require_client`.
    pub fn start_tls_as(
        pki: &TestPki,
        server: &(PathBuf, PathBuf),
        require_client: bool,
    ) -> anyhow::Result<Self> {
        let mut broker = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            dir: tempfile::tempdir()?,
            child: None,
            config: None,
        };
        let config = format!(
            "listener {} 127.0.0.1\nallow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {require_client}\n",
            broker.addr.port(),
            pki.ca.display(),
            server.0.display(),
            server.1.display()
        );
        broker.launch(&config)?;
        Ok(broker)
    }
}

/// A signed MQTT command payload, made here independently of the daemon's
/// code: HMAC-SHA256 keyed with the SHA-256 of `token` over
/// `<topic>\n<command>`, `command` being `args` with `at` (`at_offset`
/// seconds from now) and a fresh `nonce` added.
pub fn signed_command(
    topic: &str,
    operator: &str,
    token: &str,
    mut args: serde_json::Value,
    at_offset: i64,
) -> String {
    use hmac::Mac as _;
    use sha2::Digest as _;
    static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    args["at"] = (now + at_offset).into();
    args["nonce"] = format!(
        "n{}-{}",
        std::process::id(),
        NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
    .into();
    let command = args.to_string();
    let key = sha2::Sha256::digest(token.as_bytes());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{topic}\n{command}").as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(r#"{{"operator":"{operator}","signature":"{signature}","command":{command}}}"#)
}

/// A mosquitto `$7$` password hash made by Debian's `mosquitto_passwd`,
/// independently of the daemon's hashing.
pub fn mosquitto_hash(user: &str, password: &str) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("passwd");
    let status = Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&file)
        .args([user, password])
        .status()
        .context("running mosquitto_passwd (package mosquitto)")?;
    anyhow::ensure!(status.success(), "mosquitto_passwd failed");
    let line = std::fs::read_to_string(&file)?;
    Ok(line
        .trim()
        .split_once(':')
        .map(|(_, hash)| hash.to_owned())
        .unwrap_or_default())
}

/// The user this process runs as (`id -un`), for mosquitto's `user` option.
fn user_name() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "root".into())
}

//! Processes and ports: the repository root, free loopback ports, the test Python, and a guard that kills a child process.

use super::*;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped rule packs `names` (`"fire"`, `"lifts"`) as the TOML list
/// items of a site file's `[rules] packs`: quoted absolute paths, comma-separated.
pub fn shipped_packs(names: &[&str]) -> String {
    names
        .iter()
        .map(|p| {
            let path = repo_root().join(format!("config/standards/{p}.toml"));
            format!("{:?}", path.display().to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// The Python that has the test dependencies: `SITEWARDEN_PYTHON`, else the
/// virtualenv `scripts/test.sh` makes, else `python3`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("SITEWARDEN_PYTHON") {
        return p.into();
    }
    let venv = repo_root().join(".venv-test/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// A child process killed when dropped.
pub struct ChildGuard(pub(crate) Child);

impl ChildGuard {
    /// Guards a started process.
    pub fn new(child: Child) -> Self {
        Self(child)
    }

    /// The process id, to read its `/proc` figures.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL (no shutdown code runs), and waits until it is gone.
    pub fn kill_9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `done` every 20 ms until it holds, or fails naming `what` after
/// `timeout` (benchmarks driving a daemon process from a plain thread).
pub fn wait_blocking(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if done() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!("timed out waiting for {what}")
}

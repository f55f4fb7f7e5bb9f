//! A virtual serial line (a socat pty pair) for Modbus RTU.

use super::*;

/// Two pseudo-terminals joined by socat: a serial line on one machine.
pub struct SerialPair {
    /// The daemon's end.
    pub a: PathBuf,
    /// The device's end.
    pub b: PathBuf,
    _dir: tempfile::TempDir,
    _child: ChildGuard,
}

impl SerialPair {
    /// Creates the pair and waits until both ends exist.
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (a, b) = (dir.path().join("ttyA"), dir.path().join("ttyB"));
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting socat (run scripts/test.sh to install it)")?;
        let child = ChildGuard::new(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(a.exists() && b.exists()) {
            anyhow::ensure!(Instant::now() < deadline, "socat made no pty pair");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            a,
            b,
            _dir: dir,
            _child: child,
        })
    }
}

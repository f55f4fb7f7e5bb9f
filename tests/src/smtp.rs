//! An SMTP sink (aiosmtpd) that records messages and refuses the first ones on request.

use super::*;

/// An SMTP sink (tests/peers/smtp_sink.py on aiosmtpd) on a free port that
/// answers 451 to its first `fail_first` messages and records the rest.
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    out: PathBuf,
    _dir: tempfile::TempDir,
    _child: ChildGuard,
}

impl SmtpSink {
    /// Starts the sink and waits until it listens.
    pub fn start(fail_first: usize) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("mail.jsonl");
        let port = free_port();
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/peers/smtp_sink.py"))
            .args([
                "--port",
                &port.to_string(),
                "--fail-first",
                &fail_first.to_string(),
                "--out",
            ])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the SMTP sink (is aiosmtpd installed? run scripts/test.sh)")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        anyhow::ensure!(line.trim() == "ready", "SMTP sink did not start: {line:?}");
        Ok(Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            out,
            _dir: dir,
            _child: ChildGuard::new(child),
        })
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

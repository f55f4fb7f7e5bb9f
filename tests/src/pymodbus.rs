//! pymodbus, an independent Modbus implementation, as a server over TCP or RTU over TCP.

use super::*;

/// Framing pymodbus serves.
#[derive(Debug, Clone, Copy)]
pub enum Framing {
    /// Modbus TCP (MBAP).
    Tcp,
    /// RTU frames over TCP, as an RS-485 gateway forwards them.
    RtuOverTcp,
}

/// A running pymodbus server (tests/peers/pymodbus_server.py).
pub struct Pymodbus {
    /// Where it listens.
    pub addr: SocketAddr,
    _child: ChildGuard,
}

impl Pymodbus {
    /// Starts the server and waits until it accepts connections.
    pub fn start(framing: Framing) -> anyhow::Result<Self> {
        let port = free_port();
        let framer = match framing {
            Framing::Tcp => "socket",
            Framing::RtuOverTcp => "rtu",
        };
        let args = [
            "--port".to_owned(),
            port.to_string(),
            "--framer".to_owned(),
            framer.to_owned(),
        ];
        Self::spawn(&args, SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Serves Modbus RTU on a serial device (one end of a [`SerialPair`]).
    pub fn start_serial(device: &Path) -> anyhow::Result<Self> {
        let args = ["--serial".to_owned(), device.display().to_string()];
        Self::spawn(&args, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn spawn(args: &[String], addr: SocketAddr) -> anyhow::Result<Self> {
        let script = repo_root().join("tests/peers/pymodbus_server.py");
        let mut child = Command::new(python())
            .arg(&script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting pymodbus (run scripts/test.sh to install it)")?;
        let stdout = child.stdout.take().context("pymodbus stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if !line.starts_with("READY") {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
            }
            let _ = child.kill();
            bail!("pymodbus did not start (is it installed? run scripts/test.sh): {err}");
        }
        Ok(Self {
            addr,
            _child: ChildGuard::new(child),
        })
    }
}

//! A Modbus TCP proxy that misbehaves on demand, between the daemon and a
//! real server: closes connections mid-request, shortens replies, answers
//! garbage, or refuses service, then behaves again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does with the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Forward faithfully.
    Pass = 0,
    /// Read the request, then close the connection without a reply.
    CloseMidRequest = 1,
    /// Forward, but drop the last register of a register reply (a
    /// well-formed frame with the wrong number of values).
    ShortReply = 2,
    /// Answer with bytes that are not a Modbus frame.
    Garbage = 3,
    /// Accept connections and close them at once.
    Down = 4,
}

/// A running proxy; aborted on drop.
pub struct Proxy {
    /// Where the daemon should connect.
    pub addr: SocketAddr,
    /// When each connection was accepted: the daemon's attempts, as seen on the wire.
    pub connections: Arc<Mutex<Vec<Instant>>>,
    mode: Arc<AtomicU8>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let shared = mode.clone();
        let connections: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let seen = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Instant::now());
                let mode = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(client, upstream, mode).await;
                });
            }
        });
        Ok(Self {
            addr,
            connections,
            mode,
            task,
        })
    }

    /// Changes behaviour for every following request.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

fn current(mode: &AtomicU8) -> Mode {
    match mode.load(Ordering::SeqCst) {
        1 => Mode::CloseMidRequest,
        2 => Mode::ShortReply,
        3 => Mode::Garbage,
        4 => Mode::Down,
        _ => Mode::Pass,
    }
}

async fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 7];
    stream.read_exact(&mut header).await?;
    let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let mut frame = header.to_vec();
    frame.resize(7 + len.saturating_sub(1), 0);
    stream.read_exact(&mut frame[7..]).await?;
    Ok(frame)
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    mode: Arc<AtomicU8>,
) -> std::io::Result<()> {
    if current(&mode) == Mode::Down {
        return Ok(());
    }
    let mut server = TcpStream::connect(upstream).await?;
    loop {
        let request = read_frame(&mut client).await?;
        match current(&mode) {
            Mode::Down | Mode::CloseMidRequest => return Ok(()),
            Mode::Garbage => {
                client
                    .write_all(b"\x00\x01\x00\x00\x00\x02garbage!")
                    .await?;
                continue;
            }
            Mode::Pass | Mode::ShortReply => {}
        }
        server.write_all(&request).await?;
        let mut reply = read_frame(&mut server).await?;
        if current(&mode) == Mode::ShortReply
            && matches!(reply.get(7), Some(3 | 4))
            && reply.len() >= 11
        {
            reply.truncate(reply.len() - 2);
            reply[8] -= 2; // byte count
            let len = (reply.len() - 6) as u16;
            reply[4..6].copy_from_slice(&len.to_be_bytes());
        }
        client.write_all(&reply).await?;
    }
}

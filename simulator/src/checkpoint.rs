//! Patrol checkpoint stations on the host: the very firmware logic
//! (`checkpoint-fw`: station, flash queue, Modbus RTU slave) with a
//! simulated reader and RAM flash, its RS-485 uplink exposed as Modbus RTU
//! over TCP, as an RS-485-to-Ethernet gateway would.
//!
//! A test or scenario presents badges ([`RunningCheckpoint::tap`]), cuts the
//! power ([`RunningCheckpoint::power_cut`]), or plays an attacker on the bus:
//! records signed with the wrong key ([`RunningCheckpoint::forge`]) or an
//! old record answered again ([`RunningCheckpoint::replay`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use checkpoint_fw::modbus::{self, MAX_FRAME, RECORD_REG, RegisterMap};
use checkpoint_fw::ram_flash::RamFlash;
use checkpoint_fw::record::RECORD_LEN;
use checkpoint_fw::station::{Station, Tap};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Flash of a simulated station: two journal pages and six ring pages (96 records).
pub type SimFlash = RamFlash<{ 8 * 1024 }>;

/// Seconds two taps of the same badge must be apart.
pub const DEBOUNCE_S: u32 = 3;

/// What the simulated bus does to the station's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bus {
    /// Answers as the station gives them.
    Honest,
    /// Serves this record instead of the oldest one, once, and swallows its confirm.
    Replay([u8; RECORD_LEN]),
}

struct Inner {
    station: Option<Station<SimFlash>>,
    flash_after_cut: Option<SimFlash>,
    id: u16,
    key: [u8; 32],
    booted: Instant,
    bus: Bus,
    first_served: Option<[u8; RECORD_LEN]>,
}

/// A running simulated station.
#[derive(Clone)]
pub struct RunningCheckpoint {
    /// Where its RTU-over-TCP uplink listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Inner {
    fn station(&mut self) -> Option<&mut Station<SimFlash>> {
        if self.station.is_none()
            && let Some(flash) = self.flash_after_cut.take()
        {
            self.booted = Instant::now();
            self.station = Station::boot(flash, self.id, self.key, DEBOUNCE_S).ok();
        }
        let uptime = self.booted.elapsed().as_secs() as u32;
        let station = self.station.as_mut()?;
        station.set_uptime(uptime);
        Some(station)
    }
}

/// Starts station `id` with `key` on `listen` (port 0 for a free one).
pub async fn start(
    id: u16,
    key: [u8; 32],
    listen: SocketAddr,
) -> anyhow::Result<RunningCheckpoint> {
    let station = Station::boot(SimFlash::new(), id, key, DEBOUNCE_S)
        .map_err(|e| anyhow::anyhow!("station {id} does not boot: {e:?}"))?;
    let listener = TcpListener::bind(listen).await?;
    let running = RunningCheckpoint {
        addr: listener.local_addr()?,
        inner: Arc::new(Mutex::new(Inner {
            station: Some(station),
            flash_after_cut: None,
            id,
            key,
            booted: Instant::now(),
            bus: Bus::Honest,
            first_served: None,
        })),
    };
    let inner = running.inner.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, inner.clone()));
        }
    });
    Ok(running)
}

impl RunningCheckpoint {
    /// A badge is presented to the reader.
    pub fn tap(&self, uid: &[u8]) -> Tap {
        let mut inner = lock(&self.inner);
        let uptime = inner.booted.elapsed().as_secs() as u32;
        match inner.station() {
            Some(s) => s.tap(uid, uptime),
            None => Tap::StorageError,
        }
    }

    /// Cuts the power and restores it: the station boots again from its flash.
    pub fn power_cut(&self) {
        let mut inner = lock(&self.inner);
        if let Some(station) = inner.station.take() {
            inner.flash_after_cut = Some(station.into_flash());
        }
    }

    /// From now on the station signs with a key the daemon does not know: every record is a forgery.
    pub fn forge(&self) {
        let mut inner = lock(&self.inner);
        inner.key = [0x66; 32];
        self.power_cut_locked(&mut inner);
    }

    fn power_cut_locked(&self, inner: &mut Inner) {
        if let Some(station) = inner.station.take() {
            inner.flash_after_cut = Some(station.into_flash());
        }
    }

    /// The bus serves the first record the daemon ever collected again, once,
    /// as an attacker who captured it would.
    pub fn replay(&self) -> bool {
        let mut inner = lock(&self.inner);
        match inner.first_served {
            Some(record) => {
                inner.bus = Bus::Replay(record);
                true
            }
            None => false,
        }
    }

    /// Records waiting in the station.
    pub fn waiting(&self) -> u32 {
        lock(&self.inner).station().map_or(0, |s| s.waiting())
    }
}

/// The register map the bus presents: the station's, or a replayed record.
struct OnTheBus<'a>(&'a mut Inner);

impl RegisterMap for OnTheBus<'_> {
    fn read(&self, address: u16) -> Option<u16> {
        let record_regs = RECORD_REG..RECORD_REG + RECORD_LEN as u16 / 2;
        match (self.0.bus, address) {
            // The replayed record looks like one more waiting.
            (Bus::Replay(_), 4) => Some(self.0.station.as_ref()?.read(4)?.saturating_add(1)),
            (Bus::Replay(_), modbus::RECORD_LEN_REG) => Some(RECORD_LEN as u16),
            (Bus::Replay(r), a) if record_regs.contains(&a) => {
                let i = usize::from(a - RECORD_REG) * 2;
                Some(u16::from_be_bytes([r[i], r[i + 1]]))
            }
            _ => self.0.station.as_ref()?.read(address),
        }
    }

    fn confirm(&mut self, seq: u32) -> Result<(), u8> {
        if let Bus::Replay(_) = self.0.bus {
            self.0.bus = Bus::Honest;
            return Ok(());
        }
        let station = self.0.station.as_mut().ok_or(0x04)?;
        let served = oldest_bytes(station);
        station.confirm(seq)?;
        if self.0.first_served.is_none() {
            self.0.first_served = served;
        }
        Ok(())
    }
}

fn oldest_bytes(station: &Station<SimFlash>) -> Option<[u8; RECORD_LEN]> {
    if station.read(modbus::RECORD_LEN_REG)? == 0 {
        return None;
    }
    let mut out = [0u8; RECORD_LEN];
    for i in 0..RECORD_LEN / 2 {
        let word = station.read(RECORD_REG + i as u16)?;
        out[i * 2..i * 2 + 2].copy_from_slice(&word.to_be_bytes());
    }
    Some(out)
}

/// Answers RTU frames on one gateway connection; a frame's length follows from its function code.
async fn serve(mut stream: TcpStream, inner: Arc<Mutex<Inner>>) {
    let mut buf = Vec::with_capacity(MAX_FRAME);
    let mut chunk = [0u8; 256];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(len) = frame_len(&buf) {
            if buf.len() < len {
                break;
            }
            let frame: Vec<u8> = buf.drain(..len).collect();
            let answer = {
                let mut guard = lock(&inner);
                let unit = guard.id as u8;
                if guard.station().is_none() {
                    None
                } else {
                    let mut out = [0u8; MAX_FRAME];
                    modbus::respond(unit, &mut OnTheBus(&mut guard), &frame, &mut out)
                        .map(|n| out[..n].to_vec())
                }
            };
            if let Some(answer) = answer
                && stream.write_all(&answer).await.is_err()
            {
                return;
            }
        }
        if buf.len() > MAX_FRAME {
            buf.clear();
        }
    }
}

/// The length of the request at the start of `buf`, once its header is in.
fn frame_len(buf: &[u8]) -> Option<usize> {
    match *buf.get(1)? {
        0x03 | 0x04 | 0x06 => Some(8),
        0x10 => Some(9 + usize::from(*buf.get(6)?)),
        // Anything else: take what is there and let the slave answer (illegal function) or ignore it.
        _ => Some(buf.len()),
    }
}

//! The checkpoint station: a badge tap becomes a signed record in the flash
//! queue, with feedback to the guard; the daemon reads and confirms records
//! over Modbus.

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use embedded_storage::nor_flash::NorFlash;

use crate::modbus::{self, RegisterMap};
use crate::queue::{Queue, QueueError};
use crate::record::{MAX_UID, RECORD_LEN, TapRecord};

/// Firmware version in the identity registers: major × 256 + minor.
pub const VERSION: u16 = 0x0100;
/// Health flag: the enclosure was opened.
pub const HEALTH_TAMPER: u16 = 1 << 0;
/// Health flag: the queue is full; taps are refused until the daemon collects.
pub const HEALTH_QUEUE_FULL: u16 = 1 << 1;
/// Health flag: the reader does not answer.
pub const HEALTH_READER_FAULT: u16 = 1 << 2;

/// What a tap came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tap {
    /// Stored under this sequence number.
    Recorded(u32),
    /// The same badge again within the debounce time: ignored.
    Repeat,
    /// No room: refused, and reported in the health register.
    QueueFull,
    /// The flash failed.
    StorageError,
}

/// One station.
pub struct Station<F> {
    id: u16,
    key: [u8; 32],
    debounce_s: u32,
    queue: Queue<F>,
    last: Option<([u8; MAX_UID], usize, u32)>,
    health: u16,
    oldest: Option<(u32, [u8; RECORD_LEN])>,
    uptime_s: u32,
}

impl<F: NorFlash> Station<F> {
    /// Starts after a reset: finds the queue and counts the boot.
    pub fn boot(
        flash: F,
        id: u16,
        key: [u8; 32],
        debounce_s: u32,
    ) -> Result<Self, QueueError<F::Error>> {
        let queue = Queue::open(flash)?;
        let mut station = Self {
            id,
            key,
            debounce_s,
            queue,
            last: None,
            health: 0,
            oldest: None,
            uptime_s: 0,
        };
        station.refresh();
        Ok(station)
    }

    /// Gives the flash back (a reset, in tests and the simulation).
    pub fn into_flash(self) -> F {
        self.queue.into_flash()
    }

    /// Records waiting.
    pub fn waiting(&self) -> u32 {
        self.queue.waiting()
    }

    /// Boot counter.
    pub fn boot_count(&self) -> u32 {
        self.queue.boot()
    }

    /// Health flags.
    pub fn health(&self) -> u16 {
        self.health
    }

    /// The clock: seconds since this boot (the daemon turns record times into wall time with it).
    pub fn set_uptime(&mut self, uptime_s: u32) {
        self.uptime_s = uptime_s;
    }

    /// The enclosure switch.
    pub fn set_tamper(&mut self, open: bool) {
        self.set_flag(HEALTH_TAMPER, open);
    }

    /// Whether the reader answers.
    pub fn set_reader_fault(&mut self, fault: bool) {
        self.set_flag(HEALTH_READER_FAULT, fault);
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        if on {
            self.health |= flag;
        } else {
            self.health &= !flag;
        }
    }

    /// A badge was read at `uptime_s` seconds since boot. The same badge
    /// again within the debounce time is a repeat; an uptime earlier than
    /// the last tap's (a clock that went back) is never taken for one.
    pub fn tap(&mut self, uid: &[u8], uptime_s: u32) -> Tap {
        let len = uid.len().min(MAX_UID);
        if let Some((last, last_len, at)) = &self.last
            && last[..*last_len] == uid[..len]
            && uptime_s
                .checked_sub(*at)
                .is_some_and(|d| d < self.debounce_s)
        {
            return Tap::Repeat;
        }
        self.uptime_s = self.uptime_s.max(uptime_s);
        let (id, boot, key) = (self.id, self.queue.boot() as u16, self.key);
        let pushed = self
            .queue
            .push(|seq| TapRecord::new(id, seq, boot, uptime_s, &uid[..len]).encode(&key));
        let outcome = match pushed {
            Ok(seq) => {
                let mut padded = [0u8; MAX_UID];
                padded[..len].copy_from_slice(&uid[..len]);
                self.last = Some((padded, len, uptime_s));
                Tap::Recorded(seq)
            }
            Err(QueueError::Full) => Tap::QueueFull,
            Err(_) => Tap::StorageError,
        };
        self.refresh();
        outcome
    }

    fn refresh(&mut self) {
        self.oldest = self.queue.oldest().ok().flatten();
        let full = self.queue.is_full();
        self.set_flag(HEALTH_QUEUE_FULL, full);
    }
}

impl<F: NorFlash> RegisterMap for Station<F> {
    fn read(&self, address: u16) -> Option<u16> {
        let next = self.queue.next_seq();
        Some(match address {
            0 => modbus::IDENTITY,
            1 => VERSION,
            2 => self.id,
            3 => self.queue.boot() as u16,
            4 => self.queue.waiting().min(u32::from(u16::MAX)) as u16,
            5 => self.health,
            6 => (next >> 16) as u16,
            7 => next as u16,
            8 => (self.uptime_s >> 16) as u16,
            9 => self.uptime_s as u16,
            10..=15 => 0,
            modbus::RECORD_LEN_REG => self.oldest.map_or(0, |_| RECORD_LEN as u16),
            a if (modbus::RECORD_REG..modbus::RECORD_REG + RECORD_LEN as u16 / 2).contains(&a) => {
                let i = usize::from(a - modbus::RECORD_REG) * 2;
                self.oldest
                    .map_or(0, |(_, r)| u16::from_be_bytes([r[i], r[i + 1]]))
            }
            37..=47 => 0,
            a if a == modbus::CONFIRM_REG || a == modbus::CONFIRM_REG + 1 => 0,
            _ => return None,
        })
    }

    fn confirm(&mut self, seq: u32) -> Result<(), u8> {
        let result = match self.queue.confirm(seq) {
            Ok(()) => Ok(()),
            Err(QueueError::NotOldest | QueueError::Empty) => Err(0x03),
            // Slave device failure.
            Err(_) => Err(0x04),
        };
        self.refresh();
        result
    }
}

/// A feedback pin could not be driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinError;

/// Feedback on GPIO: a good tap is a short beep and the green light; an
/// error a long beep; a repeat nothing.
pub fn feedback<B: OutputPin, G: OutputPin, D: DelayNs>(
    tap: Tap,
    buzzer: &mut B,
    green: &mut G,
    delay: &mut D,
) -> Result<(), PinError> {
    match tap {
        Tap::Recorded(_) => {
            green.set_high().map_err(|_| PinError)?;
            buzzer.set_high().map_err(|_| PinError)?;
            delay.delay_ms(100);
            buzzer.set_low().map_err(|_| PinError)?;
            delay.delay_ms(400);
            green.set_low().map_err(|_| PinError)
        }
        Tap::Repeat => Ok(()),
        Tap::QueueFull | Tap::StorageError => {
            buzzer.set_high().map_err(|_| PinError)?;
            delay.delay_ms(1000);
            buzzer.set_low().map_err(|_| PinError)
        }
    }
}

//! The checkpoint station on an LM3S6965 (Cortex-M3), as QEMU's
//! `lm3s6965evb` board emulates it.
//!
//! * UART0 is the RS-485 uplink: the Modbus RTU slave (unit = station id).
//!   A frame ends after 4 ms of silence (3.5 characters at 9,600 baud).
//! * UART1 is this test build's stand-in for the PN532: a line
//!   `TAP <hex UID>` is a badge presented to the reader.
//! * The flash queue lives in RAM here (QEMU's flash is not writable from
//!   the program); on the real board it is the on-chip NOR flash.

#![no_std]
#![no_main]

use checkpoint_fw::modbus::{self, MAX_FRAME};
use checkpoint_fw::ram_flash::RamFlash;
use checkpoint_fw::station::Station;
use checkpoint_fw::uptime::Uptime;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::entry;
use panic_halt as _;

/// Station id and Modbus unit.
const STATION: u16 = 7;
/// Per-station key; provisioned per device on real stations.
const KEY: [u8; 32] = *b"checkpoint-7-station-secret-key!";
/// Same badge again within this many seconds is one tap.
const DEBOUNCE_S: u32 = 3;

/// A Stellaris UART (PL011-like): data register and flag register.
struct Uart(usize);

const UART0: Uart = Uart(0x4000_C000);
const UART1: Uart = Uart(0x4000_D000);
const DR: usize = 0x000;
const FR: usize = 0x018;
const CTL: usize = 0x030;
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;

impl Uart {
    fn enable(&self) {
        // UARTEN, TXE, RXE.
        unsafe { core::ptr::write_volatile((self.0 + CTL) as *mut u32, 0x301) };
    }

    fn read(&self) -> Option<u8> {
        let flags = unsafe { core::ptr::read_volatile((self.0 + FR) as *const u32) };
        if flags & FR_RXFE != 0 {
            return None;
        }
        Some(unsafe { core::ptr::read_volatile((self.0 + DR) as *const u32) } as u8)
    }

    fn write(&self, bytes: &[u8]) {
        for b in bytes {
            while unsafe { core::ptr::read_volatile((self.0 + FR) as *const u32) } & FR_TXFF != 0 {}
            unsafe { core::ptr::write_volatile((self.0 + DR) as *mut u32, u32::from(*b)) };
        }
    }
}

static mut FLASH: RamFlash<{ 8 * 1024 }> = RamFlash::new();

#[entry]
fn main() -> ! {
    let Some(mut core) = cortex_m::Peripherals::take() else {
        halt();
    };
    // 1 ms ticks from the 12 MHz system clock.
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(12_000 - 1);
    core.SYST.clear_current();
    core.SYST.enable_counter();
    UART0.enable();
    UART1.enable();
    let flash = unsafe { &mut *core::ptr::addr_of_mut!(FLASH) };
    let Ok(mut station) = Station::boot(flash, STATION, KEY, DEBOUNCE_S) else {
        halt();
    };
    UART1.write(b"station 7 ready\n");
    let mut uptime = Uptime::new();
    let mut frame = [0u8; MAX_FRAME];
    let mut frame_len = 0usize;
    let mut last_byte_ms = 0u64;
    let mut line = [0u8; 64];
    let mut line_len = 0usize;
    let mut out = [0u8; MAX_FRAME];
    loop {
        if core.SYST.has_wrapped() {
            uptime.tick();
            station.set_uptime(uptime.seconds());
        }
        while let Some(b) = UART0.read() {
            if frame_len < MAX_FRAME {
                frame[frame_len] = b;
                frame_len += 1;
            }
            last_byte_ms = uptime.ms();
        }
        if frame_len > 0 && uptime.since(last_byte_ms) >= 4 {
            if let Some(n) =
                modbus::respond(STATION as u8, &mut station, &frame[..frame_len], &mut out)
            {
                UART0.write(&out[..n]);
            }
            frame_len = 0;
        }
        while let Some(b) = UART1.read() {
            if b == b'\n' {
                if let Some(uid) = parse_tap(&line[..line_len]) {
                    let tap = station.tap(uid.as_slice(), uptime.seconds());
                    UART1.write(match tap {
                        checkpoint_fw::station::Tap::Recorded(_) => b"ok\n",
                        checkpoint_fw::station::Tap::Repeat => b"repeat\n",
                        _ => b"error\n",
                    });
                }
                line_len = 0;
            } else if line_len < line.len() {
                line[line_len] = b;
                line_len += 1;
            }
        }
    }
}

/// Stops for good, waiting for the watchdog or a person (nothing to do without a queue).
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// `TAP 04A1B2C3` → the UID bytes.
fn parse_tap(line: &[u8]) -> Option<heapless_uid::Uid> {
    let hex = line.strip_prefix(b"TAP ")?;
    let mut uid = heapless_uid::Uid::default();
    for pair in hex.trim_ascii().chunks(2) {
        let [h, l] = pair else { return None };
        uid.push((nibble(*h)? << 4) | nibble(*l)?)?;
    }
    (uid.len >= 4).then_some(uid)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A fixed buffer for one UID, without a heap.
mod heapless_uid {
    /// Up to ten UID bytes.
    #[derive(Default)]
    pub struct Uid {
        bytes: [u8; 10],
        pub len: usize,
    }

    impl Uid {
        /// Appends a byte; `None` past ten.
        pub fn push(&mut self, b: u8) -> Option<()> {
            *self.bytes.get_mut(self.len)? = b;
            self.len += 1;
            Some(())
        }

        /// The bytes.
        pub fn as_slice(&self) -> &[u8] {
            &self.bytes[..self.len]
        }
    }
}

//! The station's uplink: a Modbus RTU slave on its RS-485 UART.
//!
//! Register map (holding registers, function 03; function 04 reads the same):
//!
//! | address | content |
//! |---|---|
//! | 0 | identity: 0x5357 (`SW`) |
//! | 1 | firmware version, major × 256 + minor |
//! | 2 | checkpoint id |
//! | 3 | boot counter |
//! | 4 | records waiting in the queue |
//! | 5 | health flags: bit 0 tamper, bit 1 queue full, bit 2 reader fault |
//! | 6–7 | sequence number of the next record (high word first) |
//! | 8–9 | seconds since this boot (high word first) |
//! | 16 | length in bytes of the oldest waiting record: 40, or 0 when none |
//! | 17–36 | the oldest waiting record (see [`crate::record`]) |
//! | 48–49 | confirm: write (function 16) the oldest record's sequence number to release it |
//!
//! Everything but 48–49 is read-only (exception 2, illegal data address);
//! confirming anything but the oldest record's sequence number is refused
//! (exception 3, illegal data value). A frame with a bad CRC or for another
//! unit is ignored, as RTU requires.

use crate::crc::crc16;

/// Largest RTU frame.
pub const MAX_FRAME: usize = 256;
/// Register of the oldest record's length.
pub const RECORD_LEN_REG: u16 = 16;
/// First register of the oldest record.
pub const RECORD_REG: u16 = 17;
/// Confirm register (two words).
pub const CONFIRM_REG: u16 = 48;
/// Identity word.
pub const IDENTITY: u16 = 0x5357;

/// What the slave needs from the station.
pub trait RegisterMap {
    /// A readable register's value.
    fn read(&self, address: u16) -> Option<u16>;
    /// Confirms the oldest record; `Err` with the exception code to send.
    fn confirm(&mut self, seq: u32) -> Result<(), u8>;
}

/// Exception codes.
const ILLEGAL_FUNCTION: u8 = 0x01;
const ILLEGAL_ADDRESS: u8 = 0x02;
const ILLEGAL_VALUE: u8 = 0x03;

/// Answers one request frame into `out`; returns the response length, or
/// `None` when nothing must be sent (bad CRC, another unit, broadcast).
pub fn respond<M: RegisterMap>(
    unit: u8,
    map: &mut M,
    frame: &[u8],
    out: &mut [u8; MAX_FRAME],
) -> Option<usize> {
    if frame.len() < 4 || frame.len() > MAX_FRAME {
        return None;
    }
    let (body, crc) = frame.split_at(frame.len() - 2);
    if crc16(body).to_le_bytes() != [crc[0], crc[1]] || body[0] != unit {
        return None;
    }
    let function = body[1];
    let result = match function {
        0x03 | 0x04 => read(map, &body[2..], out),
        0x10 => write_multiple(map, &body[2..], out),
        // Single-register writes: the only writable registers take two words.
        0x06 if body.len() == 6 => Err(ILLEGAL_ADDRESS),
        0x06 => Err(ILLEGAL_VALUE),
        _ => Err(ILLEGAL_FUNCTION),
    };
    let len = match result {
        Ok(len) => {
            out[1] = function;
            len
        }
        Err(code) => {
            out[1] = function | 0x80;
            out[2] = code;
            3
        }
    };
    out[0] = unit;
    let crc = crc16(&out[..len]).to_le_bytes();
    out[len] = crc[0];
    out[len + 1] = crc[1];
    Some(len + 2)
}

fn read<M: RegisterMap>(map: &M, args: &[u8], out: &mut [u8; MAX_FRAME]) -> Result<usize, u8> {
    let [a0, a1, c0, c1] = args else {
        return Err(ILLEGAL_VALUE);
    };
    let (start, count) = (
        u16::from_be_bytes([*a0, *a1]),
        u16::from_be_bytes([*c0, *c1]),
    );
    if count == 0 || count > 125 {
        return Err(ILLEGAL_VALUE);
    }
    out[2] = (count * 2) as u8;
    for i in 0..count {
        let value = map
            .read(start.checked_add(i).ok_or(ILLEGAL_ADDRESS)?)
            .ok_or(ILLEGAL_ADDRESS)?;
        let at = 3 + usize::from(i) * 2;
        out[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }
    Ok(3 + usize::from(count) * 2)
}

fn write_multiple<M: RegisterMap>(
    map: &mut M,
    args: &[u8],
    out: &mut [u8; MAX_FRAME],
) -> Result<usize, u8> {
    if args.len() < 5 {
        return Err(ILLEGAL_VALUE);
    }
    let start = u16::from_be_bytes([args[0], args[1]]);
    let count = u16::from_be_bytes([args[2], args[3]]);
    if usize::from(args[4]) != usize::from(count) * 2 || args.len() != 5 + usize::from(count) * 2 {
        return Err(ILLEGAL_VALUE);
    }
    if start != CONFIRM_REG || count != 2 {
        return Err(ILLEGAL_ADDRESS);
    }
    let seq = u32::from_be_bytes([args[5], args[6], args[7], args[8]]);
    map.confirm(seq)?;
    out[2..6].copy_from_slice(&args[..4]);
    Ok(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Map {
        oldest: u32,
        confirmed: Option<u32>,
    }

    impl RegisterMap for Map {
        fn read(&self, address: u16) -> Option<u16> {
            match address {
                0 => Some(IDENTITY),
                1..=7 => Some(address),
                _ => None,
            }
        }
        fn confirm(&mut self, seq: u32) -> Result<(), u8> {
            if seq == self.oldest {
                self.confirmed = Some(seq);
                Ok(())
            } else {
                Err(ILLEGAL_VALUE)
            }
        }
    }

    fn frame(body: &[u8]) -> heapless::Vec<u8, 64> {
        let mut f = heapless::Vec::new();
        let _ = f.extend_from_slice(body);
        let _ = f.extend_from_slice(&crc16(body).to_le_bytes());
        f
    }

    fn ask(map: &mut Map, body: &[u8]) -> Option<heapless::Vec<u8, 256>> {
        let mut out = [0u8; MAX_FRAME];
        let n = respond(1, map, &frame(body), &mut out)?;
        heapless::Vec::from_slice(&out[..n]).ok()
    }

    #[test]
    fn every_byte_of_every_answer() {
        let mut m = Map {
            oldest: 0x0001_0002,
            confirmed: None,
        };
        // Read registers 0 and 1: 01 03 04 53 57 00 01 CRC.
        assert_eq!(
            ask(&mut m, &[1, 3, 0, 0, 0, 2]).unwrap(),
            frame(&[1, 3, 4, 0x53, 0x57, 0, 1])
        );
        // Function 04 reads the same map.
        assert_eq!(
            ask(&mut m, &[1, 4, 0, 0, 0, 1]).unwrap(),
            frame(&[1, 4, 2, 0x53, 0x57])
        );
        // An address outside the map: exception 2.
        assert_eq!(
            ask(&mut m, &[1, 3, 0, 7, 0, 2]).unwrap(),
            frame(&[1, 0x83, 2])
        );
        // Writing a read-only register: exception 2 (function 16) or 2 (function 6).
        assert_eq!(
            ask(&mut m, &[1, 0x10, 0, 0, 0, 1, 2, 0, 9]).unwrap(),
            frame(&[1, 0x90, 2])
        );
        assert_eq!(
            ask(&mut m, &[1, 6, 0, 0, 0, 9]).unwrap(),
            frame(&[1, 0x86, 2])
        );
        // Confirming another record than the oldest: exception 3, nothing released.
        assert_eq!(
            ask(&mut m, &[1, 0x10, 0, 48, 0, 2, 4, 0, 1, 0, 3]).unwrap(),
            frame(&[1, 0x90, 3])
        );
        assert_eq!(m.confirmed, None);
        // Confirming the oldest: echo of address and count.
        assert_eq!(
            ask(&mut m, &[1, 0x10, 0, 48, 0, 2, 4, 0, 1, 0, 2]).unwrap(),
            frame(&[1, 0x10, 0, 48, 0, 2])
        );
        assert_eq!(m.confirmed, Some(0x0001_0002));
        // Unknown function: exception 1.
        assert_eq!(
            ask(&mut m, &[1, 0x2B, 0x0E, 1, 0]).unwrap(),
            frame(&[1, 0xAB, 1])
        );
        // Count 0 or over 125: exception 3.
        assert_eq!(
            ask(&mut m, &[1, 3, 0, 0, 0, 0]).unwrap(),
            frame(&[1, 0x83, 3])
        );
    }

    #[test]
    fn silence_for_bad_crc_other_units_and_garbage() {
        let mut m = Map {
            oldest: 1,
            confirmed: None,
        };
        let mut out = [0u8; MAX_FRAME];
        let mut bad = frame(&[1, 3, 0, 0, 0, 1]);
        bad[3] ^= 1;
        assert_eq!(respond(1, &mut m, &bad, &mut out), None);
        assert_eq!(
            respond(1, &mut m, &frame(&[2, 3, 0, 0, 0, 1]), &mut out),
            None
        );
        assert_eq!(respond(1, &mut m, &[0xFF], &mut out), None);
        assert_eq!(respond(1, &mut m, &[], &mut out), None);
    }

    proptest::proptest! {
        #[test]
        fn no_input_makes_it_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300), fix_crc: bool) {
            let mut m = Map { oldest: 1, confirmed: None };
            let mut out = [0u8; MAX_FRAME];
            let mut input = bytes.clone();
            if fix_crc && input.len() >= 2 && input.len() <= MAX_FRAME {
                input[0] = 1;
                let n = input.len() - 2;
                let crc = crc16(&input[..n]).to_le_bytes();
                input[n] = crc[0];
                input[n + 1] = crc[1];
            }
            let _ = respond(1, &mut m, &input, &mut out);
        }
    }
}

//! NXP PN532 NFC reader over I2C (embedded-hal 1.0), per the PN532 User
//! Manual (UM0701-02): normal information frames, ACK/NACK, status byte,
//! SAMConfiguration and InListPassiveTarget for ISO 14443A.
//!
//! Host → PN532: `00 00 FF LEN LCS D4 CMD DATA… DCS 00` with LEN counting
//! TFI, CMD and DATA, LEN + LCS ≡ 0 and TFI + CMD + DATA + DCS ≡ 0 (mod 256).
//! Every I2C read starts with the status byte (bit 0 = ready). A command is
//! answered by an ACK frame `00 00 FF 00 FF 00`, then the response frame
//! with TFI D5 and CMD + 1. A garbled response is asked for again with a
//! NACK frame, up to [`RETRIES`] times; a reader that is not ready within
//! the timeout is an error, never a hang.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;
use heapless::Vec;

/// 7-bit I2C address.
pub const ADDRESS: u8 = 0x24;
/// ACK frame.
pub const ACK: [u8; 6] = [0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00];
/// NACK frame: "send that again".
pub const NACK: [u8; 6] = [0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00];
/// Host-to-PN532 frame identifier.
const TFI_HOST: u8 = 0xD4;
/// PN532-to-host frame identifier.
const TFI_PN532: u8 = 0xD5;
/// Retransmissions asked for a garbled response.
pub const RETRIES: usize = 2;
/// Largest data a response carries here (InListPassiveTarget with a 10-byte UID).
pub const MAX_DATA: usize = 24;

/// Commands used.
pub mod cmd {
    /// Firmware version.
    pub const GET_FIRMWARE_VERSION: u8 = 0x02;
    /// Security access module configuration (normal mode).
    pub const SAM_CONFIGURATION: u8 = 0x14;
    /// Detect a card in the field.
    pub const IN_LIST_PASSIVE_TARGET: u8 = 0x4A;
}

/// Why a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    /// The bus failed.
    I2c(E),
    /// The reader was not ready in time.
    Timeout,
    /// No ACK to a command.
    NoAck,
    /// Responses stayed garbled after the retries.
    Garbled(FrameError),
    /// The reader answered with an error frame.
    Application,
}

/// What is wrong with a received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// No `00 FF` start code.
    StartCode,
    /// LEN + LCS is not 0.
    LengthChecksum,
    /// The data checksum is wrong.
    DataChecksum,
    /// Not a PN532-to-host frame for this command.
    UnexpectedFrame,
    /// Longer than the buffer.
    TooLong,
}

/// Builds a host frame for `command` with `data` (at most [`MAX_DATA`] bytes).
pub fn frame(command: u8, data: &[u8]) -> Vec<u8, { MAX_DATA + 9 }> {
    let mut out = Vec::new();
    let len = (data.len() + 2) as u8;
    let mut sum = TFI_HOST.wrapping_add(command);
    for b in data {
        sum = sum.wrapping_add(*b);
    }
    for b in [0x00, 0x00, 0xFF, len, len.wrapping_neg(), TFI_HOST, command] {
        let _ = out.push(b);
    }
    let _ = out.extend_from_slice(&data[..data.len().min(MAX_DATA)]);
    let _ = out.push(sum.wrapping_neg());
    let _ = out.push(0x00);
    out
}

/// Extracts the data of the response to `command` from a received frame
/// (status byte already removed).
pub fn parse_response(bytes: &[u8], command: u8) -> Result<Vec<u8, MAX_DATA>, FrameError> {
    let start = bytes
        .windows(2)
        .position(|w| w == [0x00, 0xFF])
        .ok_or(FrameError::StartCode)?
        + 2;
    let (&len, rest) = bytes
        .get(start..)
        .and_then(<[u8]>::split_first)
        .ok_or(FrameError::StartCode)?;
    let (&lcs, rest) = rest.split_first().ok_or(FrameError::LengthChecksum)?;
    if len.wrapping_add(lcs) != 0 {
        return Err(FrameError::LengthChecksum);
    }
    if len == 0x01 && rest.first() == Some(&0x7F) {
        // The application error frame.
        return Err(FrameError::UnexpectedFrame);
    }
    let len = usize::from(len);
    if len < 2 || rest.len() < len + 1 {
        return Err(FrameError::TooLong);
    }
    let body = &rest[..len];
    let dcs = rest[len];
    if body.iter().fold(dcs, |acc, b| acc.wrapping_add(*b)) != 0 {
        return Err(FrameError::DataChecksum);
    }
    if body[0] != TFI_PN532 || body[1] != command.wrapping_add(1) {
        return Err(FrameError::UnexpectedFrame);
    }
    Vec::from_slice(&body[2..]).map_err(|_| FrameError::TooLong)
}

/// A badge UID (4, 7 or 10 bytes).
pub type Uid = Vec<u8, 10>;

/// The reader.
pub struct Pn532<I, D> {
    i2c: I,
    delay: D,
    timeout_ms: u32,
}

impl<I: I2c, D: DelayNs> Pn532<I, D> {
    /// A reader on `i2c`; commands wait at most `timeout_ms` for the reader.
    pub fn new(i2c: I, delay: D, timeout_ms: u32) -> Self {
        Self {
            i2c,
            delay,
            timeout_ms,
        }
    }

    /// Gives the bus and delay back.
    pub fn release(self) -> (I, D) {
        (self.i2c, self.delay)
    }

    /// Normal mode, no SAM: required once after power-up.
    pub fn sam_configure(&mut self) -> Result<(), Error<I::Error>> {
        self.command(cmd::SAM_CONFIGURATION, &[0x01, 0x14, 0x01], 0)
            .map(|_| ())
    }

    /// IC, version, revision and support flags.
    pub fn firmware_version(&mut self) -> Result<[u8; 4], Error<I::Error>> {
        let data = self.command(cmd::GET_FIRMWARE_VERSION, &[], 4)?;
        let mut out = [0u8; 4];
        for (o, d) in out.iter_mut().zip(data.iter()) {
            *o = *d;
        }
        Ok(out)
    }

    /// Looks for one ISO 14443A card; `None` when the field is empty or the
    /// badge left before its UID was read.
    pub fn read_passive_target(&mut self) -> Result<Option<Uid>, Error<I::Error>> {
        let data = self.command(cmd::IN_LIST_PASSIVE_TARGET, &[0x01, 0x00], 17)?;
        // NbTg, Tg, SENS_RES (2), SEL_RES, NFCIDLength, NFCID1…
        if data.first() != Some(&1) || data.len() < 6 {
            return Ok(None);
        }
        let uid_len = usize::from(data[5]);
        if !matches!(uid_len, 4 | 7 | 10) || data.len() < 6 + uid_len {
            return Ok(None);
        }
        Ok(Uid::from_slice(&data[6..6 + uid_len]).ok())
    }

    /// Sends a command, checks the ACK, reads the response (asking again
    /// for a garbled one) and returns its data.
    pub fn command(
        &mut self,
        command: u8,
        data: &[u8],
        response_data: usize,
    ) -> Result<Vec<u8, MAX_DATA>, Error<I::Error>> {
        self.i2c
            .write(ADDRESS, &frame(command, data))
            .map_err(Error::I2c)?;
        self.wait_ready()?;
        let mut ack = [0u8; 7];
        self.i2c.read(ADDRESS, &mut ack).map_err(Error::I2c)?;
        if ack[1..] != ACK {
            return Err(Error::NoAck);
        }
        // status + 00 00 FF LEN LCS TFI CMD data DCS 00
        let size = 1 + 7 + response_data.min(MAX_DATA) + 2;
        let mut last = FrameError::StartCode;
        for attempt in 0..=RETRIES {
            if attempt > 0 {
                self.i2c.write(ADDRESS, &NACK).map_err(Error::I2c)?;
            }
            self.wait_ready()?;
            let mut buf = [0u8; 1 + 7 + MAX_DATA + 2];
            self.i2c
                .read(ADDRESS, &mut buf[..size])
                .map_err(Error::I2c)?;
            match parse_response(&buf[1..size], command) {
                Ok(data) => return Ok(data),
                Err(FrameError::UnexpectedFrame) if buf[4] == 0x01 && buf[6] == 0x7F => {
                    return Err(Error::Application);
                }
                Err(e) => last = e,
            }
        }
        Err(Error::Garbled(last))
    }

    /// Polls the status byte every millisecond until ready or the timeout.
    fn wait_ready(&mut self) -> Result<(), Error<I::Error>> {
        for _ in 0..self.timeout_ms.max(1) {
            let mut status = [0u8; 1];
            self.i2c.read(ADDRESS, &mut status).map_err(Error::I2c)?;
            if status[0] & 0x01 == 0x01 {
                return Ok(());
            }
            self.delay.delay_ms(1);
        }
        Err(Error::Timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};

    fn ready() -> T {
        T::read(ADDRESS, vec![0x01])
    }

    fn with_status(frame: &[u8]) -> Vec<u8, 64> {
        let mut v = Vec::new();
        let _ = v.push(0x01);
        let _ = v.extend_from_slice(frame);
        v
    }

    #[test]
    fn sam_configuration_is_byte_exact() {
        // UM0701-02 §7.2.10 example: 00 00 FF 05 FB D4 14 01 14 01 02 00.
        let expected = [
            0x00, 0x00, 0xFF, 0x05, 0xFB, 0xD4, 0x14, 0x01, 0x14, 0x01, 0x02, 0x00,
        ];
        assert_eq!(
            frame(cmd::SAM_CONFIGURATION, &[0x01, 0x14, 0x01]).as_slice(),
            &expected
        );
        let response = [0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD5, 0x15, 0x16, 0x00];
        let mut i2c = Mock::new(&[
            T::write(ADDRESS, expected.to_vec()),
            T::read(ADDRESS, vec![0x00]),
            ready(),
            T::read(ADDRESS, with_status(&ACK).to_vec()),
            ready(),
            T::read(ADDRESS, with_status(&response).to_vec()),
        ]);
        let mut reader = Pn532::new(i2c.clone(), NoopDelay::new(), 10);
        assert_eq!(reader.sam_configure(), Ok(()));
        i2c.done();
    }

    fn in_list_response(uid: &[u8]) -> Vec<u8, 64> {
        let mut data: Vec<u8, 32> = Vec::new();
        let _ =
            data.extend_from_slice(&[0xD5, 0x4B, 0x01, 0x01, 0x00, 0x44, 0x00, uid.len() as u8]);
        let _ = data.extend_from_slice(uid);
        let sum = data.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        let mut f: Vec<u8, 64> = Vec::new();
        let len = data.len() as u8;
        let _ = f.extend_from_slice(&[0x00, 0x00, 0xFF, len, len.wrapping_neg()]);
        let _ = f.extend_from_slice(&data);
        let _ = f.push(sum.wrapping_neg());
        let _ = f.push(0x00);
        f
    }

    /// The read of a 7-byte-UID response: status + frame, padded to the size read.
    fn response_read(frame: &[u8]) -> T {
        let mut v = with_status(frame).to_vec();
        v.resize(1 + 7 + 17 + 2, 0x00);
        T::read(ADDRESS, v)
    }

    #[test]
    fn a_badge_uid_is_read_and_a_garbled_answer_is_asked_for_again() {
        let uid = [0x04, 0x52, 0x8A, 0x2B, 0x5C, 0x6D, 0x80];
        let request = [
            0x00, 0x00, 0xFF, 0x04, 0xFC, 0xD4, 0x4A, 0x01, 0x00, 0xE1, 0x00,
        ];
        assert_eq!(
            frame(cmd::IN_LIST_PASSIVE_TARGET, &[0x01, 0x00]).as_slice(),
            &request
        );
        let good = in_list_response(&uid);
        let mut garbled = good.clone();
        garbled[10] ^= 0xFF;
        let mut i2c = Mock::new(&[
            T::write(ADDRESS, request.to_vec()),
            ready(),
            T::read(ADDRESS, with_status(&ACK).to_vec()),
            ready(),
            response_read(&garbled),
            T::write(ADDRESS, NACK.to_vec()),
            ready(),
            response_read(&good),
        ]);
        let mut reader = Pn532::new(i2c.clone(), NoopDelay::new(), 10);
        assert_eq!(
            reader.read_passive_target(),
            Ok(Some(Uid::from_slice(&uid).unwrap()))
        );
        i2c.done();
    }

    #[test]
    fn a_badge_pulled_away_mid_read_is_no_badge_and_silence_is_a_timeout() {
        // NbTg = 0: the card left the field.
        let empty = [0x00, 0x00, 0xFF, 0x03, 0xFD, 0xD5, 0x4B, 0x00, 0xE0, 0x00];
        let mut i2c = Mock::new(&[
            T::write(
                ADDRESS,
                frame(cmd::IN_LIST_PASSIVE_TARGET, &[0x01, 0x00]).to_vec(),
            ),
            ready(),
            T::read(ADDRESS, with_status(&ACK).to_vec()),
            ready(),
            response_read(&empty),
        ]);
        let mut reader = Pn532::new(i2c.clone(), NoopDelay::new(), 10);
        assert_eq!(reader.read_passive_target(), Ok(None));
        i2c.done();

        let mut quiet = vec![T::write(
            ADDRESS,
            frame(cmd::GET_FIRMWARE_VERSION, &[]).to_vec(),
        )];
        quiet.extend((0..3).map(|_| T::read(ADDRESS, vec![0x00])));
        let mut i2c = Mock::new(&quiet);
        let mut reader = Pn532::new(i2c.clone(), NoopDelay::new(), 3);
        assert_eq!(reader.firmware_version(), Err(Error::Timeout));
        i2c.done();
    }

    #[test]
    fn three_garbled_answers_give_up_and_a_missing_ack_is_reported() {
        let good = in_list_response(&[1, 2, 3, 4]);
        let mut bad = good.clone();
        bad[4] = 0x00;
        let mut t = vec![
            T::write(
                ADDRESS,
                frame(cmd::IN_LIST_PASSIVE_TARGET, &[0x01, 0x00]).to_vec(),
            ),
            ready(),
            T::read(ADDRESS, with_status(&ACK).to_vec()),
        ];
        for attempt in 0..=RETRIES {
            if attempt > 0 {
                t.push(T::write(ADDRESS, NACK.to_vec()));
            }
            t.push(ready());
            t.push(response_read(&bad));
        }
        let mut i2c = Mock::new(&t);
        let mut reader = Pn532::new(i2c.clone(), NoopDelay::new(), 10);
        assert_eq!(
            reader.read_passive_target(),
            Err(Error::Garbled(FrameError::LengthChecksum))
        );
        i2c.done();

        let mut i2c = Mock::new(&[
            T::write(ADDRESS, frame(cmd::GET_FIRMWARE_VERSION, &[]).to_vec()),
            ready(),
            T::read(ADDRESS, with_status(&NACK).to_vec()),
        ]);
        let mut reader = Pn532::new(i2c.clone(), NoopDelay::new(), 10);
        assert_eq!(reader.firmware_version(), Err(Error::NoAck));
        i2c.done();
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40), command: u8) {
            let _ = parse_response(&bytes, command);
        }
    }
}

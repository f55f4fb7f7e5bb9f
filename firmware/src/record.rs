//! The tap record: what a station keeps and the daemon collects, signed so
//! a forged or altered record is detectable.
//!
//! Layout, 40 bytes (20 Modbus registers, big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 0 | format version (1) |
//! | 1 | UID length (4, 7 or 10) |
//! | 2–3 | checkpoint id |
//! | 4–7 | sequence number: +1 per record, kept across resets |
//! | 8–9 | boot counter |
//! | 10–13 | seconds since that boot (stations have no clock) |
//! | 14–23 | badge UID, zero padded |
//! | 24 | badge proof kind: 0 = plain UID; 1 reserved for NTAG 424 DNA SUN |
//! | 25–31 | badge proof data (e.g. the tag's tap counter and CMAC prefix); zero for kind 0 |
//! | 32–39 | tag: HMAC-SHA256(station key, bytes 0–31), first 8 bytes |
//!
//! Eight bytes (64 bits) of tag make a forgery a 2⁻⁶⁴ guess per try, far
//! beyond what a Modbus line at 19,200 baud can try. The sequence number
//! inside the signed bytes makes a replayed record detectable: the daemon
//! accepts each sequence number once.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// Encoded size.
pub const RECORD_LEN: usize = 40;
/// Bytes the tag covers.
pub const SIGNED_LEN: usize = 32;
/// Tag bytes kept.
pub const TAG_LEN: usize = 8;
/// Longest ISO 14443A UID (triple size).
pub const MAX_UID: usize = 10;
/// Format version written.
pub const VERSION: u8 = 1;

/// One badge tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapRecord {
    /// Checkpoint station id.
    pub checkpoint: u16,
    /// Sequence number.
    pub seq: u32,
    /// Boot counter at the tap.
    pub boot: u16,
    /// Seconds since that boot.
    pub uptime_s: u32,
    /// UID bytes used.
    pub uid_len: u8,
    /// UID, zero padded.
    pub uid: [u8; MAX_UID],
    /// Badge proof kind and data (all zero for a plain UID).
    pub proof: [u8; 8],
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Not 40 bytes.
    Length,
    /// Unknown format version.
    Version,
    /// UID length not 4, 7 or 10.
    UidLength,
    /// The tag does not match: forged, altered or another station's key.
    Tag,
}

impl TapRecord {
    /// A record of `uid` (truncated to 10 bytes).
    pub fn new(checkpoint: u16, seq: u32, boot: u16, uptime_s: u32, uid: &[u8]) -> Self {
        let len = uid.len().min(MAX_UID);
        let mut padded = [0u8; MAX_UID];
        padded[..len].copy_from_slice(&uid[..len]);
        Self {
            checkpoint,
            seq,
            boot,
            uptime_s,
            uid_len: len as u8,
            uid: padded,
            proof: [0; 8],
        }
    }

    /// The UID bytes.
    pub fn uid(&self) -> &[u8] {
        &self.uid[..usize::from(self.uid_len).min(MAX_UID)]
    }

    fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[0] = VERSION;
        b[1] = self.uid_len;
        b[2..4].copy_from_slice(&self.checkpoint.to_be_bytes());
        b[4..8].copy_from_slice(&self.seq.to_be_bytes());
        b[8..10].copy_from_slice(&self.boot.to_be_bytes());
        b[10..14].copy_from_slice(&self.uptime_s.to_be_bytes());
        b[14..24].copy_from_slice(&self.uid);
        b[24..32].copy_from_slice(&self.proof);
        b
    }

    /// The 40 signed bytes.
    pub fn encode(&self, key: &[u8]) -> [u8; RECORD_LEN] {
        let signed = self.signed_bytes();
        let mut out = [0u8; RECORD_LEN];
        out[..SIGNED_LEN].copy_from_slice(&signed);
        out[SIGNED_LEN..].copy_from_slice(&tag(key, &signed));
        out
    }

    /// Parses and verifies 40 bytes.
    pub fn decode(bytes: &[u8], key: &[u8]) -> Result<Self, RecordError> {
        let record = Self::parse(bytes)?;
        let expected = tag(key, &record.signed_bytes());
        if !constant_time_eq(&expected, &bytes[SIGNED_LEN..RECORD_LEN]) {
            return Err(RecordError::Tag);
        }
        Ok(record)
    }

    /// Parses 40 bytes without checking the tag (for tests and diagnostics).
    pub fn parse(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() != RECORD_LEN {
            return Err(RecordError::Length);
        }
        if bytes[0] != VERSION {
            return Err(RecordError::Version);
        }
        if !matches!(bytes[1], 4 | 7 | 10) {
            return Err(RecordError::UidLength);
        }
        let word = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let long =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut uid = [0u8; MAX_UID];
        uid.copy_from_slice(&bytes[14..24]);
        let mut proof = [0u8; 8];
        proof.copy_from_slice(&bytes[24..32]);
        Ok(Self {
            checkpoint: word(2),
            seq: long(4),
            boot: word(8),
            uptime_s: long(10),
            uid_len: bytes[1],
            uid,
            proof,
        })
    }
}

/// HMAC-SHA256 of `data` under `key`, first [`TAG_LEN`] bytes.
pub fn tag(key: &[u8], data: &[u8]) -> [u8; TAG_LEN] {
    use hmac::digest::KeyInit;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(data);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2 (key "Jefe") and case 1 (twenty 0x0b bytes), truncated to 8 bytes.
        assert_eq!(
            tag(b"Jefe", b"what do ya want for nothing?"),
            [0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e]
        );
        assert_eq!(
            tag(&[0x0b; 20], b"Hi There"),
            [0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53]
        );
    }

    #[test]
    fn a_record_round_trips_and_any_changed_byte_is_caught() {
        let key = b"station-7-secret-key-32-bytes!!!";
        let r = TapRecord::new(
            7,
            123_456,
            3,
            86_400,
            &[0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6],
        );
        let bytes = r.encode(key);
        assert_eq!(TapRecord::decode(&bytes, key), Ok(r));
        assert_eq!(r.uid(), &[0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6]);
        for i in 0..RECORD_LEN {
            let mut forged = bytes;
            forged[i] ^= 0x01;
            assert!(
                TapRecord::decode(&forged, key).is_err(),
                "byte {i} flipped and accepted"
            );
        }
        assert_eq!(
            TapRecord::decode(&bytes, b"another key"),
            Err(RecordError::Tag)
        );
        assert_eq!(
            TapRecord::decode(&bytes[..39], key),
            Err(RecordError::Length)
        );
    }

    /// The layout pinned byte for byte. Station, simulator, QEMU image and
    /// daemon share this encoder, so a layout change would cancel out in
    /// every other test; these bytes were computed outside Rust, with
    /// Python's `struct` and `hmac`:
    /// `struct.pack('>BBHIHI', 1, 7, 7, 123456, 3, 86400) + uid.ljust(10, b'\0')
    /// + bytes(8)`, then the first 8 bytes of `hmac.new(key, signed, sha256)`.
    const GOLDEN: [u8; RECORD_LEN] = [
        0x01, 0x07, 0x00, 0x07, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x03, 0x00, 0x01, 0x51, 0x80, 0x04,
        0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xbe, 0xab, 0xe5, 0xc7, 0x1d, 0xc3, 0xde, 0x74,
    ];

    #[test]
    fn the_record_layout_matches_a_golden_vector() {
        let key = b"station-7-secret-key-32-bytes!!!";
        let r = TapRecord::new(
            7,
            123_456,
            3,
            86_400,
            &[0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6],
        );
        assert_eq!(r.encode(key), GOLDEN);
        assert_eq!(TapRecord::decode(&GOLDEN, key), Ok(r));
    }

    proptest::proptest! {
        #[test]
        fn decoding_any_bytes_never_panics_and_accepts_only_signed_records(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let key = b"k";
            if let Ok(r) = TapRecord::decode(&bytes, key) {
                proptest::prop_assert_eq!(&r.encode(key)[..], &bytes[..]);
            }
        }

        #[test]
        fn every_field_survives_encoding(checkpoint: u16, seq: u32, boot: u16, uptime: u32, uid in proptest::collection::vec(proptest::num::u8::ANY, 4..=4)) {
            let r = TapRecord::new(checkpoint, seq, boot, uptime, &uid);
            proptest::prop_assert_eq!(TapRecord::decode(&r.encode(b"key"), b"key"), Ok(r));
        }
    }
}

//! CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first.

/// The Modbus RTU checksum of `data`.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// CRC-32 (IEEE, reflected) for flash slots: catches a slot torn by a power cut.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xFFFF_FFFF;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // Read holding registers 0..1 of unit 1: 01 03 00 00 00 01 -> CRC 0x0A84 (sent 84 0A).
        assert_eq!(crc16(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]), 0x0A84);
        // The standard check value of CRC-16/MODBUS.
        assert_eq!(crc16(b"123456789"), 0x4B37);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}

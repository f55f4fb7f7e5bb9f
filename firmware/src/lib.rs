//! Firmware logic of the NFC patrol checkpoint station, `#![no_std]`, no
//! heap, no panics on input paths, on embedded-hal 1.0 traits.
//!
//! A guard taps a badge; the [`pn532`] reader gives its UID; the
//! [`station`] turns it into a signed [`record`] and keeps it in a
//! power-cut-safe [`queue`] on NOR flash until the daemon, polling the
//! station's [`modbus`] RTU slave over RS-485, has collected and confirmed it.

#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

pub mod crc;
pub mod modbus;
pub mod pn532;
pub mod queue;
pub mod ram_flash;
pub mod record;
pub mod station;
pub mod uptime;

//! Opening a line and sending one read on it.
//!
//! Keeps tokio-modbus' split between a device's *exception* (an answer: data
//! about a point) and a *transport* failure (no usable answer: a connection
//! problem), and adds the checks tokio-modbus leaves to the caller: a reply
//! with the wrong number of values is malformed.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio_modbus::client::{Client as _, Context, rtu, tcp};
use tokio_modbus::slave::SlaveContext as _;
use tokio_modbus::{ExceptionCode, Request, Response, Slave};

use sitewarden_model::catalog::LineTransport;
use sitewarden_model::reading::BadReason;
use sitewarden_model::vocab::{Parity, RegisterKind};

use super::planner::ReadRequest;

/// What one read returned.
#[derive(Debug)]
pub enum ReadOutcome {
    /// Register contents, exactly `count` of them.
    Registers(Vec<u16>),
    /// Bits, exactly `count` of them.
    Bits(Vec<bool>),
    /// The device refused the read with an exception code.
    Exception(ExceptionCode),
}

/// An open line (TCP connection, gateway connection or serial port).
pub struct Connection {
    context: Context,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

impl Connection {
    /// Opens the line; gives up after `timeout`.
    pub async fn open(transport: &LineTransport, timeout: Duration) -> Result<Self, BadReason> {
        let slave = Slave(0);
        let context = match transport {
            LineTransport::Tcp { host } => {
                tcp::attach_slave(connect_tcp(host, timeout).await?, slave)
            }
            LineTransport::RtuOverTcp { host } => {
                rtu::attach_slave(connect_tcp(host, timeout).await?, slave)
            }
            LineTransport::Serial {
                path,
                baud,
                parity,
                stop_bits,
            } => rtu::attach_slave(open_serial(path, *baud, *parity, *stop_bits)?, slave),
        };
        Ok(Self { context })
    }

    /// Reads one request from one unit, with a reply timeout. On `Err` the
    /// line's framing can no longer be trusted and the caller drops it.
    pub async fn read(
        &mut self,
        unit: u8,
        request: &ReadRequest,
        timeout: Duration,
    ) -> Result<(ReadOutcome, Duration), BadReason> {
        self.context.set_slave(Slave(unit));
        let started = Instant::now();
        let (start, count) = (request.start, request.count);
        // `call` rather than the `Reader` helpers: those debug-assert the reply
        // length, which a faulty device controls; we check it ourselves.
        let request_pdu = match request.kind {
            RegisterKind::Coil => Request::ReadCoils(start, count),
            RegisterKind::DiscreteInput => Request::ReadDiscreteInputs(start, count),
            RegisterKind::Holding => Request::ReadHoldingRegisters(start, count),
            RegisterKind::Input => Request::ReadInputRegisters(start, count),
        };
        let reply = tokio::time::timeout(timeout, self.context.call(request_pdu)).await;
        let elapsed = started.elapsed();
        let outcome = match reply {
            Err(_) => return Err(BadReason::Timeout),
            Ok(Err(tokio_modbus::Error::Transport(_))) => return Err(BadReason::Transport),
            Ok(Err(tokio_modbus::Error::Protocol(_))) => return Err(BadReason::Malformed),
            Ok(Ok(Err(code))) => ReadOutcome::Exception(code),
            Ok(Ok(Ok(Response::ReadCoils(bits) | Response::ReadDiscreteInputs(bits)))) => {
                ReadOutcome::Bits(bits)
            }
            Ok(Ok(Ok(
                Response::ReadHoldingRegisters(words) | Response::ReadInputRegisters(words),
            ))) => ReadOutcome::Registers(words),
            Ok(Ok(Ok(_))) => return Err(BadReason::Malformed),
        };
        check_length(outcome, count).map(|o| (o, elapsed))
    }
}

/// A register reply must hold exactly the registers asked for. A bit reply
/// comes padded to whole bytes, so it may hold up to 7 more bits, which are
/// cut off.
fn check_length(outcome: ReadOutcome, count: u16) -> Result<ReadOutcome, BadReason> {
    let count = usize::from(count);
    match outcome {
        ReadOutcome::Registers(words) if words.len() != count => Err(BadReason::Malformed),
        ReadOutcome::Bits(mut bits) => {
            if bits.len() < count || bits.len() >= count + 8 {
                return Err(BadReason::Malformed);
            }
            bits.truncate(count);
            Ok(ReadOutcome::Bits(bits))
        }
        other => Ok(other),
    }
}

async fn connect_tcp(host: &str, timeout: Duration) -> Result<TcpStream, BadReason> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(host))
        .await
        .map_err(|_| BadReason::Timeout)?
        .map_err(|_| BadReason::Transport)?;
    // Requests are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn open_serial(
    path: &str,
    baud: u32,
    parity: Parity,
    stop_bits: u8,
) -> Result<tokio_serial::SerialStream, BadReason> {
    use tokio_serial::SerialPortBuilderExt as _;
    let parity = match parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let stop_bits = if stop_bits == 2 {
        tokio_serial::StopBits::Two
    } else {
        tokio_serial::StopBits::One
    };
    tokio_serial::new(path, baud)
        .parity(parity)
        .stop_bits(stop_bits)
        .data_bits(tokio_serial::DataBits::Eight)
        .open_native_async()
        .map_err(|_| BadReason::Transport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_replies_must_match_the_count() {
        assert!(matches!(
            check_length(ReadOutcome::Registers(vec![1, 2]), 2),
            Ok(ReadOutcome::Registers(_))
        ));
        assert_eq!(
            check_length(ReadOutcome::Registers(vec![1]), 2).err(),
            Some(BadReason::Malformed)
        );
        assert_eq!(
            check_length(ReadOutcome::Registers(vec![1, 2, 3]), 2).err(),
            Some(BadReason::Malformed)
        );
    }

    #[test]
    fn bit_replies_drop_byte_padding_but_not_missing_bits() {
        match check_length(ReadOutcome::Bits(vec![true; 8]), 3) {
            Ok(ReadOutcome::Bits(bits)) => assert_eq!(bits.len(), 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            check_length(ReadOutcome::Bits(vec![true; 2]), 3).err(),
            Some(BadReason::Malformed)
        );
        assert_eq!(
            check_length(ReadOutcome::Bits(vec![true; 16]), 3).err(),
            Some(BadReason::Malformed)
        );
    }
}

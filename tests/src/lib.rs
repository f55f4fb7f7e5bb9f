//! Test harness: real peers on free loopback ports, each in its own
//! temporary directory, stopped when their guard drops.
//!
//! Nothing here is a mock. Peers are real implementations of the protocols
//! (pymodbus, the site simulator, a byte-level proxy that misbehaves on
//! purpose), started by the test that needs them. One module per peer:
//!
//! | module | peer |
//! |---|---|
//! | `pymodbus` | pymodbus, an independent Modbus server (TCP, RTU over TCP) |
//! | `serial` | a socat pty pair: a serial line for Modbus RTU |
//! | `mosquitto` | mosquitto, plain and TLS, and a recording subscriber |
//! | `influx` | InfluxDB 1.x with a v2 write front |
//! | `victoria` | VictoriaMetrics, a time-series store taking line protocol |
//! | `smtp` | an SMTP sink (aiosmtpd) |
//! | `receiver` | an HTTP webhook receiver that can refuse or stall |
//! | `pki` | a throwaway certificate authority |
//! | [`proxy`] | a byte-level TCP proxy that misbehaves on purpose |
//! | `site` | the daemon under test: site files, simulator, in-process daemon |
//! | `http` | a minimal HTTP client for the daemon's API |
//! | `process` | ports, the test Python, child-process guards |

mod browser;
mod http;
mod influx;
mod measure;
mod mosquitto;
mod pki;
mod process;
pub mod proxy;
mod pymodbus;
mod receiver;
mod serial;
mod site;
mod smtp;
pub mod storm;
mod victoria;

pub use browser::*;
pub use http::*;
pub use influx::*;
pub use measure::*;
pub use mosquitto::*;
pub use pki::*;
pub use process::*;
pub use pymodbus::*;
pub use receiver::*;
pub use serial::*;
pub use site::*;
pub use smtp::*;
pub use victoria::*;

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sitewarden::catalog::Catalog;
use sitewarden::daemon::{self, RunOptions, RunningDaemon};
use sitewarden::readings::{DeviceState, Quality, Value};

//! The `sitewarden` binary as a child process that can be killed with
//! SIGKILL, and a plain HTTP client for its API.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};

const BIN: &str = env!("CARGO_BIN_EXE_sitewarden");

/// A running daemon process, killed when dropped.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sitewarden run --config <config>`.
pub fn start(config: &Path) -> Daemon {
    let child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon(child)
}

/// SIGKILL: no shutdown code runs.
pub fn kill_9(daemon: &mut Daemon) {
    let status = Command::new("kill")
        .args(["-KILL", &daemon.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = daemon.0.wait();
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 request: status and JSON body, or None while nothing listens.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let json = response
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(serde_json::Value::Null);
    Some((status, json))
}

/// A GET's JSON body, or None while nothing listens.
pub fn get_json(port: u16, path: &str) -> Option<serde_json::Value> {
    request(port, "GET", path, None, None).map(|(_, body)| body)
}

/// A webhook receiver (a CMMS, an alert hook): answers 500 to the first `fail_first` POSTs, then 200,
/// and records the idempotency key and body of each request it accepted.
/// While `hang` is set it holds every request unanswered; once cleared,
/// those requests get 503 and count for nothing.
#[derive(Clone, Default)]
pub struct Receiver {
    /// Requests to refuse first.
    pub fail_first: Arc<AtomicUsize>,
    /// Hold requests without an answer.
    pub hang: Arc<AtomicBool>,
    /// Requests held so far.
    pub held: Arc<AtomicUsize>,
    /// Requests seen.
    pub attempts: Arc<AtomicUsize>,
    /// Idempotency key and body of every accepted request.
    pub accepted: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Receiver {
    /// Listens on `port` until the test ends.
    pub async fn serve(self, port: u16) {
        let app = axum::Router::new().fallback(Self::receive).with_state(self);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    async fn receive(
        axum::extract::State(r): axum::extract::State<Self>,
        headers: HeaderMap,
        body: String,
    ) -> StatusCode {
        if r.hang.load(Ordering::SeqCst) {
            r.held.fetch_add(1, Ordering::SeqCst);
            while r.hang.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        let n = r.attempts.fetch_add(1, Ordering::SeqCst);
        if n < r.fail_first.load(Ordering::SeqCst) {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = serde_json::from_str(&body).unwrap_or_default();
        r.accepted.lock().unwrap().push((key, body));
        StatusCode::OK
    }

    /// Idempotency keys accepted, in order.
    pub fn keys(&self) -> Vec<String> {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }
}

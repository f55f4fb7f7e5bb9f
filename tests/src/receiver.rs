//! An HTTP receiver for webhooks that records what it accepts and can refuse or stall on purpose.

use super::*;

/// One request an [`HttpReceiver`] accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// Path.
    pub path: String,
    /// Headers, lower-case names.
    pub headers: std::collections::BTreeMap<String, String>,
    /// Body, parsed.
    pub body: serde_json::Value,
    /// Body, the bytes as received (what a signature covers).
    pub raw: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// A real HTTP server on a free port that answers 500 to its first
/// `fail_first` POSTs and records what it accepts. It answers as the
/// receiver its path names does: `/wecom…` and `/dingtalk…` like a chat
/// robot (HTTP 200 and `{"errcode":0,"errmsg":"ok"}`), `/slack…` like a
/// Slack incoming webhook (`ok`), anything else with an empty 200. A path
/// starting `/bad-key` is a robot whose key is wrong: HTTP 200 with
/// `{"errcode":93000,"errmsg":"invalid webhook url"}`, counted as refused. A stalling receiver
/// ([`HttpReceiver::start_stalling`]) fails only the requests to one path,
/// and holds each of them for a while before it answers 500, like a
/// receiver that hangs.
#[derive(Clone)]
pub struct HttpReceiver {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests answered 500 so far.
    pub refused: Arc<std::sync::atomic::AtomicUsize>,
    /// When each refused request arrived.
    pub refused_at: Arc<std::sync::Mutex<Vec<Instant>>>,
    fail_first: Arc<std::sync::atomic::AtomicUsize>,
    fail_path: &'static str,
    stall: Duration,
    accepted: Arc<std::sync::Mutex<Vec<Posted>>>,
    /// While set, robot paths (`/wecom`, `/dingtalk`) answer HTTP 200 with
    /// `errcode` 45009 (rate limited) and accept nothing.
    pub robot_refuses: Arc<std::sync::atomic::AtomicBool>,
}

impl HttpReceiver {
    /// Listens on a free port; refusals, on any path, are answered at once.
    pub async fn start(fail_first: usize) -> anyhow::Result<Self> {
        Self::start_stalling(fail_first, Duration::ZERO, "/").await
    }

    /// Listens on a free port; each of the first `fail_first` requests to
    /// a path starting with `fail_path` hangs for `stall`, then gets 500.
    pub async fn start_stalling(
        fail_first: usize,
        stall: Duration,
        fail_path: &'static str,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let receiver = Self {
            addr: listener.local_addr()?,
            refused: Arc::default(),
            refused_at: Arc::default(),
            fail_first: Arc::new(fail_first.into()),
            fail_path,
            stall,
            accepted: Arc::default(),
            robot_refuses: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(Self::receive)
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(receiver)
    }

    async fn receive(
        axum::extract::State(r): axum::extract::State<Self>,
        uri: axum::http::Uri,
        headers: axum::http::HeaderMap,
        raw: axum::body::Bytes,
    ) -> (axum::http::StatusCode, &'static str) {
        use axum::http::StatusCode;
        if uri.path().starts_with(r.fail_path) && r.take_refusal() {
            tokio::time::sleep(r.stall).await;
            return (StatusCode::INTERNAL_SERVER_ERROR, "");
        }
        let robot = uri.path().starts_with("/wecom") || uri.path().starts_with("/dingtalk");
        if robot && r.robot_refuses.load(std::sync::atomic::Ordering::SeqCst) {
            r.refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return (
                StatusCode::OK,
                r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
            );
        }
        if uri.path().starts_with("/bad-key") {
            r.refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return (
                StatusCode::OK,
                r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
            );
        }
        let body = String::from_utf8_lossy(&raw).into_owned();
        let posted = Posted {
            path: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
            raw: raw.to_vec(),
            at: Instant::now(),
        };
        r.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(posted);
        let answer = if uri.path().starts_with("/wecom") || uri.path().starts_with("/dingtalk") {
            r#"{"errcode":0,"errmsg":"ok"}"#
        } else if uri.path().starts_with("/slack") {
            "ok"
        } else {
            ""
        };
        (StatusCode::OK, answer)
    }

    /// Whether this request is one of the first `fail_first`, which are refused.
    fn take_refusal(&self) -> bool {
        let mut arrivals = self.refused_at.lock().unwrap_or_else(|e| e.into_inner());
        if arrivals.len() >= self.fail_first.load(std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        arrivals.push(Instant::now());
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    }

    /// Everything accepted so far.
    pub fn posted(&self) -> Vec<Posted> {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

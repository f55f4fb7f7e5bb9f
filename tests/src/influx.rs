//! InfluxDB 1.x from Debian, with a v2 write front so the daemon's InfluxDB 2 client talks to it.

use super::*;

/// InfluxDB 1.x (Debian's `influxdb`) on free ports in its own directory,
/// with one database, and an adapter in front that accepts the v2 write
/// API (`POST /api/v2/write?bucket=…`) the daemon uses and forwards it to
/// the v1 `/write` endpoint, which Debian's InfluxDB 1.6 lacks.
pub struct InfluxV1 {
    /// InfluxDB's own HTTP API (queries).
    pub http: SocketAddr,
    /// The v2-write adapter the daemon writes to.
    pub adapter: SocketAddr,
    /// The database (= bucket).
    pub database: String,
    _dir: tempfile::TempDir,
    _child: ChildGuard,
    adapter_task: tokio::task::JoinHandle<()>,
}

impl Drop for InfluxV1 {
    fn drop(&mut self) {
        self.adapter_task.abort();
    }
}

impl InfluxV1 {
    /// Starts InfluxDB and the adapter, and creates `database`.
    pub async fn start(database: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let rpc = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let d = dir.path().display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"{rpc}\"\n[meta]\n  dir = \"{d}/meta\"\n[data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"{http}\"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n"
        );
        std::fs::write(dir.path().join("influxdb.conf"), config)?;
        let child = Command::new("influxd")
            .arg("-config")
            .arg(dir.path().join("influxdb.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting influxd (run scripts/test.sh to install it)")?;
        let child = ChildGuard::new(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if matches!(http_get(http, "/ping"), Ok((204, _))) {
                break;
            }
            if Instant::now() > deadline {
                bail!("influxd did not come up on {http}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, body) = http_get(
            http,
            &format!(
                "/query?q={}",
                url_encode(&format!("CREATE DATABASE \"{database}\""))
            ),
        )?;
        anyhow::ensure!(status == 200, "CREATE DATABASE answered {status}: {body}");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let adapter = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/api/v2/write", axum::routing::post(forward_v2_write))
            .with_state(http);
        let adapter_task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            http,
            adapter,
            database: database.to_owned(),
            _dir: dir,
            _child: child,
            adapter_task,
        })
    }

    /// Runs an InfluxQL query and returns the parsed JSON answer.
    pub fn query(&self, influxql: &str) -> anyhow::Result<serde_json::Value> {
        let path = format!(
            "/query?db={}&q={}",
            url_encode(&self.database),
            url_encode(influxql)
        );
        let (status, body) = http_get(self.http, &path)?;
        anyhow::ensure!(status == 200, "query answered {status}: {body}");
        Ok(serde_json::from_str(&body)?)
    }
}

async fn forward_v2_write(
    axum::extract::State(influx): axum::extract::State<SocketAddr>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let bucket = params.get("bucket").cloned().unwrap_or_default();
    let precision = params
        .get("precision")
        .cloned()
        .unwrap_or_else(|| "ns".into());
    let encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("Content-Encoding: {v}\r\n"))
        .unwrap_or_default();
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<u16> {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(influx)?;
        let head = format!(
            "POST /write?db={}&precision={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{encoding}Content-Length: {}\r\n\r\n",
            url_encode(&bucket),
            url_encode(&precision),
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(&body)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let text = String::from_utf8_lossy(&response);
        text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no status")
    })
    .await;
    match result {
        Ok(Ok(code)) => {
            axum::http::StatusCode::from_u16(code).unwrap_or(axum::http::StatusCode::BAD_GATEWAY)
        }
        _ => axum::http::StatusCode::BAD_GATEWAY,
    }
}

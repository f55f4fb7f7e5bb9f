//! A real browser for the web pages' tests: Debian's `chromium`, driven
//! through `chromium-driver` (chromedriver) over the W3C WebDriver
//! protocol, headless, on a free loopback port, stopped afterwards.

use super::*;

/// A chromedriver process and one browser session in it.
pub struct Browser {
    driver: SocketAddr,
    session: String,
    _process: ChildGuard,
}

impl Browser {
    /// Starts chromedriver and a headless chromium window of `width` ×
    /// `height` CSS pixels (390 × 844 is a phone).
    pub fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        let port = free_port();
        let process = ChildGuard::new(
            std::process::Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .context("starting chromedriver (Debian package chromium-driver)")?,
        );
        let driver = SocketAddr::from(([127, 0, 0, 1], port));
        wait_blocking("chromedriver", Duration::from_secs(20), || {
            request(driver, "GET", "/status", None).is_ok_and(|(s, _)| s == 200)
        })?;
        let capabilities = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},{height}")],
            },
        }}});
        let (status, answer) =
            request(driver, "POST", "/session", Some(&capabilities.to_string()))?;
        anyhow::ensure!(status == 200, "no browser session: {answer}");
        let session = answer["value"]["sessionId"]
            .as_str()
            .context("no session id")?
            .to_owned();
        Ok(Self {
            driver,
            session,
            _process: process,
        })
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let path = format!("/session/{}{path}", self.session);
        let body = (method == "POST").then(|| body.to_string());
        let (status, answer) = request(self.driver, method, &path, body.as_deref())?;
        anyhow::ensure!(
            status == 200,
            "WebDriver {method} {path}: {status} {answer}"
        );
        Ok(answer["value"].clone())
    }

    /// Opens `url` and waits for the page to load.
    pub fn open(&self, url: &str) -> anyhow::Result<()> {
        self.call("POST", "/url", serde_json::json!({ "url": url }))
            .map(|_| ())
    }

    /// The visible text of the page's body; while a form's answer is still
    /// loading (the old page's elements go stale), it asks again.
    pub fn text(&self) -> anyhow::Result<String> {
        let mut tries = 0;
        loop {
            let text = self.find("body").and_then(|body| {
                self.call(
                    "GET",
                    &format!("/element/{body}/text"),
                    serde_json::Value::Null,
                )
            });
            match text {
                Ok(text) => return Ok(text.as_str().unwrap_or_default().to_owned()),
                Err(e) if tries < 50 && loading(&e) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The page's text once it holds `needle` (after a click, the next page
    /// may take a moment); the last text seen as the error otherwise.
    pub fn wait_for_text(&self, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        let until = Instant::now() + timeout;
        loop {
            let text = self.text()?;
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() >= until {
                anyhow::bail!("no `{needle}` within {timeout:?} in: {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The page's HTML as the browser holds it (for failure messages).
    pub fn source(&self) -> anyhow::Result<String> {
        let source = self.call("GET", "/source", serde_json::Value::Null)?;
        Ok(source.as_str().unwrap_or_default().to_owned())
    }

    /// The value of the browser's cookie `name` for the open page's site.
    pub fn cookie(&self, name: &str) -> anyhow::Result<String> {
        let cookie = self.call("GET", &format!("/cookie/{name}"), serde_json::Value::Null)?;
        cookie["value"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no cookie {name}"))
    }

    /// The element `css` selects, as a WebDriver element id.
    pub fn find(&self, css: &str) -> anyhow::Result<String> {
        let found = self.call(
            "POST",
            "/element",
            serde_json::json!({"using": "css selector", "value": css}),
        )?;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .with_context(|| format!("no element {css}"))
    }

    /// Types `text` into the element `css` selects.
    pub fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let element = self.find(css)?;
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            serde_json::json!({ "text": text }),
        )
        .map(|_| ())
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.find(css)?;
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            serde_json::json!({}),
        )
        .map(|_| ())
    }

    /// Saves a PNG of the window to `path` (for reviewers: `docs/console/`).
    pub fn screenshot(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use base64::Engine as _;
        let png = self.call("GET", "/screenshot", serde_json::Value::Null)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .context("screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session);
        let _ = request(self.driver, "DELETE", &path, None);
    }
}

/// One WebDriver request. chromedriver keeps connections open whatever the
/// request says, so the answer is read by its `Content-Length`.
fn request(
    driver: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, serde_json::Value)> {
    use std::io::{BufRead as _, Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(driver)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        driver.port(),
        body.len()
    )?;
    let mut reader = std::io::BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status from chromedriver")?;
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut answer = vec![0; length];
    reader.read_exact(&mut answer)?;
    Ok((
        status,
        serde_json::from_slice(&answer).unwrap_or(serde_json::Value::Null),
    ))
}

/// True for the errors of a page that is being replaced by the next one:
/// its elements went stale, or the next one has no body yet.
fn loading(e: &anyhow::Error) -> bool {
    let text = e.to_string();
    // Chromium says the last one when the body it found was replaced by
    // the next page between finding it and reading it.
    text.contains("stale element")
        || text.contains("no such element")
        || text.contains("does not belong to the document")
}

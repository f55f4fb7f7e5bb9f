//! JSON webhooks: a CMMS for tickets, chat tools and receivers for alerts.
//!
//! Every POST carries the delivery's `Idempotency-Key`, so a receiver that
//! saw a message before the daemon learnt it did can drop the repeat. What
//! counts as delivered is what the receiver says, read where its protocol
//! puts it ([`crate::verdict`]): a 2xx for a generic webhook, `errcode` 0
//! for WeCom and DingTalk robots, `ok` for Slack. Errors show the URL's
//! host only: chat robots carry their key in the path or the query.
//!
//! A generic webhook with a secret is signed: `X-Sitewarden-Timestamp` (Unix
//! seconds) and `X-Sitewarden-Signature: sha256=<hex HMAC-SHA256 of
//! "<timestamp>.<body>">`, so the receiver can check origin and freshness.
//! A DingTalk robot with a signing secret gets its `timestamp` and `sign`
//! query parameters as DingTalk specifies.

use sitewarden_runtime::clock;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use sitewarden_model::catalog::ChannelKind;

use super::{Deliver, Pending};
use crate::verdict::{Refusal, judge_http, redact_url};

/// Most of an answer read to judge it: robots answer in a few dozen bytes.
const ANSWER_MAX: usize = 16 * 1024;

/// How a request proves where it came from.
#[derive(Clone)]
pub enum Signing {
    /// Not signed.
    None,
    /// `X-Sitewarden-Signature` over timestamp and body.
    Hmac(String),
    /// DingTalk's signed URL.
    DingTalk(String),
}

/// One HTTP endpoint.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    /// The URL as errors show it.
    shown: String,
    kind: ChannelKind,
    bearer: Option<String>,
    signing: Signing,
}

impl Webhook {
    /// A webhook with its own connection pool and per-attempt timeout.
    pub fn new(url: String, bearer: Option<String>, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("sitewarden/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            shown: redact_url(&url),
            url,
            kind: ChannelKind::Webhook,
            bearer,
            signing: Signing::None,
        })
    }

    /// Judges answers as a receiver of `kind` answers (a generic webhook by default).
    pub fn answering_as(mut self, kind: ChannelKind) -> Self {
        self.kind = kind;
        self
    }

    /// Signs every request.
    pub fn signed(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }
}

/// `sha256=<hex>` of HMAC-SHA256 over `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac(secret.as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// DingTalk: base64 of HMAC-SHA256 over `"<ms timestamp>\n<secret>"`, URL-encoded.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = hmac(secret.as_bytes());
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    url::form_urlencoded::byte_serialize(b64.as_bytes()).collect()
}

/// HMAC-SHA256 keyed with `key`. HMAC takes keys of any length, so the
/// fallback (an all-zero block-size key) is never used; it keeps the
/// function free of panics.
fn hmac(key: &[u8]) -> Hmac<Sha256> {
    use hmac::digest::KeyInit;
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()))
}

impl Deliver for Webhook {
    async fn deliver(&mut self, message: &Pending) -> Result<(), Refusal> {
        let now = clock::now();
        let url = match &self.signing {
            Signing::DingTalk(secret) => {
                let ms = now.as_millisecond();
                let join = if self.url.contains('?') { '&' } else { '?' };
                format!(
                    "{}{join}timestamp={ms}&sign={}",
                    self.url,
                    dingtalk_sign(secret, ms)
                )
            }
            _ => self.url.clone(),
        };
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", &message.key)
            .body(message.payload.clone());
        if let Signing::Hmac(secret) = &self.signing {
            let ts = now.as_second();
            request = request
                .header("x-sitewarden-timestamp", ts.to_string())
                .header(
                    "x-sitewarden-signature",
                    signature(secret, ts, &message.payload),
                );
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Refusal::temporary(format!("{}: {}", self.shown, describe(&e))))?;
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        while answer.len() < ANSWER_MAX {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(Refusal::temporary(format!(
                        "{}: answer cut short: {}",
                        self.shown,
                        describe(&e)
                    )));
                }
            }
        }
        judge_http(self.kind, status, &answer).map_err(|refusal| Refusal {
            reason: format!("{} {}", self.shown, refusal.reason),
            ..refusal
        })
    }
}

/// A transport error in words, never with the URL (reqwest's own text
/// carries it, key and all).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        let mut text = e.to_string();
        if let Some(url) = e.url() {
            text = text.replace(url.as_str(), "…");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        // RFC 4231 case 2: key "Jefe", data "what do ya want for nothing?".
        // Our input is "<timestamp>.<body>": split the data at its first dot-free prefix.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // And the signature helper is the same HMAC over "<ts>.<body>".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(b"1700000000.{}");
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            signature("k", 1_700_000_000, b"{}"),
            format!("sha256={expected}")
        );
    }

    #[test]
    fn dingtalk_sign_is_url_encoded_base64() {
        let sign = dingtalk_sign("SEC000", 1_700_000_000_000);
        assert!(
            !sign.contains('+') && !sign.contains('/') && !sign.contains('='),
            "{sign}"
        );
        assert!(
            sign.ends_with("%3D"),
            "a 32-byte MAC in base64 ends in one padding `=`: {sign}"
        );
        // The value, worked out with Python's hmac, base64 and urllib:
        // quote_plus(b64encode(hmac.new(b"SEC000", b"1700000000000\nSEC000", sha256).digest())).
        assert_eq!(sign, "ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA%3D");
    }
}

//! Signed MQTT commands: no secret travels in a payload.
//!
//! Every subscriber of `sitewarden/<site>/#` on a shared broker can read a
//! command, so a command carries a signature instead of a token:
//!
//! ```json
//! {"operator": "desk", "signature": "<hex>", "command": {"correlation_id": "c1",
//!  "at": 1764650000, "nonce": "5f1c…", "alert": 3}}
//! ```
//!
//! `signature` is HMAC-SHA256 over `<topic>\n<command>`, where `<command>`
//! is the `command` object exactly as it appears in the payload (no
//! re-encoding, so any language can sign), keyed with the SHA-256 of the
//! operator's API token (the 32 bytes whose hex `[[api.tokens]] sha256`
//! stores). The daemon accepts a command only with a valid signature, an
//! `at` (Unix seconds) within [`WINDOW`] of its clock and a `nonce` it has
//! not seen from that operator inside the window: a recorded command cannot
//! be replayed, and a token never leaves the operator's machine.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac as _};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;

use crate::control::{ApiToken, Caller, CommandError, Refusal};

/// How far a command's `at` may be from the daemon's clock, either way.
pub const WINDOW: i64 = 60;
/// Nonces remembered at most (only of correctly signed commands).
const MAX_NONCES: usize = 4096;
/// Longest nonce accepted.
const MAX_NONCE: usize = 64;

/// The outer object of a command payload.
#[derive(Debug, Deserialize)]
pub struct Signed<'a> {
    /// The `[[api.tokens]]` name whose token signed it.
    pub operator: String,
    /// Hex HMAC-SHA256, see the module documentation.
    pub signature: String,
    /// The command, exactly as signed.
    #[serde(borrow)]
    pub command: &'a RawValue,
}

/// The freshness fields every signed command carries.
#[derive(Debug, Deserialize)]
pub struct Freshness {
    /// Unix seconds when the operator signed it.
    pub at: i64,
    /// Unique per command and operator.
    pub nonce: String,
}

/// The payload for `command` (a JSON object's text) on `topic`, signed with
/// `token`; what `sitewarden sign` prints.
pub fn sign(topic: &str, operator: &str, token: &str, command: &str) -> String {
    use sha2::Digest as _;
    let key: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    let signature = hex(&mac(&key, topic, command).finalize().into_bytes());
    let operator = serde_json::Value::from(operator);
    format!(r#"{{"operator":{operator},"signature":"{signature}","command":{command}}}"#)
}

fn mac(key: &[u8; 32], topic: &str, command: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default()));
    mac.update(topic.as_bytes());
    mac.update(b"\n");
    mac.update(command.as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks signatures and remembers nonces.
pub struct Verifier {
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier that has seen nothing yet.
    pub fn new() -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The caller of a signed command on `topic`, or why it is refused:
    /// unknown operator or bad signature (401), stale or replayed (401).
    pub fn verify(
        &self,
        topic: &str,
        signed: &Signed<'_>,
        fresh: &Freshness,
        tokens: &[ApiToken],
        now: i64,
    ) -> Result<Caller, CommandError> {
        let unauthorized = |why: &str| CommandError::new(Refusal::Unauthorized, why.to_owned());
        let token = tokens
            .iter()
            .find(|t| t.name == signed.operator)
            .ok_or_else(|| unauthorized("unknown operator"))?;
        let signature = unhex(&signed.signature).ok_or_else(|| unauthorized("bad signature"))?;
        mac(&token.sha256, topic, signed.command.get())
            .verify_slice(&signature)
            .map_err(|_| unauthorized("bad signature"))?;
        if (now - fresh.at).abs() > WINDOW {
            return Err(unauthorized(
                "stale command: `at` is more than 60 s from the daemon's clock",
            ));
        }
        if fresh.nonce.is_empty() || fresh.nonce.len() > MAX_NONCE {
            return Err(CommandError::new(
                Refusal::BadRequest,
                "nonce must be 1 to 64 characters",
            ));
        }
        self.remember(&signed.operator, &fresh.nonce, fresh.at, now)?;
        Ok(Caller {
            name: token.name.clone(),
            role: token.role,
        })
    }

    fn remember(&self, operator: &str, nonce: &str, at: i64, now: i64) -> Result<(), CommandError> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.retain(|_, at| now - *at <= WINDOW);
        let key = (operator.to_owned(), nonce.to_owned());
        if seen.contains_key(&key) {
            return Err(CommandError::new(
                Refusal::Unauthorized,
                "replayed command: this nonce was used already",
            ));
        }
        if seen.len() >= MAX_NONCES {
            return Err(CommandError::new(
                Refusal::Unavailable,
                "too many commands in the last minute; try again shortly",
            ));
        }
        seen.insert(key, at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    fn tokens() -> Vec<ApiToken> {
        vec![ApiToken {
            name: "desk".into(),
            role: sitewarden_model::vocab::ApiRole::FrontDesk,
            sha256: Sha256::digest(b"desk-token").into(),
        }]
    }

    fn check(payload: &str, topic: &str, now: i64, v: &Verifier) -> Result<Caller, CommandError> {
        let signed: Signed<'_> = serde_json::from_str(payload).unwrap();
        let fresh: Freshness = serde_json::from_str(signed.command.get()).unwrap();
        v.verify(topic, &signed, &fresh, &tokens(), now)
    }

    #[test]
    fn good_forged_replayed_and_stale() {
        let v = Verifier::new();
        let topic = "sitewarden/s/commands/ack_alert";
        let body = r#"{"correlation_id":"c1","at":1000,"nonce":"n1","alert":3}"#;
        let good = sign(topic, "desk", "desk-token", body);
        assert_eq!(check(&good, topic, 1010, &v).unwrap().name, "desk");
        let replay = check(&good, topic, 1011, &v).unwrap_err();
        assert!(replay.message.contains("replayed"), "{}", replay.message);
        // Another topic, another token, an edited body: refused.
        let v = Verifier::new();
        assert!(check(&good, "sitewarden/s/commands/end_silence", 1000, &v).is_err());
        let forged = sign(topic, "desk", "guess", body);
        assert!(check(&forged, topic, 1000, &v).is_err());
        let edited = good.replace(r#""alert":3"#, r#""alert":4"#);
        assert!(check(&edited, topic, 1000, &v).is_err());
        let stale = check(&good, topic, 1000 + WINDOW + 1, &v).unwrap_err();
        assert!(stale.message.contains("stale"));
        assert!(check(&good, topic, 1000, &v).is_ok());
    }
}

//! What a receiver's answer means: delivered, refused for now, or refused
//! for good.
//!
//! An HTTP 200 is not an answer from a chat robot: WeCom and DingTalk
//! answer every request with 200 and put their verdict in the body
//! (`{"errcode":93000,"errmsg":"invalid webhook url"}`), and Slack answers
//! `ok` or a reason. So each channel kind reads its answer where its
//! protocol puts it. A refusal that waiting cannot cure (a bad key, a
//! wrong signature, a missing keyword, an archived channel) is *permanent*:
//! it is still retried, in case someone fixes the receiver, but it is
//! announced at once. A rate limit, a busy server or a 5xx is *temporary*.

use std::fmt;

use sitewarden_model::catalog::ChannelKind;

/// Why a delivery attempt failed, in the receiver's own words when it gave any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Waiting will not help: the channel needs a person.
    pub permanent: bool,
    /// What happened, without any secret of the channel.
    pub reason: String,
}

impl Refusal {
    /// A failure that may pass: timeout, rate limit, busy receiver.
    pub fn temporary(reason: impl Into<String>) -> Self {
        Self {
            permanent: false,
            reason: reason.into(),
        }
    }

    /// A refusal that needs someone to fix the channel.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            permanent: true,
            reason: reason.into(),
        }
    }
}

/// Stored and shown as `refused for good: …` or just the reason, so a
/// timeline tells a dead channel from a slow one.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.permanent {
            write!(f, "{PERMANENT_PREFIX}{}", self.reason)
        } else {
            f.write_str(&self.reason)
        }
    }
}

/// How a permanent refusal starts in the stored error, so the store can
/// find channels that need a person without another column.
pub const PERMANENT_PREFIX: &str = "refused for good: ";

/// Longest piece of a receiver's answer kept in an error.
const QUOTE_MAX: usize = 200;

/// WeCom robot codes that pass with time: system busy, frequency limits.
const WECOM_TEMPORARY: [i64; 4] = [-1, 45009, 45011, 45033];
/// DingTalk robot codes that pass with time: system busy, sending too fast.
const DINGTALK_TEMPORARY: [i64; 3] = [-1, 130101, 130102];

/// Judges one HTTP answer of a receiver of `kind`.
pub fn judge_http(kind: ChannelKind, status: u16, body: &[u8]) -> Result<(), Refusal> {
    match kind {
        ChannelKind::WeCom => judge_errcode(status, body, &WECOM_TEMPORARY),
        ChannelKind::DingTalk => judge_errcode(status, body, &DINGTALK_TEMPORARY),
        ChannelKind::Slack => judge_slack(status, body),
        _ => judge_status(status, body),
    }
}

/// A generic webhook: any 2xx is delivered; the rest by its status.
fn judge_status(status: u16, body: &[u8]) -> Result<(), Refusal> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    Err(by_status(status, body))
}

/// A refusal from a non-2xx status: 408, 425, 429 and 5xx pass with time;
/// any other 4xx (wrong path, wrong token, gone) needs a person.
fn by_status(status: u16, body: &[u8]) -> Refusal {
    let reason = match quote(body) {
        quoted if quoted.is_empty() => format!("answered HTTP {status}"),
        quoted => format!("answered HTTP {status}: {quoted}"),
    };
    if matches!(status, 408 | 425 | 429) || !(400..500).contains(&status) {
        Refusal::temporary(reason)
    } else {
        Refusal::permanent(reason)
    }
}

/// WeCom and DingTalk: HTTP 200 and `errcode` 0 is delivered.
fn judge_errcode(status: u16, body: &[u8], temporary: &[i64]) -> Result<(), Refusal> {
    if !(200..300).contains(&status) {
        return Err(by_status(status, body));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        errcode: Option<i64>,
        errmsg: Option<String>,
    }
    let Ok(Answer { errcode, errmsg }) = serde_json::from_slice::<Answer>(body) else {
        return Err(Refusal::temporary(format!(
            "answered HTTP {status} without a robot's verdict: {}",
            quote(body)
        )));
    };
    match errcode {
        Some(0) => Ok(()),
        Some(code) => {
            let reason = format!(
                "robot answered errcode {code}: {}",
                errmsg.as_deref().map(quote_str).unwrap_or_default()
            );
            if temporary.contains(&code) {
                Err(Refusal::temporary(reason))
            } else {
                Err(Refusal::permanent(reason))
            }
        }
        None => Err(Refusal::temporary(format!(
            "answered HTTP {status} without an errcode: {}",
            quote(body)
        ))),
    }
}

/// Slack incoming webhooks: HTTP 200 with the body `ok` is delivered;
/// otherwise the body names the reason (`invalid_token`, `no_service`, …).
fn judge_slack(status: u16, body: &[u8]) -> Result<(), Refusal> {
    if (200..300).contains(&status) {
        if body.trim_ascii() == b"ok" {
            return Ok(());
        }
        return Err(Refusal::temporary(format!(
            "answered HTTP {status} but not `ok`: {}",
            quote(body)
        )));
    }
    Err(by_status(status, body))
}

/// The start of a receiver's answer, as text, for an error message.
fn quote(body: &[u8]) -> String {
    quote_str(&String::from_utf8_lossy(body))
}

fn quote_str(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A URL as it may appear in errors and logs: scheme, host and port only.
/// Chat robots carry their key in the path (Slack) or the query (WeCom
/// `key`, DingTalk `access_token`), so neither is ever shown.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if parsed.path() == "/" && parsed.query().is_none() {
                ""
            } else {
                "/…"
            };
            format!("{}://{host}{port}{rest}", parsed.scheme())
        }
        Err(_) => "(unreadable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChannelKind::*;

    #[test]
    fn each_kind_reads_its_answer_where_its_protocol_puts_it() {
        let cases: [(ChannelKind, u16, &str, Option<bool>); 20] = [
            // (kind, status, body, None = delivered / Some(permanent))
            (WeCom, 200, r#"{"errcode":0,"errmsg":"ok"}"#, None),
            (
                WeCom,
                200,
                r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
                Some(true),
            ),
            (
                WeCom,
                200,
                r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
                Some(false),
            ),
            (
                WeCom,
                200,
                r#"{"errcode":-1,"errmsg":"system busy"}"#,
                Some(false),
            ),
            (WeCom, 200, "<html>proxy login</html>", Some(false)),
            (WeCom, 200, "", Some(false)),
            (WeCom, 502, "", Some(false)),
            (DingTalk, 200, r#"{"errcode":0,"errmsg":"ok"}"#, None),
            (
                DingTalk,
                200,
                r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
                Some(true),
            ),
            (
                DingTalk,
                200,
                r#"{"errcode":300001,"errmsg":"token is not exist"}"#,
                Some(true),
            ),
            (
                DingTalk,
                200,
                r#"{"errcode":130101,"errmsg":"send too fast"}"#,
                Some(false),
            ),
            (Slack, 200, "ok", None),
            (Slack, 404, "no_service", Some(true)),
            (Slack, 410, "channel_is_archived", Some(true)),
            (Slack, 429, "rate_limited", Some(false)),
            (Slack, 200, "", Some(false)),
            (Webhook, 204, "", None),
            (Webhook, 401, "bad token", Some(true)),
            (Webhook, 429, "", Some(false)),
            (Webhook, 503, "", Some(false)),
        ];
        for (kind, status, body, expected) in cases {
            let verdict = judge_http(kind, status, body.as_bytes());
            assert_eq!(
                verdict.as_ref().err().map(|r| r.permanent),
                expected,
                "{kind:?} {status} {body}: {verdict:?}"
            );
        }
    }

    #[test]
    fn a_refusal_quotes_the_receiver() {
        let refusal = judge_http(
            WeCom,
            200,
            br#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
        )
        .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "refused for good: robot answered errcode 93000: invalid webhook url"
        );
        let long = "x".repeat(1000);
        let refusal = judge_http(Webhook, 500, long.as_bytes()).unwrap_err();
        assert!(refusal.reason.len() < 260, "{}", refusal.reason);
    }

    #[test]
    fn urls_lose_their_keys() {
        for (url, shown) in [
            (
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
                "https://qyapi.weixin.qq.com/…",
            ),
            (
                "https://oapi.dingtalk.com/robot/send?access_token=SECRET",
                "https://oapi.dingtalk.com/…",
            ),
            (
                "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
                "https://hooks.slack.com/…",
            ),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("not a url", "(unreadable URL)"),
        ] {
            assert_eq!(redact_url(url), shown);
        }
    }
}

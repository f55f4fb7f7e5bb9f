//! Notifications that waited too long: a channel that was down for a day
//! must not deliver a day-old fire notification as if it were news.
//!
//! Each alert channel has a `late_after` (10 minutes by default) and a
//! [`LateAction`]: `send` it as it is, `mark` it (sent once, its text
//! starting with when it was queued and how late it is), or `drop` it
//! (not sent, marked in the outbox). Every late message is counted.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use sitewarden_model::vocab::LateAction;

/// A channel's rule for late messages.
#[derive(Debug, Clone, Copy)]
pub struct LatePolicy {
    /// Queued longer than this is late; `None`: never (ticket outlets,
    /// whose receivers want every change in order whatever its age).
    pub after: Option<Duration>,
    /// What happens to a late message.
    pub action: LateAction,
}

impl LatePolicy {
    /// Messages are never late (ticket outlets).
    pub const NEVER: Self = Self {
        after: None,
        action: LateAction::Send,
    };

    /// How late a message queued at `created` is at `now`, if it is.
    pub fn lateness(&self, created: Timestamp, now: Timestamp) -> Option<Duration> {
        let after = self.after?;
        let waited = now.duration_since(created);
        let waited = Duration::try_from(waited).ok()?;
        (waited > after).then_some(waited)
    }
}

/// The payload with every text a person reads prefixed by a note saying
/// the message is late, and, in sitewarden's own JSON (it has a `key`), a
/// `late` object with the time queued and the seconds late. `None` when the
/// payload is not JSON (it then goes out as it is).
pub fn mark(payload: &[u8], queued: Timestamp, late_by: Duration) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(payload).ok()?;
    let note = format!(
        "[LATE: queued {} UTC, sent {} min late] ",
        queued.strftime("%Y-%m-%d %H:%M"),
        late_by.as_secs() / 60
    );
    let prefix = |text: &mut Value| {
        if let Value::String(s) = text {
            s.insert_str(0, &note);
        }
    };
    for path in [
        &["text"][..],
        &["subject"],
        &["text", "content"],
        &["markdown", "text"],
        &["markdown", "content"],
    ] {
        if let Some(text) = path.iter().try_fold(&mut value, |v, k| v.get_mut(*k)) {
            prefix(text);
        }
    }
    if let Value::Object(object) = &mut value
        && object.contains_key("key")
    {
        object.insert(
            "late".into(),
            serde_json::json!({ "queued_at": queued, "late_by_s": late_by.as_secs() }),
        );
    }
    serde_json::to_vec(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_message_is_late_only_past_the_channel_setting() {
        let policy = LatePolicy {
            after: Some(Duration::from_secs(600)),
            action: LateAction::Mark,
        };
        let queued = t("2026-12-01T08:00:00Z");
        assert_eq!(policy.lateness(queued, t("2026-12-01T08:10:00Z")), None);
        assert_eq!(
            policy.lateness(queued, t("2026-12-01T09:00:00Z")),
            Some(Duration::from_secs(3600))
        );
        // A message from the future (a clock step) is not late.
        assert_eq!(policy.lateness(queued, t("2026-12-01T07:00:00Z")), None);
        assert_eq!(
            LatePolicy::NEVER.lateness(queued, t("2030-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn marking_prefixes_every_text_and_adds_the_late_object_to_our_own_json() {
        let queued = t("2026-12-01T08:00:00Z");
        let late = Duration::from_secs(3 * 3600);
        let ours = br#"{"key":"s-alert-1-n1-hook","text":"[FIRE] zone 3"}"#;
        let marked: Value = serde_json::from_slice(&mark(ours, queued, late).unwrap()).unwrap();
        assert_eq!(
            marked["text"],
            "[LATE: queued 2026-12-01 08:00 UTC, sent 180 min late] [FIRE] zone 3"
        );
        assert_eq!(marked["late"]["late_by_s"], 10800);
        let wecom = br#"{"msgtype":"text","text":{"content":"[FIRE] zone 3"}}"#;
        let marked: Value = serde_json::from_slice(&mark(wecom, queued, late).unwrap()).unwrap();
        assert!(
            marked["text"]["content"]
                .as_str()
                .unwrap()
                .starts_with("[LATE: ")
        );
        assert!(
            marked.get("late").is_none(),
            "a robot gets no field it does not know"
        );
        let mail = br#"{"to":["a@b.c"],"subject":"[FIRE] zone 3","text":"body"}"#;
        let marked: Value = serde_json::from_slice(&mark(mail, queued, late).unwrap()).unwrap();
        assert!(marked["subject"].as_str().unwrap().starts_with("[LATE: "));
        assert!(marked["text"].as_str().unwrap().starts_with("[LATE: "));
        assert_eq!(mark(b"not json", queued, late), None);
    }
}

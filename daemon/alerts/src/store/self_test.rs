//! Scheduled channel self-tests, and the record of which failures already opened a ticket.

use super::*;

impl AlertStore {
    pub(super) fn run_self_tests(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<(), AlertError> {
        let Some(every) = catalog.alerts.self_test_every else {
            return Ok(());
        };
        for channel in &catalog.alerts.channels {
            let last: Option<i64> = tx
                .prepare_cached("SELECT last_run_us FROM self_test WHERE channel = ?1")?
                .query_row([&channel.name], |r| r.get(0))
                .optional()?;
            // A channel seen for the first time is tested at once: a broken password shows at start-up.
            if last.is_some_and(|l| from_micros(l) + every > now) {
                continue;
            }
            tx.execute(
                "INSERT INTO self_test (channel, last_run_us) VALUES (?1, ?2)
                 ON CONFLICT (channel) DO UPDATE SET last_run_us = excluded.last_run_us",
                params![channel.name, micros(now)],
            )?;
            let key = format!(
                "{}-selftest-{}-{}",
                self.site,
                channel.name,
                now.as_second()
            );
            let everyone: Vec<&Person> = if channel.kind == ChannelKind::Email {
                catalog
                    .alerts
                    .people
                    .iter()
                    .filter(|p| p.email.is_some())
                    .collect()
            } else {
                Vec::new()
            };
            let payload =
                notify::payload(channel, &key, &self.site, None, Reason::SelfTest, &everyone);
            let topic = self.topics.as_ref().map(Topics::alert_self_test);
            delivery::enqueue(
                tx,
                &Outgoing {
                    channel: &channel_name(&channel.name),
                    subject: &format!("selftest:{}", channel.name),
                    key: &key,
                    topic: (channel.kind == ChannelKind::Mqtt)
                        .then_some(topic.as_deref())
                        .flatten(),
                    payload: &payload,
                    retain: false,
                    priority: -10,
                },
                now,
            )?;
        }
        Ok(())
    }

    /// Self-tests that failed three attempts and have no ticket yet: (channel, key, last error).
    pub fn failed_self_tests(&self) -> rusqlite::Result<Vec<(String, String, String)>> {
        let conn = lock(&self.reader);
        conn
            .prepare_cached(
                "SELECT substr(d.subject, 10), d.key, coalesce(d.last_error, '') FROM delivery d
                 WHERE d.subject LIKE 'selftest:%' AND d.delivered_us IS NULL AND d.attempts >= 3
                 AND NOT EXISTS (SELECT 1 FROM self_test t WHERE t.channel = substr(d.subject, 10) AND t.ticketed_key = d.key)",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    /// Records that a failed self-test has its ticket.
    pub fn self_test_ticketed(&self, channel: &str, key: &str) -> rusqlite::Result<()> {
        lock(&self.writer)
            .execute(
                "UPDATE self_test SET ticketed_key = ?2 WHERE channel = ?1",
                params![channel, key],
            )
            .map(|_| ())
    }
}

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
            let payload = notify::payload(
                channel,
                &key,
                &self.site,
                notify::Wording::of(catalog, None),
                None,
                Reason::SelfTest,
                &everyone,
            );
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

    /// Channels that need a person, one per channel, not yet ticketed: a
    /// self-test that failed three attempts, or any delivery the receiver
    /// refused for good (a bad key shows on the first attempt, not after
    /// three).
    pub fn channel_faults(&self) -> rusqlite::Result<Vec<ChannelFault>> {
        let conn = lock(&self.reader);
        conn.prepare_cached(
            "SELECT substr(d.channel, 8), d.key, coalesce(d.last_error, ''), d.subject LIKE 'selftest:%', max(d.id)
             FROM delivery d
             WHERE d.delivered_us IS NULL AND d.channel LIKE 'alerts-%'
               AND ((d.subject LIKE 'selftest:%' AND d.attempts >= 3) OR d.last_error LIKE ?1)
             GROUP BY d.channel",
        )?
        .query_map([format!("{PERMANENT_PREFIX}%")], |r| {
            Ok(ChannelFault {
                channel: r.get(0)?,
                key: r.get(1)?,
                error: r.get(2)?,
                self_test: r.get(3)?,
            })
        })?
        .filter(|fault| {
            !matches!(fault, Ok(f) if self.fault_ticketed(&conn, &f.channel, &f.key).unwrap_or(false))
        })
        .collect()
    }

    fn fault_ticketed(
        &self,
        conn: &Connection,
        channel: &str,
        key: &str,
    ) -> rusqlite::Result<bool> {
        conn.prepare_cached("SELECT 1 FROM self_test WHERE channel = ?1 AND ticketed_key = ?2")?
            .exists(params![channel, key])
    }

    /// Records that a channel fault has its ticket (or its occurrence on
    /// the open one), so the next maintenance round does not repeat it.
    pub fn fault_ticketed_as(&self, channel: &str, key: &str) -> rusqlite::Result<()> {
        lock(&self.writer)
            .execute(
                "INSERT INTO self_test (channel, last_run_us, ticketed_key) VALUES (?1, 0, ?2)
                 ON CONFLICT (channel) DO UPDATE SET ticketed_key = excluded.ticketed_key",
                params![channel, key],
            )
            .map(|_| ())
    }
}

impl AlertStore {
    /// Life-safety alerts that nobody has been told about: open, not a
    /// drill, not muted, not acknowledged, raised at least `within` before
    /// `now`, and no channel has confirmed any of their notifications (the
    /// retained MQTT state is not a notification). Each is returned once;
    /// [`AlertStore::mark_delivery_fault`] records that it was announced.
    pub fn undelivered_life_safety(
        &self,
        now: Timestamp,
        within: std::time::Duration,
    ) -> rusqlite::Result<Vec<(i64, String)>> {
        let conn = lock(&self.reader);
        conn.prepare_cached(&format!(
            "SELECT a.id, a.title FROM alert a
             WHERE a.status = 'open' AND a.drill = 0 AND a.suppressed IS NULL AND a.acked_us IS NULL
               AND a.class IN {} AND a.raised_us <= ?1
               AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.subject = 'alert:' || a.id
                               AND d.channel != ?2 AND d.delivered_us IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM delivery_fault f WHERE f.alert = a.id)
             ORDER BY a.id",
            life_safety_classes()
        ))?
        .query_map(
            params![
                micros(now) - i64::try_from(within.as_micros()).unwrap_or(i64::MAX),
                STATE_CHANNEL
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect()
    }

    /// Records that alert `id` was announced as not delivered.
    pub fn mark_delivery_fault(&self, id: i64, now: Timestamp) -> rusqlite::Result<()> {
        lock(&self.writer)
            .execute(
                "INSERT OR IGNORE INTO delivery_fault (alert, raised_us) VALUES (?1, ?2)",
                params![id, micros(now)],
            )
            .map(|_| ())
    }
}

/// A notification channel that needs a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFault {
    /// The channel's name in the site file.
    pub channel: String,
    /// The failing delivery's key.
    pub key: String,
    /// What the receiver said, secrets already left out.
    pub error: String,
    /// Found by a self-test (rather than by a real notification).
    pub self_test: bool,
}

//! Who is not called and why: drills, silences and inhibition, applied as an alert is raised, and the release of muted alerts when the alert that muted them is over.

use super::*;

/// Why a new alert calls nobody, or only the drill coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Suppression {
    /// Raised during drill `id`: only the drill coordinator is told.
    Drill(i64),
    /// Covered by silence `id`.
    Silenced(i64),
    /// Muted while alert `id` (of an inhibiting class) is active.
    Muted(i64),
}

impl Suppression {
    /// What the alert row stores for a silenced or muted alert: the kind
    /// and what holds it (`silence 3`, `alert 12`). Drills are stored apart.
    pub(super) fn held(&self) -> Option<(&'static str, String)> {
        match self {
            Self::Drill(_) => None,
            Self::Silenced(id) => Some(("silenced", format!("silence {id}"))),
            Self::Muted(id) => Some(("muted", format!("alert {id}"))),
        }
    }
}

/// The precedence, as a pure function of what covers a new alert: a drill
/// beats a silence, which beats inhibition (a drill's alarms must reach the
/// drill coordinator even inside a maintenance window).
pub(super) fn decide(
    drill: Option<i64>,
    silence: Option<i64>,
    muting: Option<i64>,
) -> Option<Suppression> {
    drill
        .map(Suppression::Drill)
        .or(silence.map(Suppression::Silenced))
        .or(muting.map(Suppression::Muted))
}

/// Loads what covers `r` now and decides.
pub(super) fn suppression_for(
    tx: &Connection,
    catalog: &Catalog,
    r: &Raise,
) -> rusqlite::Result<Option<Suppression>> {
    Ok(decide(
        drill_covering(tx, r.class, r.at)?,
        silence_covering(tx, r, r.at)?,
        muting_alert(tx, catalog, r)?,
    ))
}

impl AlertStore {
    /// Mutes open alerts that a newly raised alert of `class` inhibits.
    pub(super) fn mute_targets(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        source: i64,
        class: AlertClass,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        for rule in catalog.alerts.inhibit.iter().filter(|i| i.when == class) {
            for target in &rule.mute {
                let rows: Vec<(i64, Option<String>)> = tx
                    .prepare_cached(
                        "SELECT id, device FROM alert WHERE status = 'open' AND suppressed IS NULL
                         AND acked_us IS NULL AND drill = 0 AND id != ?1 AND rule = ?2",
                    )?
                    .query_map(params![source, target], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (id, device) in rows {
                    if !rule.devices.is_empty()
                        && !device.as_ref().is_some_and(|d| rule.devices.contains(d))
                    {
                        continue;
                    }
                    tx.execute(
                        "UPDATE alert SET suppressed = 'muted', suppressed_by = ?2, next_at_us = NULL,
                         revision = revision + 1 WHERE id = ?1",
                        params![id, format!("alert {source}")],
                    )?;
                    event(
                        tx,
                        id,
                        now,
                        "muted",
                        "sitewarden",
                        Some(&catalog.site.messages.text(
                            "alert-event-muted",
                            &[
                                ("class", Arg::Text(class.as_str())),
                                ("source", Arg::Number(source)),
                            ],
                        )),
                    )?;
                    changes.push(id, AlertEvent::Muted);
                }
            }
        }
        Ok(())
    }

    /// When an inhibiting alert is no longer active, the alerts it muted
    /// either resolve (their condition is gone) or start escalating.
    pub(super) fn release_muted(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        source: i64,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let muted: Vec<(i64, bool, String)> = tx
            .prepare_cached(
                "SELECT id, active, class FROM alert WHERE status = 'open' AND suppressed = 'muted' AND suppressed_by = ?1",
            )?
            .query_map([format!("alert {source}")], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, active, class) in muted {
            tx.execute(
                "UPDATE alert SET suppressed = NULL, suppressed_by = NULL, revision = revision + 1 WHERE id = ?1",
                [id],
            )?;
            if active {
                event(
                    tx,
                    id,
                    now,
                    "unmuted",
                    "sitewarden",
                    Some(
                        &catalog
                            .site
                            .messages
                            .text("alert-event-unmuted", &[("source", Arg::Number(source))]),
                    ),
                )?;
                changes.push(id, AlertEvent::Unmuted);
                let class = AlertClass::parse(&class).unwrap_or_default();
                self.start_escalation(tx, catalog, id, class, now, changes)?;
            } else {
                resolve(tx, id, now)?;
                event(
                    tx,
                    id,
                    now,
                    "resolved",
                    "sitewarden",
                    Some(
                        &catalog
                            .site
                            .messages
                            .text("alert-event-resolved-while-muted", &[]),
                    ),
                )?;
                changes.push(id, AlertEvent::Resolved);
            }
        }
        Ok(())
    }
}

pub(super) fn drill_covering(
    tx: &Connection,
    class: AlertClass,
    at: Timestamp,
) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(
        "SELECT id FROM drill WHERE starts_us <= ?1 AND ends_us > ?1 AND instr(classes, ?2) > 0 LIMIT 1",
    )?
    .query_row(params![micros(at), format!(",{},", class.as_str())], |r| r.get(0))
    .optional()
}

pub(super) fn silence_covering(
    tx: &Connection,
    r: &Raise,
    at: Timestamp,
) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(
        "SELECT id FROM silence WHERE starts_us <= ?1 AND ends_us > ?1
         AND (device IS NULL OR device = ?2) AND (rule IS NULL OR rule = ?3)
         AND (zones IS NULL OR instr(zones, ',' || ?4 || ',') > 0) ORDER BY id LIMIT 1",
    )?
    .query_row(params![micros(at), r.device, r.rule, r.zone], |row| {
        row.get::<_, i64>(0)
    })
    .optional()
}

/// An active alert whose class mutes this one, per `[[alerts.inhibit]]`.
pub(super) fn muting_alert(
    tx: &Connection,
    catalog: &Catalog,
    r: &Raise,
) -> rusqlite::Result<Option<i64>> {
    for rule in &catalog.alerts.inhibit {
        let targets = r.rule.as_ref().is_some_and(|id| rule.mute.contains(id));
        let on_device =
            rule.devices.is_empty() || r.device.as_ref().is_some_and(|d| rule.devices.contains(d));
        if !(targets && on_device) {
            continue;
        }
        let source: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM alert WHERE status = 'open' AND active = 1 AND class = ?1 AND drill = 0 ORDER BY id LIMIT 1",
            )?
            .query_row([rule.when.as_str()], |row| row.get(0))
            .optional()?;
        if source.is_some() {
            return Ok(source);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drill_beats_a_silence_which_beats_inhibition() {
        use Suppression::*;
        let cases = [
            ((None, None, None), None),
            ((Some(1), Some(2), Some(3)), Some(Drill(1))),
            ((Some(1), None, Some(3)), Some(Drill(1))),
            ((None, Some(2), Some(3)), Some(Silenced(2))),
            ((None, None, Some(3)), Some(Muted(3))),
        ];
        for ((drill, silence, muting), expected) in cases {
            assert_eq!(
                decide(drill, silence, muting),
                expected,
                "{drill:?} {silence:?} {muting:?}"
            );
        }
        assert_eq!(Drill(1).held(), None);
        assert_eq!(
            Silenced(2).held(),
            Some(("silenced", "silence 2".to_owned()))
        );
        assert_eq!(Muted(3).held(), Some(("muted", "alert 3".to_owned())));
    }
}

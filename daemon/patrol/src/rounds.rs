//! Patrol compliance: rounds planned from each route's schedule, each
//! collected tap matched to its round's checkpoint and judged, missed
//! checkpoints and guards who stopped moving raised as alerts.
//!
//! A round starting at `S` plans checkpoint `i` at `S + i × leg`; a round
//! that began before sitewarden first planned its route is not planned; a tap
//! within `window` of its planned time is `on_time`, after it `late`,
//! before it `early`; a tap at a checkpoint while an earlier one is still
//! open is `out_of_order`; two checkpoints reached less than `min_gap` apart
//! are `too_fast`. A checkpoint whose window closed without a tap is
//! `missed` once its station has been read empty since (an alert of
//! class patrol, to the security supervisor's policy), `unknown` when the
//! station could not be read for [`UNREACHABLE_AFTER`] past the window. A guard on a round with no tap `lone_worker_after` past the
//! next checkpoint's planned time raises a guard-safety alert.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;

use sitewarden_model::catalog::{Catalog, Route};
use sitewarden_runtime::db::{from_micros, micros};

/// Round starts of `route` in `[from, to]`.
pub fn round_starts(
    route: &Route,
    tz: &TimeZone,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Timestamp> {
    let mut out = Vec::new();
    let Ok(every) = jiff::SignedDuration::try_from(route.every) else {
        return out;
    };
    if every.is_zero() {
        return out;
    }
    let mut date = from
        .to_zoned(tz.clone())
        .date()
        .yesterday()
        .unwrap_or(from.to_zoned(tz.clone()).date());
    let last = to.to_zoned(tz.clone()).date();
    while date <= last {
        let Ok(midnight) = date.to_zoned(tz.clone()) else {
            break;
        };
        let mut start = midnight.timestamp();
        let Ok(next_day) = date.tomorrow() else { break };
        let Ok(end) = next_day.to_zoned(tz.clone()) else {
            break;
        };
        while start < end.timestamp() {
            if start >= from && start <= to && in_hours(route, start.to_zoned(tz.clone()).time()) {
                out.push(start);
            }
            let Ok(next) = start.checked_add(every) else {
                break;
            };
            start = next;
        }
        date = next_day;
    }
    out
}

fn in_hours(route: &Route, t: jiff::civil::Time) -> bool {
    match route.hours {
        None => true,
        Some((a, b)) if a < b => a <= t && t < b,
        Some((a, b)) => t >= a || t < b,
    }
}

/// A checkpoint of a round, as served.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointView {
    /// Station.
    pub station: String,
    /// Planned time.
    pub planned_at: Timestamp,
    /// When the badge was tapped.
    pub tapped_at: Option<Timestamp>,
    /// Who tapped it.
    pub guard: Option<String>,
    /// `on_time`, `late`, `early`, `out_of_order`, `too_fast`, `missed`, or none yet.
    pub verdict: Option<String>,
}

/// A round, planned against actual.
#[derive(Debug, Clone, Serialize)]
pub struct RoundView {
    /// Id.
    pub id: i64,
    /// Route.
    pub route: String,
    /// Planned start.
    pub start: Timestamp,
    /// `open` or `done`.
    pub status: String,
    /// Guard who walked it.
    pub guard: Option<String>,
    /// Share of checkpoints reached (any verdict but missed), once done.
    pub completion: Option<f64>,
    /// Checkpoints in order.
    pub checkpoints: Vec<CheckpointView>,
    /// What the guard found at its checkpoints.
    pub findings: Vec<crate::findings::Finding>,
}

/// What the round engine asks the daemon to do after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A checkpoint's window closed without a tap.
    Missed {
        /// Route.
        route: String,
        /// Station.
        station: String,
        /// Round.
        round: i64,
    },
    /// A guard on a round stopped moving.
    LoneWorker {
        /// Route.
        route: String,
        /// Guard.
        guard: String,
        /// Round.
        round: i64,
        /// The checkpoint that was due.
        station: String,
    },
    /// A round is over.
    Done {
        /// Route.
        route: String,
        /// Round.
        round: i64,
        /// Share reached.
        completion: f64,
        /// Checkpoints missed.
        missed: u32,
    },
}

/// Creates the rounds that started by `now` (looking back one day).
pub fn plan(conn: &Connection, catalog: &Catalog, now: Timestamp) -> rusqlite::Result<()> {
    let tz = &catalog.site.hours.time_zone;
    for route in &catalog.patrol.routes {
        // Rounds under way now; rounds while the daemon was down are not made up.
        let span = route.leg * route.checkpoints.len() as u32 + route.window;
        // Rounds under way at a restart are planned (their taps wait in the
        // stations), but none that began before sitewarden first planned
        // the route: nobody expected those of it.
        conn.prepare_cached("INSERT OR IGNORE INTO route_start (route, first_us) VALUES (?1, ?2)")?
            .execute(params![route.id, micros(now)])?;
        let first: i64 = conn
            .prepare_cached("SELECT first_us FROM route_start WHERE route = ?1")?
            .query_row([&route.id], |r| r.get(0))?;
        let from = (now - span).max(from_micros(first));
        for start in round_starts(route, tz, from, now + route.window) {
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO round (route, start_us, status) VALUES (?1, ?2, 'open')",
                )?
                .execute(params![route.id, micros(start)])?;
            if inserted == 0 {
                continue;
            }
            let round = conn.last_insert_rowid();
            for (i, &station) in route.checkpoints.iter().enumerate() {
                let planned = start + route.leg * i as u32;
                conn.prepare_cached(
                    "INSERT INTO round_checkpoint (round, idx, station, planned_us) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![round, i as i64, catalog.patrol.stations[station].id, micros(planned)])?;
            }
        }
    }
    Ok(())
}

/// Matches an accepted tap to its round's checkpoint and judges it. The
/// rounds due by `now` are planned first: at start-up the collector can
/// read a tap kept in a station before the rounds stage's first review has
/// planned the round it belongs to, and that tap would match nothing.
pub fn on_tap(
    conn: &Connection,
    catalog: &Catalog,
    station: &str,
    guard: &str,
    tap: i64,
    (at, now): (Timestamp, Timestamp),
) -> rusqlite::Result<Option<String>> {
    plan(conn, catalog, now)?;
    for route in &catalog.patrol.routes {
        let span = route.leg * route.checkpoints.len().saturating_sub(1) as u32;
        let window = route.window;
        let candidate: Option<(i64, i64, i64)> = conn
            .prepare_cached(
                "SELECT c.round, c.idx, c.planned_us FROM round_checkpoint c JOIN round r ON r.id = c.round
                 WHERE r.route = ?1 AND r.status = 'open' AND c.station = ?2 AND c.tapped_us IS NULL
                 AND ?3 >= r.start_us - ?4 AND ?3 <= r.start_us + ?5 + ?4 AND (c.verdict IS NULL)
                 ORDER BY r.start_us LIMIT 1",
            )?
            .query_row(
                params![route.id, station, micros(at), window.as_micros() as i64, span.as_micros() as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((round, idx, _)) = candidate else {
            continue;
        };
        conn.execute(
            "UPDATE round_checkpoint SET tapped_us = ?3, tap = ?4, guard = ?5 WHERE round = ?1 AND idx = ?2",
            params![round, idx, micros(at), tap, guard],
        )?;
        conn.execute(
            "UPDATE round SET guard = coalesce(guard, ?2) WHERE id = ?1",
            params![round, guard],
        )?;
        return judge_taps(conn, route, round, idx).map(Some);
    }
    Ok(None)
}

/// Judges every tapped checkpoint of `round` again, in the order of the
/// taps' own times (not the order they were collected in: after an outage
/// the stations are read in any order); the verdict of checkpoint `idx`.
/// A tap is `out_of_order` while an earlier checkpoint is untapped or was
/// tapped after it, `too_fast` within `min_gap` of the tap before it, else
/// `late`, `early` or `on_time` against its planned time.
fn judge_taps(conn: &Connection, route: &Route, round: i64, idx: i64) -> rusqlite::Result<String> {
    let rows: Vec<(i64, i64, Option<i64>)> = conn
        .prepare_cached(
            "SELECT idx, planned_us, tapped_us FROM round_checkpoint WHERE round = ?1 ORDER BY idx",
        )?
        .query_map([round], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut taps: Vec<(i64, i64, i64)> = rows
        .iter()
        .filter_map(|&(i, planned, tapped)| Some((tapped?, i, planned)))
        .collect();
    taps.sort_unstable();
    let window = route.window.as_micros() as i64;
    let min_gap = route.min_gap.as_micros() as i64;
    let mut this = String::new();
    let mut previous: Option<i64> = None;
    for &(at, i, planned) in &taps {
        let skipped = rows
            .iter()
            .any(|&(j, _, tapped)| j < i && tapped.is_none_or(|t| t > at));
        let verdict = if skipped {
            "out_of_order"
        } else if previous.is_some_and(|p| min_gap > 0 && at - p < min_gap) {
            "too_fast"
        } else if at > planned + window {
            "late"
        } else if at < planned - window {
            "early"
        } else {
            "on_time"
        };
        conn.prepare_cached(
            "UPDATE round_checkpoint SET verdict = ?3 WHERE round = ?1 AND idx = ?2",
        )?
        .execute(params![round, i, verdict])?;
        if i == idx {
            this = verdict.to_owned();
        }
        previous = Some(at);
    }
    Ok(this)
}

/// How long after a checkpoint's window a station that has not been read
/// since makes the checkpoint `unknown`.
pub const UNREACHABLE_AFTER: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The checkpoint's station was read with nothing waiting after its window
/// closed (`c` is the checkpoint, `?2` the window).
const COLLECTED: &str = "EXISTS (SELECT 1 FROM station_state s WHERE s.station = c.station
     AND s.polled_us > c.planned_us + ?2 AND s.waiting = 0)";

/// [`COLLECTED`] for a statement on `round_checkpoint` itself.
const COLLECTED_HERE: &str =
    "EXISTS (SELECT 1 FROM station_state s WHERE s.station = round_checkpoint.station
     AND s.polled_us > round_checkpoint.planned_us + ?2 AND s.waiting = 0)";

/// Marks missed checkpoints (and unknown ones, whose station cannot be
/// read), finds guards who stopped moving, closes finished rounds.
pub fn review(
    conn: &Connection,
    catalog: &Catalog,
    now: Timestamp,
) -> rusqlite::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for route in &catalog.patrol.routes {
        let window = route.window.as_micros() as i64;
        // Missed only once the station has been read empty after the
        // checkpoint's window closed: a tap still queued in it (a gateway
        // that was down, a daemon restarted) is not a miss.
        let missed: Vec<(i64, String)> = conn
            .prepare_cached(&format!(
                "SELECT c.round, c.station FROM round_checkpoint c JOIN round r ON r.id = c.round
                 WHERE r.route = ?1 AND r.status = 'open' AND c.tapped_us IS NULL AND c.verdict IS NULL
                 AND c.planned_us + ?2 < ?3 AND {COLLECTED}"
            ))?
            .query_map(params![route.id, window, micros(now)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // A station not read since then cannot say: `unknown`, not a miss
        // (its own fault is the station's offline condition).
        conn.prepare_cached(&format!(
            "UPDATE round_checkpoint SET verdict = 'unknown'
             WHERE tapped_us IS NULL AND verdict IS NULL AND planned_us + ?2 + ?4 < ?3
             AND round IN (SELECT id FROM round WHERE route = ?1 AND status = 'open')
             AND NOT {COLLECTED_HERE}"
        ))?
        .execute(params![
            route.id,
            window,
            micros(now),
            UNREACHABLE_AFTER.as_micros() as i64
        ])?;
        for (round, station) in missed {
            conn.execute(
                "UPDATE round_checkpoint SET verdict = 'missed' WHERE round = ?1 AND station = ?2 AND tapped_us IS NULL",
                params![round, station],
            )?;
            findings.push(Finding::Missed {
                route: route.id.clone(),
                station,
                round,
            });
        }
        lone_workers(conn, route, now, &mut findings)?;
        let finished: Vec<i64> = conn
            .prepare_cached(
                "SELECT r.id FROM round r WHERE r.route = ?1 AND r.status = 'open' AND NOT EXISTS (
                     SELECT 1 FROM round_checkpoint c WHERE c.round = r.id AND c.verdict IS NULL)",
            )?
            .query_map([&route.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for round in finished {
            let (total, missed, unknown): (i64, i64, i64) = conn.query_row(
                "SELECT count(*), sum(verdict = 'missed'), sum(verdict = 'unknown')
                 FROM round_checkpoint WHERE round = ?1",
                [round],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                        r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                    ))
                },
            )?;
            let completion = if total == 0 {
                0.0
            } else {
                (total - missed - unknown) as f64 / total as f64
            };
            conn.execute(
                "UPDATE round SET status = 'done', completion = ?2 WHERE id = ?1",
                params![round, completion],
            )?;
            findings.push(Finding::Done {
                route: route.id.clone(),
                round,
                completion,
                missed: missed as u32,
            });
        }
    }
    Ok(findings)
}

fn lone_workers(
    conn: &Connection,
    route: &Route,
    now: Timestamp,
    findings: &mut Vec<Finding>,
) -> rusqlite::Result<()> {
    let rounds: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, guard FROM round WHERE route = ?1 AND guard IS NOT NULL AND lone_alerted = 0 AND start_us > ?2",
        )?
        .query_map(params![route.id, micros(now) - 86_400_000_000], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (round, guard) in rounds {
        let next: Option<(String, i64)> = conn
            .query_row(
                "SELECT station, planned_us FROM round_checkpoint WHERE round = ?1 AND tapped_us IS NULL
                 AND idx > (SELECT max(idx) FROM round_checkpoint WHERE round = ?1 AND tapped_us IS NOT NULL)
                 ORDER BY idx LIMIT 1",
                [round],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((station, planned)) = next else {
            continue;
        };
        if micros(now) > planned + route.lone_worker_after.as_micros() as i64 {
            conn.execute("UPDATE round SET lone_alerted = 1 WHERE id = ?1", [round])?;
            findings.push(Finding::LoneWorker {
                route: route.id.clone(),
                guard,
                round,
                station,
            });
        }
    }
    Ok(())
}

/// Rounds, newest first.
pub fn rounds(
    conn: &Connection,
    route: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<RoundView>> {
    let mut out: Vec<RoundView> = conn
        .prepare_cached(
            "SELECT id, route, start_us, status, guard, completion FROM round WHERE (?1 IS NULL OR route = ?1)
             ORDER BY start_us DESC LIMIT ?2",
        )?
        .query_map(params![route, limit as i64], |r| {
            Ok(RoundView {
                id: r.get(0)?,
                route: r.get(1)?,
                start: from_micros(r.get(2)?),
                status: r.get(3)?,
                guard: r.get(4)?,
                completion: r.get(5)?,
                checkpoints: Vec::new(),
                findings: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    for round in &mut out {
        round.checkpoints = conn
            .prepare_cached(
                "SELECT station, planned_us, tapped_us, guard, verdict FROM round_checkpoint WHERE round = ?1 ORDER BY idx",
            )?
            .query_map([round.id], |r| {
                Ok(CheckpointView {
                    station: r.get(0)?,
                    planned_at: from_micros(r.get(1)?),
                    tapped_at: r.get::<_, Option<i64>>(2)?.map(from_micros),
                    guard: r.get(3)?,
                    verdict: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        round.findings = crate::findings::list(conn, Some(round.id), 100)?;
        round.findings.reverse();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PatrolStore;

    fn catalog(dir: &std::path::Path) -> Catalog {
        std::fs::write(dir.join("k"), "11".repeat(32)).unwrap();
        let stations: String = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, id)| {
                format!(
                    "[[patrol.stations]]\nid = \"{id}\"\ncheckpoint = {}\ngateway = \"127.0.0.1:1\"\nkey = {{ file = \"k\" }}\n\n",
                    i + 1
                )
            })
            .collect();
        std::fs::write(
            dir.join("site.toml"),
            format!(
                "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"Asia/Shanghai\"\n\n{stations}\
                 [[patrol.guards]]\nid = \"g\"\nname = \"G\"\nbadges = [\"04A1B2C3\"]\n\n\
                 [[patrol.routes]]\nid = \"night\"\ncheckpoints = [\"a\", \"b\", \"c\"]\nevery = \"2h\"\nhours = \"20:00-08:00\"\n\
                 leg = \"10m\"\nwindow = \"3m\"\nmin_gap = \"1m\"\nlone_worker_after = \"15m\"\n"
            ),
        )
        .unwrap();
        sitewarden_config::load(&dir.join("site.toml")).unwrap()
    }

    fn ts(t: &str) -> Timestamp {
        t.parse().unwrap()
    }

    /// The test site's catalog and a fresh patrol store, both in `dir`.
    fn site(dir: &std::path::Path) -> (Catalog, PatrolStore) {
        (catalog(dir), PatrolStore::open(dir).unwrap())
    }

    /// `m` minutes after the start of the 20:00 local round of 2027-01-01
    /// (12:00 UTC).
    fn round_at_20(m: i64) -> Timestamp {
        ts("2027-01-01T12:00:00Z") + jiff::SignedDuration::from_mins(m)
    }

    #[test]
    fn rounds_every_two_hours_from_20_00_to_08_00_cross_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let tz = &c.site.hours.time_zone;
        // 2027-01-01 18:00 to 2027-01-02 10:00 local (UTC+8).
        let starts = round_starts(
            &c.patrol.routes[0],
            tz,
            ts("2027-01-01T10:00:00Z"),
            ts("2027-01-02T02:00:00Z"),
        );
        let local: Vec<String> = starts
            .iter()
            .map(|s| s.to_zoned(tz.clone()).strftime("%d %H:%M").to_string())
            .collect();
        assert_eq!(
            local,
            [
                "01 20:00", "01 22:00", "02 00:00", "02 02:00", "02 04:00", "02 06:00"
            ]
        );
    }

    #[test]
    fn a_round_walked_late_out_of_order_and_missing_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (c, store) = site(dir.path());
        // The daemon ran before the round.
        let at = round_at_20;
        store.with(|conn| plan(conn, &c, at(-5))).unwrap();
        store.with(|conn| plan(conn, &c, at(1))).unwrap();
        // a on time (planned 0 min), c before b (out of order), b never.
        let v = store
            .with(|conn| on_tap(conn, &c, "a", "g", 1, (at(1), at(1))))
            .unwrap();
        assert_eq!(v.as_deref(), Some("on_time"));
        let v = store
            .with(|conn| on_tap(conn, &c, "c", "g", 2, (at(19), at(19))))
            .unwrap();
        assert_eq!(v.as_deref(), Some("out_of_order"));
        // b's window (10 ± 3 min) closes at 13 min; lone worker 15 min after b was due (10 + 15).
        // Until b's station has been read empty since, nothing is missed:
        // the tap may still be waiting in it.
        let findings = store.with(|conn| review(conn, &c, at(14))).unwrap();
        assert!(findings.is_empty(), "{findings:?}");
        store.polled("b", 1, 600, 0, 2, at(14)).unwrap();
        let findings = store.with(|conn| review(conn, &c, at(14))).unwrap();
        assert!(findings.is_empty(), "taps still waiting in b: {findings:?}");
        store.polled("b", 1, 601, 0, 0, at(14)).unwrap();
        let findings = store.with(|conn| review(conn, &c, at(14))).unwrap();
        assert!(
            findings.contains(&Finding::Missed {
                route: "night".into(),
                station: "b".into(),
                round: 1
            }),
            "{findings:?}"
        );
        let done: Vec<(f64, u32)> = findings
            .iter()
            .filter_map(|f| match f {
                Finding::Done {
                    completion, missed, ..
                } => Some((*completion, *missed)),
                _ => None,
            })
            .collect();
        assert_eq!(
            done,
            [(2.0 / 3.0, 1)],
            "only the round under way is planned and closed"
        );
        let rounds = store.with(|conn| rounds(conn, Some("night"), 10)).unwrap();
        let verdicts: Vec<Option<String>> = rounds[0]
            .checkpoints
            .iter()
            .map(|c| c.verdict.clone())
            .collect();
        assert_eq!(
            verdicts,
            [
                Some("on_time".into()),
                Some("missed".into()),
                Some("out_of_order".into())
            ]
        );
        assert_eq!(rounds[0].guard.as_deref(), Some("g"));
    }

    #[test]
    fn a_tap_collected_before_the_first_review_after_a_restart_finds_its_round() {
        let dir = tempfile::tempdir().unwrap();
        let (c, store) = site(dir.path());
        let at = round_at_20;
        // The daemon ran before the round and was down while it was walked.
        store.with(|conn| plan(conn, &c, at(-5))).unwrap();
        // Back at 15 min: the collector reads a's kept tap (1 min) before
        // the rounds stage has planned anything since the restart.
        let v = store
            .with(|conn| on_tap(conn, &c, "a", "g", 1, (at(1), at(15))))
            .unwrap();
        assert_eq!(v.as_deref(), Some("on_time"));
    }

    #[test]
    fn late_too_fast_and_a_guard_who_stopped_moving() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let store = PatrolStore::open(dir.path()).unwrap();
        let start = ts("2027-01-01T14:00:00Z"); // 22:00 local
        let at = |s: i64| start + jiff::SignedDuration::from_secs(s);
        store.with(|conn| plan(conn, &c, at(0))).unwrap();
        assert_eq!(
            store
                .with(|conn| on_tap(conn, &c, "a", "g", 1, (at(5 * 60), at(5 * 60))))
                .unwrap()
                .as_deref(),
            Some("late")
        );
        // b 30 s after a: faster than the 1 min minimum.
        assert_eq!(
            store
                .with(|conn| on_tap(conn, &c, "b", "g", 2, (at(5 * 60 + 30), at(5 * 60 + 30))))
                .unwrap()
                .as_deref(),
            Some("too_fast")
        );
        // c was due at 20 min; nothing by 20 + 15 min: the guard is checked on.
        assert!(
            store
                .with(|conn| review(conn, &c, at(34 * 60)))
                .unwrap()
                .iter()
                .all(|f| !matches!(f, Finding::LoneWorker { .. }))
        );
        let findings = store.with(|conn| review(conn, &c, at(36 * 60))).unwrap();
        assert!(
            findings
                .iter()
                .any(|f| matches!(f, Finding::LoneWorker { station, .. } if station == "c")),
            "{findings:?}"
        );
        // Raised once.
        let again = store.with(|conn| review(conn, &c, at(37 * 60))).unwrap();
        assert!(
            again
                .iter()
                .all(|f| !matches!(f, Finding::LoneWorker { .. }))
        );
    }

    #[test]
    fn a_checkpoint_whose_station_cannot_be_read_is_unknown_not_missed() {
        let dir = tempfile::tempdir().unwrap();
        let (c, store) = site(dir.path());
        let at = round_at_20;
        store.with(|conn| plan(conn, &c, at(-5))).unwrap();
        store.with(|conn| plan(conn, &c, at(1))).unwrap();
        for (station, minute) in [("a", 1), ("b", 10)] {
            store
                .with(|conn| on_tap(conn, &c, station, "g", minute, (at(minute), at(minute))))
                .unwrap();
        }
        // c (due at 20, window to 23) is behind a gateway that is down:
        // read last before the round.
        store.polled("c", 1, 60, 0, 0, at(0)).unwrap();
        let findings = store.with(|conn| review(conn, &c, at(30))).unwrap();
        assert!(findings.is_empty(), "{findings:?}");
        // Ten minutes past the window it is unknown; the round closes without a miss.
        let findings = store.with(|conn| review(conn, &c, at(34))).unwrap();
        let done: Vec<(f64, u32)> = findings
            .iter()
            .filter_map(|f| match f {
                Finding::Done {
                    completion, missed, ..
                } => Some((*completion, *missed)),
                _ => None,
            })
            .collect();
        assert_eq!(done, [(2.0 / 3.0, 0)], "{findings:?}");
        assert!(!findings.iter().any(|f| matches!(f, Finding::Missed { .. })));
        let rounds = store.with(|conn| rounds(conn, Some("night"), 10)).unwrap();
        assert_eq!(rounds[0].checkpoints[2].verdict.as_deref(), Some("unknown"));
    }

    #[test]
    fn a_round_under_way_when_a_route_is_first_planned_is_nobodys() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let store = PatrolStore::open(dir.path()).unwrap();
        let start: Timestamp = "2027-01-01T12:00:00Z".parse().unwrap();
        let at = |m: i64| start + jiff::SignedDuration::from_mins(m);
        // First start five minutes into the 12:00 round: not planned.
        store.with(|conn| plan(conn, &c, at(5))).unwrap();
        let planned = store.with(|conn| rounds(conn, Some("night"), 10)).unwrap();
        assert!(planned.is_empty(), "{planned:?}");
        // The next round (14:00) is, and after a restart mid-round too.
        store.with(|conn| plan(conn, &c, at(125))).unwrap();
        let planned = store.with(|conn| rounds(conn, Some("night"), 10)).unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].start, at(120));
    }
}

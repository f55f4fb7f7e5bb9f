//! `[patrol]` in the site file: the NFC checkpoint stations the daemon
//! collects badge taps from, and the guards whose badges it knows.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::validate::{Validator, at, check_identifier};
use super::{ConfigDuration, SecretSource, Spanned};
use sitewarden_model::catalog::{Guard, PatrolSettings, PatrolStation, Route};

/// `[patrol]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatrolSection {
    /// Checkpoint stations.
    #[serde(default)]
    pub stations: Vec<StationSection>,
    /// Guards and their badges.
    #[serde(default)]
    pub guards: Vec<GuardSection>,
    /// Scheduled rounds.
    #[serde(default)]
    pub routes: Vec<RouteSection>,
}

/// `[[patrol.routes]]`: a round walked on a schedule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// Id.
    pub id: Spanned<String>,
    /// Station ids in the order they are walked.
    pub checkpoints: Vec<Spanned<String>>,
    /// A round starts this often, counted from local midnight.
    pub every: Spanned<ConfigDuration>,
    /// Only rounds starting inside `"HH:MM-HH:MM"` (site time; may run past midnight); all day when left out.
    #[serde(default)]
    pub hours: Option<Spanned<String>>,
    /// Planned time from one checkpoint to the next.
    pub leg: Spanned<ConfigDuration>,
    /// How far from its planned time a checkpoint still counts as on time.
    pub window: Spanned<ConfigDuration>,
    /// Two checkpoints reached faster than this are suspicious.
    #[serde(default = "default_min_gap")]
    pub min_gap: ConfigDuration,
    /// A guard on a round with no tap this long after the next checkpoint was due raises a guard-safety alert.
    #[serde(default = "default_lone_worker")]
    pub lone_worker_after: ConfigDuration,
}

fn default_min_gap() -> ConfigDuration {
    ConfigDuration::from_millis(0)
}

fn default_lone_worker() -> ConfigDuration {
    ConfigDuration::from_millis(10 * 60 * 1000)
}

/// `[[patrol.stations]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSection {
    /// Name used in the API and alerts (`lobby`).
    pub id: Spanned<String>,
    /// Checkpoint id the station writes into its records (its Modbus unit id too).
    pub checkpoint: Spanned<u16>,
    /// RS-485-to-Ethernet gateway the station's line is behind, `host:port` (Modbus RTU over TCP).
    pub gateway: Spanned<String>,
    /// The station's HMAC key: 64 hex digits, from a file or the environment.
    pub key: Spanned<SecretSource>,
    /// How often the station is asked for records.
    #[serde(default = "default_poll")]
    pub poll_interval: ConfigDuration,
    /// Where it is.
    #[serde(default)]
    pub location: Option<String>,
    /// What the guard checks at this checkpoint; a "not ok" opens a repair ticket.
    #[serde(default)]
    pub checklist: Vec<Spanned<String>>,
    /// Items of `checklist` whose "not ok" also raises a patrol alert.
    #[serde(default)]
    pub alert_on: Vec<Spanned<String>>,
}

fn default_poll() -> ConfigDuration {
    ConfigDuration::from_millis(1_000)
}

/// `[[patrol.guards]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSection {
    /// Id.
    pub id: Spanned<String>,
    /// Name.
    pub name: String,
    /// Badge UIDs in hex (`04A1B2C3`).
    pub badges: Vec<Spanned<String>>,
}

pub(super) fn check_patrol(
    v: &mut Validator<'_>,
    s: &PatrolSection,
    base_dir: &std::path::Path,
) -> Option<PatrolSettings> {
    let errors_before = v.error_count();
    let mut names = HashSet::new();
    let mut stations = Vec::new();
    for st in &s.stations {
        let pos = at(0, &st.id);
        check_identifier(v, &pos, "station id", st.id.get_ref());
        if !names.insert(st.id.get_ref().as_str()) {
            v.error(
                &pos,
                format!("station `{}` is defined twice", st.id.get_ref()),
            );
        }
        let checkpoint = *st.checkpoint.get_ref();
        if !(1..=247).contains(&checkpoint) {
            v.error(
                &at(0, &st.checkpoint),
                "checkpoint must be a Modbus unit id, 1 to 247",
            );
        }
        let gateway = st.gateway.get_ref().parse::<std::net::SocketAddr>().ok();
        if gateway.is_none() {
            v.error(
                &at(0, &st.gateway),
                format!("`{}` is not an IP address and port", st.gateway.get_ref()),
            );
        }
        let key = st
            .key
            .get_ref()
            .resolve(base_dir)
            .map_err(|e| v.error(&at(0, &st.key), e))
            .ok()
            .and_then(|secret| match parse_key(secret.expose()) {
                Some(k) => Some(k),
                None => {
                    v.error(&at(0, &st.key), "a station key is 64 hex digits (32 bytes)");
                    None
                }
            });
        let interval = st.poll_interval.0;
        if interval < Duration::from_millis(100) || interval > Duration::from_secs(60) {
            v.error(&pos, "poll_interval must be between 100ms and 60s");
        }
        if let (Some(gateway), Some(key)) = (gateway, key) {
            for item in &st.alert_on {
                if !st.checklist.iter().any(|c| c.get_ref() == item.get_ref()) {
                    v.error(
                        &at(0, item),
                        format!(
                            "`{}` is not an item of this station's checklist",
                            item.get_ref()
                        ),
                    );
                }
            }
            if let Some(empty) = st.checklist.iter().find(|c| c.get_ref().trim().is_empty()) {
                v.error(&at(0, empty), "a checklist item is empty");
            }
            stations.push(PatrolStation {
                id: st.id.get_ref().clone(),
                checkpoint,
                gateway,
                key,
                poll_interval: interval,
                location: st.location.clone(),
                checklist: st
                    .checklist
                    .iter()
                    .map(|c| c.get_ref().trim().to_owned())
                    .collect(),
                alert_on: st.alert_on.iter().map(|c| c.get_ref().clone()).collect(),
            });
        }
    }
    let mut badges = HashSet::new();
    let mut guards = Vec::new();
    for g in &s.guards {
        check_identifier(v, &at(0, &g.id), "guard id", g.id.get_ref());
        let mut parsed = Vec::new();
        for b in &g.badges {
            let text = b.get_ref().to_ascii_uppercase();
            let valid = text.len() % 2 == 0
                && matches!(text.len(), 8 | 14 | 20)
                && text.chars().all(|c| c.is_ascii_hexdigit());
            if !valid {
                v.error(
                    &at(0, b),
                    format!(
                        "`{}` is not a badge UID (4, 7 or 10 bytes in hex)",
                        b.get_ref()
                    ),
                );
            } else if !badges.insert(text.clone()) {
                v.error(
                    &at(0, b),
                    format!("badge `{}` belongs to two guards", b.get_ref()),
                );
            }
            parsed.push(text);
        }
        guards.push(Guard {
            id: g.id.get_ref().clone(),
            name: g.name.clone(),
            badges: parsed,
        });
    }
    let mut routes = Vec::new();
    for r in &s.routes {
        check_identifier(v, &at(0, &r.id), "route id", r.id.get_ref());
        let checkpoints: Vec<usize> = r
            .checkpoints
            .iter()
            .filter_map(|c| {
                let found = stations.iter().position(|st| &st.id == c.get_ref());
                // A station defined with errors has its own; only unknown names are reported here.
                if found.is_none() && !names.contains(c.get_ref().as_str()) {
                    v.error(
                        &at(0, c),
                        format!("no station `{}` in [[patrol.stations]]", c.get_ref()),
                    );
                }
                found
            })
            .collect();
        if r.checkpoints.is_empty() {
            v.error(&at(0, &r.id), "a route needs checkpoints");
        }
        let hours = r.hours.as_ref().and_then(|h| {
            let parsed = super::alerts::parse_range(h.get_ref());
            if parsed.is_none() {
                v.error(
                    &at(0, h),
                    format!("`{}` is not a range of hours (HH:MM-HH:MM)", h.get_ref()),
                );
            }
            parsed
        });
        for (d, name) in [(&r.every, "every"), (&r.leg, "leg"), (&r.window, "window")] {
            if d.get_ref().0.is_zero() {
                v.error(&at(0, d), format!("{name} must be more than zero"));
            }
        }
        let leg = r.leg.get_ref().0;
        let span = leg * r.checkpoints.len().saturating_sub(1) as u32 + r.window.get_ref().0;
        if span > r.every.get_ref().0 {
            v.error(
                &at(0, &r.every),
                "rounds would overlap: `every` is shorter than the round (legs plus window)",
            );
        }
        routes.push(Route {
            id: r.id.get_ref().clone(),
            checkpoints,
            every: r.every.get_ref().0,
            hours,
            leg,
            window: r.window.get_ref().0,
            min_gap: r.min_gap.0,
            lone_worker_after: r.lone_worker_after.0,
        });
    }
    (v.error_count() == errors_before).then_some(PatrolSettings {
        stations,
        guards,
        routes,
    })
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(key)
}

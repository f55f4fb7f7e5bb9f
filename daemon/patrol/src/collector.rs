//! Collects the taps of one checkpoint station (see [`super`]).

use sitewarden_runtime::clock;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use checkpoint_fw::record::{RECORD_LEN, TapRecord};
use jiff::Timestamp;
use tokio_modbus::client::{Context, Reader as _, Writer as _};
use tokio_modbus::prelude::{Slave, rtu};
use tracing::{info, warn};

use super::PatrolMetrics;
use super::store::{NewTap, PatrolStore};
use sitewarden_alerts::{AlertInput, AlertsHandle, Raise};
use sitewarden_model::catalog::{Catalog, PatrolStation};
use sitewarden_model::locale::Arg;
use sitewarden_model::vocab::AlertClass;
use sitewarden_model::vocab::Severity;
use sitewarden_runtime::backoff::Backoff;
use sitewarden_runtime::logging::LogLimiter;
use sitewarden_runtime::shutdown::Shutdown;

/// Longest wait for one answer.
const TIMEOUT: Duration = Duration::from_secs(1);

/// What a record read from a station turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A valid, new record from a known badge.
    Accepted,
    /// Valid and new, but the badge belongs to nobody.
    UnknownBadge,
    /// The tag does not verify, or the record names another station.
    Forged(String),
    /// A valid record older than the last one stored.
    Replayed(u32),
    /// The last record stored, read again (the daemon stopped before confirming): just release it.
    Duplicate,
}

/// Judges a record read from `station` given the last sequence number and
/// record stored for it.
pub fn judge(
    catalog: &Catalog,
    station: &PatrolStation,
    bytes: &[u8],
    last: (u32, Option<&[u8]>),
) -> (Verdict, Option<TapRecord>) {
    let record = match TapRecord::decode(bytes, &station.key) {
        Ok(r) => r,
        Err(e) => return (Verdict::Forged(format!("{e:?}")), None),
    };
    if record.checkpoint != station.checkpoint {
        return (
            Verdict::Forged(catalog.site.messages.text(
                "patrol-tap-other-checkpoint",
                &[("checkpoint", Arg::Number(i64::from(record.checkpoint)))],
            )),
            Some(record),
        );
    }
    let (last_seq, last_bytes) = last;
    if record.seq <= last_seq {
        if record.seq == last_seq && last_bytes == Some(bytes) {
            return (Verdict::Duplicate, Some(record));
        }
        return (Verdict::Replayed(last_seq), Some(record));
    }
    let badge = hex(record.uid());
    if catalog.patrol.guard_of(&badge).is_none() {
        return (Verdict::UnknownBadge, Some(record));
    }
    (Verdict::Accepted, Some(record))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Polls one station until shutdown.
pub async fn run(
    catalog: Arc<Catalog>,
    station: usize,
    store: Arc<PatrolStore>,
    alerts: AlertsHandle,
    tickets: sitewarden_tickets::TicketsHandle,
    metrics: Arc<PatrolMetrics>,
    mut shutdown: Shutdown,
) {
    let Some(s) = catalog.patrol.stations.get(station).cloned() else {
        return;
    };
    let mut queue_full = false;
    let mut backoff = Backoff::new(s.poll_interval, Duration::from_secs(30));
    let mut limiter = LogLimiter::new(Duration::from_secs(60));
    let mut ctx: Option<Context> = None;
    loop {
        let link = Link {
            ctx: &mut ctx,
            queue_full: &mut queue_full,
            tickets: &tickets,
        };
        let wait = match poll(&catalog, &s, link, &store, &alerts, &metrics).await {
            Ok(more) => {
                backoff.reset();
                if more {
                    Duration::ZERO
                } else {
                    s.poll_interval
                }
            }
            Err(e) => {
                ctx = None;
                metrics.poll_failures.fetch_add(1, Relaxed);
                if limiter.allow().is_some() {
                    warn!(station = %s.id, gateway = %s.gateway, error = %e, "checkpoint station unreachable; retrying");
                }
                backoff.next_delay()
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.wait() => return,
        }
    }
}

/// One poll: health, then the oldest record if one waits. `Ok(true)` when more wait.
/// A station's connection and what the collector remembers between polls.
struct Link<'a> {
    ctx: &'a mut Option<Context>,
    queue_full: &'a mut bool,
    tickets: &'a sitewarden_tickets::TicketsHandle,
}

async fn poll(
    catalog: &Arc<Catalog>,
    s: &PatrolStation,
    link: Link<'_>,
    store: &Arc<PatrolStore>,
    alerts: &AlertsHandle,
    metrics: &PatrolMetrics,
) -> anyhow::Result<bool> {
    let Link {
        ctx,
        queue_full,
        tickets,
    } = link;
    if ctx.is_none() {
        let stream =
            tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(s.gateway)).await??;
        *ctx = Some(rtu::attach_slave(stream, Slave(s.checkpoint as u8)));
    }
    let Some(c) = ctx.as_mut() else {
        return Ok(false);
    };
    let head = tokio::time::timeout(TIMEOUT, c.read_holding_registers(0, 10)).await???;
    anyhow::ensure!(
        head.len() == 10 && head[0] == checkpoint_fw::modbus::IDENTITY,
        "not a checkpoint station"
    );
    let (boot, health, waiting) = (head[3], head[5], head[4]);
    let uptime = (u32::from(head[8]) << 16) | u32::from(head[9]);
    let now = clock::now();
    {
        let store = store.clone();
        let id = s.id.clone();
        let _ = tokio::task::spawn_blocking(move || {
            store.polled(&id, boot, uptime, health, waiting, now)
        })
        .await;
    }
    let full = health & checkpoint_fw::station::HEALTH_QUEUE_FULL != 0;
    if full && !*queue_full {
        warn!(station = %s.id, waiting, "checkpoint station queue full: it refuses taps until records are collected");
        let ticket = queue_full_ticket(catalog, s, now);
        let input = sitewarden_tickets::store::ConditionInput::Raised(Box::new(ticket));
        if let Err(e) = tickets.apply_conditions(vec![input]).await {
            warn!(error = %e, "cannot open a ticket for the full station");
        }
    }
    *queue_full = full;
    if waiting == 0 {
        return Ok(false);
    }
    let words = tokio::time::timeout(TIMEOUT, c.read_holding_registers(16, 21)).await???;
    anyhow::ensure!(words.len() == 21, "short record read");
    if usize::from(words[0]) != RECORD_LEN {
        return Ok(false);
    }
    let bytes: Vec<u8> = words[1..].iter().flat_map(|w| w.to_be_bytes()).collect();
    let last = {
        let store = store.clone();
        let id = s.id.clone();
        tokio::task::spawn_blocking(move || store.last(&id)).await??
    };
    let (verdict, record) = judge(catalog, s, &bytes, (last.0, last.1.as_deref()));
    let claimed_seq = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if verdict != Verdict::Duplicate {
        let tap = describe(
            catalog,
            s,
            &verdict,
            record.as_ref(),
            &bytes,
            now,
            boot,
            uptime,
        );
        let (guard, at) = (tap.guard.clone(), tap.at);
        let stored = {
            let store = store.clone();
            let station = s.id.clone();
            tokio::task::spawn_blocking(move || {
                store.store(&NewTap {
                    station: &station,
                    ..tap.as_new()
                })
            })
            .await??
        };
        report(
            s,
            &verdict,
            record.as_ref(),
            last.0,
            stored,
            alerts,
            metrics,
        )
        .await;
        if let (Verdict::Accepted, Some(guard)) = (&verdict, guard) {
            let (store, catalog, station) = (store.clone(), catalog.clone(), s.id.clone());
            let judged = tokio::task::spawn_blocking(move || {
                store.with(|conn| {
                    super::rounds::on_tap(conn, &catalog, &station, &guard, stored, (at, now))
                })
            })
            .await;
            if let Ok(Ok(Some(v))) = judged {
                info!(station = %s.id, verdict = %v, "checkpoint reached");
            }
        }
    }
    // Release it: the station refuses anything but its oldest record, so a
    // forged sequence number releases nothing.
    let confirm = tokio::time::timeout(
        TIMEOUT,
        c.write_multiple_registers(48, &[(claimed_seq >> 16) as u16, claimed_seq as u16]),
    )
    .await??;
    if let Err(exception) = confirm {
        warn!(station = %s.id, seq = claimed_seq, ?exception, "the station did not release the record");
    }
    Ok(waiting > 1)
}

/// An owned tap description (the store borrows from it).
struct TapDescription {
    seq: Option<u32>,
    badge: Option<String>,
    guard: Option<String>,
    boot: Option<u16>,
    uptime_s: Option<u32>,
    at: Timestamp,
    received_at: Timestamp,
    verdict: &'static str,
    detail: Option<String>,
    record: Vec<u8>,
}

impl TapDescription {
    fn as_new(&self) -> NewTap<'_> {
        NewTap {
            station: "",
            seq: self.seq,
            badge: self.badge.clone(),
            guard: self.guard.clone(),
            boot: self.boot,
            uptime_s: self.uptime_s,
            at: self.at,
            received_at: self.received_at,
            verdict: self.verdict,
            detail: self.detail.clone(),
            record: &self.record,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn describe(
    catalog: &Catalog,
    s: &PatrolStation,
    verdict: &Verdict,
    record: Option<&TapRecord>,
    bytes: &[u8],
    now: Timestamp,
    boot_now: u16,
    uptime_now: u32,
) -> TapDescription {
    // Stations have no clock: a tap of this boot happened `uptime_now - uptime` seconds ago.
    let at = record
        .filter(|r| r.boot == boot_now && r.uptime_s <= uptime_now)
        .map_or(now, |r| {
            now - Duration::from_secs(u64::from(uptime_now - r.uptime_s))
        });
    let badge = record.map(|r| hex(r.uid()));
    let guard = badge
        .as_deref()
        .and_then(|b| catalog.patrol.guard_of(b))
        .map(|g| g.id.clone());
    let m = &catalog.site.messages;
    let (name, detail) = match verdict {
        Verdict::Accepted => ("accepted", None),
        Verdict::UnknownBadge => (
            "unknown_badge",
            Some(m.text("patrol-tap-unknown-badge", &[])),
        ),
        Verdict::Forged(why) => (
            "forged",
            Some(m.text(
                "patrol-tap-forged",
                &[("station", Arg::Text(&s.id)), ("why", Arg::Text(why))],
            )),
        ),
        Verdict::Replayed(last) => (
            "replayed",
            Some(m.text(
                "patrol-tap-replayed",
                &[("last", Arg::Number(i64::from(*last)))],
            )),
        ),
        Verdict::Duplicate => ("duplicate", None),
    };
    TapDescription {
        seq: record.map(|r| r.seq),
        badge,
        guard,
        boot: record.map(|r| r.boot),
        uptime_s: record.map(|r| r.uptime_s),
        at,
        received_at: now,
        verdict: name,
        detail,
        record: bytes.to_vec(),
    }
}

/// Logs, counts and raises the alerts a verdict calls for.
async fn report(
    s: &PatrolStation,
    verdict: &Verdict,
    record: Option<&TapRecord>,
    last_seq: u32,
    tap_id: i64,
    alerts: &AlertsHandle,
    metrics: &PatrolMetrics,
) {
    if let Some(r) = record
        && matches!(verdict, Verdict::Accepted | Verdict::UnknownBadge)
    {
        metrics.accepted.fetch_add(1, Relaxed);
        info!(station = %s.id, seq = r.seq, badge = %hex(r.uid()), tap = tap_id, "badge tap collected");
        if last_seq != 0 && r.seq > last_seq + 1 {
            metrics
                .gaps
                .fetch_add(u64::from(r.seq - last_seq - 1), Relaxed);
            warn!(station = %s.id, from = last_seq + 1, to = r.seq - 1, "records missing from the station's sequence");
        }
    }
    let (what, message) = match verdict {
        Verdict::Forged(_) => ("forged", "patrol-forged"),
        Verdict::Replayed(_) => ("replayed", "patrol-replayed"),
        Verdict::UnknownBadge => ("unknown-badge", "patrol-unknown-badge"),
        _ => return,
    };
    let m = &alerts.catalog.site.messages;
    let place = m.place(&s.id, s.location.as_deref(), &[]);
    let title = m.text(message, &[("station", Arg::Text(&place))]);
    if what != "unknown-badge" {
        metrics.rejected.fetch_add(1, Relaxed);
    }
    warn!(station = %s.id, tap = tap_id, "{title}");
    let raise = Raise {
        key: format!("patrol-{what}|{}", s.id),
        class: AlertClass::Intrusion,
        severity: Severity::Critical,
        rule: None,
        device: Some(s.id.clone()),
        location: s.location.clone(),
        title,
        point: format!("tap-{tap_id}"),
        zone: None,
        value: record.map(|r| f64::from(r.seq)),
        at: clock::now(),
        ends_on_ack: true,
    };
    if let Err(e) = alerts
        .apply(vec![AlertInput::Raised(Box::new(raise))])
        .await
    {
        warn!(error = %e, "cannot raise the patrol security alert");
    }
}

/// The repair ticket for a station whose flash queue is full.
fn queue_full_ticket(
    catalog: &Catalog,
    s: &PatrolStation,
    now: Timestamp,
) -> sitewarden_tickets::store::NewTicket {
    let priority = sitewarden_model::vocab::Priority::P2;
    let level = catalog.tickets.level(priority);
    let place = catalog
        .site
        .messages
        .place(&s.id, s.location.as_deref(), &[]);
    sitewarden_tickets::store::NewTicket {
        origin: sitewarden_tickets::Origin::Condition,
        category: sitewarden_model::vocab::Category::Repair,
        priority,
        title: catalog.site.messages.text(
            "ticket-station-queue-full",
            &[("station", Arg::Text(&place))],
        ),
        description: Some(
            catalog
                .site
                .messages
                .text("ticket-station-queue-full-description", &[]),
        ),
        device: Some(s.id.clone()),
        location: s.location.clone(),
        rule: Some("patrol.station_queue_full".into()),
        point: Some("health".into()),
        value: None,
        threshold: None,
        severity: Some(Severity::Major),
        requester: None,
        contact: None,
        dedup_key: Some(format!("patrol-queue-full:{}", s.id)),
        form: None,
        at: now,
        response_due: now + level.response,
        resolution_due: now + level.resolution,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(dir: &std::path::Path) -> Catalog {
        std::fs::write(dir.join("k"), "11".repeat(32)).unwrap();
        std::fs::write(
            dir.join("site.toml"),
            "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n\n[[patrol.stations]]\nid = \"lobby\"\ncheckpoint = 3\n\
             gateway = \"127.0.0.1:1\"\nkey = { file = \"k\" }\n\n[[patrol.guards]]\nid = \"g\"\nname = \"G\"\nbadges = [\"04A1B2C3\"]\n",
        )
        .unwrap();
        sitewarden_config::load(&dir.join("site.toml")).unwrap()
    }

    #[test]
    fn every_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let s = &c.patrol.stations[0];
        let record = |checkpoint, seq, uid: &[u8], key: &[u8; 32]| {
            TapRecord::new(checkpoint, seq, 1, 10, uid).encode(key)
        };
        let good = record(3, 5, &[0x04, 0xA1, 0xB2, 0xC3], &[0x11; 32]);
        assert_eq!(judge(&c, s, &good, (4, None)).0, Verdict::Accepted);
        assert_eq!(
            judge(&c, s, &good, (0, None)).0,
            Verdict::Accepted,
            "a gap is accepted (and reported)"
        );
        assert_eq!(judge(&c, s, &good, (5, Some(&good))).0, Verdict::Duplicate);
        assert_eq!(judge(&c, s, &good, (5, None)).0, Verdict::Replayed(5));
        assert_eq!(
            judge(&c, s, &good, (9, Some(&good))).0,
            Verdict::Replayed(9)
        );
        let stranger = record(3, 6, &[1, 2, 3, 4], &[0x11; 32]);
        assert_eq!(judge(&c, s, &stranger, (5, None)).0, Verdict::UnknownBadge);
        let forged = record(3, 6, &[0x04, 0xA1, 0xB2, 0xC3], &[0x66; 32]);
        assert!(matches!(
            judge(&c, s, &forged, (5, None)).0,
            Verdict::Forged(_)
        ));
        let elsewhere = record(9, 6, &[0x04, 0xA1, 0xB2, 0xC3], &[0x11; 32]);
        assert!(matches!(
            judge(&c, s, &elsewhere, (5, None)).0,
            Verdict::Forged(_)
        ));
        let mut altered = good;
        altered[12] ^= 1;
        assert!(matches!(
            judge(&c, s, &altered, (4, None)).0,
            Verdict::Forged(_)
        ));
    }
}

//! Shift check-in: the plan staffs security 24 hours a day, shift after
//! shift, and someone must be there. Each shift of a role in `[alerts]
//! check_in_roles` expects its person to check in (the console, `POST
//! /api/v1/duty/check-in`) within `check_in_within` of its start, with the
//! handover note of the shift before; a shift nobody checked in for raises
//! a `duty` alert (the supervisor's policy), which the late check-in ends.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};

use sitewarden_model::catalog::{AlertSettings, Catalog};

/// One shift start a check-in is expected for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftStart {
    /// On-duty role.
    pub role: String,
    /// Index into [`AlertSettings::people`].
    pub person: usize,
    /// When the shift starts.
    pub at: Timestamp,
}

/// The shifts of check-in roles starting in `[from, to)`, earliest first.
pub fn starts_between(
    settings: &AlertSettings,
    tz: &TimeZone,
    from: Timestamp,
    to: Timestamp,
) -> Vec<ShiftStart> {
    let mut out = Vec::new();
    let (Ok(first), Ok(last)) = (
        from.to_zoned(tz.clone()).date().checked_sub(1.day()),
        to.to_zoned(tz.clone()).date().checked_add(1.day()),
    ) else {
        return out;
    };
    let mut day: Date = first;
    while day <= last {
        let weekday = day.weekday().to_monday_zero_offset() as usize;
        for shift in settings
            .roster
            .iter()
            .filter(|s| settings.check_in_roles.contains(&s.role) && s.days[weekday])
        {
            let Ok(at) = day
                .to_datetime(shift.from)
                .to_zoned(tz.clone())
                .map(|z| z.timestamp())
            else {
                continue;
            };
            if from <= at && at < to {
                out.push(ShiftStart {
                    role: shift.role.clone(),
                    person: shift.person,
                    at,
                });
            }
        }
        let Ok(next) = day.checked_add(1.day()) else {
            break;
        };
        day = next;
    }
    out.sort_by_key(|s| s.at);
    out
}

/// The shift `person` checks in for at `now`: the latest of theirs that
/// started within its grace time before now, or starts within it after.
pub fn shift_to_check_in(catalog: &Catalog, person: usize, now: Timestamp) -> Option<ShiftStart> {
    let settings = &catalog.alerts;
    let grace = settings.check_in_within;
    let day = std::time::Duration::from_secs(86_400);
    let tz = &catalog.site.hours.time_zone;
    starts_between(settings, tz, now - day, now + grace)
        .into_iter()
        .filter(|s| s.person == person)
        // A shift that began long ago is checked in for while it runs: the
        // guard who arrived late still says so.
        .filter(|s| on_shift(settings, tz, s, now) || s.at > now)
        .min_by_key(|s| (s.at > now, std::cmp::Reverse(s.at)))
}

/// Whether `start`'s person still holds its role at `now`.
fn on_shift(settings: &AlertSettings, tz: &TimeZone, start: &ShiftStart, now: Timestamp) -> bool {
    now >= start.at
        && crate::escalation::on_duty(settings, tz, &start.role, now).contains(&start.person)
}

/// The alert key of `person`'s missing check-in.
pub fn missing_key(role: &str, person: &str, start: Timestamp) -> String {
    format!("duty-check-in|{role}|{person}|{}", start.as_second())
}

/// Looks for missing check-ins whenever the next shift's grace runs out,
/// until shutdown.
pub async fn run(
    alerts: crate::AlertsHandle,
    mut shutdown: sitewarden_runtime::shutdown::Shutdown,
) {
    loop {
        let next = alerts.look_for_missing_check_ins().await;
        // At most an hour between looks: a clock step is caught up soon.
        let wait = next
            .map(|at| at.duration_since(sitewarden_runtime::clock::now()))
            .filter(|d| !d.is_negative())
            .map_or(std::time::Duration::from_secs(3600), |d| {
                d.unsigned_abs().min(std::time::Duration::from_secs(3600))
            });
        tokio::select! {
            () = tokio::time::sleep(wait + std::time::Duration::from_millis(5)) => {}
            () = shutdown.wait() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitewarden_model::catalog::Shift;

    fn settings() -> AlertSettings {
        let t = |h: i8| jiff::civil::time(h, 0, 0, 0);
        AlertSettings {
            roster: vec![
                Shift {
                    role: "security".into(),
                    person: 0,
                    days: [true; 7],
                    from: t(8),
                    to: t(20),
                },
                Shift {
                    role: "security".into(),
                    person: 1,
                    days: [true; 7],
                    from: t(20),
                    to: t(8),
                },
                Shift {
                    role: "cleaning".into(),
                    person: 2,
                    days: [true; 7],
                    from: t(6),
                    to: t(10),
                },
            ],
            check_in_roles: vec!["security".into()],
            ..AlertSettings::default()
        }
    }

    #[test]
    fn shift_starts_of_check_in_roles_only_in_local_time() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let from: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap(); // 08:00 local
        let to: Timestamp = "2027-01-02T00:00:00Z".parse().unwrap();
        let starts = starts_between(&settings(), &tz, from, to);
        let seen: Vec<(usize, String)> = starts
            .iter()
            .map(|s| (s.person, s.at.to_string()))
            .collect();
        assert_eq!(
            seen,
            [
                (0, "2027-01-01T00:00:00Z".to_owned()),
                (1, "2027-01-01T12:00:00Z".to_owned()),
            ]
        );
    }
}

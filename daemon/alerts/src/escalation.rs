//! Who is called: the shift roster resolved at a moment, and the steps a
//! policy takes when.
//!
//! An alert notifies its policy's first `first_steps_together` steps when it
//! is raised; every later step when the previous one's wait ran out without
//! an acknowledgement; after the last step, the last step again every
//! `repeat`. Deadlines follow the schedule, not the clock at which a step
//! was actually sent, so a daemon restarted after a deadline catches up at
//! once and then keeps the original rhythm.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use sitewarden_model::catalog::{AlertSettings, Policy, Recipient};

/// The people (indices into [`AlertSettings::people`]) holding `role` at `at`.
pub fn on_duty(settings: &AlertSettings, tz: &TimeZone, role: &str, at: Timestamp) -> Vec<usize> {
    let local = at.to_zoned(tz.clone());
    let time = local.time();
    let today = local.weekday().to_monday_zero_offset() as usize;
    let yesterday = (today + 6) % 7;
    let mut people: Vec<usize> = settings
        .roster
        .iter()
        .filter(|s| s.role == role)
        .filter(|s| {
            if s.from < s.to {
                s.days[today] && s.from <= time && time < s.to
            } else {
                // Runs past midnight: started today, or started yesterday and not over.
                (s.days[today] && time >= s.from) || (s.days[yesterday] && time < s.to)
            }
        })
        .map(|s| s.person)
        .collect();
    people.sort_unstable();
    people.dedup();
    people
}

/// Everyone a step's recipients stand for at `at`; roles nobody holds are returned apart.
pub fn resolve(
    settings: &AlertSettings,
    tz: &TimeZone,
    recipients: &[Recipient],
    at: Timestamp,
) -> (Vec<usize>, Vec<String>) {
    let mut people = Vec::new();
    let mut vacant = Vec::new();
    for r in recipients {
        match r {
            Recipient::Person(p) => people.push(*p),
            Recipient::Role(role) => {
                let holders = on_duty(settings, tz, role, at);
                if holders.is_empty() {
                    vacant.push(role.clone());
                }
                people.extend(holders);
            }
        }
    }
    people.sort_unstable();
    people.dedup();
    (people, vacant)
}

/// What happens when an alert's deadline comes: which steps to notify, the
/// next step index and the next deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Step indices to notify now.
    pub notify: Vec<usize>,
    /// Whether this is a repeat of the last step.
    pub repeat: bool,
    /// Repeats that fell due before `now` and are folded into this one.
    pub missed: u64,
    /// The step index stored for next time.
    pub next_step: usize,
    /// The next deadline, from the schedule.
    pub next_at: Timestamp,
}

/// The plan when an alert at step `step` reaches its deadline `due`, looked
/// at `now`.
///
/// Deadlines follow the schedule (`due + wait`), so a restart or a slow
/// tick does not shift them. But when the next deadline is already past
/// (the daemon was down, or the clock jumped forward), the schedule would
/// send every missed repeat at once, ten a second: instead the missed
/// repeats are folded into this notification (`missed` says how many) and
/// the next deadline is the first one of the schedule after `now`. A step
/// that is overdue goes out at once, and the step after it waits its full
/// `wait` from now, so people get the time the policy gives them.
pub fn plan(policy: &Policy, step: usize, due: Timestamp, now: Timestamp) -> Plan {
    let last = policy.steps.len().saturating_sub(1);
    if step == 0 {
        let together = policy
            .first_steps_together
            .clamp(1, policy.steps.len().max(1));
        let notify: Vec<usize> = (0..together).collect();
        let wait = policy
            .steps
            .get(together - 1)
            .map_or(policy.repeat, |s| s.wait);
        return Plan {
            notify,
            repeat: false,
            missed: 0,
            next_step: together,
            next_at: not_before(due + wait, now + wait, now),
        };
    }
    if step <= last {
        let wait = policy.steps[step].wait;
        return Plan {
            notify: vec![step],
            repeat: false,
            missed: 0,
            next_step: step + 1,
            next_at: not_before(due + wait, now + wait, now),
        };
    }
    let (missed, next_at) = catch_up(due, policy.repeat, now);
    Plan {
        notify: vec![last],
        repeat: true,
        missed,
        next_step: step,
        next_at,
    }
}

/// `scheduled` unless it is already past `now`; then `fresh`.
fn not_before(scheduled: Timestamp, fresh: Timestamp, now: Timestamp) -> Timestamp {
    if scheduled > now { scheduled } else { fresh }
}

/// For a repeat due at `due` every `repeat`: how many further repeats fell
/// due up to `now` (folded into this one), and the first deadline of the
/// schedule after `now`. Saturating: a clock years off cannot overflow.
fn catch_up(due: Timestamp, repeat: std::time::Duration, now: Timestamp) -> (u64, Timestamp) {
    let repeat_us = i64::try_from(repeat.as_micros()).unwrap_or(i64::MAX).max(1);
    let behind_us = now
        .as_microsecond()
        .saturating_sub(due.as_microsecond())
        .max(0);
    let missed = behind_us / repeat_us;
    let next_us = due
        .as_microsecond()
        .saturating_add(missed.saturating_add(1).saturating_mul(repeat_us));
    let next_at = Timestamp::from_microsecond(next_us).unwrap_or(Timestamp::MAX);
    (missed as u64, next_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;
    use sitewarden_model::catalog::{Shift, Step};
    use std::time::Duration;

    fn settings() -> AlertSettings {
        let person = |id: &str| sitewarden_model::catalog::Person {
            id: id.into(),
            name: id.into(),
            email: None,
            phone: None,
            login: None,
        };
        let weekdays = [true, true, true, true, true, false, false];
        AlertSettings {
            people: vec![person("day"), person("night"), person("weekend")],
            roster: vec![
                Shift {
                    role: "duty".into(),
                    person: 0,
                    days: weekdays,
                    from: time(8, 0, 0, 0),
                    to: time(20, 0, 0, 0),
                },
                Shift {
                    role: "duty".into(),
                    person: 1,
                    days: weekdays,
                    from: time(20, 0, 0, 0),
                    to: time(8, 0, 0, 0),
                },
                Shift {
                    role: "duty".into(),
                    person: 2,
                    days: [false, false, false, false, false, true, true],
                    from: time(0, 0, 0, 0),
                    to: time(23, 59, 0, 0),
                },
            ],
            ..AlertSettings::default()
        }
    }

    #[test]
    fn who_is_on_duty_at_three_on_a_sunday_and_after_a_friday_night() {
        let s = settings();
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        // 2027-01-03 is a Sunday; 03:00 local is 19:00 UTC on Saturday.
        assert_eq!(
            on_duty(&s, &tz, "duty", at("2027-01-02T19:00:00Z")),
            vec![2]
        );
        // Saturday 03:00 local: the night shift that began on Friday 20:00, and the weekend shift.
        assert_eq!(
            on_duty(&s, &tz, "duty", at("2027-01-01T19:00:00Z")),
            vec![1, 2]
        );
        // Monday 10:00 local.
        assert_eq!(
            on_duty(&s, &tz, "duty", at("2027-01-04T02:00:00Z")),
            vec![0]
        );
        // Monday 07:59 local: the night shift began on Sunday, which is not one of its days.
        assert_eq!(
            on_duty(&s, &tz, "duty", at("2027-01-03T23:59:00Z")),
            Vec::<usize>::new()
        );
        let (people, vacant) = resolve(
            &s,
            &tz,
            &[Recipient::Role("duty".into()), Recipient::Person(0)],
            at("2027-01-03T23:59:00Z"),
        );
        assert_eq!(people, vec![0]);
        assert_eq!(vacant, vec!["duty".to_owned()]);
    }

    #[test]
    fn steps_then_the_last_step_repeats_on_the_schedule() {
        let step = |secs| Step {
            notify: vec![],
            channels: vec![],
            wait: Duration::from_secs(secs),
        };
        let policy = Policy {
            steps: vec![step(60), step(120), step(300)],
            repeat: Duration::from_secs(600),
            first_steps_together: 1,
        };
        let t0: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let p = plan(&policy, 0, t0, t0);
        assert_eq!(
            (p.notify.clone(), p.next_step, p.next_at),
            (vec![0], 1, t0 + Duration::from_secs(60))
        );
        let p = plan(&policy, 1, p.next_at, p.next_at);
        assert_eq!(
            (p.notify.clone(), p.next_step, p.next_at),
            (vec![1], 2, t0 + Duration::from_secs(180))
        );
        let p = plan(&policy, 2, p.next_at, p.next_at);
        assert_eq!(
            (p.notify.clone(), p.next_step, p.next_at),
            (vec![2], 3, t0 + Duration::from_secs(480))
        );
        let p = plan(&policy, 3, p.next_at, p.next_at);
        assert!(p.repeat);
        assert_eq!(
            (p.notify.clone(), p.next_step, p.next_at),
            (vec![2], 3, t0 + Duration::from_secs(1080))
        );
        let together = Policy {
            first_steps_together: 2,
            ..policy
        };
        let p = plan(&together, 0, t0, t0);
        assert_eq!(
            (p.notify, p.next_step, p.next_at),
            (vec![0, 1], 2, t0 + Duration::from_secs(120))
        );
    }

    #[test]
    fn repeats_missed_while_down_fold_into_one_and_keep_the_schedule() {
        let step = |secs| Step {
            notify: vec![],
            channels: vec![],
            wait: Duration::from_secs(secs),
        };
        let policy = Policy {
            steps: vec![step(60), step(120)],
            repeat: Duration::from_secs(6),
            first_steps_together: 1,
        };
        let due: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let s = |secs: u64| due + Duration::from_secs(secs);
        // On time: one repeat, next one 6 s on, nothing missed.
        let p = plan(&policy, 2, due, due + Duration::from_millis(80));
        assert_eq!((p.repeat, p.missed, p.next_at), (true, 0, s(6)));
        // Down 30 s: the repeats of 6, 12, 18, 24 and 30 s fold into this
        // one, and the next is the schedule's first deadline after now.
        let p = plan(&policy, 2, due, s(30) + Duration::from_millis(500));
        assert_eq!((p.notify, p.missed, p.next_at), (vec![1], 5, s(36)));
        // A night's outage is still one notification.
        let p = plan(&policy, 2, due, s(10 * 3600));
        assert_eq!((p.missed, p.next_at), (6000, s(10 * 3600 + 6)));
        // A clock years ahead saturates instead of overflowing.
        let p = plan(&policy, 2, due, Timestamp::MAX);
        assert!(p.missed > 0 && p.next_at >= due);
        // An overdue step goes out now; the next waits its full time from now.
        let p = plan(&policy, 1, due, s(600));
        assert_eq!((p.notify, p.repeat, p.next_at), (vec![1], false, s(720)));
    }
}

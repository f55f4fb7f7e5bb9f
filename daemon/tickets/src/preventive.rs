//! Calendar maintenance: when a preventive schedule next falls due.
//!
//! Times are local to the site: "the 1st of every month at 09:00" stays at
//! 09:00 across daylight-saving changes, a time that does not exist on a
//! spring-forward day moves to just after the gap, and day 31 falls on a
//! short month's last day. Run-hour maintenance (filters, lamps) is not here:
//! it is a `service_interval` rule whose ticket, once accepted, resets the
//! counter.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};

use sitewarden_model::catalog::CalendarRule;

/// The first occurrence of the schedule strictly after `after`.
pub fn next_due(
    rule: CalendarRule,
    at: Time,
    tz: &TimeZone,
    after: Timestamp,
) -> Option<Timestamp> {
    let mut date = after.to_zoned(tz.clone()).date();
    // A yearly schedule falls due at least once in any 366 days.
    for _ in 0..370 {
        if falls_on(rule, date) {
            let due = date.to_datetime(at).to_zoned(tz.clone()).ok()?.timestamp();
            if due > after {
                return Some(due);
            }
        }
        date = date.checked_add(1.day()).ok()?;
    }
    None
}

/// The latest occurrence at or before `now` after `last`, if one fell due.
pub fn latest_due(
    rule: CalendarRule,
    at: Time,
    tz: &TimeZone,
    last: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    let mut due = None;
    let mut cursor = last;
    while let Some(next) = next_due(rule, at, tz, cursor) {
        if next > now {
            break;
        }
        due = Some(next);
        cursor = next;
    }
    due
}

fn falls_on(rule: CalendarRule, date: Date) -> bool {
    let on_day = |day: u8| date.day() == (day as i8).min(date.days_in_month());
    match rule {
        CalendarRule::Daily => true,
        CalendarRule::Weekly(weekday) => date.weekday() == weekday,
        CalendarRule::Monthly(day) => on_day(day),
        CalendarRule::HalfMonthly(day) => on_day(day) || on_day(day + 15),
        CalendarRule::Quarterly { first_month, day } => {
            (date.month() - first_month as i8).rem_euclid(3) == 0 && on_day(day)
        }
        CalendarRule::Yearly { month, day } => date.month() == month as i8 && on_day(day),
        CalendarRule::EveryDays { n, start } => {
            let days = (date - start).get_days();
            date >= start && i64::from(days).rem_euclid(i64::from(n)) == 0
        }
        CalendarRule::Weekdays { days, n, start } => {
            let on = days & (1 << date.weekday().to_monday_zero_offset()) != 0;
            on && start.is_none_or(|start| {
                let weeks = (monday_of(date) - monday_of(start)).get_days() / 7;
                date >= start && i64::from(weeks).rem_euclid(i64::from(n)) == 0
            })
        }
        CalendarRule::MonthDays { days, n, start } => {
            let on = (1..=31u8).any(|d| days & (1 << d) != 0 && on_day(d));
            on && start.is_none_or(|start| {
                let months = (i32::from(date.year()) * 12 + i32::from(date.month()))
                    - (i32::from(start.year()) * 12 + i32::from(start.month()));
                date >= start && months.rem_euclid(i32::from(n)) == 0
            })
        }
    }
}

/// The Monday of `date`'s week.
fn monday_of(date: Date) -> Date {
    date.checked_sub(i64::from(date.weekday().to_monday_zero_offset()).days())
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, time};

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn day_31_falls_on_the_last_day_of_short_months_in_the_site_zone() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let rule = CalendarRule::Monthly(31);
        // 2027-01-31 09:00 +08 has passed; February has 28 days.
        let after = ts("2027-01-31T01:00:01Z");
        let due = next_due(rule, time(9, 0, 0, 0), &tz, after).unwrap();
        assert_eq!(due, ts("2027-02-28T01:00:00Z"));
        let next = next_due(rule, time(9, 0, 0, 0), &tz, due).unwrap();
        assert_eq!(next, ts("2027-03-31T01:00:00Z"));
        // April has 30.
        let april = next_due(rule, time(9, 0, 0, 0), &tz, next).unwrap();
        assert_eq!(april, ts("2027-04-30T01:00:00Z"));
    }

    #[test]
    fn a_month_end_crossed_at_midnight_local_is_not_midnight_utc() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        // 2027-03-31 23:30 local = 15:30 UTC: the next "1st at 00:15" is 30 min away.
        let after = ts("2027-03-31T15:30:00Z");
        let due = next_due(CalendarRule::Monthly(1), time(0, 15, 0, 0), &tz, after).unwrap();
        assert_eq!(due, ts("2027-03-31T16:15:00Z"));
    }

    #[test]
    fn local_time_holds_across_daylight_saving_changes() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let rule = CalendarRule::Daily;
        // Clocks go forward on 2027-03-28: 08:00 is 08:00 UTC before, 07:00 UTC after.
        let before = next_due(rule, time(8, 0, 0, 0), &tz, ts("2027-03-27T00:00:00Z")).unwrap();
        assert_eq!(before, ts("2027-03-27T08:00:00Z"));
        let after = next_due(rule, time(8, 0, 0, 0), &tz, before).unwrap();
        assert_eq!(after, ts("2027-03-28T07:00:00Z"));
        // 01:30 does not exist on the spring-forward day: it happens just after the gap.
        let gap = next_due(rule, time(1, 30, 0, 0), &tz, ts("2027-03-27T12:00:00Z")).unwrap();
        assert_eq!(gap, ts("2027-03-28T01:30:00Z"));
        // Clocks go back on 2027-10-31: 01:30 happens twice; the schedule fires once.
        let first = next_due(rule, time(1, 30, 0, 0), &tz, ts("2027-10-30T12:00:00Z")).unwrap();
        assert_eq!(first, ts("2027-10-31T00:30:00Z"));
        let next = next_due(rule, time(1, 30, 0, 0), &tz, first).unwrap();
        assert_eq!(next, ts("2027-11-01T01:30:00Z"));
    }

    #[test]
    fn weekly_schedules_fall_on_their_weekday() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        // 2027-01-01 is a Friday.
        let due = next_due(
            CalendarRule::Weekly(Weekday::Monday),
            time(7, 0, 0, 0),
            &tz,
            ts("2027-01-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(due, ts("2027-01-03T23:00:00Z"));
    }

    #[test]
    fn after_a_long_outage_only_the_latest_occurrence_is_due() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let latest = latest_due(
            CalendarRule::Daily,
            time(8, 0, 0, 0),
            &tz,
            ts("2027-01-01T00:00:00Z"),
            ts("2027-01-05T03:00:00Z"),
        );
        assert_eq!(latest, Some(ts("2027-01-05T00:00:00Z")));
        let none = latest_due(
            CalendarRule::Daily,
            time(8, 0, 0, 0),
            &tz,
            ts("2027-01-05T00:00:00Z"),
            ts("2027-01-05T03:00:00Z"),
        );
        assert_eq!(none, None);
    }

    #[test]
    fn half_monthly_falls_on_the_day_and_fifteen_days_later_across_month_end_and_dst() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let rule = CalendarRule::HalfMonthly(15);
        let at = time(2, 30, 0, 0);
        // February has no 30th: the second visit is on the 28th (CET, +01).
        let due = next_due(rule, at, &tz, ts("2027-02-15T02:00:00Z")).unwrap();
        assert_eq!(due, ts("2027-02-28T01:30:00Z"));
        // 15 March (CET), then 30 March after the clocks went forward on
        // the 28th (CEST, +02), then 15 April.
        let due = next_due(rule, at, &tz, ts("2027-03-01T00:00:00Z")).unwrap();
        assert_eq!(due, ts("2027-03-15T01:30:00Z"));
        let due = next_due(rule, at, &tz, due).unwrap();
        assert_eq!(due, ts("2027-03-30T00:30:00Z"));
        let due = next_due(rule, at, &tz, due).unwrap();
        assert_eq!(due, ts("2027-04-15T00:30:00Z"));
    }

    #[test]
    fn quarterly_falls_every_third_month_on_the_day_or_the_month_end_across_dst() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let rule = CalendarRule::Quarterly {
            first_month: 1,
            day: 31,
        };
        let at = time(9, 0, 0, 0);
        let mut due = ts("2027-01-31T09:00:00Z");
        let mut seen = Vec::new();
        for _ in 0..4 {
            due = next_due(rule, at, &tz, due).unwrap();
            seen.push(due);
        }
        // 30 April and 31 July in summer time (+02), 31 October after the
        // clocks went back that night (+01), 31 January (+01).
        assert_eq!(
            seen,
            [
                ts("2027-04-30T07:00:00Z"),
                ts("2027-07-31T07:00:00Z"),
                ts("2027-10-31T08:00:00Z"),
                ts("2028-01-31T08:00:00Z"),
            ]
        );
        // A quarter starting in March: March, June, September, December.
        let march = CalendarRule::Quarterly {
            first_month: 3,
            day: 1,
        };
        let due = next_due(march, at, &tz, ts("2027-03-02T00:00:00Z")).unwrap();
        assert_eq!(due, ts("2027-06-01T07:00:00Z"));
    }

    #[test]
    fn yearly_on_29_february_falls_on_the_28th_in_other_years() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let rule = CalendarRule::Yearly { month: 2, day: 29 };
        let at = time(9, 0, 0, 0);
        let due = next_due(rule, at, &tz, ts("2027-01-01T00:00:00Z")).unwrap();
        assert_eq!(due, ts("2027-02-28T01:00:00Z"));
        let due = next_due(rule, at, &tz, due).unwrap();
        assert_eq!(due, ts("2028-02-29T01:00:00Z"), "a leap year");
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    /// The next `count` occurrences after `from`.
    fn run(
        rule: CalendarRule,
        at: Time,
        tz: &TimeZone,
        from: &str,
        count: usize,
    ) -> Vec<Timestamp> {
        let mut due = ts(from);
        (0..count)
            .map(|_| {
                due = next_due(rule, at, tz, due).unwrap();
                due
            })
            .collect()
    }

    #[test]
    fn every_ten_days_counts_from_its_start_across_a_month_end_and_dst() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let rule = CalendarRule::EveryDays {
            n: 10,
            start: date("2027-03-12"),
        };
        // 12 and 22 March (CET, +01), 1 April after the clocks went forward (+02).
        assert_eq!(
            run(rule, time(9, 0, 0, 0), &tz, "2027-03-01T00:00:00Z", 3),
            [
                ts("2027-03-12T08:00:00Z"),
                ts("2027-03-22T08:00:00Z"),
                ts("2027-04-01T07:00:00Z"),
            ]
        );
    }

    #[test]
    fn chosen_weekdays_of_every_second_week_hold_their_local_time_across_dst() {
        let tz = TimeZone::get("Europe/London").unwrap();
        // Tuesdays and Fridays of every other week from Monday 2027-03-15.
        let rule = CalendarRule::Weekdays {
            days: 1 << 1 | 1 << 4,
            n: 2,
            start: Some(date("2027-03-15")),
        };
        assert_eq!(
            run(rule, time(8, 0, 0, 0), &tz, "2027-03-10T00:00:00Z", 4),
            [
                ts("2027-03-16T08:00:00Z"),
                ts("2027-03-19T08:00:00Z"),
                // Clocks went forward on the 28th: 08:00 BST is 07:00 UTC.
                ts("2027-03-30T07:00:00Z"),
                ts("2027-04-02T07:00:00Z"),
            ]
        );
        // Every week when no interval is asked.
        let weekly = CalendarRule::Weekdays {
            days: 1 << 0 | 1 << 3,
            n: 1,
            start: None,
        };
        assert_eq!(
            run(weekly, time(8, 0, 0, 0), &tz, "2027-01-01T00:00:00Z", 3),
            [
                ts("2027-01-04T08:00:00Z"),
                ts("2027-01-07T08:00:00Z"),
                ts("2027-01-11T08:00:00Z"),
            ]
        );
    }

    #[test]
    fn chosen_month_days_of_every_second_month_fall_on_a_short_months_last_day() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        // The 10th and the 31st of every other month from January 2027.
        let rule = CalendarRule::MonthDays {
            days: 1 << 10 | 1 << 31,
            n: 2,
            start: Some(date("2027-01-01")),
        };
        assert_eq!(
            run(rule, time(9, 0, 0, 0), &tz, "2027-01-15T00:00:00Z", 4),
            [
                ts("2027-01-31T01:00:00Z"),
                ts("2027-03-10T01:00:00Z"),
                ts("2027-03-31T01:00:00Z"),
                ts("2027-05-10T01:00:00Z"),
            ]
        );
        // A day past the end of a short month falls on its last day, once.
        let monthly = CalendarRule::MonthDays {
            days: 1 << 30 | 1 << 31,
            n: 1,
            start: None,
        };
        assert_eq!(
            run(monthly, time(9, 0, 0, 0), &tz, "2027-02-01T00:00:00Z", 3),
            [
                ts("2027-02-28T01:00:00Z"),
                ts("2027-03-30T01:00:00Z"),
                ts("2027-03-31T01:00:00Z"),
            ]
        );
    }
}

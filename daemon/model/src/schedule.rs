//! The site's opening schedule, in its own time zone.
//!
//! Lighting and HVAC should follow business hours; a door opening after hours
//! is suspicious. Rules ask [`BusinessHours::is_open`] with a UTC timestamp and
//! get the answer for the site's wall clock, daylight saving included.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

/// An opening range within one day, `[open, close)`; close may be 24:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenRange {
    /// Minutes after local midnight when the site opens.
    pub open_minute: u16,
    /// Minutes after local midnight when it closes (up to 1440).
    pub close_minute: u16,
}

/// Weekly opening hours with dated exceptions.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    /// The site's zone.
    pub time_zone: TimeZone,
    /// Monday first.
    pub weekly: [Vec<OpenRange>; 7],
    /// Dates whose hours replace the weekday's.
    pub exceptions: BTreeMap<Date, Vec<OpenRange>>,
}

impl BusinessHours {
    /// Is the site open at this instant?
    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.time_zone.clone());
        let date = local.date();
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.ranges_on(date)
            .iter()
            .any(|r| r.open_minute <= minute && minute < r.close_minute)
    }

    /// Opening ranges for a local date, exceptions first.
    pub fn ranges_on(&self, date: Date) -> &[OpenRange] {
        self.exceptions
            .get(&date)
            .unwrap_or_else(|| &self.weekly[weekday_index(date.weekday())])
    }
}

fn weekday_index(day: Weekday) -> usize {
    day.to_monday_zero_offset() as usize
}

/// Parses `"09:00-21:00"`; `24:00` is allowed as a closing time.
pub fn parse_range(text: &str) -> Result<OpenRange, String> {
    let (open, close) = text.split_once('-').ok_or_else(|| {
        format!("`{text}` is not an opening range; write it like \"09:00-21:00\"")
    })?;
    let open_minute = parse_clock(open.trim())?;
    let close_minute = parse_clock(close.trim())?;
    if close_minute <= open_minute {
        return Err(format!(
            "`{text}` closes before it opens; a range that crosses midnight is written as two, \
             \"20:00-24:00\" today and \"00:00-02:00\" the next day"
        ));
    }
    Ok(OpenRange {
        open_minute,
        close_minute,
    })
}

fn parse_clock(text: &str) -> Result<u16, String> {
    if text == "24:00" {
        return Ok(1440);
    }
    let time: Time = text
        .parse()
        .map_err(|_| format!("`{text}` is not a time of day (HH:MM)"))?;
    Ok(time.hour() as u16 * 60 + time.minute() as u16)
}

/// Parses `"2026-12-25"`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

/// Looks up an IANA zone name in the bundled database.
pub fn parse_time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| format!("`{name}` is not a known IANA time zone"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> BusinessHours {
        let open = vec![parse_range("09:00-21:00").unwrap()];
        let mut weekly: [Vec<OpenRange>; 7] = Default::default();
        for day in weekly.iter_mut().take(5) {
            *day = open.clone();
        }
        let mut exceptions = BTreeMap::new();
        exceptions.insert(parse_date("2026-12-25").unwrap(), Vec::new());
        BusinessHours {
            time_zone: parse_time_zone("Asia/Shanghai").unwrap(),
            weekly,
            exceptions,
        }
    }

    #[test]
    fn open_in_local_hours_closed_outside() {
        let h = hours();
        // Thursday 2026-11-26 10:00 in Shanghai is 02:00 UTC.
        assert!(h.is_open("2026-11-26T02:00:00Z".parse().unwrap()));
        // 21:00 local is closing time: closed.
        assert!(!h.is_open("2026-11-26T13:00:00Z".parse().unwrap()));
        // Saturday is closed.
        assert!(!h.is_open("2026-11-28T02:00:00Z".parse().unwrap()));
    }

    #[test]
    fn exception_dates_replace_the_weekday() {
        // Friday 2026-12-25 10:00 local.
        assert!(!hours().is_open("2026-12-25T02:00:00Z".parse().unwrap()));
    }

    #[test]
    fn rejects_inverted_and_malformed_ranges() {
        assert!(
            parse_range("21:00-09:00")
                .unwrap_err()
                .contains("closes before")
        );
        assert!(parse_range("9am-5pm").is_err());
        assert!(parse_range("0900").is_err());
        assert_eq!(parse_range("20:00-24:00").unwrap().close_minute, 1440);
    }
}

//! Export windows: whole UTC hours, `YYYYMMDDTHH`, both ends inclusive.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime, Time};

/// One UTC hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hour(OffsetDateTime);

impl Hour {
    /// The hour containing `ms`.
    pub fn containing(ms: i64) -> Hour {
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Hour(t.replace_time(Time::from_hms(t.hour(), 0, 0).unwrap_or(Time::MIDNIGHT)))
    }

    pub fn start_ms(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// The first ms after this hour.
    pub fn end_ms(self) -> i64 {
        self.start_ms() + 3_600_000
    }

    pub fn plus_hours(self, n: i64) -> Hour {
        Hour(self.0 + time::Duration::hours(n))
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}{:02}{:02}T{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour()
        )
    }
}

impl FromStr for Hour {
    type Err = String;

    fn from_str(s: &str) -> Result<Hour, String> {
        let bad = || format!("{s:?} is not an hour: expected YYYYMMDDTHH (UTC), e.g. 20261124T09");
        let b = s.as_bytes();
        if b.len() != 11
            || b[8] != b'T'
            || !s[..8]
                .bytes()
                .chain(s[9..].bytes())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().map_err(|_| bad());
        let month = Month::try_from(num(4..6)? as u8).map_err(|_| bad())?;
        let date = Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8)
            .map_err(|_| bad())?;
        let time = Time::from_hms(num(9..11)? as u8, 0, 0).map_err(|_| bad())?;
        Ok(Hour(date.with_time(time).assume_utc()))
    }
}

/// An export range: `start` to `end`, both hours included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Hour,
    pub end: Hour,
}

impl Window {
    pub fn new(start: Hour, end: Hour) -> Result<Window, String> {
        if end < start {
            return Err(format!("--end {end} is before --start {start}"));
        }
        if end.start_ms() - start.start_ms() > 365 * 24 * 3_600_000 {
            return Err("Amplitude exports at most 365 days per request: split the range".into());
        }
        Ok(Window { start, end })
    }

    /// The hours during which the tap received requests, widened by
    /// `margin_ms` on both sides (Amplitude stamps its upload time a moment
    /// after the tap forwards).
    pub fn around(first_ms: i64, last_ms: i64, margin_ms: i64) -> Window {
        Window {
            start: Hour::containing(first_ms - margin_ms),
            end: Hour::containing(last_ms + margin_ms),
        }
    }

    pub fn contains_ms(&self, ms: i64) -> bool {
        ms >= self.start.start_ms() && ms < self.end.end_ms()
    }

    /// The first half, for "split it" advice.
    pub fn first_half(&self) -> Window {
        let hours = (self.end.start_ms() - self.start.start_ms()) / 3_600_000;
        Window {
            start: self.start,
            end: self.start.plus_hours(hours / 2),
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_print_and_contain() {
        let h: Hour = "20261124T09".parse().expect("hour");
        assert_eq!(h.to_string(), "20261124T09");
        assert_eq!(Hour::containing(h.start_ms() + 3_599_999), h);
        assert!("2026-11-24".parse::<Hour>().is_err());
        assert!("20261324T09".parse::<Hour>().is_err());
        assert!("20261124T25".parse::<Hour>().is_err());
        let w = Window::new(h, h.plus_hours(5)).expect("window");
        assert!(w.contains_ms(h.start_ms()) && w.contains_ms(h.plus_hours(5).end_ms() - 1));
        assert!(!w.contains_ms(h.plus_hours(6).start_ms()));
        assert_eq!(w.first_half().end, h.plus_hours(2));
        assert!(Window::new(h, h.plus_hours(-1)).is_err());
    }
}

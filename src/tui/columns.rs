//! The stream's columns: which are shown, how wide each is from what it
//! holds, and which give way first when the terminal is narrow.

use time::{OffsetDateTime, UtcOffset};
use unicode_width::UnicodeWidthChar;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Received,
    EventTime,
    EventType,
    Endpoint,
    Who,
    Props,
    Check,
    Answer,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Received,
        Column::EventTime,
        Column::EventType,
        Column::Endpoint,
        Column::Who,
        Column::Props,
        Column::Check,
        Column::Answer,
    ];

    pub fn header(self, time: TimeMode) -> &'static str {
        match (self, time) {
            (Column::Received, TimeMode::Utc) => "received UTC",
            (Column::Received, TimeMode::Relative) => "received ago",
            (Column::Received, TimeMode::Local) => "received",
            (Column::EventTime, TimeMode::Utc) => "event time UTC",
            (Column::EventTime, _) => "event time",
            (Column::EventType, _) => "event type",
            (Column::Endpoint, _) => "endpoint",
            (Column::Who, _) => "user / device",
            (Column::Props, _) => "props",
            (Column::Check, _) => "check",
            (Column::Answer, _) => "answer",
        }
    }

    /// The column a sort orders by.
    pub fn of_sort(key: crate::store::SortKey) -> Column {
        use crate::store::SortKey as K;
        match key {
            K::EventType => Column::EventType,
            K::Who => Column::Who,
            K::Check => Column::Check,
            K::Answer => Column::Answer,
            K::EventTime => Column::EventTime,
        }
    }

    /// What the column chooser says of it.
    pub fn help(self) -> &'static str {
        match self {
            Column::Received => "when the tap received the request",
            Column::EventTime => "the event's own time (its time field)",
            Column::EventType => "event_type, or why a request had no events",
            Column::Endpoint => "the path the SDK posted to",
            Column::Who => "user_id, else device_id",
            Column::Props => "how many event_properties",
            Column::Check => "the worst finding and how many",
            Column::Answer => "Amplitude's answer status (! when it never came)",
        }
    }

    /// The narrowest and widest it is drawn; content decides between.
    fn bounds(self) -> (u16, u16) {
        match self {
            Column::Received | Column::EventTime => (12, 14),
            Column::EventType => (12, 48),
            Column::Endpoint => (8, 20),
            Column::Who => (10, 38),
            Column::Props => (5, 5),
            Column::Check => (5, 6),
            Column::Answer => (6, 6),
        }
    }
}

/// How the stream gives way on a narrow terminal, in order, until it fits:
/// what matters least first; the event type and the check never go.
const GIVE_WAY: [GiveWay; 11] = [
    GiveWay::Shrink(Column::Endpoint, 8),
    GiveWay::Drop(Column::Endpoint),
    GiveWay::Drop(Column::EventTime),
    GiveWay::Shrink(Column::Who, 16),
    GiveWay::Shrink(Column::EventType, 20),
    GiveWay::Drop(Column::Props),
    GiveWay::Drop(Column::Answer),
    GiveWay::Shrink(Column::Who, 10),
    GiveWay::Shrink(Column::EventType, 12),
    GiveWay::Drop(Column::Received),
    GiveWay::Drop(Column::Who),
];

#[derive(Debug, Clone, Copy)]
enum GiveWay {
    /// Narrower, down to this width.
    Shrink(Column, u16),
    Drop(Column),
}

/// How times are shown: local (the default, `TZ` honoured), UTC, or how long ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeMode {
    #[default]
    Local,
    Utc,
    Relative,
}

impl TimeMode {
    pub fn next(self) -> Self {
        match self {
            TimeMode::Local => TimeMode::Utc,
            TimeMode::Utc => TimeMode::Relative,
            TimeMode::Relative => TimeMode::Local,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeMode::Local => "local time",
            TimeMode::Utc => "UTC",
            TimeMode::Relative => "time ago",
        }
    }

    /// `at` as a clock time (`14:03:07.512`), a date when it is not the day
    /// of `near`, or how long before `now` it was.
    pub fn format(self, at: OffsetDateTime, near: OffsetDateTime, now: OffsetDateTime) -> String {
        let offset = match self {
            TimeMode::Relative => return ago(now - at),
            TimeMode::Utc => UtcOffset::UTC,
            TimeMode::Local => crate::clock::local_offset(),
        };
        let (at, near) = (at.to_offset(offset), near.to_offset(offset));
        if at.date() != near.date() {
            return format!(
                "{:04}-{:02}-{:02}",
                at.year(),
                u8::from(at.month()),
                at.day()
            );
        }
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        )
    }
}

fn ago(d: time::Duration) -> String {
    let s = d.as_seconds_f64();
    let (sign, s) = if s < 0.0 { ("in ", -s) } else { ("", s) };
    let text = match s {
        s if s < 60.0 => format!("{s:.1}s"),
        s if s < 3600.0 => format!("{:.0}m {:02.0}s", (s / 60.0).floor(), s % 60.0),
        s if s < 86_400.0 => format!("{:.0}h {:02.0}m", (s / 3600.0).floor(), (s % 3600.0) / 60.0),
        s => format!("{:.0}d", s / 86_400.0),
    };
    format!("{sign}{text}")
}

/// Which columns the stream shows, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown([bool; Column::ALL.len()]);

impl Default for Shown {
    fn default() -> Self {
        Shown([true; Column::ALL.len()])
    }
}

impl Shown {
    pub fn is_shown(&self, c: Column) -> bool {
        self.0[c as usize]
    }

    /// Shows or hides; the last shown column stays.
    pub fn toggle(&mut self, c: Column) {
        let shown = self.0.iter().filter(|s| **s).count();
        if !self.0[c as usize] || shown > 1 {
            self.0[c as usize] = !self.0[c as usize];
        }
    }

    pub fn columns(&self) -> Vec<Column> {
        Column::ALL
            .into_iter()
            .filter(|&c| self.is_shown(c))
            .collect()
    }
}

/// Widths for `columns` in `width` cells (one between columns), from the
/// widest cell each holds (`content`, headers included), giving way step
/// by step ([`GIVE_WAY`]) while they do not fit.
pub fn fit(columns: &[Column], content: &[u16], width: u16) -> Vec<(Column, u16)> {
    let mut out: Vec<(Column, u16)> = columns
        .iter()
        .zip(content)
        .map(|(&c, &w)| {
            let (min, max) = c.bounds();
            (c, w.clamp(min, max))
        })
        .collect();
    let over = |cols: &[(Column, u16)]| -> u16 {
        let total: u32 = cols.iter().map(|(_, w)| u32::from(*w) + 1).sum();
        u16::try_from(total.saturating_sub(1).saturating_sub(u32::from(width))).unwrap_or(u16::MAX)
    };
    for step in GIVE_WAY {
        let excess = over(&out);
        if excess == 0 {
            return out;
        }
        match step {
            GiveWay::Shrink(column, floor) => {
                if let Some((_, w)) = out.iter_mut().find(|(c, _)| *c == column) {
                    *w = w.saturating_sub(excess).max(floor.min(*w));
                }
            }
            GiveWay::Drop(column) => out.retain(|(c, _)| *c != column),
        }
    }
    // Only the essential columns, still too wide: the last is cut.
    let excess = over(&out);
    if let Some(last) = out.last_mut() {
        last.1 = last.1.saturating_sub(excess).max(1);
    }
    out
}

/// `text` cut to `width` cells, with `…` where it was cut.
pub fn cut(text: &str, width: u16) -> String {
    let width = usize::from(width);
    if display_width(text) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.push('…');
    out
}

pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(width: u16, content: &[u16]) -> Vec<(Column, u16)> {
        fit(&Column::ALL, content, width)
    }

    #[test]
    fn everything_fits_at_200_and_content_decides() {
        let got = widths(200, &[12, 12, 22, 10, 36, 5, 5, 6]);
        assert_eq!(got.len(), 8);
        assert!(got.contains(&(Column::EventType, 22)));
        assert!(got.contains(&(Column::Who, 36)), "a UUID whole: {got:?}");
    }

    #[test]
    fn narrow_terminals_drop_by_rank_and_never_starve_the_event_type() {
        let content = [12, 12, 30, 14, 36, 5, 5, 6];
        for width in 40..=200 {
            let got = widths(width, &content);
            let total: u16 = got.iter().map(|(_, w)| w + 1).sum::<u16>() - 1;
            assert!(total <= width, "{width}: {got:?}");
            let event_type = got.iter().find(|(c, _)| *c == Column::EventType);
            assert!(
                event_type.is_some_and(|(_, w)| *w >= 12),
                "{width}: {got:?}"
            );
            assert!(got.iter().any(|(c, _)| *c == Column::Check));
        }
        let at = |w| -> Vec<Column> { widths(w, &content).iter().map(|(c, _)| *c).collect() };
        assert!(!at(80).contains(&Column::Endpoint), "endpoint goes first");
        assert!(at(80).contains(&Column::Who));
        assert!(at(120).contains(&Column::Who) && at(120).contains(&Column::Received));
        assert_eq!(at(200).len(), 8);
    }

    #[test]
    fn cutting_marks_the_cut_and_counts_wide_characters() {
        assert_eq!(cut("dify_user_query", 20), "dify_user_query");
        assert_eq!(cut("dify_user_query", 8), "dify_us…");
        assert_eq!(cut("こんにちは", 5), "こん…");
        assert_eq!(display_width(&cut("こんにちは", 6)), 5);
    }

    #[test]
    fn times_read_in_every_mode() {
        let now = time::macros::datetime!(2026-11-25 10:00:05.250 UTC);
        let at = time::macros::datetime!(2026-11-25 10:00:01.000 UTC);
        assert_eq!(TimeMode::Utc.format(at, at, now), "10:00:01.000");
        assert_eq!(TimeMode::Relative.format(at, at, now), "4.2s");
        let old = time::macros::datetime!(2025-04-05 10:00:00 UTC);
        assert_eq!(TimeMode::Utc.format(old, at, now), "2025-04-05");
        assert_eq!(TimeMode::Relative.format(old, at, now), "599d");
        let shown = Shown::default();
        let mut one = shown.clone();
        for c in Column::ALL {
            one.toggle(c);
        }
        assert_eq!(one.columns().len(), 1, "the last column stays");
    }
}

//! Scans of a body before anything is built: its nesting depth, and its
//! events counted — a body of `{}` × millions is refused by a scan that
//! allocates nothing.

use serde_json::value::RawValue;

use super::decode::MAX_NESTING;
use super::DecodeError;

/// A scan for `[`/`{` depth outside strings: a form's JSON field (after
/// url-decoding) is held to the limit by it, and a JSON body that serde_json
/// refused is looked at with it to say why in amptap's words.
pub(super) fn check_nesting(body: &[u8]) -> Result<(), DecodeError> {
    check_nesting_within(body, 0)
}

/// An event's depth within the limit, its request's object and events
/// array counted. Most events open a few brackets in all, which bounds
/// their depth: those are counted, not scanned.
pub(super) fn check_event_nesting(raw: &str) -> Result<(), DecodeError> {
    const OUTER: usize = 2;
    if openings(raw.as_bytes()) + OUTER <= MAX_NESTING {
        return Ok(());
    }
    check_nesting_within(raw.as_bytes(), OUTER)
}

/// How many `[` and `{` the text holds (`b | 0x20` is `{` for both and
/// nothing else), counted in byte lanes 255 at a time, which the compiler
/// turns into vector code: a few µs for a 50 KB request.
fn openings(text: &[u8]) -> usize {
    let opening = |b: u8| u8::from(b | 0x20 == b'{');
    let mut chunks = text.chunks_exact(usize::from(u8::MAX));
    let mut count = 0;
    for chunk in &mut chunks {
        count += usize::from(chunk.iter().map(|&b| opening(b)).sum::<u8>());
    }
    count
        + chunks
            .remainder()
            .iter()
            .map(|&b| usize::from(opening(b)))
            .sum::<usize>()
}

/// A value's depth within the limit, `outer` levels around it counted.
pub(super) fn check_value_nesting(
    value: &serde_json::Value,
    outer: usize,
) -> Result<(), DecodeError> {
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    if outer + depth(value) > MAX_NESTING {
        return Err(too_deep());
    }
    Ok(())
}

fn too_deep() -> DecodeError {
    DecodeError::InvalidJson(format!("nested deeper than {MAX_NESTING} levels"))
}

fn check_nesting_within(body: &[u8], outer: usize) -> Result<(), DecodeError> {
    let mut depth = outer;
    let mut at = 0;
    while let Some(&b) = body.get(at) {
        at += 1;
        match b {
            b'"' => at = past_string(body, at),
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep());
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Where the string whose text starts at `at` ends (just past its closing
/// quote, or the body's end): bodies are mostly strings, skipped by memchr.
fn past_string(body: &[u8], mut at: usize) -> usize {
    while let Some(rest) = body.get(at..) {
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(k) if rest.get(k) == Some(&b'\\') => at += k + 2, // and the escaped byte
            Some(k) => return at + k + 1,
            None => break,
        }
    }
    body.len()
}

/// How many events a request may hold, checked before any is built.
#[derive(Clone, Copy)]
pub(super) struct Budget {
    pub limit: usize,
    pub endpoint: &'static str,
}

impl Budget {
    /// Counts the elements of a JSON array (an object is one event) without
    /// building them; refuses more than the limit.
    pub fn check(self, events: &str) -> Result<(), DecodeError> {
        let mut de = serde_json::Deserializer::from_str(events);
        let Ok(count) = serde::Deserializer::deserialize_any(&mut de, CountElements) else {
            return Ok(()); // not an array: the decoder says what is wrong
        };
        if count > self.limit {
            return Err(DecodeError::TooManyEvents {
                count,
                limit: self.limit,
                endpoint: self.endpoint,
            });
        }
        Ok(())
    }
}

impl Budget {
    /// What [`Collect`] found, as the events or the refusal; `None` when
    /// it was not an array.
    pub fn events(self, found: Collected) -> Result<Option<Vec<Box<RawValue>>>, DecodeError> {
        match found {
            Collected::Events(events) => Ok(Some(events)),
            Collected::TooMany(count) => Err(DecodeError::TooManyEvents {
                count,
                limit: self.limit,
                endpoint: self.endpoint,
            }),
            Collected::Null | Collected::NotArray => Ok(None),
        }
    }
}

/// What an `events` value held.
pub(super) enum Collected {
    Events(Vec<Box<RawValue>>),
    /// More than the limit: this many (kept none).
    TooMany(usize),
    Null,
    NotArray,
}

/// Reads an `events` value whatever it is, in one pass: an array's events
/// are kept up to the limit (`.0`) and counted past it.
pub(super) struct Collect(pub usize);

impl<'de> serde::de::DeserializeSeed<'de> for Collect {
    type Value = Collected;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Collected, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Collect {
    type Value = Collected;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Collected, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.0));
        while events.len() < self.0 {
            match seq.next_element::<Box<RawValue>>()? {
                Some(event) => events.push(event),
                None => return Ok(Collected::Events(events)),
            }
        }
        // At the limit: one more is too many; the rest are counted, not kept.
        if seq.next_element::<serde::de::IgnoredAny>()?.is_none() {
            return Ok(Collected::Events(events));
        }
        let mut count = events.len() + 1;
        drop(events);
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(Collected::TooMany(count))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Collected, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Collected::NotArray)
    }

    fn visit_unit<E>(self) -> Result<Collected, E> {
        Ok(Collected::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Collected, E> {
        Ok(Collected::NotArray)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Collected, E> {
        Ok(Collected::NotArray)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Collected, E> {
        Ok(Collected::NotArray)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Collected, E> {
        Ok(Collected::NotArray)
    }

    fn visit_str<E>(self, _: &str) -> Result<Collected, E> {
        Ok(Collected::NotArray)
    }
}

struct CountElements;

impl<'de> serde::de::Visitor<'de> for CountElements {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array or an object")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut count = 0;
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(count)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(limit: usize, events: &str) -> Result<Option<Vec<Box<RawValue>>>, DecodeError> {
        use serde::de::DeserializeSeed;
        let budget = Budget {
            limit,
            endpoint: "/2/httpapi",
        };
        let mut de = serde_json::Deserializer::from_str(events);
        let found = Collect(limit).deserialize(&mut de).expect("valid JSON");
        budget.events(found)
    }

    fn collect(limit: usize, events: &str) -> Result<Option<usize>, DecodeError> {
        read(limit, events).map(|e| e.map(|e| e.len()))
    }

    #[test]
    fn collects_up_to_the_limit_and_counts_what_is_over_it() {
        assert_eq!(collect(3, r#"[{"a":1},{"b":[2]},"x"]"#).ok(), Some(Some(3)));
        assert_eq!(collect(3, "[]").ok(), Some(Some(0)));
        match collect(2, "[{},{},{},{},{}]") {
            Err(DecodeError::TooManyEvents { count, limit, .. }) => {
                assert_eq!((count, limit), (5, 2));
            }
            other => panic!("{other:?}"),
        }
        for not_an_array in [r#"{"event_type":"a"}"#, "\"text\"", "3", "true", "null"] {
            assert_eq!(collect(3, not_an_array).ok(), Some(None), "{not_an_array}");
        }
    }

    #[test]
    fn brackets_inside_strings_are_not_nesting() {
        let deep = "[".repeat(MAX_NESTING + 1);
        let quoted = format!(r#"{{"s":"\"{deep}\\","t":"{deep}"}}"#);
        assert!(check_nesting(quoted.as_bytes()).is_ok(), "{quoted}");
        assert!(check_nesting(deep.as_bytes()).is_err());
        // An escaped quote does not end the string; a torn one runs to the end.
        assert!(check_nesting(format!(r#"["\"{deep}"]"#).as_bytes()).is_ok());
        assert!(check_nesting(br#"["abc\"#).is_ok());
    }

    #[test]
    fn openings_are_counted_across_lanes() {
        for len in [0, 1, 254, 255, 256, 600, 5000] {
            let text: Vec<u8> = (0..len).map(|i| b"[{x]}a\\"[i % 7]).collect();
            let expected = text.iter().filter(|&&b| b == b'[' || b == b'{').count();
            assert_eq!(openings(&text), expected, "{len}");
        }
        assert_eq!(openings(&[b'{'; 255]), 255, "a full lane does not overflow");
    }

    #[test]
    fn an_event_is_as_deep_as_its_request_allows() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(check_event_nesting(&nested(MAX_NESTING - 2)).is_ok());
        assert!(check_event_nesting(&nested(MAX_NESTING - 1)).is_err());
        // Many brackets side by side are not depth; brackets in strings are not either.
        assert!(check_event_nesting(&format!("[{}]", vec!["[]"; 500].join(","))).is_ok());
        let quoted = format!(r#"{{"s":"{}"}}"#, "[".repeat(500));
        assert!(check_event_nesting(&quoted).is_ok());
        let deep: serde_json::Value = serde_json::from_str(&nested(MAX_NESTING)).expect("json");
        assert!(check_value_nesting(&deep, 0).is_ok());
        assert!(check_value_nesting(&deep, 1).is_err());
    }

    #[test]
    fn events_keep_their_text() {
        let events = read(10, r#"[ {"s":"a\nb", "n": 1.50} ,{"t":"\u3053"}]"#)
            .ok()
            .flatten()
            .unwrap_or_default();
        let texts: Vec<&str> = events.iter().map(|e| e.get()).collect();
        assert_eq!(texts, [r#"{"s":"a\nb", "n": 1.50}"#, r#"{"t":"\u3053"}"#]);
    }
}

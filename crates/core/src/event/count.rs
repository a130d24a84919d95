//! A request's events collected within Amplitude's limit in one pass: past
//! the limit they are counted, not kept, so a body of `{}` × millions is
//! refused without building them.

use serde_json::value::RawValue;

use super::DecodeError;

/// How many events a request may hold, checked before any is built.
#[derive(Clone, Copy)]
pub(super) struct Budget {
    pub limit: usize,
    pub endpoint: &'static str,
}

impl Budget {
    /// The events of a JSON array's text (the events field of a form);
    /// `invalid` words a parse error.
    pub fn collect_array(
        self,
        text: &str,
        invalid: impl Fn(serde_json::Error) -> DecodeError,
    ) -> Result<Vec<Box<RawValue>>, DecodeError> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_str(text);
        let found = Collect(self.limit)
            .deserialize(&mut de)
            .and_then(|found| de.end().map(|()| found))
            .map_err(invalid)?;
        Ok(self.events(found)?.unwrap_or_default())
    }

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
    fn events_keep_their_text() {
        let events = read(10, r#"[ {"s":"a\nb", "n": 1.50} ,{"t":"\u3053"}]"#)
            .ok()
            .flatten()
            .unwrap_or_default();
        let texts: Vec<&str> = events.iter().map(|e| e.get()).collect();
        assert_eq!(texts, [r#"{"s":"a\nb", "n": 1.50}"#, r#"{"t":"\u3053"}"#]);
    }
}

//! The events of a request counted before any is built: a body of `{}` ×
//! millions is refused by a scan that allocates nothing.

use super::DecodeError;

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

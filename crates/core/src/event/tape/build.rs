//! Reading JSON text onto a tape: serde_json walks the text, and each value
//! it meets becomes one node (a string without escapes, a span of the text).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Node, Tape};

/// Fills a tape as serde_json walks the text.
pub(super) struct Builder<'t> {
    pub(super) base: usize,
    pub(super) tape: &'t mut Tape,
}

impl Builder<'_> {
    fn push(self, node: Node) {
        self.tape.nodes.push(node);
    }

    /// A string that is not a span of the text (its escapes decoded).
    fn decoded(self, v: &str) {
        let index = u32::try_from(self.tape.decoded.len()).unwrap_or(u32::MAX);
        self.tape.decoded.push(v.to_owned());
        self.push(Node::Decoded(index));
    }

    fn again(&mut self) -> Builder<'_> {
        Builder {
            base: self.base,
            tape: self.tape,
        }
    }

    /// Closes the container opened at `at`.
    fn close(&mut self, at: usize, node: fn(u32) -> Node) {
        let end = u32::try_from(self.tape.nodes.len()).unwrap_or(u32::MAX);
        if let Some(slot) = self.tape.nodes.get_mut(at) {
            *slot = node(end);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Builder<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Builder<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.push(Node::Null);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.push(Node::Bool(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.push(Node::PosInt(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        // serde_json gives non-negative integers as u64; keep Value's split.
        self.push(match u64::try_from(v) {
            Ok(u) => Node::PosInt(u),
            Err(_) => Node::NegInt(v),
        });
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.push(Node::Float(v));
        Ok(())
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        // The text is the raw string itself: its offset in it is its span.
        let start = (v.as_ptr() as usize).wrapping_sub(self.base);
        match (u32::try_from(start), u32::try_from(v.len())) {
            (Ok(start), Ok(len)) => self.push(Node::Span(start, len)),
            _ => self.decoded(v),
        }
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.decoded(v);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut items: A) -> Result<(), A::Error> {
        let at = self.tape.nodes.len();
        self.tape.nodes.push(Node::Array { end: 0 });
        while items.next_element_seed(self.again())?.is_some() {}
        self.close(at, |end| Node::Array { end });
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let at = self.tape.nodes.len();
        self.tape.nodes.push(Node::Object { end: 0 });
        while map.next_key_seed(self.again())?.is_some() {
            map.next_value_seed(self.again())?;
        }
        self.close(at, |end| Node::Object { end });
        Ok(())
    }
}

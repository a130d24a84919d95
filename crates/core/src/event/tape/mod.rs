//! An event's JSON read once into a flat tape of nodes whose strings point
//! back into the raw text: what the judge reads.
//!
//! A `serde_json::Value` costs an allocation per string and a B-tree per
//! object; on `check`'s million events building and freeing those trees
//! was most of the time. The tape is one vector per event, and a string
//! without escapes is a span of the text it came from. Reading it answers
//! exactly as the `Value` would: duplicate keys resolve to the last one,
//! numbers are integers or floats as serde_json makes them, and JSON
//! nested deeper than serde_json's limit reads as `null`.

use std::fmt;

use serde::de::DeserializeSeed;
use serde_json::{Number, Value};
use smallvec::SmallVec;

mod build;

use build::Builder;

/// One node. Containers hold the index just past their last descendant, so
/// a reader can step over them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    PosInt(u64),
    NegInt(i64),
    Float(f64),
    /// A string without escapes: `(start, len)` in the raw text.
    Span(u32, u32),
    /// A string with escapes, decoded into the tape's side list.
    Decoded(u32),
    Array {
        end: u32,
    },
    /// Keys and values alternate after it.
    Object {
        end: u32,
    },
}

/// An event's JSON as a tape; read it through [`Tape::root`].
#[derive(Debug, Clone, PartialEq)]
pub struct Tape {
    nodes: Vec<Node>,
    decoded: Vec<String>,
}

impl Tape {
    /// Reads `raw` (valid JSON). Anything the parser refuses, nesting past
    /// its limit included, is a lone `null`.
    pub fn parse(raw: &str) -> Tape {
        let mut tape = Tape {
            nodes: Vec::with_capacity(64),
            decoded: Vec::new(),
        };
        // Spans are 32-bit: text past 4 GiB cannot be an event anyway.
        if u32::try_from(raw.len()).is_err() {
            tape.nodes.push(Node::Null);
            return tape;
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        let seed = Builder {
            base: raw.as_ptr() as usize,
            tape: &mut tape,
        };
        if seed.deserialize(&mut de).and_then(|()| de.end()).is_err() {
            tape.nodes.clear();
            tape.decoded.clear();
            tape.nodes.push(Node::Null);
        }
        tape
    }

    /// The whole value; `raw` must be the text this tape was read from.
    pub fn root<'a>(&'a self, raw: &'a str) -> View<'a> {
        View {
            tape: self,
            raw,
            at: 0,
        }
    }
}

/// An object's entries by key ([`View::sorted`]).
pub type Entries<'a> = SmallVec<[(&'a str, View<'a>); 16]>;

/// What a value is, integers and floats apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Integer,
    Float,
    String,
    Array,
    Object,
}

/// One value of a tape, read as a `serde_json::Value` would be.
#[derive(Clone, Copy)]
pub struct View<'a> {
    tape: &'a Tape,
    raw: &'a str,
    at: u32,
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl<'a> View<'a> {
    fn node(&self) -> Node {
        self.tape
            .nodes
            .get(self.at as usize)
            .copied()
            .unwrap_or(Node::Null)
    }

    fn at(&self, at: u32) -> View<'a> {
        View { at, ..*self }
    }

    /// The index just past this value and everything in it.
    fn end(&self) -> u32 {
        match self.node() {
            Node::Array { end } | Node::Object { end } => end,
            _ => self.at + 1,
        }
    }

    pub fn kind(&self) -> Kind {
        match self.node() {
            Node::Null => Kind::Null,
            Node::Bool(_) => Kind::Bool,
            Node::PosInt(_) | Node::NegInt(_) => Kind::Integer,
            Node::Float(_) => Kind::Float,
            Node::Span(..) | Node::Decoded(_) => Kind::String,
            Node::Array { .. } => Kind::Array,
            Node::Object { .. } => Kind::Object,
        }
    }

    pub fn is_null(&self) -> bool {
        self.node() == Node::Null
    }

    pub fn is_object(&self) -> bool {
        self.kind() == Kind::Object
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match self.node() {
            Node::Span(start, len) => {
                let (start, len) = (start as usize, len as usize);
                self.raw.get(start..start + len)
            }
            Node::Decoded(i) => self.tape.decoded.get(i as usize).map(String::as_str),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Node::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.node() {
            Node::PosInt(u) => i64::try_from(u).ok(),
            Node::NegInt(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self.node() {
            Node::PosInt(u) => Some(u),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.node() {
            Node::PosInt(u) => Some(u as f64),
            Node::NegInt(i) => Some(i as f64),
            Node::Float(f) => Some(f),
            _ => None,
        }
    }

    /// From `next` to `end`, one value at a time (stepping over what each holds).
    fn walk(&self, mut next: u32, end: u32) -> impl Iterator<Item = View<'a>> + 'a {
        let this = *self;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let child = this.at(next);
            next = child.end();
            Some(child)
        })
    }

    /// An object's keys and values in the order sent, a repeated key each
    /// time (use [`View::get`] or [`View::sorted`] for the one that counts).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, View<'a>)> + 'a {
        let end = match self.node() {
            Node::Object { end } => end,
            _ => 0,
        };
        // Keys are strings: one node each, the value right after.
        let mut children = self.walk(self.at + 1, end);
        std::iter::from_fn(move || {
            let key = children.next()?;
            let value = children.next()?;
            Some((key.as_str().unwrap_or_default(), value))
        })
    }

    /// An object's entries by key, each key once with its last value: how
    /// a `serde_json::Map` iterates. Held on the stack up to 16 entries
    /// (the judge sorts the properties of every event).
    pub fn sorted(&self) -> Entries<'a> {
        let mut entries: Entries<'a> = self.entries().collect();
        // Stable: of equal keys the last sent stays last…
        entries.sort_by(|a, b| a.0.cmp(b.0));
        // …and is the one kept.
        let mut i = 0;
        while i + 1 < entries.len() {
            if entries[i].0 == entries[i + 1].0 {
                entries.remove(i);
            } else {
                i += 1;
            }
        }
        entries
    }

    /// An object's value for `key` (the last, when it was sent twice).
    pub fn get(&self, key: &str) -> Option<View<'a>> {
        let Node::Object { end } = self.node() else {
            return None;
        };
        // The judge's hottest lookup: a plain loop over the pairs.
        let mut found = None;
        let mut next = self.at + 1;
        while next + 1 < end {
            let value = self.at(next + 1);
            if self.at(next).as_str() == Some(key) {
                found = Some(value);
            }
            next = value.end();
        }
        found
    }

    /// An array's items.
    pub fn items(&self) -> impl Iterator<Item = View<'a>> + 'a {
        let end = match self.node() {
            Node::Array { end } => end,
            _ => 0,
        };
        self.walk(self.at + 1, end)
    }

    /// Items of an array, distinct keys of an object; `None` for a scalar.
    pub fn size(&self) -> Option<usize> {
        match self.kind() {
            Kind::Array => Some(self.items().count()),
            Kind::Object => Some(self.sorted().len()),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value` (for the rare reader that
    /// needs one: a finding's wording, a comparison with the plan's enum).
    pub fn to_value(&self) -> Value {
        match self.node() {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::PosInt(u) => Value::Number(u.into()),
            Node::NegInt(i) => Value::Number(i.into()),
            Node::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Node::Span(..) | Node::Decoded(_) => {
                Value::String(self.as_str().unwrap_or_default().to_owned())
            }
            Node::Array { .. } => Value::Array(self.items().map(|v| v.to_value()).collect()),
            Node::Object { .. } => Value::Object(
                self.entries()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests;

//! One test of the filter language (`type:…`, `prop.x>3`, free text) and
//! how it is decided: from the columns a store keeps, or from the event.

use regex::Regex;

use super::{Body, CodeSet, Status};
use crate::event::{Event, Kind, View};
use crate::plan::Code;

#[derive(Debug, Clone)]
pub(super) enum Test {
    Type(Regex),
    User(Regex),
    Device(Regex),
    Status(Vec<Status>),
    Code(Vec<Code>),
    /// Alternatives, each a path already split at dots.
    Has(Vec<Vec<String>>),
    Missing(Vec<Vec<String>>),
    /// A property (path split at dots) compared with a value.
    Prop(Vec<String>, Compare),
    Tag(Vec<String>),
    Text(Regex),
}

/// How `prop.PATH` is compared.
#[derive(Debug, Clone)]
pub(super) enum Compare {
    /// `=a|b`: the value as text is one of these, exactly.
    OneOf(Vec<String>),
    /// `!=a|b`: present and none of these.
    NoneOf(Vec<String>),
    /// `>`, `>=`, `<`, `<=`: a number (or a numeric string).
    Number(std::cmp::Ordering, bool, f64),
    /// `~REGEX`: the value as text matches, any case.
    Regex(Regex),
}

/// Which columns a test reads: the store decides those once per distinct value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reads {
    Type,
    User,
    Device,
    Rest,
    Body,
}

impl Test {
    pub(super) fn reads(&self) -> Reads {
        match self {
            Test::Type(_) => Reads::Type,
            Test::User(_) => Reads::User,
            Test::Device(_) => Reads::Device,
            Test::Status(_) | Test::Code(_) | Test::Tag(_) => Reads::Rest,
            Test::Has(_) | Test::Missing(_) | Test::Prop(..) | Test::Text(_) => Reads::Body,
        }
    }

    pub(super) fn text_pattern(&self) -> Option<&Regex> {
        match self {
            Test::Text(re) => Some(re),
            _ => None,
        }
    }

    /// A `type:`, `user:` or `device:` test on that column's value.
    pub(super) fn on_name(&self, value: Option<&str>) -> bool {
        match self {
            Test::Type(re) | Test::User(re) | Test::Device(re) => {
                value.is_some_and(|v| re.is_match(v))
            }
            _ => false,
        }
    }

    /// A `status:`, `code:` or `tag:` test.
    pub(super) fn on_rest(&self, status: Status, codes: CodeSet, tag: Option<&str>) -> bool {
        match self {
            Test::Status(any) => any.contains(&status),
            Test::Code(any) => any.iter().any(|&c| codes.contains(c)),
            Test::Tag(any) => tag.is_some_and(|tag| any.iter().any(|a| a == tag)),
            _ => false,
        }
    }

    pub(super) fn on_body(&self, body: Body<'_>) -> bool {
        let e = match body {
            Body::Event(e) => e,
            Body::Request(text) => {
                return match self {
                    Test::Text(re) => re.is_match(text),
                    Test::Missing(_) => true,
                    _ => false,
                }
            }
        };
        match self {
            Test::Has(any) => any.iter().any(|p| property(e, p).is_some()),
            Test::Missing(any) => any.iter().any(|p| property(e, p).is_none()),
            Test::Prop(path, compare) => lookup(e, path).is_some_and(|v| compare.holds(v)),
            Test::Text(re) => text_matches(re, e),
            _ => false,
        }
    }
}

impl Compare {
    fn holds(&self, v: View<'_>) -> bool {
        let text = || match v.as_str() {
            Some(s) => s.to_owned(),
            None => v.to_value().to_string(),
        };
        match self {
            Compare::OneOf(values) => values.contains(&text()),
            Compare::NoneOf(values) => !v.is_null() && !values.contains(&text()),
            Compare::Regex(re) => !v.is_null() && re.is_match(&text()),
            Compare::Number(side, or_equal, n) => {
                let value = match v.as_str() {
                    Some(s) => s.trim().parse().ok(),
                    None => v.as_f64(),
                };
                value
                    .and_then(|x| x.partial_cmp(n))
                    .is_some_and(|o| o == *side || (*or_equal && o.is_eq()))
            }
        }
    }
}

/// Free text finds what was sent as typed and what it decodes to: SDKs that
/// escape non-ASCII (Python's `"\u3053\u3093"`) still match `こんにちは`.
fn text_matches(re: &Regex, e: &Event) -> bool {
    let raw = e.raw().get();
    re.is_match(raw) || (raw.contains('\\') && any_string(e.view(), re))
}

fn any_string(v: View<'_>, re: &Regex) -> bool {
    match v.kind() {
        Kind::String => v.as_str().is_some_and(|s| re.is_match(s)),
        Kind::Array => v.items().any(|i| any_string(i, re)),
        // Each key once, with the value that counts: as the event is read.
        Kind::Object => v
            .sorted()
            .into_iter()
            .any(|(k, v)| re.is_match(k) || any_string(v, re)),
        _ => false,
    }
}

/// A non-null value at `path` inside event_properties, else among the event's own fields.
fn property<'a>(e: &'a Event, path: &[String]) -> Option<View<'a>> {
    lookup(e, path).filter(|v| !v.is_null())
}

fn lookup<'a>(e: &'a Event, path: &[String]) -> Option<View<'a>> {
    let walk = |mut v: View<'a>| {
        for part in path {
            v = v.get(part)?;
        }
        Some(v)
    };
    let event = e.view();
    event
        .get("event_properties")
        .and_then(walk)
        .or_else(|| walk(event))
}

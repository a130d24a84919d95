//! The filter language of the TUI and the query API: parsed once into a
//! matcher, then matched against each event.
//!
//! Words are AND-ed; `-word` negates; `a|b` gives alternatives inside a
//! field; anything without a known `field:` prefix is free text searched in
//! the event's JSON, raw and decoded. Quotes keep spaces:
//! `prop.query_text="reset password"`.
//!
//! A filter has two halves, so a store can match a million rows without
//! their JSON: the *column* terms (`type:`, `user:`, `device:`, `status:`,
//! `code:`, `tag:`) read only what the store keeps of each row; the *body*
//! terms (free text, `has:`, `missing:`, `prop.`) need the event itself.
//! All terms are AND-ed, so a row matches when both halves do.

mod parse;
#[cfg(test)]
mod tests;

use regex::Regex;
use serde_json::Value;

use crate::event::Event;
use crate::plan::{Code, Finding, Severity};
use parse::{parse_word, words};

/// The operators, for the help screen and error messages (one table).
pub const OPERATORS: &[(&str, &str)] = &[
    (
        "type:REGEX",
        "the whole event type matches, any case (type:dify_.*); type:=REGEX for exact case",
    ),
    ("user:REGEX", "user_id matches"),
    ("device:REGEX", "device_id matches"),
    ("status:ok|warning|error", "worst finding of the event"),
    (
        "code:CODE",
        "has a finding with this code (e.g. code:missing_property)",
    ),
    ("has:PROP", "event_properties has PROP (a.b for nested)"),
    ("missing:PROP", "event_properties lacks PROP"),
    (
        "prop.PATH=VALUE",
        "property equals VALUE (a|b alternatives)",
    ),
    ("tag:NAME", "carries the test tag NAME"),
    ("-WORD", "negates any word"),
    (
        "TEXT",
        "free text in the JSON, as sent or decoded (case-insensitive); \"a:b\" in quotes if it has a colon",
    ),
];

/// How an event was judged: its worst finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warning,
    Error,
}

impl Status {
    pub fn of(findings: &[Finding]) -> Status {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Error) => Status::Error,
            Some(Severity::Warning) => Status::Warning,
            Some(Severity::Info) | None => Status::Ok,
        }
    }
}

/// A set of finding codes, one bit each: what a store keeps per row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CodeSet(u32);

const _: () = assert!(Code::ALL.len() <= 32, "CodeSet holds 32 codes");

impl CodeSet {
    pub fn of(findings: &[Finding]) -> Self {
        CodeSet(findings.iter().fold(0, |bits, f| bits | bit(f.code)))
    }

    pub fn contains(self, code: Code) -> bool {
        self.0 & bit(code) != 0
    }

    fn any(self, codes: &[Code]) -> bool {
        codes.iter().any(|&c| self.contains(c))
    }
}

fn bit(code: Code) -> u32 {
    let index = Code::ALL.iter().position(|&c| c == code).unwrap_or(0);
    1 << index
}

/// What the column terms read: what a store keeps of a row.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub event_type: Option<&'a str>,
    pub user: Option<&'a str>,
    pub device: Option<&'a str>,
    pub status: Status,
    pub codes: CodeSet,
    pub tag: Option<&'a str>,
}

impl<'a> Columns<'a> {
    /// The columns of an event in hand.
    pub fn of(event: &'a Event, findings: &[Finding], tag: Option<&'a str>) -> Self {
        Columns {
            event_type: event.event_type(),
            user: event.user_id(),
            device: event.device_id(),
            status: Status::of(findings),
            codes: CodeSet::of(findings),
            tag,
        }
    }
}

/// What the body terms read.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Event(&'a Event),
    /// A request without readable events: its body as received.
    Request(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct FilterError {
    /// Character offset of the word at fault, from 1.
    pub position: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
enum Test {
    Type(Regex),
    User(Regex),
    Device(Regex),
    Status(Vec<Status>),
    Code(Vec<Code>),
    /// Alternatives, each a path already split at dots.
    Has(Vec<Vec<String>>),
    Missing(Vec<Vec<String>>),
    Prop(Vec<String>, Vec<String>),
    Tag(Vec<String>),
    Text(Regex),
}

#[derive(Debug, Clone)]
struct Term {
    negated: bool,
    test: Test,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    source: String,
    terms: Vec<Term>,
}

impl Filter {
    pub fn parse(source: &str) -> Result<Filter, FilterError> {
        let mut terms = Vec::new();
        for (position, word) in words(source) {
            let err = |message: String| FilterError { position, message };
            // A quoted word is free text, whatever it looks like.
            let quoted = position >= 2 && source.chars().nth(position - 2) == Some('"');
            let (negated, word) = match word.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest.to_owned()),
                _ => (false, word),
            };
            let test = parse_word(&word, quoted).map_err(err)?;
            terms.push(Term { negated, test });
        }
        Ok(Filter {
            source: source.trim().to_owned(),
            terms,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Both halves: for a row in hand.
    pub fn matches(&self, columns: &Columns<'_>, body: Body<'_>) -> bool {
        self.matches_columns(columns) && self.matches_body(body)
    }

    /// Does any term need the event's JSON?
    pub fn needs_body(&self) -> bool {
        self.terms.iter().any(|t| t.test.reads_body())
    }

    pub fn matches_columns(&self, c: &Columns<'_>) -> bool {
        self.type_ok(c.event_type)
            && self.user_ok(c.user)
            && self.device_ok(c.device)
            && self.rest_ok(c.status, c.codes, c.tag)
    }

    /// The `type:` terms alone: a store asks once per distinct type.
    pub fn type_ok(&self, event_type: Option<&str>) -> bool {
        self.regex_terms(|t| matches!(t, Test::Type(_)), event_type)
    }

    pub fn user_ok(&self, user: Option<&str>) -> bool {
        self.regex_terms(|t| matches!(t, Test::User(_)), user)
    }

    pub fn device_ok(&self, device: Option<&str>) -> bool {
        self.regex_terms(|t| matches!(t, Test::Device(_)), device)
    }

    /// `status:`, `code:` and `tag:` terms.
    pub fn rest_ok(&self, status: Status, codes: CodeSet, tag: Option<&str>) -> bool {
        self.terms.iter().all(|t| {
            let hit = match &t.test {
                Test::Status(any) => any.contains(&status),
                Test::Code(any) => codes.any(any),
                Test::Tag(any) => tag.is_some_and(|tag| any.iter().any(|a| a == tag)),
                _ => return true,
            };
            hit != t.negated
        })
    }

    fn regex_terms(&self, kind: impl Fn(&Test) -> bool, value: Option<&str>) -> bool {
        self.terms.iter().filter(|t| kind(&t.test)).all(|t| {
            let hit = match &t.test {
                Test::Type(re) | Test::User(re) | Test::Device(re) => {
                    value.is_some_and(|v| re.is_match(v))
                }
                _ => true,
            };
            hit != t.negated
        })
    }

    /// The body terms alone.
    pub fn matches_body(&self, body: Body<'_>) -> bool {
        self.terms
            .iter()
            .filter(|t| t.test.reads_body())
            .all(|t| t.test.matches_body(body) != t.negated)
    }
}

impl Test {
    fn reads_body(&self) -> bool {
        matches!(
            self,
            Test::Has(_) | Test::Missing(_) | Test::Prop(..) | Test::Text(_)
        )
    }

    fn matches_body(&self, body: Body<'_>) -> bool {
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
            Test::Prop(path, values) => lookup(e, path).is_some_and(|v| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                values.contains(&text)
            }),
            Test::Text(re) => text_matches(re, e),
            Test::Type(_)
            | Test::User(_)
            | Test::Device(_)
            | Test::Status(_)
            | Test::Code(_)
            | Test::Tag(_) => true,
        }
    }
}

/// Free text finds what was sent as typed and what it decodes to: SDKs that
/// escape non-ASCII (Python's `"\u3053\u3093"`) still match `こんにちは`.
fn text_matches(re: &Regex, e: &Event) -> bool {
    let raw = e.raw().get();
    re.is_match(raw) || (raw.contains('\\') && any_string(e.json(), re))
}

fn any_string(v: &Value, re: &Regex) -> bool {
    match v {
        Value::String(s) => re.is_match(s),
        Value::Array(items) => items.iter().any(|i| any_string(i, re)),
        Value::Object(map) => map.iter().any(|(k, v)| re.is_match(k) || any_string(v, re)),
        _ => false,
    }
}

/// A non-null value at `path` inside event_properties, else among the event's own fields.
fn property<'a>(e: &'a Event, path: &[String]) -> Option<&'a Value> {
    lookup(e, path).filter(|v| !v.is_null())
}

fn lookup<'a>(e: &'a Event, path: &[String]) -> Option<&'a Value> {
    let walk = |mut v: &'a Value| {
        for part in path {
            v = v.get(part.as_str())?;
        }
        Some(v)
    };
    e.get("event_properties")
        .and_then(walk)
        .or_else(|| walk(e.json()))
}

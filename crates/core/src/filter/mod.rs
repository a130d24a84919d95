//! The filter language of the TUI and the query API: parsed once into a
//! matcher, then matched against each event.
//!
//! Terms side by side must all hold; `or` between them, `!` or `-` before a
//! term or a `( … )` group negates; `a|b` gives alternatives inside a field;
//! a word without a known `field:` prefix is free text searched in the
//! event's JSON, raw and decoded. Quotes keep spaces:
//! `prop.query_text="reset password"`.
//!
//! Terms are of two kinds, so a store can match a million rows without
//! their JSON: *column* terms (`type:`, `user:`, `device:`, `status:`,
//! `code:`, `tag:`) read only what the store keeps of each row; *body* terms
//! (free text, `has:`, `missing:`, `prop.`) need the event itself. Each term
//! is one bit; the expression is decided in three values, so the columns
//! settle most rows and only the rest are read back.

mod atom;
mod expr;
mod parse;
#[cfg(test)]
mod tests;

use crate::event::Event;
use crate::plan::{Code, Finding, Severity};
use atom::{Reads, Test};
use expr::{Expr, Parser};
use parse::tokens;

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
        "property equals VALUE exactly (a|b alternatives); != for none of them",
    ),
    (
        "prop.PATH>N",
        "property is a number above N; also >=, <, <= (prop.latency_ms>1000)",
    ),
    (
        "prop.PATH~REGEX",
        "property matches REGEX anywhere, any case (prop.app_id~^app-); (?-i) for exact case",
    ),
    ("tag:NAME", "carries the test tag NAME"),
    ("A B", "both A and B"),
    ("A or B", "A or B (or binds looser: a b or c is (a b) or c)"),
    ("( … )", "a group: type:x (status:error or code:bad_time)"),
    ("!WORD  -WORD", "negates a term or a group: !(…)"),
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

/// What a row's columns alone say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnVerdict {
    Match,
    NoMatch,
    /// It depends on the event itself: the terms decided so far, for
    /// [`Filter::decide`] once the body's are known.
    NeedsBody(u64),
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    source: String,
    terms: Vec<Test>,
    expr: Option<Expr>,
    /// One bit per term, by what it reads.
    type_terms: u64,
    user_terms: u64,
    device_terms: u64,
    rest_terms: u64,
    body_terms: u64,
}

impl Filter {
    pub fn parse(source: &str) -> Result<Filter, FilterError> {
        let tokens = tokens(source);
        let mut parser = Parser::new(&tokens);
        let expr = parser.parse()?;
        let mut filter = Filter {
            source: source.trim().to_owned(),
            terms: parser.terms,
            expr,
            ..Filter::default()
        };
        for (i, term) in filter.terms.iter().enumerate() {
            let mask = match term.reads() {
                Reads::Type => &mut filter.type_terms,
                Reads::User => &mut filter.user_terms,
                Reads::Device => &mut filter.device_terms,
                Reads::Rest => &mut filter.rest_terms,
                Reads::Body => &mut filter.body_terms,
            };
            *mask |= 1 << i;
        }
        Ok(filter)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_empty(&self) -> bool {
        self.expr.is_none()
    }

    /// Does any term need the event's JSON?
    pub fn needs_body(&self) -> bool {
        self.body_terms != 0
    }

    /// For a row in hand.
    pub fn matches(&self, columns: &Columns<'_>, body: Body<'_>) -> bool {
        self.decide(self.column_bits(columns), self.body_bits(body))
    }

    /// The terms a row's columns decide, one bit each: what `verdict` and `decide` read.
    pub fn column_bits(&self, c: &Columns<'_>) -> u64 {
        self.type_bits(c.event_type)
            | self.user_bits(c.user)
            | self.device_bits(c.device)
            | self.rest_bits(c.status, c.codes, c.tag)
    }

    /// The `type:` terms that hold: a store asks once per distinct type.
    pub fn type_bits(&self, event_type: Option<&str>) -> u64 {
        self.bits(self.type_terms, |t| t.on_name(event_type))
    }

    pub fn user_bits(&self, user: Option<&str>) -> u64 {
        self.bits(self.user_terms, |t| t.on_name(user))
    }

    pub fn device_bits(&self, device: Option<&str>) -> u64 {
        self.bits(self.device_terms, |t| t.on_name(device))
    }

    /// Which kinds of column terms there are (type, user, device): a store
    /// keeps no memory for a kind the filter does not use.
    pub fn reads_names(&self) -> [bool; 3] {
        [
            self.type_terms != 0,
            self.user_terms != 0,
            self.device_terms != 0,
        ]
    }

    /// `status:`, `code:` and `tag:` terms.
    pub fn rest_bits(&self, status: Status, codes: CodeSet, tag: Option<&str>) -> u64 {
        self.bits(self.rest_terms, |t| t.on_rest(status, codes, tag))
    }

    /// The body terms that hold for an event (or a request without one).
    pub fn body_bits(&self, body: Body<'_>) -> u64 {
        self.bits(self.body_terms, |t| t.on_body(body))
    }

    /// The free-text terms' patterns: what the detail view highlights.
    pub fn text_patterns(&self) -> impl Iterator<Item = &regex::Regex> {
        self.terms.iter().filter_map(Test::text_pattern)
    }

    /// What the column terms alone decide.
    pub fn verdict(&self, column_bits: u64) -> ColumnVerdict {
        match &self.expr {
            None => ColumnVerdict::Match,
            Some(e) => match e.eval(column_bits, self.body_terms) {
                Some(true) => ColumnVerdict::Match,
                Some(false) => ColumnVerdict::NoMatch,
                None => ColumnVerdict::NeedsBody(column_bits),
            },
        }
    }

    /// The whole filter, every term known.
    pub fn decide(&self, column_bits: u64, body_bits: u64) -> bool {
        self.expr
            .as_ref()
            .is_none_or(|e| e.eval(column_bits | body_bits, 0) == Some(true))
    }

    fn bits(&self, mask: u64, holds: impl Fn(&Test) -> bool) -> u64 {
        if mask == 0 {
            return 0;
        }
        self.terms
            .iter()
            .enumerate()
            .filter(|(i, t)| mask >> i & 1 == 1 && holds(t))
            .fold(0, |bits, (i, _)| bits | 1 << i)
    }
}

//! The filter language of the TUI and the query API: parsed once into a
//! matcher, then matched against each event.
//!
//! Words are AND-ed; `-word` negates; `a|b` gives alternatives inside a
//! field; anything without a known `field:` prefix is free text searched in
//! the raw JSON. Quotes keep spaces: `prop.query_text="reset password"`.

use regex::{Regex, RegexBuilder};

use crate::event::Event;
use crate::plan::{Code, Finding, Severity};

/// The operators, for the help screen and error messages (one table).
pub const OPERATORS: &[(&str, &str)] = &[
    ("type:REGEX", "event type matches (e.g. type:dify_.*)"),
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
    ("TEXT", "free text in the raw JSON (case-insensitive)"),
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

/// What a filter sees of one event.
pub struct Candidate<'a> {
    pub event: &'a Event,
    pub findings: &'a [Finding],
    pub status: Status,
    pub tag: Option<&'a str>,
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
            let (negated, word) = match word.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest.to_owned()),
                _ => (false, word),
            };
            let test = parse_word(&word).map_err(err)?;
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

    pub fn matches(&self, c: &Candidate<'_>) -> bool {
        self.terms.iter().all(|t| t.test.matches(c) != t.negated)
    }
}

fn parse_word(word: &str) -> Result<Test, String> {
    let regex = |field: &str, pattern: &str| {
        RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("bad regex in {field}: {}", first_error_line(&e)))
    };
    let alternatives = |v: &str| v.split('|').map(str::to_owned).collect::<Vec<_>>();
    if let Some((path, value)) = word.strip_prefix("prop.").and_then(|r| r.split_once('=')) {
        if path.is_empty() {
            return Err("prop. needs a property name: prop.NAME=VALUE".into());
        }
        return Ok(Test::Prop(
            path.split('.').map(str::to_owned).collect(),
            alternatives(value),
        ));
    }
    let Some((field, value)) = word.split_once(':').filter(|(f, _)| is_field(f)) else {
        let pattern = format!("(?i){}", regex::escape(word));
        return Regex::new(&pattern)
            .map(Test::Text)
            .map_err(|e| e.to_string());
    };
    if value.is_empty() {
        return Err(format!("{field}: needs a value"));
    }
    Ok(match field {
        "type" => Test::Type(regex("type", value)?),
        "user" => Test::User(regex("user", value)?),
        "device" => Test::Device(regex("device", value)?),
        "status" => Test::Status(
            value
                .split('|')
                .map(|s| match s {
                    "ok" => Ok(Status::Ok),
                    "warning" | "warn" => Ok(Status::Warning),
                    "error" => Ok(Status::Error),
                    _ => Err(format!("status:{s}? use ok, warning or error")),
                })
                .collect::<Result<_, _>>()?,
        ),
        "code" => Test::Code(value.split('|').map(str::parse).collect::<Result<_, _>>()?),
        "has" => Test::Has(paths(value)),
        "missing" => Test::Missing(paths(value)),
        "tag" => Test::Tag(alternatives(value)),
        other => return Err(format!("unknown field {other}:")),
    })
}

fn is_field(f: &str) -> bool {
    matches!(
        f,
        "type" | "user" | "device" | "status" | "code" | "has" | "missing" | "tag"
    )
}

fn first_error_line(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(&text)
        .to_owned()
}

/// Splits on whitespace outside double quotes; returns each word (quotes
/// removed) with its 1-based character position.
fn words(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut in_quotes = false;
    for (i, c) in source.chars().enumerate() {
        match c {
            '"' => {
                if current.is_empty() && !in_quotes {
                    start = i + 1;
                }
                in_quotes = !in_quotes;
            }
            c if c.is_whitespace() && !in_quotes => {
                if !current.is_empty() {
                    out.push((start, std::mem::take(&mut current)));
                }
            }
            c => {
                if current.is_empty() {
                    start = i + 1;
                }
                current.push(c);
            }
        }
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

impl Test {
    fn matches(&self, c: &Candidate<'_>) -> bool {
        let e = c.event;
        match self {
            Test::Type(re) => e.event_type().is_some_and(|t| re.is_match(t)),
            Test::User(re) => e.user_id().is_some_and(|u| re.is_match(u)),
            Test::Device(re) => e.device_id().is_some_and(|d| re.is_match(d)),
            Test::Status(any) => any.contains(&c.status),
            Test::Code(any) => c.findings.iter().any(|f| any.contains(&f.code)),
            Test::Has(any) => any.iter().any(|p| property(e, p).is_some()),
            Test::Missing(any) => any.iter().any(|p| property(e, p).is_none()),
            Test::Prop(path, values) => lookup(e, path).is_some_and(|v| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                values.contains(&text)
            }),
            Test::Tag(any) => c.tag.is_some_and(|t| any.iter().any(|a| a == t)),
            Test::Text(re) => re.is_match(e.raw().get()),
        }
    }
}

/// `a|b.c` → alternatives, each split at dots (once, at parse time).
fn paths(value: &str) -> Vec<Vec<String>> {
    value
        .split('|')
        .map(|p| p.split('.').map(str::to_owned).collect())
        .collect()
}

/// A non-null value at `path` inside event_properties, else among the event's own fields.
fn property<'a>(e: &'a Event, path: &[String]) -> Option<&'a serde_json::Value> {
    lookup(e, path).filter(|v| !v.is_null())
}

fn lookup<'a>(e: &'a Event, path: &[String]) -> Option<&'a serde_json::Value> {
    let walk = |mut v: &'a serde_json::Value| {
        for part in path {
            v = v.get(part.as_str())?;
        }
        Some(v)
    };
    e.get("event_properties")
        .and_then(walk)
        .or_else(|| walk(e.json()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Dialect;
    use serde_json::value::RawValue;

    fn ev(json: &str) -> Event {
        Event::from_raw(
            RawValue::from_string(json.to_owned()).expect("json"),
            Dialect::V2,
        )
    }

    fn finding(code: Code, severity: Severity) -> Finding {
        Finding {
            code,
            severity,
            event_type: None,
            path: String::new(),
            expected: None,
            actual: None,
        }
    }

    fn matches(filter: &str, event: &Event, findings: &[Finding]) -> bool {
        let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        f.matches(&Candidate {
            event,
            findings,
            status: Status::of(findings),
            tag: Some("checkout"),
        })
    }

    #[test]
    fn every_form() {
        let e = ev(
            r#"{"event_type":"dify_user_query","user_id":"user-42","device_id":"dev-1","event_properties":{"model":"gpt-4o","n":3,"nested":{"a":true},"empty":null,"q":"reset my password"}}"#,
        );
        let missing = [finding(Code::MissingProperty, Severity::Error)];
        for (filter, want) in [
            ("", true),
            ("type:dify_user_query", true),
            ("type:dify_.*", true),
            ("type:dify", false),
            ("type:other|dify_user_query", true),
            ("user:user-4.", true),
            ("device:dev-2", false),
            ("status:error", true),
            ("status:ok|warning", false),
            ("code:missing_property", true),
            ("code:null_property", false),
            ("has:model", true),
            ("has:nested.a", true),
            ("has:empty", false),
            ("missing:empty", true),
            ("missing:model", false),
            ("prop.model=gpt-4o", true),
            ("prop.model=claude|gpt-4o", true),
            ("prop.n=3", true),
            ("prop.nested.a=true", true),
            ("prop.q=\"reset my password\"", true),
            ("-type:dify_user_query", false),
            ("-status:ok", true),
            ("GPT-4O", true),
            ("password -user:nobody", true),
            ("type:dify_.* status:error code:missing_property", true),
            ("type:dify_.* status:ok", false),
            ("tag:checkout", true),
            ("tag:other", false),
        ] {
            assert_eq!(matches(filter, &e, &missing), want, "{filter}");
        }
    }

    #[test]
    fn bad_input_is_an_error_with_a_position() {
        let e = Filter::parse("type:ok user:(unclosed").expect_err("bad regex");
        assert_eq!(e.position, 9);
        assert!(e.message.contains("bad regex in user"), "{e}");
        assert!(Filter::parse("status:fine")
            .expect_err("status")
            .message
            .contains("ok, warning or error"));
        assert!(Filter::parse("code:nope")
            .expect_err("code")
            .message
            .contains("unknown finding code"));
        assert!(Filter::parse("type:").is_err());
        assert!(Filter::parse("prop.=x").is_err());
        // Unknown prefixes are free text, not errors: URLs and times contain colons.
        assert!(Filter::parse("https://x 10:30").is_ok());
    }

    #[test]
    fn status_is_the_worst_finding() {
        assert_eq!(Status::of(&[]), Status::Ok);
        assert_eq!(
            Status::of(&[
                finding(Code::BadTime, Severity::Warning),
                finding(Code::MissingId, Severity::Error)
            ]),
            Status::Error
        );
    }
}

//! The filter's text: split into tokens (quotes keep spaces) and each word
//! parsed into a test.

use regex::{Regex, RegexBuilder};

use super::atom::{Compare, Test};
use super::Status;

pub(super) fn parse_word(word: &str, quoted: bool) -> Result<Test, String> {
    // Whole-value regexes, case-insensitive; `=` first makes one exact in case.
    let regex = |field: &str, pattern: &str| {
        let (exact, pattern) = match pattern.strip_prefix('=') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        RegexBuilder::new(&format!("^(?:{pattern})$"))
            .case_insensitive(!exact)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("bad regex in {field}: {}", first_error_line(&e)))
    };
    if let Some(rest) = word.strip_prefix("prop.").filter(|_| !quoted) {
        return prop(rest);
    }
    if !quoted {
        if let Some((name, value)) = word.split_once(':') {
            let looks_like_a_field = name.len() >= 2
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && !value.starts_with("//");
            if looks_like_a_field && !is_field(name) {
                return Err(format!(
                    "unknown field {name}: — fields are type, user, device, status, code, has, missing, tag and prop.NAME=; put free text with a colon in quotes"
                ));
            }
        }
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

fn alternatives(v: &str) -> Vec<String> {
    v.split('|').map(str::to_owned).collect()
}

/// `prop.PATH` then `=`, `!=`, `>`, `>=`, `<`, `<=` or `~`, then the value.
fn prop(rest: &str) -> Result<Test, String> {
    const USAGE: &str = "prop.NAME then =, !=, >, >=, <, <= or ~ and a value";
    let Some(op_at) = rest.find(['=', '!', '<', '>', '~']) else {
        return Err(format!("{USAGE} (prop.{rest}?)"));
    };
    let (path, op_value) = rest.split_at(op_at);
    if path.is_empty() {
        return Err(format!("prop. needs a property name: {USAGE}"));
    }
    let ops = [">=", "<=", "!=", ">", "<", "=", "~"];
    let Some(op) = ops.into_iter().find(|op| op_value.starts_with(op)) else {
        return Err(format!("{USAGE} (after prop.{path})"));
    };
    let value = &op_value[op.len()..];
    let number = || {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("prop.{path}{op} needs a number, not \"{value}\""))
    };
    use std::cmp::Ordering::{Greater, Less};
    let compare = match op {
        "=" => Compare::OneOf(alternatives(value)),
        "!=" => Compare::NoneOf(alternatives(value)),
        ">" => Compare::Number(Greater, false, number()?),
        ">=" => Compare::Number(Greater, true, number()?),
        "<" => Compare::Number(Less, false, number()?),
        "<=" => Compare::Number(Less, true, number()?),
        _ => Compare::Regex(
            RegexBuilder::new(value)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("bad regex in prop.{path}~: {}", first_error_line(&e)))?,
        ),
    };
    Ok(Test::Prop(
        path.split('.').map(str::to_owned).collect(),
        compare,
    ))
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

/// A piece of a filter's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// A term, quotes removed; `quoted` when it began with a quote (then it
    /// is free text, whatever it looks like).
    Word {
        position: usize,
        text: String,
        quoted: bool,
    },
    Open(usize),
    Close(usize),
    Or(usize),
    Not(usize),
}

impl Token {
    /// Where it starts, in characters from 1.
    pub(super) fn position(&self) -> usize {
        match self {
            Token::Word { position, .. }
            | Token::Open(position)
            | Token::Close(position)
            | Token::Or(position)
            | Token::Not(position) => *position,
        }
    }
}

/// Splits on whitespace outside double quotes. At the start of a word `(`
/// opens a group and `!` or `-` negates; a `)` closes a group unless it
/// closes a `(` of its own word (`type:(a|b)`); `or` alone is OR.
pub(super) fn tokens(source: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut start, mut depth, mut quoted, mut in_quotes) = (0, 0usize, false, false);
    let chars: Vec<char> = source.chars().collect();
    let finish = |out: &mut Vec<Token>, word: &mut String, start: usize, quoted: bool| {
        if word.is_empty() && !quoted {
            return;
        }
        let text = std::mem::take(word);
        out.push(if !quoted && text.eq_ignore_ascii_case("or") {
            Token::Or(start)
        } else {
            Token::Word {
                position: start,
                text,
                quoted,
            }
        });
    };
    for (i, &c) in chars.iter().enumerate() {
        let position = i + 1;
        let at_start = word.is_empty() && !quoted;
        let next_is_text = chars.get(i + 1).is_some_and(|n| !n.is_whitespace());
        match c {
            '"' => {
                if at_start {
                    start = position + 1;
                    quoted = true;
                }
                in_quotes = !in_quotes;
            }
            _ if in_quotes => word.push(c),
            c if c.is_whitespace() => {
                finish(&mut out, &mut word, start, quoted);
                (depth, quoted) = (0, false);
            }
            '(' if at_start => out.push(Token::Open(position)),
            '!' | '-' if at_start && next_is_text => out.push(Token::Not(position)),
            ')' if depth == 0 => {
                finish(&mut out, &mut word, start, quoted);
                quoted = false;
                out.push(Token::Close(position));
            }
            c => {
                if word.is_empty() {
                    start = position;
                }
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                word.push(c);
            }
        }
    }
    finish(&mut out, &mut word, start, quoted);
    out
}

/// `a|b.c` → alternatives, each split at dots (once, at parse time).
fn paths(value: &str) -> Vec<Vec<String>> {
    value
        .split('|')
        .map(|p| p.split('.').map(str::to_owned).collect())
        .collect()
}

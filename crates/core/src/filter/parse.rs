//! The filter's words: split (quotes keep spaces) and parsed into tests.

use regex::{Regex, RegexBuilder};

use super::{Status, Test};

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
pub(super) fn words(source: &str) -> Vec<(usize, String)> {
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

/// `a|b.c` → alternatives, each split at dots (once, at parse time).
fn paths(value: &str) -> Vec<Vec<String>> {
    value
        .split('|')
        .map(|p| p.split('.').map(str::to_owned).collect())
        .collect()
}

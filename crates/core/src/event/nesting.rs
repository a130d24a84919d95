//! How deep a request's JSON goes: every kept event must read back from a
//! journal line, where it sits two levels deeper than in its request.

use super::decode::MAX_NESTING;
use super::DecodeError;

/// A scan for `[`/`{` depth outside strings: a form's JSON field (after
/// url-decoding) is held to the limit by it, and a JSON body that serde_json
/// refused is looked at with it to say why in amptap's words.
pub(super) fn check_nesting(body: &[u8]) -> Result<(), DecodeError> {
    check_nesting_within(body, 0)
}

/// An event's depth within the limit, its request's object and events
/// array counted. Most events open a few brackets in all, which bounds
/// their depth: those are counted, not scanned.
pub(super) fn check_event_nesting(raw: &str) -> Result<(), DecodeError> {
    const OUTER: usize = 2;
    if openings(raw.as_bytes()) + OUTER <= MAX_NESTING {
        return Ok(());
    }
    check_nesting_within(raw.as_bytes(), OUTER)
}

/// How many `[` and `{` the text holds (`b | 0x20` is `{` for both and
/// nothing else), counted in byte lanes 255 at a time, which the compiler
/// turns into vector code: a few µs for a 50 KB request.
fn openings(text: &[u8]) -> usize {
    let opening = |b: u8| u8::from(b | 0x20 == b'{');
    let mut chunks = text.chunks_exact(usize::from(u8::MAX));
    let mut count = 0;
    for chunk in &mut chunks {
        count += usize::from(chunk.iter().map(|&b| opening(b)).sum::<u8>());
    }
    count
        + chunks
            .remainder()
            .iter()
            .map(|&b| usize::from(opening(b)))
            .sum::<usize>()
}

/// A value's depth within the limit, `outer` levels around it counted.
pub(super) fn check_value_nesting(
    value: &serde_json::Value,
    outer: usize,
) -> Result<(), DecodeError> {
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    if outer + depth(value) > MAX_NESTING {
        return Err(too_deep());
    }
    Ok(())
}

fn too_deep() -> DecodeError {
    DecodeError::InvalidJson(format!("nested deeper than {MAX_NESTING} levels"))
}

fn check_nesting_within(body: &[u8], outer: usize) -> Result<(), DecodeError> {
    let mut depth = outer;
    let mut at = 0;
    while let Some(&b) = body.get(at) {
        at += 1;
        match b {
            b'"' => at = past_string(body, at),
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep());
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Where the string whose text starts at `at` ends (just past its closing
/// quote, or the body's end): bodies are mostly strings, skipped by memchr.
fn past_string(body: &[u8], mut at: usize) -> usize {
    while let Some(rest) = body.get(at..) {
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(k) if rest.get(k) == Some(&b'\\') => at += k + 2, // and the escaped byte
            Some(k) => return at + k + 1,
            None => break,
        }
    }
    body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_inside_strings_are_not_nesting() {
        let deep = "[".repeat(MAX_NESTING + 1);
        let quoted = format!(r#"{{"s":"\"{deep}\\","t":"{deep}"}}"#);
        assert!(check_nesting(quoted.as_bytes()).is_ok(), "{quoted}");
        assert!(check_nesting(deep.as_bytes()).is_err());
        // An escaped quote does not end the string; a torn one runs to the end.
        assert!(check_nesting(format!(r#"["\"{deep}"]"#).as_bytes()).is_ok());
        assert!(check_nesting(br#"["abc\"#).is_ok());
    }

    #[test]
    fn openings_are_counted_across_lanes() {
        for len in [0, 1, 254, 255, 256, 600, 5000] {
            let text: Vec<u8> = (0..len).map(|i| b"[{x]}a\\"[i % 7]).collect();
            let expected = text.iter().filter(|&&b| b == b'[' || b == b'{').count();
            assert_eq!(openings(&text), expected, "{len}");
        }
        assert_eq!(openings(&[b'{'; 255]), 255, "a full lane does not overflow");
    }

    #[test]
    fn an_event_is_as_deep_as_its_request_allows() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(check_event_nesting(&nested(MAX_NESTING - 2)).is_ok());
        assert!(check_event_nesting(&nested(MAX_NESTING - 1)).is_err());
        // Many brackets side by side are not depth; brackets in strings are not either.
        assert!(check_event_nesting(&format!("[{}]", vec!["[]"; 500].join(","))).is_ok());
        let quoted = format!(r#"{{"s":"{}"}}"#, "[".repeat(500));
        assert!(check_event_nesting(&quoted).is_ok());
        let deep: serde_json::Value = serde_json::from_str(&nested(MAX_NESTING)).expect("json");
        assert!(check_value_nesting(&deep, 0).is_ok());
        assert!(check_value_nesting(&deep, 1).is_err());
    }
}

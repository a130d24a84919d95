use serde_json::Value;

use super::*;

/// What `Event::json` makes of the same text.
fn value_of(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

/// Every reading of the tape agrees with the `Value`, all the way down.
fn same(view: View<'_>, value: &Value) {
    assert_eq!(view.to_value(), *value);
    assert_eq!(view.is_null(), value.is_null());
    assert_eq!(view.as_str(), value.as_str());
    assert_eq!(view.as_bool(), value.as_bool());
    assert_eq!(view.as_i64(), value.as_i64());
    assert_eq!(view.as_u64(), value.as_u64());
    assert_eq!(view.as_f64(), value.as_f64());
    let integer = value.as_number().is_some_and(|n| n.is_i64() || n.is_u64());
    assert_eq!(view.kind() == Kind::Integer, integer);
    match value {
        Value::Object(map) => {
            assert_eq!(view.size(), Some(map.len()));
            let sorted = view.sorted();
            assert_eq!(sorted.len(), map.len());
            for ((key, v), (k, inner)) in sorted.iter().zip(map) {
                assert_eq!(key, k);
                same(*v, inner);
                same(view.get(k).expect("present"), inner);
            }
            assert!(view.get("no such key").is_none());
        }
        Value::Array(items) => {
            assert_eq!(view.size(), Some(items.len()));
            let seen: Vec<View<'_>> = view.items().collect();
            assert_eq!(seen.len(), items.len());
            for (v, item) in seen.into_iter().zip(items) {
                same(v, item);
            }
        }
        _ => assert_eq!(view.size(), None),
    }
}

fn check(raw: &str) {
    let tape = Tape::parse(raw);
    same(tape.root(raw), &value_of(raw));
}

#[test]
fn reads_as_serde_json_does() {
    for raw in [
        r#"{"event_type":"a","user_id":"u-1","time":1795514400100,"event_properties":{"n":3,"f":2.5,"neg":-7,"ok":true,"no":null,"list":[1,"x",[],{}]}}"#,
        r#"{"s":"line\nbreak \"quoted\" \u3053\u3093\u306b\u3061\u306f \ud83d\ude00 tab\t"}"#,
        r#"{"k\u0065y":"escaped key","plain":"é U+2028: \u2028 raw:  "}"#,
        r#"{"dup":1,"other":true,"dup":"second","dup":{"third":[3]}}"#,
        r#"{"big":18446744073709551615,"min":-9223372036854775808,"exp":1e3,"small":1.5e-300}"#,
        r#"[1,[2,[3,[4]]],{"a":{"b":{"c":null}}}]"#,
        "{}",
        "[]",
        "\"just a string\"",
        "42",
        "-0",
        "null",
        "  { \"spaced\" : [ 1 , 2 ] }  ",
    ] {
        check(raw);
    }
}

#[test]
fn what_serde_json_refuses_is_null() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for raw in [deep.as_str(), "{\"a\":1e400}", "{\"a\":", "[1] trailing"] {
        let tape = Tape::parse(raw);
        assert!(tape.root(raw).is_null(), "{raw}");
        assert!(value_of(raw).is_null(), "{raw}");
    }
}

#[test]
fn every_recorded_sdk_event_reads_the_same() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wire");
    let mut events = 0;
    for entry in std::fs::read_dir(&dir)
        .expect("the wire fixtures")
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).expect("a fixture");
        for line in text.lines() {
            let request: Value = serde_json::from_str(line).expect("a recorded request");
            // The body as the SDK sent it (escapes and all), then each value in it.
            let Some(body) = request.get("body").and_then(Value::as_str) else {
                continue;
            };
            check(body);
            let mut stack = vec![value_of(body)];
            while let Some(v) = stack.pop() {
                check(&v.to_string());
                events += 1;
                match v {
                    Value::Array(items) => stack.extend(items),
                    Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
                    _ => {}
                }
            }
        }
    }
    assert!(events > 100, "read {events} values from {}", dir.display());
}

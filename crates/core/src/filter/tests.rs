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
    let columns = Columns::of(event, findings, Some("checkout"));
    let both = f.matches(&columns, Body::Event(event));
    // What a store does: the columns first, the event only when they cannot settle it.
    let staged = match f.verdict(f.column_bits(&columns)) {
        ColumnVerdict::Match => true,
        ColumnVerdict::NoMatch => false,
        ColumnVerdict::NeedsBody(known) => f.decide(known, f.body_bits(Body::Event(event))),
    };
    assert_eq!(both, staged, "{filter}: in stages as in one go");
    both
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
fn free_text_matches_decoded_strings() {
    // The official Python SDK escapes every non-ASCII character.
    let escaped = ev(
        r#"{"event_type":"greet","event_properties":{"text":"\u3053\u3093\u306b\u3061\u306f"}}"#,
    );
    let plain = ev(r#"{"event_type":"greet","event_properties":{"text":"こんにちは"}}"#);
    for e in [&escaped, &plain] {
        assert!(matches("こんにちは", e, &[]), "{}", e.raw().get());
        assert!(matches("んにち", e, &[]));
        assert!(!matches("-こんにちは", e, &[]));
        assert!(!matches("さようなら", e, &[]));
    }
    assert!(
        matches(r#"\u3053"#, &escaped, &[]),
        "the raw text matches too"
    );
    let filter = Filter::parse("password").expect("filter");
    assert!(filter.needs_body());
    assert_eq!(filter.body_bits(Body::Request("{\"password\":1}")), 1);
    assert!(!Filter::parse("type:x code:bad_time")
        .expect("f")
        .needs_body());
}

#[test]
fn code_sets_hold_every_code() {
    let all: Vec<Finding> = Code::ALL
        .iter()
        .map(|&c| finding(c, Severity::Warning))
        .collect();
    let set = CodeSet::of(&all);
    assert!(Code::ALL.iter().all(|&c| set.contains(c)));
    let one = CodeSet::of(&all[3..4]);
    assert_eq!(Code::ALL.iter().filter(|&&c| one.contains(c)).count(), 1);
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

#[test]
fn names_match_in_any_case_unless_exact_and_unknown_fields_are_errors() {
    let e = ev(r#"{"event_type":"Song Played","user_id":"User-1"}"#);
    assert!(matches("type:song.played", &e, &[]));
    assert!(matches("user:user-1", &e, &[]));
    assert!(!matches("type:=song.played", &e, &[]), "= is exact in case");
    assert!(matches("type:=Song.Played", &e, &[]));
    let err = Filter::parse("type:a bogus:x").expect_err("unknown field");
    assert_eq!(err.position, 8);
    assert!(
        err.message.contains("unknown field bogus:"),
        "{}",
        err.message
    );
    assert!(Filter::parse("\"bogus:x\"").is_ok(), "quoted is free text");
    assert!(
        Filter::parse("http://example.com").is_ok(),
        "a URL is free text"
    );
}

#[test]
fn or_groups_and_negation() {
    let e = ev(
        r#"{"event_type":"dify_user_query","user_id":"user-42","event_properties":{"model":"gpt-4o","latency_ms":1800,"app_id":"app-7","score":"0.5"}}"#,
    );
    let err = [finding(Code::MissingProperty, Severity::Error)];
    for (filter, want) in [
        ("type:other or type:dify_user_query", true),
        ("type:other OR user:nobody", false),
        ("type:dify_user_query status:ok or code:bad_time", false),
        ("type:other or status:error code:missing_property", true),
        ("type:dify_.* (status:ok or code:missing_property)", true),
        ("!(type:other or user:nobody)", true),
        ("!type:dify_user_query", false),
        ("-(status:error)", false),
        ("(type:other or gpt-4o) user:user-42", true),
        ("(type:other or claude) user:user-42", false),
        ("type:(other|dify_user_query)", true),
        ("((type:dify_user_query))", true),
        ("\"or\"", true), // free text: "score" has it
    ] {
        assert_eq!(matches(filter, &e, &err), want, "{filter}");
    }
}

#[test]
fn property_comparisons_and_regexes() {
    let e = ev(
        r#"{"event_type":"q","event_properties":{"latency_ms":1800,"app_id":"app-7","score":"0.5","model":"GPT-4o","none":null}}"#,
    );
    for (filter, want) in [
        ("prop.latency_ms>1000", true),
        ("prop.latency_ms>1800", false),
        ("prop.latency_ms>=1800", true),
        ("prop.latency_ms<2000.5", true),
        ("prop.latency_ms<=1799", false),
        ("prop.score>0.25", true),
        ("prop.model>1", false),
        ("prop.absent<1", false),
        ("prop.app_id~^app-", true),
        ("prop.app_id~^APP-[0-9]$", true),
        ("prop.app_id~(?-i)^APP-", false),
        ("prop.model~gpt", true),
        ("prop.none~.", false),
        ("prop.model!=claude", true),
        ("prop.model!=claude|GPT-4o", false),
        ("prop.absent!=x", false),
        ("prop.latency_ms>1000 or prop.app_id~^web-", true),
    ] {
        assert_eq!(matches(filter, &e, &[]), want, "{filter}");
    }
}

#[test]
fn the_grammar_says_where_it_is_broken() {
    for (filter, position, says) in [
        ("(type:a", 1, "never closed"),
        ("type:a)", 7, "without its ("),
        ("type:a or", 8, "after it"),
        ("or type:a", 1, "missing"),
        ("()", 1, "empty"),
        ("(type:a !)", 9, "needs a term after it"),
        ("prop.n>abc", 1, "needs a number"),
        ("prop.n~(", 1, "bad regex in prop.n~"),
        ("prop.n", 1, "prop.NAME then"),
        ("a (b or c", 3, "never closed"),
    ] {
        let e = Filter::parse(filter).expect_err(filter);
        assert_eq!(e.position, position, "{filter}: {e}");
        assert!(e.message.contains(says), "{filter}: {e}");
    }
    let many = vec!["x"; 64].join(" ");
    assert!(Filter::parse(&many)
        .expect_err("64 terms")
        .message
        .contains("too many"));
    assert!(Filter::parse(&vec!["x"; 63].join(" ")).is_ok());
}

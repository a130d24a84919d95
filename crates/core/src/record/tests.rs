use serde_json::value::RawValue;

use super::line::{parse_line, write_record, Line};
use super::*;
use crate::event::Dialect;

fn record_with(events: &[&str]) -> Record {
    let mut r = Record::new(
        "POST",
        "/2/httpapi",
        OffsetDateTime::UNIX_EPOCH,
        "127.0.0.1:1".into(),
    );
    r.seq = 7;
    r.events = events
        .iter()
        .map(|e| {
            Event::from_raw(
                RawValue::from_string((*e).to_owned()).expect("json"),
                Dialect::V2,
            )
        })
        .collect();
    r
}

fn one_line(r: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    write_record(r, &mut out).expect("serialize");
    let breaks = out.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(breaks, 1, "one line: {}", String::from_utf8_lossy(&out));
    assert_eq!(out.last(), Some(&b'\n'));
    out
}

fn read_back(line: &[u8]) -> Record {
    match parse_line(line).expect("parse") {
        Line::Record(r) => *r,
        Line::Marker(m) => panic!("a marker: {m:?}"),
    }
}

#[test]
fn every_event_round_trips_byte_for_byte_in_one_line() {
    let big = "x".repeat(10 * 1024 * 1024);
    let events = [
        "{\n  \"event_type\": \"pretty\",\r\n  \"user_id\": \"u-1\"\n}",
        "{\"event_type\":\"tab\",\t\"user_id\":\"u\\t1\"}",
        "{\"event_type\":\"line sep \u{2028} and \u{2029}\"}",
        r#"{"event_type":"\u3053\u3093\u306b\u3061\u306f","nul":"\u0000"}"#,
        "[\n1,\n2]",
        "\"just a string\"",
    ];
    let big_event = format!("{{\"event_type\":\"big\",\n\"s\":\"{big}\"}}");
    let mut all: Vec<&str> = events.to_vec();
    all.push(&big_event);
    let r = record_with(&all);
    let line = one_line(&r);
    let back = read_back(&line);
    assert_eq!(back.events.len(), all.len());
    for (got, want) in back.events.iter().zip(&all) {
        assert_eq!(got.raw().get(), *want);
    }
    assert_eq!(back, r);
}

#[test]
fn a_body_that_is_not_utf8_is_kept_as_base64_and_masked() {
    let mut r = record_with(&[]);
    let mut body =
        b"{\"api_key\":\"FAKE_API_KEY_NODE_0123456789\",\"events\":[\"\xff\xfe\n\"]}".to_vec();
    body.extend_from_slice(&[0, 1, 2, b'\r', b'\n']);
    r.refuse(
        ProblemKind::Undecodable,
        "Invalid JSON request body: bad",
        &body,
    );
    let line = one_line(&r);
    let text = String::from_utf8_lossy(&line);
    assert!(text.contains("body_base64"), "{text}");
    let back = read_back(&line);
    let kept = back.body.expect("body kept");
    assert!(!String::from_utf8_lossy(&kept.bytes).contains("NODE_0123"));
    assert!(kept.bytes.ends_with(&[0, 1, 2, b'\r', b'\n']));
    assert_eq!(back.problem.map(|p| p.kind), Some(ProblemKind::Undecodable));
}

#[test]
fn a_large_body_is_capped() {
    let mut r = record_with(&[]);
    r.refuse(
        ProblemKind::Undecodable,
        "x",
        &vec![b'a'; KeptBody::MAX + 10],
    );
    let back = read_back(&one_line(&r));
    let kept = back.body.expect("body");
    assert!(kept.truncated);
    assert_eq!(kept.bytes.len(), KeptBody::MAX);
}

#[test]
fn wrong_paths_have_no_endpoint_and_keep_their_method() {
    let mut r = Record::new("GET", "/2/httpApi", OffsetDateTime::UNIX_EPOCH, "c".into());
    r.refuse(
        ProblemKind::WrongPath,
        "no Amplitude API at /2/httpApi",
        b"",
    );
    let line = one_line(&r);
    let back = read_back(&line);
    assert_eq!(back.endpoint, None);
    assert_eq!(back.request_line(), "GET /2/httpApi");
    assert!(back.body.is_none());
    assert!(!back.accepted());
}

#[test]
fn wave1_lines_still_read() {
    let ok = br#"{"seq":1,"received":"2026-11-24T10:00:00Z","endpoint":"/2/httpapi","client":"c","body_bytes":1,"events":[{"event_type":"a"}],"answer":{"status":200,"body":"{\"code\":200}"},"delivery":{"kind":"offline"}}"#;
    let r = read_back(ok);
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/2/httpapi"));
    assert_eq!(r.events[0].event_type(), Some("a"));
    assert!(r.accepted());
    let refused = br#"{"seq":2,"received":"2026-11-24T10:00:00Z","endpoint":"/batch","client":"c","body_bytes":9,"events":[],"decode_error":"body over --max-body (5 bytes)","answer":{"status":413,"body":""},"delivery":{"kind":"refused","reason":"body over --max-body (5 bytes)"}}"#;
    let r = read_back(refused);
    assert_eq!(r.problem.map(|p| p.kind), Some(ProblemKind::TooLarge));
    let marker = br#"{"seq":3,"marker":"reset","at":"2026-11-24T10:00:00Z"}"#;
    assert!(matches!(parse_line(marker), Ok(Line::Marker(_))));
}

#[test]
fn answers_keep_a_bounded_body() {
    let big = vec![b'x'; Answer::KEPT_BODY_BYTES + 10];
    let a = Answer::new(500, None, &big);
    assert!(a.body_truncated);
    assert_eq!(a.body.len(), Answer::KEPT_BODY_BYTES);
    assert_eq!(
        Answer::new(200, None, br#"{"code":200}"#).json_code(),
        Some(200)
    );
}

//! Every finding code: one event that triggers it and a near miss that does not.

use amptap::event::{Dialect, Event};
use amptap::plan::{parse_toml, Code, EventContext, Finding, Plan, Severity, Validator};
use serde_json::value::RawValue;

const PLAN: &str = r#"
[settings]
event_name = "^[a-z][a-z0-9_]*$"
property_name = "^[a-z][a-z0-9_]*$"
unknown_events = "warning"
unexpected_properties = "warning"
min_id_length = 5
ignore = ["[Amplitude] *", "session_start"]

[events.dify_user_query]
max_per_minute = 3
[events.dify_user_query.properties]
query_text = { type = "string", required = true, min_length = 1, max_length = 20 }
app_id = { type = "string", required = true, source = "appId", pattern = "^app-[0-9]+$" }
model = { type = "string", enum = ["gpt-4o", "claude"] }
latency_ms = { type = "integer", min = 0, max = 60000 }
conversation_id = { type = "string", nullable = true }
tags = { type = "array<string>" }

[user_properties]
plan = { type = "string", enum = ["free", "pro"] }
"#;

const NOW: i64 = 1_795_559_291_000;

fn event(json: &str) -> Event {
    Event::from_raw(
        RawValue::from_string(json.to_owned()).expect("valid json"),
        Dialect::V2,
    )
}

/// A clean event with `patch` merged over its fields (`null` deletes a field).
fn query(patch: serde_json::Value) -> Event {
    let mut base = serde_json::json!({
        "event_type": "dify_user_query",
        "user_id": "user-12345",
        "device_id": "device-12345",
        "time": NOW - 1000,
        "insert_id": "ins-1",
        "event_properties": {"query_text": "hello", "app_id": "app-42", "model": "gpt-4o", "latency_ms": 812, "conversation_id": null, "tags": ["a"]}
    });
    merge(&mut base, patch);
    event(&base.to_string())
}

fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v == serde_json::json!("<delete>") {
                    b.remove(&k);
                } else if v.is_object() && b.get(&k).is_some_and(serde_json::Value::is_object) {
                    merge(b.get_mut(&k).expect("present"), v);
                } else {
                    b.insert(k, v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

fn ctx(seq: u64) -> EventContext {
    EventContext {
        received_ms: NOW,
        seq,
        delivered: true,
        min_id_length: None,
    }
}

fn findings(plan: &Plan, events: &[Event]) -> Vec<Finding> {
    let mut v = Validator::new(plan);
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        v.check(e, &ctx(i as u64 + 1), &mut out);
    }
    out
}

fn codes(plan: &Plan, events: &[Event]) -> Vec<(Code, String)> {
    findings(plan, events)
        .into_iter()
        .map(|f| (f.code, f.path))
        .collect()
}

fn plan() -> Plan {
    parse_toml(PLAN, "plan.toml").expect("plan loads")
}

#[test]
fn a_clean_event_has_no_findings() {
    assert_eq!(findings(&plan(), &[query(serde_json::json!({}))]), vec![]);
}

#[test]
fn every_code_has_a_trigger_and_a_near_miss() {
    use serde_json::json;
    let plan = plan();
    let del = json!("<delete>");
    // (code, path, events that trigger it, events that come close but do not)
    let cases: Vec<(Code, &str, Vec<Event>, Vec<Event>)> = vec![
        (
            Code::MissingProperty,
            "event_properties.query_text",
            vec![query(json!({"event_properties": {"query_text": del}}))],
            vec![query(json!({"event_properties": {"model": del}}))],
        ),
        (
            Code::NullProperty,
            "event_properties.app_id",
            vec![query(json!({"event_properties": {"app_id": null}}))],
            vec![query(
                json!({"event_properties": {"conversation_id": null}}),
            )],
        ),
        (
            Code::TypeMismatch,
            "event_properties.latency_ms",
            vec![query(json!({"event_properties": {"latency_ms": "812"}}))],
            vec![query(json!({"event_properties": {"latency_ms": 0}}))],
        ),
        (
            Code::TypeMismatch,
            "event_properties.tags",
            vec![query(json!({"event_properties": {"tags": ["a", 1]}}))],
            vec![query(json!({"event_properties": {"tags": []}}))],
        ),
        (
            Code::UnexpectedProperty,
            "event_properties.extra",
            vec![query(json!({"event_properties": {"extra": 1}}))],
            vec![query(json!({"event_properties": {"$revenue": 1}}))],
        ),
        (
            Code::UnknownEvent,
            "event_type",
            vec![event(
                r#"{"event_type":"dify_user_querry","user_id":"user-12345","time":1795559290000}"#,
            )],
            vec![event(
                r#"{"event_type":"[Amplitude] Page Viewed","user_id":"user-12345","time":1795559290000}"#,
            )],
        ),
        (
            Code::BadEventName,
            "event_type",
            vec![event(
                r#"{"event_type":"Dify Query","user_id":"user-12345","time":1795559290000}"#,
            )],
            vec![event(
                r#"{"event_type":"session_start","user_id":"user-12345","time":1795559290000}"#,
            )],
        ),
        (
            Code::BadPropertyName,
            "event_properties.QueryText",
            vec![query(json!({"event_properties": {"QueryText": "x"}}))],
            vec![query(json!({"event_properties": {"query_text": "x"}}))],
        ),
        (
            Code::EnumViolation,
            "event_properties.model",
            vec![query(json!({"event_properties": {"model": "gpt-5"}}))],
            vec![query(json!({"event_properties": {"model": "claude"}}))],
        ),
        (
            Code::PatternViolation,
            "event_properties.app_id",
            vec![query(json!({"event_properties": {"app_id": "APP-42"}}))],
            vec![query(json!({"event_properties": {"app_id": "app-0"}}))],
        ),
        (
            Code::RangeViolation,
            "event_properties.latency_ms",
            vec![
                query(json!({"event_properties": {"latency_ms": -1}})),
                query(json!({"insert_id": "b", "event_properties": {"latency_ms": 60001}})),
            ],
            vec![query(json!({"event_properties": {"latency_ms": 60000}}))],
        ),
        (
            Code::RangeViolation,
            "event_properties.query_text",
            vec![query(json!({"event_properties": {"query_text": ""}}))],
            vec![query(
                json!({"event_properties": {"query_text": "twenty characters!!!"}}),
            )],
        ),
        (
            Code::UnmappedField,
            "event_properties.appId",
            vec![query(
                json!({"event_properties": {"app_id": del, "appId": "app-42"}}),
            )],
            vec![query(
                json!({"event_properties": {"app_id": "app-42", "appid": "x"}}),
            )],
        ),
        (
            Code::MissingId,
            "user_id",
            vec![query(json!({"user_id": del, "device_id": del}))],
            vec![query(json!({"user_id": del}))],
        ),
        (
            Code::ShortId,
            "user_id",
            vec![query(json!({"user_id": "u1234"[..4].to_string()}))],
            vec![query(json!({"user_id": "u1234"}))],
        ),
        (
            Code::PlaceholderId,
            "device_id",
            vec![
                query(json!({"device_id": "undefined"})),
                query(
                    json!({"insert_id": "z", "device_id": "00000000-0000-0000-0000-000000000000"}),
                ),
            ],
            vec![query(json!({"device_id": "undefined-device-7"}))],
        ),
        (
            Code::MissingEventType,
            "event_type",
            vec![
                event(r#"{"user_id":"user-12345","time":1795559290000}"#),
                event(r#"{"event_type":"","user_id":"user-12345","time":1795559290000}"#),
            ],
            vec![event(
                r#"{"event_type":"$identify","user_id":"user-12345","time":1795559290000}"#,
            )],
        ),
        (
            Code::BadTime,
            "time",
            vec![
                query(json!({"time": del})),
                query(json!({"insert_id": "s", "time": 1_795_559_291})),
                query(json!({"insert_id": "f", "time": NOW + 3 * 86_400_000})),
                query(json!({"insert_id": "o", "time": NOW - 800 * 86_400_000_i64})),
            ],
            vec![query(json!({"time": NOW + 60_000}))],
        ),
        (
            Code::DuplicateInsertId,
            "insert_id",
            vec![query(json!({})), query(json!({}))],
            vec![
                query(json!({"insert_id": "a"})),
                query(json!({"insert_id": "b"})),
            ],
        ),
        (
            Code::TypeDrift,
            "event_properties.note",
            vec![
                query(json!({"insert_id": "1", "event_properties": {"note": "c-1"}})),
                query(json!({"insert_id": "2", "event_properties": {"note": 7}})),
            ],
            vec![
                query(json!({"insert_id": "1", "event_properties": {"note": "c-1"}})),
                query(json!({"insert_id": "2", "event_properties": {"note": null}})),
            ],
        ),
        (
            Code::OverFiring,
            "event_type",
            (0..4)
                .map(|i| query(json!({"insert_id": format!("f{i}"), "time": NOW - 1000 + i})))
                .collect(),
            (0..4)
                .map(|i| {
                    query(json!({"insert_id": format!("f{i}"), "time": NOW - 200_000 + i * 61_000}))
                })
                .collect(),
        ),
    ];
    for (code, path, triggers, near_misses) in cases {
        let got = codes(&plan, &triggers);
        assert!(
            got.contains(&(code, path.to_owned())),
            "{code} at {path} not found in {got:?}"
        );
        let n_trigger = got.iter().filter(|(c, _)| *c == code).count();
        let expected = if matches!(
            code,
            Code::DuplicateInsertId | Code::TypeDrift | Code::OverFiring
        ) {
            1
        } else {
            triggers.len()
        };
        assert_eq!(
            n_trigger, expected,
            "{code}: one finding per triggering event: {got:?}"
        );
        let missed = codes(&plan, &near_misses);
        assert!(
            !missed.iter().any(|(c, _)| *c == code),
            "{code}: the near miss triggered it: {missed:?}"
        );
    }
}

#[test]
fn user_properties_are_checked_inside_identify_operations() {
    let plan = plan();
    let identify = event(
        r#"{"event_type":"$identify","user_id":"user-12345","time":1795559290000,"user_properties":{"$set":{"plan":"enterprise","colour":"red"},"$add":{"logins":1}}}"#,
    );
    let got = codes(&plan, &[identify]);
    assert!(
        got.contains(&(Code::EnumViolation, "user_properties.$set.plan".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            Code::UnexpectedProperty,
            "user_properties.$set.colour".into()
        )),
        "{got:?}"
    );
    assert!(!got.iter().any(|(_, p)| p.contains("logins")));
}

#[test]
fn severities_follow_the_plan_and_policies() {
    let strict = PLAN.replace(
        "\"session_start\"]",
        "\"session_start\"]\n[settings.severity]\ntype_drift = \"error\"\nbad_time = \"off\"",
    );
    let plan = parse_toml(&strict, "strict.toml").expect("loads");
    let events = [
        query(
            serde_json::json!({"insert_id": "1", "time": "<delete>", "event_properties": {"note": "c"}}),
        ),
        query(serde_json::json!({"insert_id": "2", "event_properties": {"note": 1}})),
    ];
    let got = findings(&plan, &events);
    assert!(
        got.iter().all(|f| f.code != Code::BadTime),
        "bad_time is off"
    );
    let drift = got
        .iter()
        .find(|f| f.code == Code::TypeDrift)
        .expect("drift");
    assert_eq!(drift.severity, Severity::Error);

    let lenient = PLAN.replace("unknown_events = \"warning\"", "unknown_events = \"allow\"");
    let plan = parse_toml(&lenient, "p.toml").expect("loads");
    let unknown =
        event(r#"{"event_type":"other_event","user_id":"user-12345","time":1795559290000}"#);
    assert!(findings(&plan, &[unknown]).is_empty());
}

#[test]
fn retries_and_double_fires_read_differently() {
    let plan = plan();
    let e = query(serde_json::json!({}));
    let mut v = Validator::new(&plan);
    let mut out = Vec::new();
    v.check(
        &e,
        &EventContext {
            delivered: false,
            ..ctx(1)
        },
        &mut out,
    );
    v.check(&e, &ctx(2), &mut out);
    v.check(&e, &ctx(3), &mut out);
    let dups: Vec<&str> = out
        .iter()
        .filter(|f| f.code == Code::DuplicateInsertId)
        .filter_map(|f| f.actual.as_deref())
        .collect();
    assert_eq!(dups.len(), 2);
    assert!(
        dups[0].contains("request #1, which failed: an SDK retry"),
        "{dups:?}"
    );
    assert!(
        dups[1].contains("request #2, which Amplitude accepted: a double fire"),
        "{dups:?}"
    );
}

#[test]
fn min_id_length_from_the_request_overrides_the_plan() {
    let plan = plan();
    let e = query(serde_json::json!({"user_id": "u1", "device_id": "<delete>"}));
    let mut v = Validator::new(&plan);
    let mut out = Vec::new();
    v.check(
        &e,
        &EventContext {
            min_id_length: Some(2),
            ..ctx(1)
        },
        &mut out,
    );
    assert!(!out.iter().any(|f| f.code == Code::ShortId), "{out:?}");
}

#[test]
fn a_planned_type_gives_a_mismatch_not_drift() {
    let events = [
        query(serde_json::json!({"insert_id": "1", "event_properties": {"latency_ms": 5}})),
        query(serde_json::json!({"insert_id": "2", "event_properties": {"latency_ms": "5"}})),
    ];
    let got: Vec<Code> = findings(&plan(), &events)
        .into_iter()
        .map(|f| f.code)
        .collect();
    assert_eq!(got, vec![Code::TypeMismatch]);
}

#[test]
fn without_a_plan_only_plan_free_checks_apply() {
    let none = Plan::none();
    let events = [
        event(
            r#"{"event_type":"Anything Goes","user_id":"null","time":1795559290000,"event_properties":{"x":1}}"#,
        ),
        event(
            r#"{"event_type":"Anything Goes","user_id":"user-12345","time":1795559290000,"event_properties":{"x":"1"}}"#,
        ),
    ];
    let got: Vec<Code> = findings(&none, &events)
        .into_iter()
        .map(|f| f.code)
        .collect();
    assert_eq!(got, vec![Code::PlaceholderId, Code::TypeDrift]);
}

#[test]
fn a_stray_property_names_what_it_meant_every_time_and_a_flood_of_them_stays_cheap() {
    let plan = plan();
    let typo = |n: usize| {
        let mut e = serde_json::json!({"event_properties": {"querytext": "hi", "latency": 5}});
        e["insert_id"] = format!("ins-typo-{n}").into();
        query(e)
    };
    let expected_of = |fs: &[Finding]| -> Vec<String> {
        fs.iter()
            .filter(|f| f.code == Code::UnexpectedProperty)
            .map(|f| format!("{} {}", f.path, f.expected.clone().unwrap_or_default()))
            .collect()
    };
    // Worked out once per name, the hint is the same on every event.
    let found = findings(&plan, &[typo(1), typo(2)]);
    let hints = expected_of(&found);
    assert_eq!(hints.len(), 4, "{hints:?}");
    assert_eq!(hints[..2], hints[2..]);
    assert!(hints
        .iter()
        .any(|h| h.contains("event_properties.querytext")
            && h.contains("did you mean \"query_text\"")));
    // Thousands of distinct junk names: each still a finding.
    let flood: Vec<Event> = (0..1500)
        .map(|n| {
            let mut e = serde_json::json!({"event_properties": {}});
            e["event_properties"][format!("junk_{n}")] = 1.into();
            e["insert_id"] = format!("ins-flood-{n}").into();
            query(e)
        })
        .collect();
    let found = findings(&plan, &flood);
    assert_eq!(expected_of(&found).len(), 1500);
}

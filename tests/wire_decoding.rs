//! Every request the official SDKs sent (tests/fixtures/wire/) decodes into
//! the events it carried, with their raw JSON intact.

mod common;

use amptap::event::{decode_request, BodyLimits, Endpoint};
use serde_json::Value;

#[test]
fn every_recorded_request_decodes_to_its_events() {
    let posts = common::all_wire_posts();
    assert!(posts.len() > 60, "fixtures missing: {}", posts.len());
    for req in &posts {
        let endpoint = Endpoint::from_path(&req.path).expect("known path");
        let batch = decode_request(
            endpoint,
            req.header("content-encoding"),
            &req.body,
            BodyLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{} {}: {e}", req.file, req.scenario));
        assert_eq!(
            Some(batch.events.len()),
            req.events_count,
            "{} {}",
            req.file,
            req.scenario
        );
        for event in &batch.events {
            assert!(
                event.event_type().is_some(),
                "{}: event without type",
                req.scenario
            );
            assert!(
                event.insert_id().is_some(),
                "{}: event without insert id",
                req.scenario
            );
            assert!(
                event.time().is_some_and(|t| t > 1_600_000_000_000),
                "{}: time",
                req.scenario
            );
        }
    }
}

#[test]
fn v2_events_keep_the_exact_bytes_sent() {
    for req in common::wire_requests("node.jsonl")
        .into_iter()
        .chain(common::wire_requests("python.jsonl"))
    {
        let batch = decode_request(Endpoint::HttpV2, None, &req.body, BodyLimits::default())
            .expect("decodes");
        let body = String::from_utf8(req.body.clone()).expect("utf8");
        for event in &batch.events {
            assert!(
                body.contains(event.raw().get()),
                "{}: raw event not a slice of the body",
                req.scenario
            );
        }
    }
}

#[test]
fn gzip_bodies_from_the_browser_decode_to_the_same_json() {
    let gz: Vec<_> = common::wire_requests("browser.jsonl")
        .into_iter()
        .filter(|r| r.header("content-encoding") == Some("gzip"))
        .collect();
    assert_eq!(gz.len(), 2);
    for req in gz {
        let batch = decode_request(
            Endpoint::HttpV2,
            Some("gzip"),
            &req.body,
            BodyLimits::default(),
        )
        .expect("gzip");
        let decoded: Value =
            serde_json::from_str(req.body_decoded.as_deref().expect("body_decoded")).expect("json");
        let expected: Vec<Value> = decoded["events"].as_array().expect("events").clone();
        let got: Vec<Value> = batch.events.iter().map(|e| e.json().clone()).collect();
        assert_eq!(got, expected);
        assert_eq!(
            batch.payload_size_bytes,
            req.body_decoded.as_ref().map_or(0, String::len)
        );
    }
}

#[test]
fn beacon_json_sent_as_text_plain_decodes() {
    let beacon = common::wire_requests("browser.jsonl")
        .into_iter()
        .find(|r| r.scenario == "browser-beacon" && r.method == "POST")
        .expect("beacon");
    assert_eq!(
        beacon.header("content-type"),
        Some("text/plain;charset=UTF-8")
    );
    let batch = decode_request(Endpoint::HttpV2, None, &beacon.body, BodyLimits::default())
        .expect("decodes");
    assert_eq!(batch.events.len(), 7);
    assert_eq!(batch.events[0].platform(), Some("Web"));
    assert!(batch
        .events
        .iter()
        .any(|e| e.event_type() == Some("session_start")));
}

#[test]
fn amplitude_js_reads_timestamp_and_uuid_as_time_and_insert_id() {
    let posts: Vec<_> = common::wire_requests("legacy.jsonl")
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    let mut seen_plus_spaces = false;
    for req in posts {
        seen_plus_spaces |= std::str::from_utf8(&req.body).is_ok_and(|b| b.contains('+'));
        let batch = decode_request(Endpoint::LegacyJs, None, &req.body, BodyLimits::default())
            .expect("decodes");
        let form = req.form.as_ref().expect("form");
        assert_eq!(batch.api_key.as_deref(), form["client"][0].as_str());
        let sent: Vec<Value> =
            serde_json::from_str(form["e"][0].as_str().expect("e")).expect("e json");
        for (event, sent) in batch.events.iter().zip(&sent) {
            assert_eq!(event.insert_id(), sent["uuid"].as_str());
            assert_eq!(event.time(), sent["timestamp"].as_i64());
            assert_eq!(event.library().as_deref(), Some("amplitude-js/8.21.10"));
            assert_eq!(
                event.json(),
                sent,
                "{}: decoded event differs",
                req.scenario
            );
        }
    }
    assert!(seen_plus_spaces, "the beacon fixtures encode spaces as '+'");
}

#[test]
fn identify_and_revenue_events_have_their_shapes() {
    let node = common::wire_requests("node.jsonl");
    let basic = node
        .iter()
        .find(|r| r.scenario == "node-basic")
        .expect("node-basic");
    let batch = decode_request(Endpoint::HttpV2, None, &basic.body, BodyLimits::default())
        .expect("decodes");
    let identify = batch
        .events
        .iter()
        .find(|e| e.event_type() == Some("$identify"))
        .expect("identify");
    assert!(identify
        .user_properties()
        .is_some_and(|p| p.contains_key("$set")));
    let revenue = batch
        .events
        .iter()
        .find(|e| e.event_type() == Some("revenue_amount"))
        .expect("revenue");
    assert_eq!(
        revenue.event_properties().and_then(|p| p.get("$price")),
        Some(&serde_json::json!(19.99))
    );
    assert_eq!(
        batch.api_key.as_deref(),
        Some("FAKE_API_KEY_NODE_0123456789")
    );
    assert_eq!(batch.events[3].session_id(), Some(1_700_000_000_000));
    assert_eq!(
        batch.events[0].library().as_deref(),
        Some("amplitude-node-ts/1.5.73")
    );
}

#[test]
fn what_the_sdks_send_on_their_own_is_never_flagged() {
    let plan_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let plan = amptap::plan_file::load(&plan_path).expect("the example plan");
    assert_eq!(sdk_flagged(&plan), 0, "with the SDK profile");
    let mut without = plan.clone();
    without.settings.sdk_profile = false;
    assert!(sdk_flagged(&without) > 0, "the profile is what spares them");
}

/// Findings about the SDKs' own events or properties over every recorded request.
fn sdk_flagged(plan: &amptap::plan::Plan) -> usize {
    use amptap::plan::sdk_profile::{is_sdk_event, is_sdk_property};
    use amptap::plan::{Code, EventContext, Validator};
    let mut validator = Validator::new(plan);
    let mut flagged = 0;
    let mut sdk_native = 0;
    for req in common::all_wire_posts() {
        let endpoint = Endpoint::from_path(&req.path).expect("known path");
        let batch = decode_request(
            endpoint,
            req.header("content-encoding"),
            &req.body,
            BodyLimits::default(),
        )
        .expect("decodes");
        for (i, event) in batch.events.iter().enumerate() {
            let ctx = EventContext {
                received_ms: event.time().unwrap_or_default(),
                seq: i as u64,
                delivered: true,
                min_id_length: None,
            };
            let mut findings = Vec::new();
            validator.check(event, &ctx, &mut findings);
            let event_type = event.event_type().unwrap_or_default();
            sdk_native += usize::from(is_sdk_event(event_type));
            for f in findings {
                let name = f.path.rsplit('.').next().unwrap_or_default();
                // The app's own identify properties may be unplanned; the SDK's may not.
                let sdks_event = matches!(f.code, Code::UnknownEvent | Code::BadEventName)
                    && is_sdk_event(event_type);
                let sdks_property = matches!(
                    f.code,
                    Code::UnexpectedProperty | Code::BadPropertyName | Code::TypeDrift
                ) && is_sdk_property(name);
                if sdks_event || sdks_property {
                    eprintln!("{} {}: {event_type} {f:?}", req.file, req.scenario);
                    flagged += 1;
                }
            }
        }
    }
    assert!(sdk_native > 0, "the fixtures hold SDK-native events");
    flagged
}

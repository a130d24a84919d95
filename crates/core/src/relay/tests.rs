use serde_json::json;

use super::*;
use crate::plan::parse_toml;

/// The guide's shapes: Dify's own `MessageCreated`, and a workflow's custom
/// tracking record with the guide's own field names.
const PLAN: &str = r#"
[events.dify_user_query.relay]
from = "MessageCreated"
user_id = "data.user_id"
time = "data.timestamp"
insert_id = "data.message_id"
properties = { query_text = "data.content", conversation_id = "data.conversation_id" }
[events.dify_user_query.properties]
query_text = { type = "string", required = true }
conversation_id = { type = "string", required = true, source = "conversationId" }

[events.prompt_sent.relay]
from = ["prompt_sent", "PromptSent"]
user_id = "user_id"
time = "timestamp"
[events.prompt_sent.properties]
model = { type = "string", required = true, source = "context.model" }
latency_ms = { type = "integer", required = true, source = "context.latency_ms" }
createTime = { type = "integer", source = "created_time" }

[events.dify_response_liked.relay]
from = "MessageFeedback"
when = { "data.rating" = "like" }
user_id = "data.user_id"
properties = { response_id = "data.message_id" }
[events.dify_response_liked.properties]
response_id = { type = "string", required = true }
"#;

fn plan() -> Plan {
    parse_toml(PLAN, "plan.toml").expect("plan")
}

#[test]
fn difys_message_created_becomes_the_planned_event_with_a_stable_id() {
    let record = json!({"event":"MessageCreated","data":{"conversation_id":"conv_abc123","message_id":"msg_xyz789","content":"Hello, AI!","timestamp":"2025-04-05T10:00:00Z","user_id":"u-100"}});
    let m = map(&plan(), &record).expect("mapped");
    assert_eq!(m.event_type, "dify_user_query");
    assert_eq!(
        Value::Object(m.event.clone()),
        json!({"event_type":"dify_user_query","user_id":"u-100","time":1_743_847_200_000_i64,"insert_id":"msg_xyz789","event_properties":{"query_text":"Hello, AI!","conversation_id":"conv_abc123"}})
    );
    assert!(m.findings.is_empty(), "{:?}", m.findings);
    assert_eq!(m.coerced, ["time: ISO 8601 → ms"]);
}

#[test]
fn the_guides_custom_record_is_coerced_and_says_so() {
    let record = json!({"event":"prompt_sent","timestamp":"2025-04-05T10:00:00Z","user_id":"u1","context":{"model":"gpt-4","latency_ms":"820"},"created_time":"2025-04-05T09:59:59Z"});
    let m = map(&plan(), &record).expect("mapped");
    assert_eq!(m.event["event_properties"]["latency_ms"], json!(820));
    assert_eq!(
        m.event["event_properties"]["createTime"],
        json!(1_743_847_199_000_i64)
    );
    assert!(m
        .coerced
        .contains(&"event_properties.latency_ms: text → integer".to_owned()));
    // No id of its own: a hash of the record, the same every time.
    let id = m.event["insert_id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("relay-") && id.len() == 38, "{id}");
    assert_eq!(
        map(&plan(), &record).expect("again").event["insert_id"],
        json!(id)
    );
    let other = json!({"event":"prompt_sent","timestamp":"2025-04-05T10:00:01Z","user_id":"u1","context":{"model":"gpt-4","latency_ms":820}});
    assert_ne!(
        map(&plan(), &other).expect("other").event["insert_id"],
        json!(id)
    );
}

#[test]
fn what_cannot_be_mapped_is_a_finding_never_a_silent_drop() {
    let p = plan();
    let unknown = map(&p, &json!({"event":"WorkflowFinished"})).expect_err("no event type");
    assert_eq!(unknown.finding.code, Code::UnmappableRecord);
    assert!(unknown
        .finding
        .actual
        .as_deref()
        .unwrap_or("")
        .contains("WorkflowFinished"));
    // `when` decides: a dislike is not a like.
    assert!(map(
        &p,
        &json!({"event":"MessageFeedback","data":{"rating":"dislike","message_id":"m1"}})
    )
    .is_err());
    assert!(map(&p, &json!({"event":"MessageFeedback","data":{"rating":"like","message_id":"m1","user_id":"u-1"}})).is_ok());

    let broken = json!({"event":"prompt_sent","timestamp":"yesterday","user_id":"u1","context":{"latency_ms":"fast"}});
    let m = map(&p, &broken).expect("mapped, with findings");
    let paths: Vec<&str> = m.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "time",
            "event_properties.latency_ms",
            "event_properties.model"
        ]
    );
    assert!(m.findings.iter().all(|f| f.code == Code::UnmappableRecord));
    assert_eq!(
        m.event["event_properties"]["latency_ms"],
        json!("fast"),
        "sent as it came"
    );
    assert!(m.event.get("time").is_none());
}

#[test]
fn the_csv_form_carries_the_same_mapping() {
    let csv = "event_type,property,type,required,nullable,source_field,allowed,pattern,description,min,max,min_length,max_length,max_per_minute\n\
dify_response_liked,$relay.from,,,,MessageFeedback,,,,,,,,\n\
dify_response_liked,$relay.when.data.rating,,,,like,,,,,,,,\n\
dify_response_liked,$relay.user_id,,,,data.user_id,,,,,,,,\n\
dify_response_liked,$relay.properties.response_id,,,,data.message_id,,,,,,,,\n\
dify_response_liked,response_id,string,true,false,,,,,,,,,\n";
    let from_csv = crate::plan::parse_csv(csv, "plan.csv").expect("csv");
    let toml = plan();
    assert_eq!(
        from_csv.events["dify_response_liked"],
        toml.events["dify_response_liked"]
    );
    let bad = csv.replace("$relay.user_id", "$relay.userid");
    assert!(crate::plan::parse_csv(&bad, "plan.csv").is_err());
}

/// The example plan's mapping: Dify's record becomes an event the plan's
/// own check passes.
#[test]
fn the_example_plan_relays_difys_message_created_into_a_clean_event() {
    let example = parse_toml(
        include_str!("../../../../assets/dify-plan.toml"),
        "dify-plan.toml",
    )
    .expect("example plan");
    let record = json!({"event":"MessageCreated","data":{"conversation_id":"conv_abc123","message_id":"msg_xyz789","content":"Hello, AI!","timestamp":"2025-04-05T10:00:00Z","user_id":"user-12345","app_id":"app-42"}});
    let m = map(&example, &record).expect("mapped");
    assert!(m.findings.is_empty(), "{:?}", m.findings);
    let raw =
        serde_json::value::RawValue::from_string(Value::Object(m.event).to_string()).expect("json");
    let event = crate::event::Event::from_raw(raw, crate::event::Dialect::V2);
    let mut findings = Vec::new();
    let ctx = crate::plan::EventContext {
        received_ms: 1_743_847_201_000,
        seq: 1,
        delivered: true,
        min_id_length: None,
    };
    crate::plan::Validator::new(&example).check(&event, &ctx, &mut findings);
    assert!(findings.is_empty(), "{findings:?}");
}

/// The guide's own custom tracking record, through the example plan.
#[test]
fn the_example_plan_relays_the_guides_custom_tracking_record() {
    let example = parse_toml(
        include_str!("../../../../assets/dify-plan.toml"),
        "dify-plan.toml",
    )
    .expect("example plan");
    let record = json!({"event":"prompt_sent","timestamp":"2025-04-05T10:00:00Z","user_id":"u1","context":{"model":"gpt-4","latency_ms":820}});
    let m = map(&example, &record).expect("mapped");
    assert_eq!(m.event_type, "dify_prompt_sent");
    assert!(m.findings.is_empty(), "{:?}", m.findings);
    assert_eq!(m.event["time"], json!(1_743_847_200_000_i64));
    assert_eq!(
        m.event["event_properties"],
        json!({"model":"gpt-4","latency_ms":820})
    );
}

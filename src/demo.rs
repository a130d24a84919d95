//! The demo's traffic: simulated users of a Dify app whose SDKs post over
//! HTTP through the tap, as real SDKs do — a realistic mix of clean events
//! and every kind of finding, bursts and quiet moments, retries after a
//! failing upstream and the odd legacy or server-side request.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::fake_amplitude::{ExportKnobs, FakeAmplitude, Fault, PropertyChange};

/// The example plan the demo validates against (also in assets/).
pub const PLAN_TOML: &str = include_str!("../assets/dify-plan.toml");

const API_KEY: &str = "DEMO_API_KEY_0123456789abcdef";

/// A tiny deterministic generator: the demo needs variety, not cryptography.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

struct User {
    user_id: Option<String>,
    device_id: String,
    session_id: i64,
    conversation: u32,
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

const QUERIES: [&str; 6] = [
    "How do I reset my password?",
    "Summarise this PDF in three bullet points",
    "Translate 'good morning' into Japanese",
    "Why is my workflow slow?",
    "Write a haiku about analytics",
    "What changed in the last release?",
];
const MODELS: [&str; 4] = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "deepseek-chat"];

/// Sends traffic to `tap` (e.g. `http://127.0.0.1:8787`) until `stop` turns true.
pub async fn run(tap: String, upstream: FakeAmplitude, mut stop: watch::Receiver<bool>) {
    let client = reqwest::Client::new();
    // Amplitude may drop null-valued properties: the demo's export does.
    upstream.set_export(ExportKnobs {
        strip_nulls: true,
        ..ExportKnobs::default()
    });
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ now_ms() as u64);
    let mut users: Vec<User> = ["ada", "grace", "linus", "margaret", "ken"]
        .iter()
        .enumerate()
        .map(|(i, name)| User {
            user_id: Some(format!("user-{name}")),
            device_id: format!("device-{:08x}-{i}", 0xA11CE + i),
            session_id: now_ms(),
            conversation: 0,
        })
        .collect();
    users.push(User {
        user_id: None,
        device_id: "device-anon-7f3a".into(),
        session_id: now_ms(),
        conversation: 0,
    });
    let mut counter: u64 = 0;
    let mut step: u64 = 0;
    loop {
        step += 1;
        let pause = match step % 60 {
            0..=4 => 40,     // a burst
            40..=49 => 1500, // a quiet moment
            _ => 250 + rng.below(500),
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(pause)) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let u = rng.below(users.len() as u64) as usize;
        let user = &mut users[u];
        let mut events = Vec::new();
        let mut next_id = || {
            counter += 1;
            format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                now_ms() as u32,
                counter as u16,
                u % 4096,
                step % 4096,
                counter
            )
        };
        let base = |user: &User, event_type: &str, insert_id: String, props: Value| {
            let mut e = json!({
                "event_type": event_type,
                "device_id": user.device_id,
                "session_id": user.session_id,
                "time": now_ms(),
                "insert_id": insert_id,
                "platform": "Web",
                "library": "amplitude-ts/2.48.1",
                "event_properties": props,
            });
            if let Some(id) = &user.user_id {
                e["user_id"] = json!(id);
            }
            e
        };
        let app_id = format!("app-{}", 40 + u);
        let conversation = format!("conv-{}-{}", u, user.conversation);
        match step % 60 {
            // Over-firing: the missing debounce on the query box.
            0..=4 => {
                for _ in 0..8 {
                    events.push(base(user, "dify_user_query", next_id(), json!({"query_text": "h", "app_id": app_id, "conversation_id": conversation, "uid": user.user_id.clone().unwrap_or_else(|| user.device_id.clone()), "createTime": now_ms()})));
                }
            }
            _ => match rng.below(10) {
                0 => {
                    user.conversation += 1;
                    events.push(base(user, "dify_conversation_started", next_id(), json!({"app_id": app_id, "conversation_id": format!("conv-{}-{}", u, user.conversation), "channel": rng.pick(&["web", "api", "slack"])})));
                    events.push(base(user, "[Amplitude] Page Viewed", next_id(), json!({"[Amplitude] Page Path": "/chat"})));
                }
                1..=4 => {
                    let query = *rng.pick(&QUERIES);
                    events.push(base(user, "dify_user_query", next_id(), json!({"query_text": query, "app_id": app_id, "conversation_id": conversation, "uid": user.user_id.clone().unwrap_or_else(|| user.device_id.clone()), "createTime": now_ms()})));
                    let ok = rng.chance(90);
                    events.push(base(user, "dify_workflow_executed", next_id(), json!({"app_id": app_id, "workflow_id": "wf-answer", "model": rng.pick(&MODELS), "latency_ms": 300 + rng.below(4000), "total_tokens": 200 + rng.below(3000), "status": if ok { "succeeded" } else { "failed" }, "error": if ok { Value::Null } else { json!("upstream model timeout") }})));
                }
                5 | 6 => events.push(base(user, "dify_response_liked", next_id(), json!({"response_id": format!("msg-{}", rng.below(10_000)), "rating": 1 + rng.below(5), "app_id": app_id}))),
                7 => events.push(base(user, "dify_feedback_submitted", next_id(), json!({"response_id": format!("msg-{}", rng.below(10_000)), "rating": rng.pick(&["like", "dislike"]), "comment": rng.pick(&[Value::Null, json!("Great answer!"), json!("Wrong language \u{1b}[31mred\u{1b}[0m")]), "tags": ["demo"]}))),
                _ => {
                    let mut identify = base(user, "$identify", next_id(), json!({}));
                    identify.as_object_mut().map(|o| o.remove("event_properties"));
                    identify["user_properties"] = json!({"$set": {"plan": rng.pick(&["free", "pro", "team"]), "workspace_id": format!("ws-{u}")}, "$setOnce": {"signup_date": "2026-01-15"}});
                    events.push(identify);
                }
            },
        }
        // One event in five carries a mistake an instrumentation engineer
        // makes; the first few seconds always show one (no event_type).
        if step == 8 || rng.chance(20) {
            if let Some(e) = events.first_mut() {
                let kind = if step == 8 { 15 } else { rng.below(17) };
                inject_problem(e, kind, &mut rng);
            }
        }
        // What Amplitude's export will show for them: now and then an event lost
        // on the way, or a value changed (the Reconcile view, r, finds them).
        if rng.chance(5) {
            if let Some(id) = events.last().and_then(|e| e["insert_id"].as_str()) {
                upstream.set_export(ExportKnobs {
                    drop: [id.to_owned()].into(),
                    ..ExportKnobs::default()
                });
            }
        }
        if rng.chance(3) {
            let first = events
                .first()
                .filter(|e| e["event_properties"]["app_id"].is_string());
            if let Some(id) = first.and_then(|e| e["insert_id"].as_str()) {
                let change = PropertyChange {
                    insert_id: id.to_owned(),
                    property: "app_id".into(),
                    value: json!("app-0"),
                };
                upstream.set_export(ExportKnobs {
                    change: vec![change],
                    ..ExportKnobs::default()
                });
            }
        }
        let retry = rng.chance(4);
        if retry {
            upstream.push_faults([Fault::Status(500)]);
        }
        let endpoint = if rng.chance(8) {
            "/batch"
        } else {
            "/2/httpapi"
        };
        let body = json!({"api_key": API_KEY, "events": events, "options": {}}).to_string();
        let url = format!("{tap}{endpoint}");
        let sent = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        if retry && sent.is_ok() {
            // What the SDK does after a 500: the same events, the same insert ids.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
        }
        if rng.chance(3) {
            // A legacy amplitude-js page still live somewhere.
            let e = json!([{"event_type": "dify_response_liked", "device_id": "legacy-device-0042", "user_id": "user-legacy", "timestamp": now_ms(), "uuid": next_uuid(&mut rng), "event_properties": {"response_id": "msg-1", "rating": 5, "app_id": "app-7"}, "library": {"name": "amplitude-js", "version": "8.21.10"}}]);
            let form: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("client", API_KEY)
                .append_pair("e", &e.to_string())
                .append_pair("upload_time", &now_ms().to_string())
                .append_pair("v", "2")
                .finish();
            let _ = client
                .post(format!("{tap}/"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await;
        }
        if rng.chance(6) {
            // A Dify workflow's HTTP Request node posting the app's own
            // records to the relay (↪ in the stream).
            let _ = client
                .post(format!("{tap}/relay/dify"))
                .json(&dify_records(&mut rng, u))
                .send()
                .await;
        }
    }
}

/// What a Dify app posts to the relay: its own `MessageCreated` and the
/// guide's custom `prompt_sent` record (latency as text, now and then).
fn dify_records(rng: &mut Rng, u: usize) -> Value {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let message_id = format!("msg-{}", next_uuid(rng));
    let latency = 300 + rng.below(4000);
    json!([
        {"event": "MessageCreated", "data": {"conversation_id": format!("conv-dify-{u}"), "message_id": message_id, "content": rng.pick(&QUERIES), "timestamp": now, "user_id": format!("user-dify-{u:03}"), "app_id": "app-dify"}},
        {"event": "prompt_sent", "timestamp": now, "user_id": format!("user-dify-{u:03}"), "context": {"model": rng.pick(&MODELS), "latency_ms": if rng.chance(50) { json!(latency.to_string()) } else { json!(latency) }}}
    ])
}

fn next_uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next(), rng.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a as u32,
        (a >> 32) as u16,
        (a >> 48) & 0xfff,
        b & 0xfff,
        b >> 16
    )
}

/// Every kind of finding the checker knows, one at a time.
fn inject_problem(e: &mut Value, kind: u64, rng: &mut Rng) {
    let props = e.get_mut("event_properties").and_then(Value::as_object_mut);
    match (kind, props) {
        (0, Some(p)) => {
            // The app's own field name, not the planned one.
            if let Some(v) = p.remove("app_id") {
                p.insert("appId".into(), v);
            }
        }
        (1, Some(p)) => {
            let first = p.keys().next().cloned();
            if let Some(k) = first {
                p.remove(&k);
            }
        }
        (2, Some(p)) => {
            let first = p.keys().next().cloned();
            if let Some(k) = first {
                p.insert(k, Value::Null);
            }
        }
        (3, Some(p)) => {
            p.insert("latency_ms".into(), json!("812ms"));
            p.insert("rating".into(), json!("5"));
        }
        (4, Some(p)) => {
            p.insert("model".into(), json!("gpt-5-preview"));
            p.insert("channel".into(), json!("carrier-pigeon"));
        }
        (5, Some(p)) => {
            p.insert("debugInfo".into(), json!({"build": 1234}));
        }
        (6, _) => e["event_type"] = json!("Dify User Query"),
        (7, _) => e["device_id"] = json!("undefined"),
        (8, _) => e["user_id"] = json!("u1"),
        (9, _) => e["time"] = json!(now_ms() / 1000),
        (10, _) => e["event_type"] = json!("dify_user_querry"),
        (11, Some(p)) => {
            if p.contains_key("app_id") {
                p.insert("app_id".into(), json!("APP_42"));
            }
        }
        (12, Some(p)) => {
            p.insert("rating".into(), json!(9));
            p.insert("latency_ms".into(), json!(-5));
        }
        (13, Some(p)) => {
            p.insert("Query Text".into(), json!("typed by hand"));
        }
        (14, Some(p)) => {
            // The same property, a number here and a string elsewhere.
            let v = if rng.below(2) == 0 {
                json!(3)
            } else {
                json!("three")
            };
            p.insert("experiment".into(), v);
        }
        (15, _) => {
            if let Some(o) = e.as_object_mut() {
                o.remove("event_type");
            }
        }
        _ => {
            if let Some(o) = e.as_object_mut() {
                o.remove("user_id");
                o.insert(
                    "device_id".into(),
                    json!("00000000-0000-0000-0000-000000000000"),
                );
            }
        }
    }
}

//! A journal of realistic SDK traffic for the benchmarks: requests of 100
//! events as the Browser/Node SDKs send them (~600 bytes each: ids, device
//! and library fields, a few properties), a few percent with the mistakes
//! the plan catches (a missing property, the app's own field name).

use std::io::Write;
use std::path::Path;

use amptap::event::{decode_request, BodyLimits, Endpoint};
use amptap::record::line::write_record;
use amptap::record::{Answer, Delivery, Record};

const TYPES: &[&str] = &[
    "dify_user_query",
    "dify_workflow_executed",
    "dify_response_liked",
    "dify_feedback_submitted",
    "dify_conversation_started",
    "page_viewed",
];

fn event(n: u64) -> String {
    let kind = TYPES[(n % 7 % 6) as usize];
    let user = n % 5_000;
    let props = match kind {
        "dify_user_query" if n % 40 == 0 => format!(
            r#"{{"query_text":"how do I reset my password {n}","appId":"app-42","conversation_id":"conv-{}","uid":"user-{user:05}","createTime":1795514400000}}"#,
            n / 10
        ),
        "dify_user_query" => format!(
            r#"{{"query_text":"what is the weather like in city {}","app_id":"app-42","conversation_id":"conv-{}","uid":"user-{user:05}","createTime":1795514400000}}"#,
            n % 300,
            n / 10
        ),
        "dify_workflow_executed" => format!(
            r#"{{"app_id":"app-42","workflow_id":"wf-{}","model":"gpt-4o","latency_ms":{},"total_tokens":{},"status":"succeeded","error":null}}"#,
            n % 20,
            n % 3000,
            n % 900
        ),
        "dify_response_liked" if n % 25 == 0 => {
            r#"{"response_id":"msg-1","app_id":"app-42"}"#.to_owned()
        }
        "dify_response_liked" => format!(
            r#"{{"response_id":"msg-{n}","rating":{},"app_id":"app-42"}}"#,
            n % 5 + 1
        ),
        "dify_feedback_submitted" => format!(
            r#"{{"response_id":"msg-{n}","rating":"like","comment":"helpful answer number {n}","tags":["fast","right"]}}"#
        ),
        "dify_conversation_started" => format!(
            r#"{{"app_id":"app-42","conversation_id":"conv-{}","channel":"web"}}"#,
            n / 10
        ),
        _ => format!(
            r#"{{"page_path":"/apps/{}/chat","referrer":"https://example.com/"}}"#,
            n % 50
        ),
    };
    format!(
        r#"{{"event_type":"{kind}","user_id":"user-{user:05}","device_id":"5f3c{user:08x}-9a1b-4c2d-8e7f-0a1b2c3d4e5f","session_id":1795514400000,"time":{},"insert_id":"{n:08x}-1c2d-4e5f-8a9b-0c1d2e3f4a5b","platform":"Web","os_name":"Chrome","os_version":"131","device_model":"Macintosh","language":"en-US","ip":"$remote","library":"amplitude-ts/2.11.1","event_properties":{props},"user_properties":{{"plan":"pro","workspace_id":"ws-{}"}}}}"#,
        1_795_514_400_000 + n,
        user % 40
    )
}

/// Writes `requests` × `per_request` events to `path`; returns the bytes written.
pub fn write(path: &Path, requests: u64, per_request: u64) -> u64 {
    let file = std::fs::File::create(path).expect("journal");
    let mut out = std::io::BufWriter::new(file);
    let mut line = Vec::new();
    let mut bytes = 0;
    for seq in 1..=requests {
        let events: Vec<String> = (0..per_request)
            .map(|i| event(seq * per_request + i))
            .collect();
        let body = format!(
            r#"{{"api_key":"FAKE_API_KEY_BENCH_0123456789","events":[{}]}}"#,
            events.join(",")
        );
        let batch = decode_request(
            Endpoint::HttpV2,
            None,
            body.as_bytes(),
            BodyLimits::default(),
        )
        .expect("decodes");
        let received = time::OffsetDateTime::UNIX_EPOCH
            + time::Duration::milliseconds(1_795_514_400_000 + seq as i64 * 10);
        let record = Record {
            seq,
            body_bytes: body.len(),
            content_type: Some("application/json".into()),
            api_key: Some("FAKE…6789".into()),
            events: batch.events,
            answer: Answer::new(200, Some("application/json".into()), br#"{"code":200}"#),
            delivery: Delivery::Offline,
            ..Record::new("POST", "/2/httpapi", received, "127.0.0.1:50000".into())
        };
        line.clear();
        write_record(&record, &mut line).expect("line");
        out.write_all(&line).expect("write");
        bytes += line.len() as u64;
    }
    out.flush().expect("flush");
    bytes
}

/// Peak resident memory of this process so far, in MiB.
pub fn peak_rss_mib() -> f64 {
    status_kib("VmHWM:") / 1024.0
}

/// Resident memory now, in MiB.
pub fn rss_mib() -> f64 {
    status_kib("VmRSS:") / 1024.0
}

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// Forgets the peak so far (Linux: writing 5 to clear_refs).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

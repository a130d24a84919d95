//! HTTP Archive 1.2 from journals: every request with its body, the answer
//! it got and its timing, for browser dev tools and HTTP tools.
//!
//! The journal keeps decoded events, not raw bodies (the api key must never
//! be stored in clear), so each body is rebuilt from the events exactly as
//! sent, with the key masked; gzip bodies appear decoded. A request that
//! could not be decoded shows the body the journal kept of it (masked).
//!
//! The archive is written entry by entry: memory does not grow with the journal.

use std::io::Write;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use crate::event::Endpoint;
use crate::record::{Delivery, Record};

/// The request body as the SDK sent it, rebuilt: each event's raw JSON
/// verbatim (or, for a request without readable events, the body kept).
pub fn rebuild_body(c: &Record) -> (String, &'static str) {
    if c.problem.is_some() {
        let text = c.body.as_ref().map(|b| b.text().into_owned());
        return (text.unwrap_or_default(), "application/octet-stream");
    }
    let events: Vec<&str> = c.events.iter().map(|e| e.raw().get()).collect();
    let key = c.api_key.clone().unwrap_or_default();
    let form = |fields: &[(&str, &str)]| {
        let mut f = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            f.append_pair(k, v);
        }
        (f.finish(), "application/x-www-form-urlencoded")
    };
    let list = format!("[{}]", events.join(","));
    match c.endpoint.unwrap_or(Endpoint::HttpV2) {
        Endpoint::HttpV2 | Endpoint::Batch => {
            let options = c
                .options
                .as_ref()
                .map(|o| format!(",\"options\":{o}"))
                .unwrap_or_default();
            (
                format!(
                    "{{\"api_key\":{},\"events\":{list}{options}}}",
                    Value::from(key)
                ),
                "application/json",
            )
        }
        Endpoint::HttpApiV1 => form(&[("api_key", &key), ("event", &list)]),
        Endpoint::LegacyJs => form(&[("client", &key), ("e", &list), ("v", "2")]),
        Endpoint::Identify | Endpoint::GroupIdentify => {
            form(&[("api_key", &key), ("identification", &list)])
        }
    }
}

fn entry(c: &Record) -> Value {
    let url = match &c.delivery {
        Delivery::Forwarded { url, .. } | Delivery::Failed { url, .. } => url.clone(),
        _ => {
            let q = if c.query.is_empty() {
                String::new()
            } else {
                format!("?{}", c.query)
            };
            format!("http://127.0.0.1:8787{}{q}", c.path)
        }
    };
    let (body, mime) = rebuild_body(c);
    let mime = c.content_type.clone().unwrap_or_else(|| mime.to_owned());
    let wait = c.delivery.latency_ms().unwrap_or(0.0);
    let mut request_headers = vec![json!({"name": "Content-Type", "value": mime})];
    if let Some(ua) = &c.user_agent {
        request_headers.push(json!({"name": "User-Agent", "value": ua}));
    }
    if let Some(origin) = &c.origin {
        request_headers.push(json!({"name": "Origin", "value": origin}));
    }
    let query: Vec<Value> = form_urlencoded::parse(c.query.as_bytes())
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let response_type = c
        .answer
        .content_type
        .clone()
        .unwrap_or_else(|| "text/plain".into());
    let status_text = http::StatusCode::from_u16(c.answer.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let delivery = c.delivery.kind();
    let mut comment = "body rebuilt from the journal's events; api key masked".to_owned();
    if c.content_encoding.is_some() {
        comment.push_str("; sent gzip-encoded, shown decoded");
    }
    if let Some(problem) = &c.problem {
        comment = match &c.body {
            Some(b) if b.truncated => format!(
                "{}; the first {} bytes as received, keys masked",
                problem.reason,
                b.bytes.len()
            ),
            Some(_) => format!("{}; the body as received, keys masked", problem.reason),
            None => format!("{}; no body kept", problem.reason),
        };
    }
    json!({
        "startedDateTime": c.received.format(&Rfc3339).unwrap_or_default(),
        "time": wait,
        "request": {
            "method": c.method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": request_headers,
            "queryString": query,
            "postData": {"mimeType": mime, "text": body, "params": []},
            "headersSize": -1,
            "bodySize": c.body_bytes,
            "comment": comment,
        },
        "response": {
            "status": c.answer.status,
            "statusText": status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": "Content-Type", "value": response_type}],
            "content": {"size": c.answer.body.len(), "mimeType": response_type, "text": c.answer.body},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": c.answer.body.len(),
        },
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": wait, "receive": 0},
        "_amptap": {"seq": c.seq, "delivery": delivery, "events": c.events.len(), "tag": c.tag},
    })
}

/// Writes the archive, one entry at a time as `records` yields them.
pub fn write_archive(
    records: impl IntoIterator<Item = Record>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let creator = json!({"name": "amptap", "version": env!("CARGO_PKG_VERSION")});
    write!(
        out,
        "{{\"log\":{{\"version\":\"1.2\",\"creator\":{creator},\"pages\":[],\"entries\":["
    )?;
    for (i, record) in records.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"\n")?;
        serde_json::to_writer(&mut *out, &entry(&record))?;
    }
    out.write_all(b"\n]}}\n")
}

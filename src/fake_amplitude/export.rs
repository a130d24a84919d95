//! The fake's Export API: `GET /api/2/export?start=…&end=…` serves, in the
//! real archive format, what the fake accepted — with knobs to drop events,
//! strip nulls, duplicate or change them, or answer 401/404/429/5xx, cut the
//! download short or hang — so reconcile meets real mismatches end to end.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Json;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::FakeAmplitude;
use crate::event::{Dialect, Event};
use crate::export::{format_export_time, ExportedRow, Hour, Window};

/// One misbehaviour of the Export API, used up by one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFault {
    /// Answer this status (401, 404, 429, 500, 504…).
    Status(u16),
    /// Send half the archive, then close the connection.
    Cut,
    /// Wait this long before answering.
    DelayMs(u64),
}

/// A value Amplitude "changed" between ingestion and export.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PropertyChange {
    pub insert_id: String,
    pub property: String,
    pub value: Value,
}

/// How the export differs from what was ingested.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExportKnobs {
    /// Insert ids left out of the export (lost events).
    pub drop: BTreeSet<String>,
    /// Drop null-valued properties, as Amplitude may.
    pub strip_nulls: bool,
    /// Insert ids exported twice.
    pub duplicate: BTreeSet<String>,
    pub change: Vec<PropertyChange>,
    pub faults: VecDeque<ExportFault>,
    /// When set, Basic auth must carry exactly these.
    pub credentials: Option<(String, String)>,
    /// The project id in archive file names.
    pub project: Option<u64>,
}

impl FakeAmplitude {
    /// Merges knobs into the Export API's behaviour (faults queue up).
    pub fn set_export(&self, knobs: ExportKnobs) {
        let mut state = self.lock();
        let e = &mut state.export;
        e.drop.extend(knobs.drop);
        e.duplicate.extend(knobs.duplicate);
        e.change.extend(knobs.change);
        e.faults.extend(knobs.faults);
        e.strip_nulls |= knobs.strip_nulls;
        if knobs.credentials.is_some() {
            e.credentials = knobs.credentials;
        }
        if knobs.project.is_some() {
            e.project = knobs.project;
        }
    }

    /// The rows the export would hold for `window`, after the knobs.
    pub fn export_rows(&self, window: &Window) -> Vec<ExportedRow> {
        let state = self.lock();
        let knobs = &state.export;
        let mut seen = HashSet::new();
        let mut rows = Vec::new();
        for r in state.received.iter().filter(|r| r.status == 200) {
            if !window.contains_ms(r.received_ms) {
                continue;
            }
            let dialect = Dialect::of(r.endpoint);
            for raw in &r.events {
                let event = Event::from_raw(raw.clone(), dialect);
                let Some(mut row) = row_of(&event, r.received_ms, knobs.strip_nulls) else {
                    continue;
                };
                if r.endpoint == crate::event::Endpoint::Batch {
                    // As the Batch API's docs say and the offline answer does:
                    // a short id is dropped from the event, not refused.
                    for id in [&mut row.user_id, &mut row.device_id] {
                        if id.as_ref().is_some_and(|v| v.chars().count() < 5) {
                            *id = None;
                        }
                    }
                }
                let id = row.insert_id.clone().unwrap_or_default();
                // Amplitude keeps one row per insert id (7-day deduplication).
                if !id.is_empty() && (!seen.insert(id.clone()) || knobs.drop.contains(&id)) {
                    continue;
                }
                for change in knobs.change.iter().filter(|c| c.insert_id == id) {
                    let mut props: Map<String, Value> = row
                        .event_properties
                        .as_ref()
                        .and_then(|p| serde_json::from_str(p.get()).ok())
                        .unwrap_or_default();
                    props.insert(change.property.clone(), change.value.clone());
                    row.event_properties = serde_json::value::to_raw_value(&props).ok();
                }
                if knobs.duplicate.contains(&id) {
                    let mut copy = row.clone();
                    copy.uuid = Some(format!("{}-dup", row.uuid.clone().unwrap_or_default()));
                    rows.push(copy);
                }
                rows.push(row);
            }
        }
        rows
    }
}

/// How Amplitude stores an ingested event (see ../shared/amplitude/api.md).
fn row_of(event: &Event, received_ms: i64, strip_nulls: bool) -> Option<ExportedRow> {
    let fields = event.fields()?;
    let mut props: Map<String, Value> = event.event_properties().cloned().unwrap_or_default();
    // Revenue fields move into event properties with a `$`.
    for (field, prop) in [
        ("price", "$price"),
        ("quantity", "$quantity"),
        ("revenue", "$revenue"),
        ("productId", "$productId"),
        ("revenueType", "$revenueType"),
    ] {
        if let Some(v) = fields.get(field) {
            props.insert(prop.to_owned(), v.clone());
        }
    }
    if strip_nulls {
        props.retain(|_, v| !v.is_null());
    }
    let mut user_props = Map::new();
    if let Some(up) = event.user_properties() {
        for (k, v) in up {
            match (k.as_str(), v) {
                ("$set" | "$setOnce", Value::Object(ops)) => user_props.extend(ops.clone()),
                (op, _) if op.starts_with('$') => {}
                (k, v) => {
                    user_props.insert(k.to_owned(), v.clone());
                }
            }
        }
    }
    let id = event.insert_id().map(str::to_owned);
    let who = event.actor().unwrap_or_default();
    let hash = |s: &str| {
        s.bytes().fold(1_469_598_103_934_665_603_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
        })
    };
    let upload = format_export_time(received_ms);
    let client_time = event.time().map(format_export_time);
    let ip = fields.get("ip").and_then(Value::as_str).map(|ip| {
        if ip == "$remote" {
            "127.0.0.1".to_owned()
        } else {
            ip.to_owned()
        }
    });
    Some(ExportedRow {
        uuid: Some(format!(
            "{:016x}-{:016x}",
            hash(id.as_deref().unwrap_or("")),
            hash(&upload)
        )),
        insert_id: id,
        amplitude_id: Some(Value::from(hash(who) % 1_000_000_000_000)),
        event_type: event.event_type().map(str::to_owned),
        user_id: event.user_id().map(str::to_owned),
        device_id: event.device_id().map(str::to_owned),
        event_time: client_time.clone().or_else(|| Some(upload.clone())),
        client_event_time: client_time,
        client_upload_time: Some(upload.clone()),
        server_received_time: Some(upload.clone()),
        server_upload_time: Some(upload),
        session_id: event.session_id(),
        event_properties: serde_json::value::to_raw_value(&props).ok(),
        user_properties: serde_json::value::to_raw_value(&user_props).ok(),
        ip_address: ip,
        platform: event.platform().map(str::to_owned),
        library: event.library(),
    })
}

pub(super) async fn set_knobs(
    State(fake): State<FakeAmplitude>,
    Json(knobs): Json<ExportKnobs>,
) -> Response {
    fake.set_export(knobs);
    plain(200, "export knobs set".into())
}

#[derive(Deserialize)]
pub(super) struct Range {
    start: Option<String>,
    end: Option<String>,
}

pub(super) async fn serve(
    State(fake): State<FakeAmplitude>,
    headers: HeaderMap,
    Query(range): Query<Range>,
) -> Response {
    let (fault, credentials, project) = {
        let mut state = fake.lock();
        (
            state.export.faults.pop_front(),
            state.export.credentials.clone(),
            state.export.project.unwrap_or(187_520),
        )
    };
    if let Some(ExportFault::DelayMs(ms)) = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(ExportFault::Status(status)) = fault {
        return plain(status, format!("fault: {status}"));
    }
    if !authorized(&headers, credentials.as_ref()) {
        return plain(401, "Invalid API key".into());
    }
    let parse = |s: Option<String>| s.as_deref().unwrap_or("").parse::<Hour>();
    let window = match (parse(range.start), parse(range.end)) {
        (Ok(start), Ok(end)) => match Window::new(start, end) {
            Ok(w) => w,
            Err(e) => return plain(400, e),
        },
        (Err(e), _) | (_, Err(e)) => return plain(400, e),
    };
    let rows = fake.export_rows(&window);
    if rows.is_empty() {
        return plain(404, "Raw data files were not found.".into());
    }
    let mut zip = std::io::Cursor::new(Vec::new());
    if let Err(e) = crate::export::archive::write_archive(&rows, project, &mut zip) {
        return plain(500, e.to_string());
    }
    let body = Bytes::from(zip.into_inner());
    let mut response = if fault == Some(ExportFault::Cut) {
        // Promise the whole archive, send half, then drop the connection.
        let half = body.slice(..body.len() / 2);
        // The pause lets the half reach the client before the connection dies.
        let cut = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(std::io::Error::other("fault: cut"))
        };
        let stream = futures_util::StreamExt::chain(
            futures_util::stream::iter([Ok(half)]),
            futures_util::stream::once(cut),
        );
        let mut r = Response::new(Body::from_stream(stream));
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        r
    } else {
        Response::new(Body::from(body))
    };
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    response
}

fn authorized(headers: &HeaderMap, want: Option<&(String, String)>) -> bool {
    use base64::Engine;
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    match (want, text.split_once(':')) {
        (Some((api, secret)), Some((a, s))) => a == api && s == secret,
        (None, Some((a, s))) => !a.is_empty() && !s.is_empty(),
        _ => false,
    }
}

fn plain(status: u16, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

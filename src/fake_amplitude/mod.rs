//! An Amplitude stand-in for tests, benchmarks and the demo.
//!
//! It ingests like Amplitude (the same decoding and answers as `--offline`),
//! remembers what it was sent, and takes fault knobs: answer the next
//! requests with 500 / 429 / 413 / 503, answer late, or drop the connection.
//! Control endpoints live under `/_fake/` so a script in any language can
//! drive it; Rust tests call the methods directly. It also serves the
//! Export API (`export`): what it ingested, in Amplitude's archive format.

mod export;

pub use export::{ExportFault, ExportKnobs, PropertyChange};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::event::{decode_request, BodyLimits, Endpoint};
use crate::tap::{offline, Reply};

/// One scripted misbehaviour, used up by one ingestion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and Amplitude's body for it.
    Status(u16),
    /// Wait, then answer normally (longer than the tap's timeout = a hang).
    Delay(Duration),
    /// Close the connection without an answer.
    Drop,
    /// Answer 503 with `Retry-After: SECONDS`.
    RetryAfter(u64),
}

impl FromStr for Fault {
    type Err = String;

    /// `500`, `429`, `delay:1500` (ms), `drop`, `retry-after:2` (503, seconds).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "drop" {
            return Ok(Fault::Drop);
        }
        if let Some(secs) = s.strip_prefix("retry-after:") {
            let secs: u64 = secs
                .parse()
                .map_err(|_| format!("bad retry-after {secs:?}: want seconds"))?;
            return Ok(Fault::RetryAfter(secs));
        }
        if let Some(ms) = s.strip_prefix("delay:") {
            let ms: u64 = ms
                .parse()
                .map_err(|_| format!("bad delay {ms:?}: want milliseconds"))?;
            return Ok(Fault::Delay(Duration::from_millis(ms)));
        }
        match s.parse::<u16>() {
            Ok(code) if (400..600).contains(&code) => Ok(Fault::Status(code)),
            _ => Err(format!(
                "unknown fault {s:?}: want a 4xx/5xx status, delay:MS, retry-after:SECONDS or drop"
            )),
        }
    }
}

/// Parses `500x3,413,drop` into a list of faults.
pub fn parse_faults(spec: &str) -> Result<Vec<Fault>, String> {
    let mut faults = Vec::new();
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (fault, times) = match part.rsplit_once('x') {
            Some((f, n)) if !f.starts_with("delay") || n.parse::<usize>().is_ok() => {
                match n.parse::<usize>() {
                    Ok(n) => (f, n),
                    Err(_) => (part, 1),
                }
            }
            _ => (part, 1),
        };
        let fault: Fault = fault.parse()?;
        faults.extend(std::iter::repeat_n(fault, times));
    }
    Ok(faults)
}

/// One request the fake received, exactly as it arrived.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub endpoint: Endpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(skip)]
    pub body: Bytes,
    pub status: u16,
    /// The decoded events' raw JSON (empty when the body did not decode).
    pub events: Vec<Box<RawValue>>,
    /// When it arrived (ms since the epoch): the export's `server_upload_time`.
    pub received_ms: i64,
}

#[derive(Default)]
struct FakeState {
    received: Vec<Received>,
    faults: VecDeque<Fault>,
    requests: u64,
    export: export::ExportKnobs,
}

/// The stand-in; clones share state.
#[derive(Clone, Default)]
pub struct FakeAmplitude {
    state: Arc<Mutex<FakeState>>,
    /// Benchmarks push millions of events: keep counts, not bodies.
    forgetful: bool,
}

/// A fake listening on a port; stops when dropped.
pub struct RunningFake {
    pub fake: FakeAmplitude,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl RunningFake {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningFake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FakeAmplitude {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn forgetful() -> Self {
        FakeAmplitude {
            forgetful: true,
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A poisoned lock only means a test thread panicked; the data is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves on `addr` (port 0 picks a free one) in the background.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningFake> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = self.router();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("fake_amplitude: {e}");
            }
        });
        Ok(RunningFake {
            fake: self,
            addr,
            stop: Some(stop),
        })
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/_fake/faults", post(set_faults))
            .route("/_fake/received", get(list_received))
            .route("/_fake/reset", post(reset))
            .route("/_fake/export", post(export::set_knobs))
            .route("/api/2/export", get(export::serve))
            .fallback(ingest)
            .with_state(self.clone())
    }

    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.extend(faults);
    }

    /// Every ingestion request received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    pub fn request_count(&self) -> u64 {
        self.lock().requests
    }

    /// Raw JSON of every event Amplitude would have stored (answered 200).
    pub fn ingested_events(&self) -> Vec<String> {
        self.lock()
            .received
            .iter()
            .filter(|r| r.status == 200)
            .flat_map(|r| r.events.iter().map(|e| e.get().to_owned()))
            .collect()
    }

    pub fn reset(&self) {
        let mut state = self.lock();
        state.received.clear();
        state.faults.clear();
        state.export = export::ExportKnobs::default();
        state.requests = 0;
    }

    fn next_fault(&self) -> Option<Fault> {
        self.lock().faults.pop_front()
    }
}

async fn set_faults(State(fake): State<FakeAmplitude>, Json(specs): Json<Vec<String>>) -> Response {
    let mut faults = Vec::new();
    for spec in &specs {
        match parse_faults(spec) {
            Ok(more) => faults.extend(more),
            Err(e) => return text(400, e),
        }
    }
    let n = faults.len();
    fake.push_faults(faults);
    text(200, format!("{n} faults queued"))
}

async fn list_received(State(fake): State<FakeAmplitude>) -> Json<Vec<Received>> {
    Json(fake.received())
}

async fn reset(State(fake): State<FakeAmplitude>) -> Response {
    fake.reset();
    text(200, "reset".into())
}

async fn ingest(State(fake): State<FakeAmplitude>, request: Request) -> Response {
    let Some(endpoint) = Endpoint::from_path(request.uri().path()) else {
        return text(404, "not found".into());
    };
    if request.method() != Method::POST {
        return text(405, "method not allowed".into());
    }
    let (parts, body) = request.into_parts();
    let limits = BodyLimits::default();
    let Ok(body) = axum::body::to_bytes(body, limits.max_body_bytes).await else {
        return reply(offline::json_reply(413, &offline::error_body(413, 0)));
    };
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_encoding = header(header::CONTENT_ENCODING);
    let decoded = decode_request(endpoint, content_encoding.as_deref(), &body, limits);
    let event_count = decoded.as_ref().map_or(0, |b| b.events.len());

    let answer = match fake.next_fault() {
        Some(Fault::Drop) => None,
        Some(Fault::Status(status)) => Some(offline::json_reply(
            status,
            &offline::error_body(status, event_count),
        )),
        Some(Fault::Delay(wait)) => {
            tokio::time::sleep(wait).await;
            Some(offline::answer(endpoint, &decoded, now_ms()))
        }
        Some(Fault::RetryAfter(secs)) => {
            let mut r = offline::json_reply(503, &offline::error_body(503, event_count));
            r.retry_after = Some(secs.to_string());
            Some(r)
        }
        None => Some(offline::answer(endpoint, &decoded, now_ms())),
    };
    let mut state = fake.lock();
    state.requests += 1;
    if !fake.forgetful {
        state.received.push(Received {
            endpoint,
            content_type: header(header::CONTENT_TYPE),
            content_encoding,
            body: body.clone(),
            status: answer.as_ref().map_or(0, |a| a.status),
            events: decoded
                .map(|b| b.events.iter().map(|e| e.raw().to_owned()).collect())
                .unwrap_or_default(),
            received_ms: now_ms(),
        });
    }
    drop(state);
    match answer {
        Some(answer) => reply(answer),
        None => dropped_connection(),
    }
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn text(status: u16, body: String) -> Response {
    reply(Reply::new(status, "text/plain; charset=utf-8", body))
}

fn reply(r: Reply) -> Response {
    let mut response = Response::new(Body::from(r.body));
    *response.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ct) = r.content_type.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    if let Some(after) = r.retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, after);
    }
    response
}

/// A body that fails before its first byte makes hyper abort the
/// connection: the client sees it closed with no answer.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("fault: drop"))
    });
    Response::new(Body::from_stream(failing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_parse() {
        assert_eq!(
            parse_faults("500x2,413,delay:1500,drop"),
            Ok(vec![
                Fault::Status(500),
                Fault::Status(500),
                Fault::Status(413),
                Fault::Delay(Duration::from_millis(1500)),
                Fault::Drop
            ])
        );
        assert!(parse_faults("200").is_err());
        assert!(parse_faults("delay:soon").is_err());
    }
}

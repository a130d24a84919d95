//! The HTTP server the SDKs talk to: routes, CORS, body limits; each
//! ingestion request is decoded, delivered (forwarded or answered offline),
//! journaled, and only then answered.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use super::{offline, Mode, Reply, Tap};
use crate::event::{decode_request, DecodeError, Diagnosis};
use crate::record::{mask_api_key, Delivery, ProblemKind, Record};

/// The request headers a browser SDK asks to send; allowed when a preflight names none.
const ALLOWED_REQUEST_HEADERS: &str =
    "content-type, content-encoding, cross-origin-resource-policy";

pub fn router(tap: Arc<Tap>) -> Router {
    Router::new()
        .merge(super::api::routes())
        .fallback(handle)
        .with_state(tap)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    tap: Arc<Tap>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = tap.clients;
    super::server::serve(listener, router(tap), limits, shutdown).await
}

async fn handle(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let cors = cors_headers(request.headers());
    if request.method() == Method::OPTIONS {
        // A browser's preflight is CORS bookkeeping, not a request of the SDK's.
        return preflight(cors, request.headers());
    }
    let method = request.method().clone();
    let reply = ingest(&tap, client, request).await;
    let mut response = respond(cors, reply);
    if method != Method::POST && response.status() == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    }
    response
}

/// Every request becomes one record: decoded, or refused with the reason
/// and the body as received.
async fn ingest(tap: &Tap, client: SocketAddr, request: Request) -> Reply {
    let received = OffsetDateTime::now_utc();
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let path = parts.uri.path();
    let mut record = Record {
        query: crate::record::mask_query(&query),
        origin: header_string(headers, header::ORIGIN),
        user_agent: header_string(headers, header::USER_AGENT),
        content_type: header_string(headers, header::CONTENT_TYPE),
        content_encoding: header_string(headers, header::CONTENT_ENCODING),
        tag: tap.session.as_ref().and_then(|s| s.tag()),
        ..Record::new(parts.method.as_str(), path, received, client.to_string())
    };
    tap.stats.requests.fetch_add(1, Ordering::Relaxed);

    let (body, mut held) = match super::receive::receive(tap, headers, body).await {
        Ok(received) => received,
        Err(no) => {
            record.refuse(no.kind, no.reason, b"");
            record.body_bytes = no.body_bytes;
            return refused(tap, record, no.reply).await;
        }
    };
    record.body_bytes = body.len();
    if path.starts_with("/relay/") {
        let reply = super::relay::request(tap, &parts.method, record, body).await;
        drop(held);
        return reply;
    }
    let Some(endpoint) = record.endpoint else {
        tracing::debug!(%path, "unknown path");
        let reason = match crate::event::Endpoint::near(path) {
            Some(meant) => format!(
                "no Amplitude API at {path}: did you mean {}? (the SDK's serverUrl should end with it)",
                meant.path()
            ),
            None => format!(
                "no Amplitude API at {path}; send events to /2/httpapi, /batch, /httpapi, /, /identify or /groupidentify"
            ),
        };
        record.refuse(ProblemKind::WrongPath, reason.clone(), &body);
        return refused(tap, record, local_error(404, format!("amptap: {reason}"))).await;
    };
    if parts.method != Method::POST {
        let (reason, reply) = if parts.method == Method::GET && path == "/" {
            // Someone opened the tap in a browser: say what it is.
            let text = "amptap is running. Point your SDK's serverUrl here (/2/httpapi, /batch, /httpapi, /, /identify, /groupidentify).\nQuery API: /_amptap/summary · metrics: /metrics\n";
            (
                "GET / is not an ingestion request (amptap answered with its info page)".to_owned(),
                Reply::new(200, "text/plain; charset=utf-8", text),
            )
        } else {
            let reason = format!("{path} takes POST, not {}", parts.method);
            (
                reason.clone(),
                local_error(405, format!("amptap: {reason}")),
            )
        };
        record.refuse(ProblemKind::WrongMethod, reason, &body);
        return refused(tap, record, reply).await;
    }

    let encoding = record.content_encoding.clone();
    if let Err(no) = super::receive::before_inflating(tap, &mut held, encoding.as_deref()).await {
        record.refuse(no.kind, no.reason, &body);
        return refused(tap, record, no.reply).await;
    }
    let decoded = decode_request(endpoint, encoding.as_deref(), &body, tap.limits);
    let size = decoded
        .as_ref()
        .ok()
        .map(|b| (b.payload_size_bytes, b.events.len()));
    super::receive::after_decoding(tap, &mut held, &body, size).await;
    if let Some(why) = tap.journal.stats().broken() {
        // Nothing is forwarded that could not be kept: the SDK keeps its
        // events and retries. The record is still tried: if space has
        // returned, this write is what finds out.
        let reply = unkept(&why);
        record.refuse(
            ProblemKind::NotKept,
            format!("the journal could not be written: {why}"),
            &body,
        );
        // Counted as a journal failure, not as an undecodable request.
        return close(tap, record, reply).await;
    }
    if let Err(e @ (DecodeError::TooManyEvents { .. } | DecodeError::TooLarge { .. })) = &decoded {
        // Amplitude refuses these too: answered as it would, nothing built,
        // nothing forwarded.
        let reply = offline::answer(endpoint, &decoded, 0);
        record.refuse(ProblemKind::TooLarge, e.to_string(), &body);
        return refused(tap, record, reply).await;
    }
    let mut foreign = None;
    if let Err(e) = &decoded {
        let host = header_string(headers, header::HOST).unwrap_or_else(|| "127.0.0.1:8787".into());
        match crate::event::diagnose(endpoint, &body, e, &format!("http://{host}")) {
            Some(Diagnosis::Misrouted(why)) => {
                // The set-up is wrong, not the events: say how to fix it, in
                // a JSON body every SDK can read.
                tracing::info!(%path, "misrouted: {why}");
                record.refuse(ProblemKind::WrongPath, why.clone(), &body);
                return refused(tap, record, local_error(400, format!("amptap: {why}"))).await;
            }
            Some(Diagnosis::Foreign(what)) => foreign = Some(what),
            None => {}
        }
    }
    let (reply, delivery) = match &tap.mode {
        Mode::Forward(upstream) => {
            upstream
                .forward(
                    endpoint,
                    parts.method.clone(),
                    parts.uri.path(),
                    &query,
                    headers,
                    body.clone(),
                )
                .await
        }
        Mode::Offline => {
            let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
            (
                offline::answer(endpoint, &decoded, now_ms),
                Delivery::Offline,
            )
        }
    };
    if matches!(delivery, Delivery::Failed { .. }) {
        tap.stats.forward_failures.fetch_add(1, Ordering::Relaxed);
    }
    match decoded {
        Ok(batch) => {
            tap.stats
                .events
                .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
            record.api_key = batch.api_key.as_deref().map(mask_api_key);
            record.options = batch.options;
            record.events = batch.events;
        }
        Err(e) => {
            tap.stats.undecodable.fetch_add(1, Ordering::Relaxed);
            let reason = foreign.unwrap_or_else(|| e.to_string());
            record.refuse(ProblemKind::Undecodable, reason, &body);
        }
    }
    record.answer = reply.answer();
    record.delivery = delivery;
    match journal(tap, record).await {
        Ok(_) => reply,
        Err(why) => unkept(&why),
    }
}

/// The answer when a request's record cannot be written: Amplitude's own
/// shape for a server error, so every SDK keeps the events and retries.
pub(super) fn unkept(why: &str) -> Reply {
    local_error(
        503,
        format!("amptap could not keep this request ({why}); retry later"),
    )
}

/// Journals a request amptap answered itself without reading events from it.
pub(super) async fn refused(tap: &Tap, record: Record, reply: Reply) -> Reply {
    tap.stats.undecodable.fetch_add(1, Ordering::Relaxed);
    close(tap, record, reply).await
}

/// Journals a refused request with the answer it gets.
async fn close(tap: &Tap, mut record: Record, reply: Reply) -> Reply {
    record.answer = reply.answer();
    record.delivery = Delivery::Refused {
        reason: record
            .problem
            .as_ref()
            .map(|p| p.reason.clone())
            .unwrap_or_default(),
    };
    match journal(tap, record).await {
        Ok(_) => reply,
        Err(why) => unkept(&why),
    }
}

/// Writes the record (returns its seq); says why when it could not be.
pub(super) async fn journal(tap: &Tap, capture: Record) -> Result<u64, String> {
    tap.metrics.request(
        capture.path_label(),
        capture.answer.status,
        capture.delivery.latency_ms(),
        matches!(capture.delivery, Delivery::Failed { .. }),
    );
    // The judge stage follows the journal: nothing downstream sees what is
    // not on disk, and the SDK's answer never waits for judging.
    match tap.journal.append(capture).await {
        Ok(seq) => Ok(seq),
        Err(e) => {
            // Even when the events reached Amplitude, the SDK must retry:
            // what is not in the journal was never seen (Amplitude drops
            // the second copy by insert_id).
            tap.stats.journal_failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!("journal: {e}");
            Err(match &*e {
                crate::journal::JournalError::Write { source, .. } => source.to_string(),
                other => other.to_string(),
            })
        }
    }
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// amptap's own errors, in Amplitude's JSON shape so every SDK can read them.
pub(super) fn local_error(status: u16, message: String) -> Reply {
    offline::json_reply(status, &json!({"code": status, "error": message}))
}

/// Without `Access-Control-Allow-Origin` on every answer, errors included,
/// a browser hides the answer and the SDK drops the events.
fn cors_headers(request: &HeaderMap) -> HeaderMap {
    let mut h = HeaderMap::new();
    match request.get(header::ORIGIN) {
        Some(origin) => {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        None => {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
    h
}

fn preflight(mut cors: HeaderMap, request: &HeaderMap) -> Response {
    let allow_headers = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static(ALLOWED_REQUEST_HEADERS));
    cors.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    cors.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    cors.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    *response.headers_mut() = cors;
    response
}

fn respond(cors: HeaderMap, reply: Reply) -> Response {
    let body = match reply.rest {
        None => Body::from(reply.body),
        Some(rest) => {
            let first = futures_util::stream::once(async move { Ok(reply.body) });
            Body::from_stream(futures_util::StreamExt::chain(first, rest.into_stream()))
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    *headers = cors;
    for (name, value) in [
        (header::CONTENT_TYPE, reply.content_type),
        (header::CONTENT_ENCODING, reply.content_encoding),
        (header::RETRY_AFTER, reply.retry_after),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    response
}

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
use crate::event::decode_request;
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

    let max = tap.limits.max_body_bytes;
    // A body must keep coming: slow senders and a Content-Length longer
    // than the body end here instead of holding the connection.
    let expected = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(max)
        .min(max);
    let allowed = tap.clients.body_time(expected);
    let body = match tokio::time::timeout(allowed, axum::body::to_bytes(body, max)).await {
        Ok(Ok(body)) => body,
        Err(_) => {
            let reason = format!(
                "the body did not arrive within {:.0} s (--client-timeout plus its length at --min-body-rate)",
                allowed.as_secs_f64()
            );
            record.refuse(ProblemKind::NotReceived, reason.clone(), b"");
            return refused(tap, record, local_error(408, format!("amptap: {reason}"))).await;
        }
        Ok(Err(e)) => {
            let too_large = is_length_limit(&e);
            let reply = if too_large {
                let mut body = offline::error_body(413, 0);
                body["error"] = format!(
                    "Payload too large: amptap takes bodies up to {max} bytes (--max-body)"
                )
                .into();
                record.refuse(
                    ProblemKind::TooLarge,
                    format!("body over --max-body ({max} bytes)"),
                    b"",
                );
                offline::json_reply(413, &body)
            } else {
                record.refuse(
                    ProblemKind::NotReceived,
                    format!("body not received: {e}"),
                    b"",
                );
                local_error(400, format!("amptap: could not read the request body: {e}"))
            };
            record.body_bytes = if too_large { max } else { 0 };
            return refused(tap, record, reply).await;
        }
    };
    record.body_bytes = body.len();
    let Some(endpoint) = record.endpoint else {
        tracing::debug!(%path, "unknown path");
        let reason = format!(
            "no Amplitude API at {path}; send events to /2/httpapi, /batch, /httpapi, /, /identify or /groupidentify"
        );
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

    let encoding = record.content_encoding.as_deref();
    let decoded = decode_request(endpoint, encoding, &body, tap.limits);
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
            record.refuse(ProblemKind::Undecodable, e.to_string(), &body);
        }
    }
    record.answer = reply.answer();
    record.delivery = delivery;
    match journal(tap, record).await {
        Ok(()) => reply,
        Err(why) => unkept(&why),
    }
}

/// The answer when a request's record cannot be written: Amplitude's own
/// shape for a server error, so every SDK keeps the events and retries.
fn unkept(why: &str) -> Reply {
    local_error(
        503,
        format!("amptap could not keep this request ({why}); retry later"),
    )
}

/// Journals a request amptap answered itself without reading events from it.
async fn refused(tap: &Tap, record: Record, reply: Reply) -> Reply {
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
        Ok(()) => reply,
        Err(why) => unkept(&why),
    }
}

/// Writes the record; says why when it could not be.
async fn journal(tap: &Tap, capture: Record) -> Result<(), String> {
    tap.metrics.request(
        capture.path_label(),
        capture.answer.status,
        capture.delivery.latency_ms(),
        matches!(capture.delivery, Delivery::Failed { .. }),
    );
    // The judge stage follows the journal: nothing downstream sees what is
    // not on disk, and the SDK's answer never waits for judging.
    match tap.journal.append(capture).await {
        Ok(_) => Ok(()),
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

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// amptap's own errors, in Amplitude's JSON shape so every SDK can read them.
fn local_error(status: u16, message: String) -> Reply {
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
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    *headers = cors;
    for (name, value) in [
        (header::CONTENT_TYPE, reply.content_type),
        (header::CONTENT_ENCODING, reply.content_encoding),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    response
}

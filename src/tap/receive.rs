//! Reading a request's body within its budgets: memory reserved before a
//! byte is read, a deadline from its length, the `--max-body` cap.

use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderMap};

use super::budget::{request_cost, Held, COST_PER_BODY_BYTE, COST_PER_EVENT};
use super::proxy::local_error;
use super::{offline, Reply, Tap};
use crate::record::ProblemKind;

/// Why a body was not read, and the answer to give.
pub struct Refusal {
    pub kind: ProblemKind,
    pub reason: String,
    pub reply: Reply,
    /// How much of it counts as received (the cap, for a body over it).
    pub body_bytes: usize,
}

/// The body, with the memory reserved for handling it.
pub async fn receive(tap: &Tap, headers: &HeaderMap, body: Body) -> Result<(Bytes, Held), Refusal> {
    let max = tap.limits.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .map(|n| n.min(max));
    let expected = declared.unwrap_or(max);
    let held = tap
        .memory
        .reserve(request_cost(expected), tap.clients.client_timeout)
        .await
        .map_err(|e| Refusal {
            kind: ProblemKind::NotReceived,
            reason: format!("not read: {e}"),
            reply: local_error(503, format!("amptap: {e}")),
            body_bytes: 0,
        })?;
    // A body must keep coming: slow senders and a Content-Length longer
    // than the body end here instead of holding the connection.
    let allowed = tap.clients.body_time(expected);
    match tokio::time::timeout(allowed, collect(body, declared.unwrap_or(64 * 1024), max)).await {
        Ok(Ok(body)) => Ok((body, held)),
        Err(_) => {
            let reason = format!(
                "the body did not arrive within {:.0} s (--client-timeout plus its length at --min-body-rate)",
                allowed.as_secs_f64()
            );
            Err(Refusal {
                kind: ProblemKind::NotReceived,
                reply: local_error(408, format!("amptap: {reason}")),
                reason,
                body_bytes: 0,
            })
        }
        Ok(Err(Unread::TooLarge)) => {
            let mut body = offline::error_body(413, 0);
            body["error"] =
                format!("Payload too large: amptap takes bodies up to {max} bytes (--max-body)")
                    .into();
            Err(Refusal {
                kind: ProblemKind::TooLarge,
                reason: format!("body over --max-body ({max} bytes)"),
                reply: offline::json_reply(413, &body),
                body_bytes: max,
            })
        }
        Ok(Err(Unread::Broken(e))) => Err(Refusal {
            kind: ProblemKind::NotReceived,
            reason: format!("body not received: {e}"),
            reply: local_error(400, format!("amptap: could not read the request body: {e}")),
            body_bytes: 0,
        }),
    }
}

/// Before a compressed body is inflated, its reservation grows to what the
/// largest inflated body costs.
pub async fn before_inflating(
    tap: &Tap,
    held: &mut Held,
    encoding: Option<&str>,
) -> Result<(), Refusal> {
    let identity =
        encoding.is_none_or(|e| e.trim().is_empty() || e.trim().eq_ignore_ascii_case("identity"));
    if identity {
        return Ok(());
    }
    let most = request_cost(tap.limits.max_body_bytes);
    tap.memory
        .resize(held, most, tap.clients.client_timeout)
        .await
        .map_err(|e| Refusal {
            kind: ProblemKind::NotReceived,
            reason: format!("not inflated: {e}"),
            reply: local_error(503, format!("amptap: {e}")),
            body_bytes: 0,
        })
}

/// Once decoded, the reservation shrinks to what the request really costs:
/// its bytes and its events.
pub async fn after_decoding(
    tap: &Tap,
    held: &mut Held,
    body: &[u8],
    decoded: Option<(usize, usize)>,
) {
    let (payload, events) = decoded.unwrap_or((body.len(), 0));
    let cost = body.len() + COST_PER_BODY_BYTE * payload + COST_PER_EVENT * events;
    if cost < held.bytes() {
        let _ = tap
            .memory
            .resize(held, cost, std::time::Duration::ZERO)
            .await;
    }
}

enum Unread {
    TooLarge,
    Broken(axum::Error),
}

/// The body in one buffer sized from its `Content-Length`: no chunk list
/// copied into a second buffer, no doubling as it grows.
async fn collect(body: Body, capacity: usize, max: usize) -> Result<Bytes, Unread> {
    use futures_util::StreamExt;
    let mut chunks = body.into_data_stream();
    let mut buf = bytes::BytesMut::with_capacity(capacity);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(Unread::Broken)?;
        if buf.len() + chunk.len() > max {
            return Err(Unread::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

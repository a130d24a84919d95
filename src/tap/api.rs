//! The query API on the tap's own port, under `/_amptap/`, and `/metrics`.
//! Loopback clients only, unless `--api-token` is set: then every client
//! must bring `Authorization: Bearer <token>`. Every browser tab is a
//! loopback client too, so a request a web page made (a cross-site `Origin`
//! or `Sec-Fetch-Site`) is refused, POSTs must be JSON (which a page can only
//! send after a preflight, and no preflight here is ever answered with CORS
//! headers), and searches are bounded in length, size and time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::allowed;
use super::query::ANSWER_BYTES;
use super::session::{Found, LiveSession, QUERY_BUDGET};
use super::Tap;
use crate::filter::Filter;

pub fn routes() -> Router<Arc<Tap>> {
    Router::new()
        .route("/_amptap/events", get(events))
        .route("/_amptap/bad", get(bad))
        .route("/_amptap/wait", get(wait))
        .route("/_amptap/summary", get(summary))
        .route("/_amptap/reset", post(reset))
        .route("/_amptap/tag", post(tag))
        .route("/metrics", get(metrics))
        // Not the SDK's fallback: no CORS answer for any path of the API.
        .route("/_amptap/{*rest}", axum::routing::any(unknown))
}

/// The longest filter a search takes.
pub const MAX_FILTER_BYTES: usize = 2048;
/// The most events one answer lists.
pub const MAX_LIMIT: usize = 1000;

async fn unknown() -> Response {
    json_response(
        404,
        &json!({"error": "no such query API path: /_amptap/events, /bad, /wait, /summary, /reset, /tag"}),
    )
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A refused API request: the answer explaining why (boxed: responses are large).
pub struct Refusal(Box<Response>);

impl Refusal {
    fn new(response: Response) -> Self {
        Refusal(Box::new(response))
    }
}

impl axum::response::IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// The access check and the live session, or the answer explaining why not.
fn gate<'a>(
    tap: &'a Tap,
    client: &SocketAddr,
    headers: &HeaderMap,
) -> Result<&'a LiveSession, Refusal> {
    allowed(client, headers, tap.api_token.as_deref())
        .map_err(|(status, why)| Refusal::new(json_response(status, &json!({"error": why}))))?;
    tap.session.as_ref().ok_or_else(|| {
        Refusal::new(json_response(
            404,
            &json!({"error": "this tap keeps no live session"}),
        ))
    })
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

fn parse_filter(q: &str) -> Result<Filter, Refusal> {
    if q.len() > MAX_FILTER_BYTES {
        return Err(Refusal::new(json_response(
            400,
            &json!({"error": format!("the filter is {} bytes; the longest taken is {MAX_FILTER_BYTES}", q.len())}),
        )));
    }
    Filter::parse(q).map_err(|e| {
        Refusal::new(json_response(
            400,
            &json!({"error": format!("bad filter: {e}")}),
        ))
    })
}

async fn events(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Response, Refusal> {
    search(&tap, &client, &headers, &q.q, q.limit).await
}

/// The requests that carried no events amptap could read — misrouted,
/// undecodable, foreign, refused — each with its reason and body as
/// received (Snowplow Micro's `/micro/bad`).
async fn bad(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Response, Refusal> {
    let filter = format!(
        "code:misrouted_request|undecodable_request|refused_request {}",
        q.q
    );
    search(&tap, &client, &headers, &filter, q.limit).await
}

/// The last `limit` events matching `q`, once the session holds everything written.
async fn search(
    tap: &Tap,
    client: &SocketAddr,
    headers: &HeaderMap,
    q: &str,
    limit: Option<usize>,
) -> Result<Response, Refusal> {
    let session = gate(tap, client, headers)?;
    let filter = parse_filter(q)?;
    session.caught_up(tap.written_seq()).await;
    let limit = limit.unwrap_or(100).min(MAX_LIMIT);
    let found = session.query(&filter, limit).await;
    Ok(json_response(200, &answer(&found, limit)))
}

/// `{"count", "events"}`, and what bounded them when something did.
fn answer(found: &Found, limit: usize) -> Value {
    let mut answer = json!({"count": found.total, "events": found.shown});
    if found.partial {
        answer["partial"] = true.into();
        answer["note"] = format!(
            "the search stopped after {} s: count covers what it read",
            QUERY_BUDGET.as_secs()
        )
        .into();
    }
    if found.trimmed {
        answer["trimmed"] = true.into();
        answer["note"] = format!(
            "older matches left out to keep the answer under {} MiB (limit {limit})",
            ANSWER_BYTES / 1024 / 1024
        )
        .into();
    }
    answer
}

#[derive(Deserialize)]
struct WaitQuery {
    #[serde(default)]
    q: String,
    count: Option<usize>,
    timeout: Option<String>,
}

/// `5s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((t, "s"), |i| t.split_at(i));
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

async fn wait(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<WaitQuery>,
) -> Result<Response, Refusal> {
    let session = gate(&tap, &client, &headers)?;
    let filter = parse_filter(&q.q)?;
    let want = q.count.unwrap_or(1).max(1);
    let timeout = parse_duration(q.timeout.as_deref().unwrap_or("5s")).ok_or_else(|| {
        Refusal::new(json_response(
            400,
            &json!({"error": "bad timeout: use 5s, 500ms or 2m"}),
        ))
    })?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut arrivals = session.subscribe();
    let (mut seen, mut from) = (0, 0);
    loop {
        arrivals.borrow_and_update();
        let (more, next) = session.count_from(&filter, from).await;
        if next < from {
            seen = 0; // the session was reset meanwhile
        }
        seen += more;
        from = next;
        if seen >= want {
            let limit = want.clamp(100, MAX_LIMIT);
            let found = session.query(&filter, limit).await;
            return Ok(json_response(200, &answer(&found, limit)));
        }
        if tokio::time::timeout_at(deadline, arrivals.changed())
            .await
            .is_err()
        {
            let found = session.query(&filter, 100).await;
            let mut answer = answer(&found, 100);
            answer["error"] = format!(
                "{} of {want} matching events arrived within {}s",
                found.total,
                timeout.as_secs_f64()
            )
            .into();
            return Ok(json_response(408, &answer));
        }
    }
}

async fn summary(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let session = gate(&tap, &client, &headers)?;
    session.caught_up(tap.written_seq()).await;
    let mut summary = session.summary();
    let journal = tap.journal.stats();
    summary["journal"] = json!({
        "writable": journal.broken().is_none(),
        "error": journal.broken(),
        "failures": journal.failures.load(std::sync::atomic::Ordering::Relaxed),
    });
    Ok(json_response(200, &summary))
}

/// A marker line in the journal, answered with its line number.
async fn marked(tap: &Tap, marker: &str, tag: Option<String>, answer: Value) -> Response {
    match tap.journal.mark(marker, tag).await {
        Ok(seq) => {
            let mut answer = answer;
            answer["journal_line"] = seq.into();
            json_response(200, &answer)
        }
        Err(e) => json_response(500, &json!({"error": e.to_string()})),
    }
}

/// A POST's body must be declared JSON: a web page cannot send that
/// without a preflight, and the API answers no preflight.
fn json_only(headers: &HeaderMap) -> Result<(), Refusal> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(Refusal::new(json_response(
            415,
            &json!({"error": "POST to the query API with Content-Type: application/json (curl -H 'Content-Type: application/json' …)"}),
        )))
    }
}

async fn reset(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let session = gate(&tap, &client, &headers)?;
    json_only(&headers)?;
    // The marker goes through the pipeline like any line: once it has
    // reached the session, the session is empty.
    let answer = marked(&tap, "reset", None, json!({"reset": true})).await;
    session.caught_up(tap.written_seq()).await;
    Ok(answer)
}

#[derive(Deserialize)]
struct TagBody {
    tag: Option<String>,
}

async fn tag(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Refusal> {
    let session = gate(&tap, &client, &headers)?;
    json_only(&headers)?;
    let tag = serde_json::from_slice::<TagBody>(&body)
        .map_err(|e| {
            Refusal::new(json_response(
                400,
                &json!({"error": format!("expected {{\"tag\": \"name\"}}: {e}")}),
            ))
        })?
        .tag
        .filter(|t| !t.trim().is_empty());
    session.set_tag(tag.clone());
    Ok(marked(&tap, "tag", tag.clone(), json!({"tag": tag})).await)
}

async fn metrics(
    State(tap): State<Arc<Tap>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err((status, why)) = allowed(&client, &headers, tap.api_token.as_deref()) {
        return json_response(status, &json!({"error": why}));
    }
    if let Some(session) = &tap.session {
        session.caught_up(tap.written_seq()).await;
    }
    let mut r = Response::new(Body::from(tap.metrics.render(
        tap.journal.stats(),
        tap.relay.as_ref().map(|r| &*r.outbox.stats),
        tap.publish.as_deref(),
    )));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("soon"), None);
    }
}

//! The upstream client: sends a request on to Amplitude (or `--upstream`)
//! unchanged, and brings back its status, content type and body unchanged.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

use super::offline;
use super::Reply;
use crate::event::{Endpoint, Region};
use crate::record::Delivery;

/// Where forwarded requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Each path to the host Amplitude serves it on in this region.
    Region(Region),
    /// Every path to this base URL (`/2/httpapi` → `BASE/2/httpapi`).
    Base(String),
}

impl Target {
    pub fn url(&self, endpoint: Endpoint, path: &str, query: &str) -> String {
        let base = match self {
            Target::Region(region) => region.base_url(endpoint),
            Target::Base(base) => base.trim_end_matches('/'),
        };
        if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{query}")
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Region(Region::Us) => "Amplitude US (https://api2.amplitude.com)".into(),
            Target::Region(Region::Eu) => "Amplitude EU (https://api.eu.amplitude.com)".into(),
            Target::Base(base) => crate::record::redact_url(base).into_owned(),
        }
    }
}

/// The request headers that describe the body; the rest (Host, Origin,
/// cookies, connection headers) belong to the hop between SDK and tap.
const FORWARDED_HEADERS: [http::HeaderName; 4] = [
    http::header::CONTENT_TYPE,
    http::header::CONTENT_ENCODING,
    http::header::ACCEPT,
    http::header::USER_AGENT,
];

/// One pooled client for the life of the tap: connections are kept alive
/// and reused, never built per request.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    target: Target,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("--upstream must be an http:// or https:// URL, got {0:?}")]
    BadUrl(String),
}

impl Upstream {
    pub fn new(target: Target, timeout: Duration) -> Result<Self, UpstreamError> {
        if let Target::Base(base) = &target {
            let ok = reqwest::Url::parse(base)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                return Err(UpstreamError::BadUrl(
                    crate::record::redact_url(base).into_owned(),
                ));
            }
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Upstream { client, target })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Forwards one request. Never fails: an unreachable or silent upstream
    /// becomes a 502 / 504 in Amplitude's shape, so the SDK retries.
    pub async fn forward(
        &self,
        endpoint: Endpoint,
        method: Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> (Reply, Delivery) {
        let url = self.target.url(endpoint, path, query);
        let mut request = self.client.request(method, &url).body(body);
        // The journal gets the address with any key in the query masked
        // and no user info.
        let url = self
            .target
            .url(endpoint, path, &crate::record::mask_query(query));
        let url = crate::record::redact_url(&url).into_owned();
        for name in FORWARDED_HEADERS {
            for value in headers.get_all(&name) {
                request = request.header(&name, value.clone());
            }
        }
        let started = Instant::now();
        let result = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let content_type = header_text(response.headers().get(http::header::CONTENT_TYPE));
                let content_encoding =
                    header_text(response.headers().get(http::header::CONTENT_ENCODING));
                let retry_after = header_text(response.headers().get(http::header::RETRY_AFTER));
                first_part(response).await.map(|(body, rest)| {
                    (
                        status,
                        content_type,
                        content_encoding,
                        retry_after,
                        body,
                        rest,
                    )
                })
            }
            Err(e) => Err(e),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok((status, content_type, content_encoding, retry_after, body, rest)) => (
                Reply {
                    status,
                    content_type,
                    content_encoding,
                    body,
                    rest,
                    retry_after,
                },
                Delivery::Forwarded { url, latency_ms },
            ),
            Err(e) => {
                let timed_out = e.is_timeout();
                let status = if timed_out { 504 } else { 502 };
                let error = describe_error(&e);
                let mut body = offline::error_body(status, 0);
                body["error"] = format!("amptap: upstream {url} {error}").into();
                (
                    offline::json_reply(status, &body),
                    Delivery::Failed {
                        url,
                        error,
                        timed_out,
                        latency_ms,
                    },
                )
            }
        }
    }
}

/// The rest of an upstream answer too long to hold: streamed to the SDK
/// chunk by chunk after the record (with the first part) is written.
pub struct Rest(reqwest::Response);

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rest(…)")
    }
}

impl Rest {
    pub fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<Bytes, reqwest::Error>> + Send {
        futures_util::stream::unfold(Some(self.0), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

/// The answer's body up to what the record keeps; the rest, if any, to stream.
async fn first_part(
    mut response: reqwest::Response,
) -> Result<(Bytes, Option<Rest>), reqwest::Error> {
    let mut first = bytes::BytesMut::new();
    while first.len() < crate::record::Answer::KEPT_BODY_BYTES {
        match response.chunk().await? {
            Some(chunk) => first.extend_from_slice(&chunk),
            None => return Ok((first.freeze(), None)),
        }
    }
    Ok((first.freeze(), Some(Rest(response))))
}

fn header_text(value: Option<&HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// reqwest's top-level message is generic; the cause chain says what happened.
fn describe_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "did not answer in time".into();
    }
    let mut text = if e.is_connect() {
        "is unreachable".to_owned()
    } else {
        "failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    for _ in 0..2 {
        let Some(cause) = source else { break };
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::record::redact_urls(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_base_keeps_path_and_query() {
        let t = Target::Base("http://127.0.0.1:9000/".into());
        assert_eq!(
            t.url(Endpoint::HttpV2, "/2/httpapi", ""),
            "http://127.0.0.1:9000/2/httpapi"
        );
        assert_eq!(
            t.url(Endpoint::LegacyJs, "/", "a=1"),
            "http://127.0.0.1:9000/?a=1"
        );
        let us = Target::Region(Region::Us);
        assert_eq!(
            us.url(Endpoint::HttpApiV1, "/httpapi", ""),
            "https://api.amplitude.com/httpapi"
        );
    }

    #[test]
    fn user_info_is_used_never_shown() {
        let t = Target::Base("http://bob:hunter2@127.0.0.1:9/".into());
        assert!(!t.describe().contains("hunter2"));
        let e = Upstream::new(
            Target::Base("gopher://bob:hunter2@x/".into()),
            Duration::from_secs(1),
        );
        let text = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("…@x") && !text.contains("hunter2"), "{text}");
    }

    #[test]
    fn bad_upstream_urls_are_refused() {
        let t = Target::Base("ftp://x".into());
        assert!(matches!(
            Upstream::new(t, Duration::from_secs(1)),
            Err(UpstreamError::BadUrl(_))
        ));
    }
}

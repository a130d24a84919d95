//! Who may use the query API: loopback clients, or any client with the
//! `--api-token`; never a web page, whatever its address (every browser tab
//! is a loopback client).

use std::net::SocketAddr;

use http::{header, HeaderMap, HeaderValue};

/// Whether a browser says a page made this request: a cross-site or
/// same-site (another port) fetch carries `Sec-Fetch-Site` or an `Origin`
/// that is not the tap's own.
fn from_a_web_page(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(http::HeaderName::from_static("sec-fetch-site")) {
        if !matches!(site, "same-origin" | "none") {
            return true;
        }
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (None, _) => false,
        (Some(origin), Some(host)) => origin != format!("http://{host}"),
        (Some(_), None) => true,
    }
}

/// Who may use the API: loopback without a token; anyone with the right token.
pub fn allowed(
    client: &SocketAddr,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), (u16, &'static str)> {
    if from_a_web_page(headers) {
        return Err((
            403,
            "the query API does not answer requests made by web pages (a cross-site Origin or Sec-Fetch-Site)",
        ));
    }
    match token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if given.is_some_and(|g| constant_time_eq(g.trim().as_bytes(), token.as_bytes())) {
                Ok(())
            } else {
                Err((
                    401,
                    "the query API needs Authorization: Bearer <the --api-token>",
                ))
            }
        }
        // A `[::]` listener sees 127.0.0.1 as ::ffff:127.0.0.1.
        None if client.ip().to_canonical().is_loopback() => Ok(()),
        None => Err((
            403,
            "the query API answers loopback clients only; start amptap with --api-token to open it",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_is_loopback_or_token() {
        let local: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let remote: SocketAddr = "192.0.2.7:5000".parse().expect("addr");
        let none = HeaderMap::new();
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(allowed(&local, &none, None).is_ok());
        assert_eq!(allowed(&remote, &none, None).map_err(|e| e.0), Err(403));
        assert_eq!(
            allowed(&remote, &none, Some("s3cret")).map_err(|e| e.0),
            Err(401)
        );
        assert_eq!(
            allowed(&local, &none, Some("s3cret")).map_err(|e| e.0),
            Err(401),
            "with a token, loopback needs it too"
        );
        assert!(allowed(&remote, &bearer, Some("s3cret")).is_ok());
        assert!(allowed(&remote, &bearer, Some("other")).is_err());
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().expect("addr");
        assert!(
            allowed(&mapped, &none, None).is_ok(),
            "IPv4-mapped loopback"
        );
    }

    #[test]
    fn web_pages_are_refused_whoever_they_are() {
        let local: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (name, value) in pairs {
                h.insert(*name, HeaderValue::from_static(value));
            }
            h
        };
        let page = headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8787"),
        ]);
        assert_eq!(allowed(&local, &page, None).map_err(|e| e.0), Err(403));
        let other_port = headers(&[("sec-fetch-site", "same-site"), ("host", "127.0.0.1:8787")]);
        assert_eq!(
            allowed(&local, &other_port, None).map_err(|e| e.0),
            Err(403)
        );
        let typed = headers(&[("sec-fetch-site", "none"), ("host", "127.0.0.1:8787")]);
        assert!(allowed(&local, &typed, None).is_ok(), "the address bar");
        let own = headers(&[
            ("origin", "http://127.0.0.1:8787"),
            ("host", "127.0.0.1:8787"),
        ]);
        assert!(allowed(&local, &own, None).is_ok());
    }
}

//! Secrets never reach a file: api keys are masked wherever a record keeps
//! them — the key field, the query string, a body kept as received.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::bytes::{Captures, Regex};

/// `abcd…wxyz`: enough to tell projects apart, never enough to use.
pub fn mask_api_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 12 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        format!("…{}", "*".repeat(chars.len().min(4)))
    }
}

/// Whether a parameter or field name holds a secret, however it is spelled:
/// `api_key`, `apiKey`, `API-KEY`, `key`, amplitude-js's `client`, `secret_key`, tokens.
pub fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    matches!(
        folded.as_str(),
        "apikey"
            | "key"
            | "client"
            | "secret"
            | "secretkey"
            | "token"
            | "accesstoken"
            | "apitoken"
            | "authorization"
            | "password"
    )
}

/// The query string as a record keeps it: every parameter whose decoded
/// name is a secret's is masked.
pub fn mask_query(query: &str) -> String {
    let secret = form_urlencoded::parse(query.as_bytes()).any(|(name, _)| is_secret_name(&name));
    if !secret {
        return query.to_owned();
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = if is_secret_name(&name) {
            mask_api_key(&value)
        } else {
            value.into_owned()
        };
        out.append_pair(&name, &value);
    }
    out.finish()
}

/// A URL fit to print or keep: any `user:password@` is replaced by `…@`.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}…{}", &url[..scheme_end], &rest[at..])),
        None => Cow::Borrowed(url),
    }
}

/// Every URL inside a message (an error's text) made fit to print.
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    static URL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    match URL.get_or_init(|| regex::Regex::new(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]*@").ok()) {
        Some(re) => re.replace_all(text, |c: &regex::Captures<'_>| {
            redact_url(&c[0]).into_owned()
        }),
        None => Cow::Borrowed(text),
    }
}

/// A body kept as received, with the value of every secret-named JSON
/// field (`"api_key": "…"`) or form field (`api_key=…`) masked.
pub fn mask_body(body: &[u8]) -> Cow<'_, [u8]> {
    static JSON: OnceLock<Option<Regex>> = OnceLock::new();
    static FORM: OnceLock<Option<Regex>> = OnceLock::new();
    let json = JSON
        .get_or_init(|| Regex::new(r#""((?:[^"\\]|\\.){1,40})"(\s*:\s*)"((?:[^"\\]|\\.)*)""#).ok());
    let form = FORM.get_or_init(|| Regex::new(r"(^|&)([^=&]{1,60})=([^&]*)").ok());
    let mut out = Cow::Borrowed(body);
    if let Some(json) = json {
        out = replace(out, json, |c| {
            let name = String::from_utf8_lossy(&c[1]);
            is_secret_name(&name).then(|| {
                let value = String::from_utf8_lossy(&c[3]);
                format!(
                    "\"{name}\"{}\"{}\"",
                    String::from_utf8_lossy(&c[2]),
                    mask_api_key(&value)
                )
                .into_bytes()
            })
        });
    }
    if let Some(form) = form {
        out = replace(out, form, |c| {
            let name = decode_form_part(&c[2]);
            is_secret_name(&name).then(|| {
                let value = decode_form_part(&c[3]);
                let masked: String =
                    form_urlencoded::byte_serialize(mask_api_key(&value).as_bytes()).collect();
                [&c[1], &c[2], b"=", masked.as_bytes()].concat()
            })
        });
    }
    out
}

fn decode_form_part(part: &[u8]) -> String {
    form_urlencoded::parse(&[b"x=", part].concat())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Replaces the matches `with` rewrites (`None` keeps a match as it is).
fn replace<'a>(
    text: Cow<'a, [u8]>,
    re: &Regex,
    with: impl Fn(&Captures<'_>) -> Option<Vec<u8>>,
) -> Cow<'a, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut last = 0;
    for c in re.captures_iter(&text) {
        let Some(whole) = c.get(0) else { continue };
        if let Some(new) = with(&c) {
            let buf = out.get_or_insert_with(Vec::new);
            buf.extend_from_slice(&text[last..whole.start()]);
            buf.extend_from_slice(&new);
            last = whole.end();
        }
    }
    match out {
        None => text,
        Some(mut buf) => {
            buf.extend_from_slice(&text[last..]);
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "FAKE_API_KEY_NODE_0123456789";

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask_api_key(KEY), "FAKE…6789");
        assert_eq!(mask_api_key("short"), "…****");
        assert!(!mask_api_key("abcdefghijklmnop").contains("efgh"));
    }

    #[test]
    fn every_spelling_of_a_key_in_the_query_string_is_masked() {
        assert_eq!(mask_query("probe=1"), "probe=1");
        for name in [
            "api_key",
            "api%5Fkey",
            "API_KEY",
            "apiKey",
            "key",
            "client",
            "Api-Key",
        ] {
            let masked = mask_query(&format!("{name}={KEY}&x=1"));
            assert!(!masked.contains("NODE_0123"), "{name}: {masked}");
            assert!(masked.contains("x=1"), "{name}: {masked}");
        }
    }

    #[test]
    fn user_info_never_shows() {
        assert_eq!(
            redact_url("https://bob:hunter2@proxy.example:8443/2/httpapi?x=1"),
            "https://…@proxy.example:8443/2/httpapi?x=1"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9000/a@b"),
            "http://127.0.0.1:9000/a@b"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        let message = "error sending request for url (http://bob:hunter2@10.0.0.1/x): refused";
        assert_eq!(
            redact_urls(message),
            "error sending request for url (http://…@10.0.0.1/x): refused"
        );
    }

    #[test]
    fn keys_in_kept_bodies_are_masked() {
        let json =
            format!(r#"{{"api_key": "{KEY}", "events": [{{"apiKey":"{KEY}"}}], "keep":"me"}}"#);
        let masked = mask_body(json.as_bytes());
        let text = String::from_utf8_lossy(&masked);
        assert!(!text.contains("NODE_0123"), "{text}");
        assert!(text.contains(r#""keep":"me""#), "{text}");
        let form = format!("client={KEY}&e=%5B%5D&API%5FKEY={KEY}");
        let masked = mask_body(form.as_bytes());
        let text = String::from_utf8_lossy(&masked);
        assert!(!text.contains("NODE_0123"), "{text}");
        assert!(text.contains("e=%5B%5D"), "{text}");
        assert!(matches!(mask_body(b"nothing secret"), Cow::Borrowed(_)));
    }
}

//! The ingestion paths Amplitude serves, and which host serves each.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Endpoint {
    /// `POST /2/httpapi` (JSON).
    #[serde(rename = "/2/httpapi")]
    HttpV2,
    /// `POST /batch` (JSON, bulk limits).
    #[serde(rename = "/batch")]
    Batch,
    /// `POST /httpapi` (v1 form: `api_key`, `event`).
    #[serde(rename = "/httpapi")]
    HttpApiV1,
    /// `POST /` (amplitude-js v8 form: `client`, `e`, `upload_time`, `v`, `checksum`).
    #[serde(rename = "/")]
    LegacyJs,
    /// `POST /identify` (form: `api_key`, `identification`).
    #[serde(rename = "/identify")]
    Identify,
    /// `POST /groupidentify` (form: `api_key`, `identification`).
    #[serde(rename = "/groupidentify")]
    GroupIdentify,
}

impl Endpoint {
    pub const ALL: [Endpoint; 6] = [
        Endpoint::HttpV2,
        Endpoint::Batch,
        Endpoint::HttpApiV1,
        Endpoint::LegacyJs,
        Endpoint::Identify,
        Endpoint::GroupIdentify,
    ];

    /// The endpoint a request path names; a trailing slash is tolerated.
    pub fn from_path(path: &str) -> Option<Self> {
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        Self::ALL.into_iter().find(|e| e.path() == trimmed)
    }

    /// The endpoint a wrong path most likely meant: the same path in another
    /// case (`/2/httpApi`), behind a prefix (`/api/2/httpapi`), with segments
    /// after it (`/2/httpapi/v2`), or a typo or two away (`/2/htpapi`).
    pub fn near(path: &str) -> Option<Self> {
        // Longest first: `/2/httpapi` also ends with `/httpapi`.
        const LIKELY: [Endpoint; 5] = [
            Endpoint::HttpV2,
            Endpoint::GroupIdentify,
            Endpoint::Identify,
            Endpoint::HttpApiV1,
            Endpoint::Batch,
        ];
        let lower = path.to_ascii_lowercase();
        let lower = lower
            .split('?')
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        LIKELY
            .into_iter()
            .find(|e| {
                let p = e.path();
                lower == p
                    || lower.ends_with(p)
                    || lower.starts_with(&format!("{p}/"))
                    || lower.contains(&format!("{p}/"))
            })
            .or_else(|| {
                LIKELY
                    .into_iter()
                    .find(|e| edit_distance(lower, e.path()) <= 2)
            })
    }

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::HttpV2 => "/2/httpapi",
            Endpoint::Batch => "/batch",
            Endpoint::HttpApiV1 => "/httpapi",
            Endpoint::LegacyJs => "/",
            Endpoint::Identify => "/identify",
            Endpoint::GroupIdentify => "/groupidentify",
        }
    }

    /// JSON endpoints answer JSON with a `code`; form endpoints answer `success` as text.
    pub fn is_json(self) -> bool {
        matches!(self, Endpoint::HttpV2 | Endpoint::Batch)
    }

    /// Amplitude's largest accepted body for this endpoint (after gunzip).
    pub fn max_payload_bytes(self) -> usize {
        match self {
            Endpoint::Batch => 20 * 1024 * 1024,
            _ => 1024 * 1024,
        }
    }

    /// Amplitude's largest number of events in one request, where it sets
    /// one: 2,000 on HTTP V2 and Batch ("The limit per batch is 2000 events").
    pub fn max_events(self) -> Option<usize> {
        match self {
            Endpoint::HttpV2 | Endpoint::Batch => Some(2000),
            _ => None,
        }
    }

    /// The most events any request may hold (see [`Endpoint::event_budget`]).
    pub fn most_events() -> usize {
        Self::ALL
            .into_iter()
            .map(Self::event_budget)
            .max()
            .unwrap_or(2000)
    }

    /// The most events a request may hold before anything is built for
    /// them: Amplitude's own limit where it sets one, else as many as its
    /// largest payload could hold if every event were the shortest valid one
    /// (`{"event_type":"a","user_id":"abcde"}`, 36 bytes). A body of `{}` ×
    /// millions is refused here, at the cost of a scan.
    pub fn event_budget(self) -> usize {
        const SHORTEST_VALID_EVENT: usize = 36;
        self.max_events()
            .unwrap_or(self.max_payload_bytes() / SHORTEST_VALID_EVENT)
    }
}

/// Levenshtein distance, for short strings (paths, names).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Amplitude's data centres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Region {
    #[default]
    Us,
    Eu,
}

impl Region {
    pub const NAMES: [&'static str; 2] = ["us", "eu"];

    /// The base URL that serves `endpoint` in this region.
    pub fn base_url(self, endpoint: Endpoint) -> &'static str {
        match (self, endpoint) {
            (Region::Eu, _) => "https://api.eu.amplitude.com",
            (Region::Us, Endpoint::HttpApiV1 | Endpoint::LegacyJs) => "https://api.amplitude.com",
            (Region::Us, _) => "https://api2.amplitude.com",
        }
    }
}

impl std::str::FromStr for Region {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "us" => Ok(Region::Us),
            "eu" => Ok(Region::Eu),
            other => Err(format!("unknown region {other:?}: us or eu")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(e.path()), Some(e));
        }
        assert_eq!(Endpoint::from_path("/2/httpapi/"), Some(Endpoint::HttpV2));
        assert_eq!(Endpoint::from_path("/3/httpapi"), None);
    }

    #[test]
    fn near_misses_name_the_path_meant() {
        for (path, meant) in [
            ("/2/httpApi", Endpoint::HttpV2),
            ("/api/2/httpapi", Endpoint::HttpV2),
            ("/2/httpapi/v2", Endpoint::HttpV2),
            ("/2/htpapi", Endpoint::HttpV2),
            ("/Batch", Endpoint::Batch),
            ("/amplitude/batch", Endpoint::Batch),
            ("/identify/", Endpoint::Identify),
        ] {
            assert_eq!(Endpoint::near(path), Some(meant), "{path}");
        }
        assert_eq!(Endpoint::near("/favicon.ico"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn each_path_goes_to_the_host_that_serves_it() {
        assert_eq!(
            Region::Us.base_url(Endpoint::HttpV2),
            "https://api2.amplitude.com"
        );
        assert_eq!(
            Region::Us.base_url(Endpoint::LegacyJs),
            "https://api.amplitude.com"
        );
        assert_eq!(
            Region::Eu.base_url(Endpoint::Identify),
            "https://api.eu.amplitude.com"
        );
    }
}

//! One report model, written as text, JSON, CSV, Markdown, HTML or JUnit.
//!
//! The model is built from findings and event references; it knows nothing
//! of where they came from. Every entry leads back to its exact event: the
//! `insert_id` where there is one, and always the journal request (`seq`)
//! and the event's index in it.

mod csv_out;
mod html;
mod junit;
mod markdown;
mod reconcile_csv;
mod reconcile_html;
mod reconcile_junit;
mod reconcile_out;
mod stream;
mod text;

mod builder;
mod document;

pub use builder::{Keep, ReportBuilder};
pub use document::{Document, ReconcileReport};
pub use stream::StreamOut;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::{Code, Finding};

/// Bumped when the JSON shape changes incompatibly.
pub const SCHEMA: &str = "amptap.report/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
    Md,
    Html,
    Junit,
}

impl Format {
    pub const NAMES: [&'static str; 6] = ["text", "json", "csv", "md", "html", "junit"];

    /// The format a file name asks for (`.json`, `.csv`, `.md`, `.html`,
    /// `.xml` = JUnit, `.txt`).
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "json" => Format::Json,
            "csv" => Format::Csv,
            "md" | "markdown" => Format::Md,
            "html" | "htm" => Format::Html,
            "xml" => Format::Junit,
            "txt" | "text" => Format::Text,
            _ => return None,
        })
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "text" => Format::Text,
            "json" => Format::Json,
            "csv" => Format::Csv,
            "md" => Format::Md,
            "html" => Format::Html,
            "junit" => Format::Junit,
            other => {
                return Err(format!(
                    "unknown format {other:?}: {}",
                    Format::NAMES.join(", ")
                ))
            }
        })
    }
}

/// Which events a finding belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_id: Option<String>,
    /// The journal line (request) it came in, from 1.
    pub seq: u64,
    /// Its position in that request's events, from 0.
    pub index: usize,
    /// When the tap received it (RFC 3339).
    pub received: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The capture file, when a report reads several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// The test tag its request arrived under (`POST /_amptap/tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl EventRef {
    /// `insert_id 5f1c…` or `request #12, event 3`.
    pub fn label(&self) -> String {
        match &self.insert_id {
            Some(id) => format!(
                "insert_id {id} (request #{}, event {})",
                self.seq, self.index
            ),
            None => format!("request #{}, event {}", self.seq, self.index),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingEntry {
    #[serde(flatten)]
    pub finding: Finding,
    pub event: EventRef,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub requests: u64,
    /// Requests that carried no events amptap could read (wrong path or
    /// method, undecodable, refused); each is a finding under [`BAD_REQUESTS`].
    #[serde(default)]
    pub bad_requests: u64,
    pub events: u64,
    pub events_with_findings: u64,
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
    pub by_code: BTreeMap<Code, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeSummary {
    pub event_type: String,
    pub events: u64,
    pub events_with_findings: u64,
    /// Whether the plan lists this type (planned types never seen have `events: 0`).
    pub in_plan: bool,
    pub by_code: BTreeMap<Code, u64>,
    /// The same counts by code and path: three missing properties are three
    /// lines, not one path with the count of all three.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_path: BTreeMap<Code, BTreeMap<String, u64>>,
}

impl TypeSummary {
    /// (code, path, count), by code then path; a report read back from an
    /// older JSON without paths gives one line per code.
    pub fn code_paths(&self) -> Vec<(Code, &str, u64)> {
        let mut out = Vec::new();
        for (code, count) in &self.by_code {
            match self.by_path.get(code) {
                Some(paths) if !paths.is_empty() => {
                    out.extend(paths.iter().map(|(p, n)| (*code, p.as_str(), *n)));
                }
                _ => out.push((*code, "", *count)),
            }
        }
        out
    }
}

/// The check report: journals × the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: String,
    pub generated: String,
    pub inputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub summary: Summary,
    pub event_types: Vec<TypeSummary>,
    pub findings: Vec<FindingEntry>,
    /// Findings counted in the summary but not listed: past the examples
    /// kept of each (type, code, path), or written out as they came.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Report {
    /// Findings grouped by event type, in one pass (writers look up every type).
    pub fn findings_by_type(&self) -> ByType<'_> {
        let mut map: std::collections::HashMap<&str, Vec<&FindingEntry>> =
            std::collections::HashMap::new();
        for f in &self.findings {
            let name = if f.finding.code.is_request_level() {
                BAD_REQUESTS
            } else {
                f.finding.event_type.as_deref().unwrap_or(NO_TYPE)
            };
            map.entry(name).or_default().push(f);
        }
        ByType(map)
    }
}

/// See [`Report::findings_by_type`].
pub struct ByType<'a>(std::collections::HashMap<&'a str, Vec<&'a FindingEntry>>);

impl<'a> ByType<'a> {
    /// The findings of one event type, in report order.
    pub fn of(&self, event_type: &str) -> &[&'a FindingEntry] {
        self.0.get(event_type).map_or(&[], Vec::as_slice)
    }
}

/// How events without an `event_type` are listed.
pub const NO_TYPE: &str = "(no event_type)";

/// Where requests without readable events are listed, beside the event types.
pub const BAD_REQUESTS: &str = "(requests without events)";

/// Escapes text for HTML and XML (attributes and content), after removing
/// what neither may hold (control characters, bidi overrides).
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        escape_line(&crate::sanitize::sanitize(line), &mut out);
    }
    out
}

fn escape_line(clean: &str, out: &mut String) {
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `expected X, got Y` for one finding.
pub fn expected_actual(f: &Finding) -> String {
    match (&f.expected, &f.actual) {
        (Some(e), Some(a)) => format!("expected {e}, got {a}"),
        (Some(e), None) => format!("expected {e}"),
        (None, Some(a)) => format!("got {a}"),
        (None, None) => String::new(),
    }
}

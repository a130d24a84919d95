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
mod reconcile_junit;
mod reconcile_out;
mod stream;
mod text;

pub use stream::StreamOut;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::plan::{Code, Finding, Severity};
use crate::reconcile::Reconciliation;

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

/// The reconcile report: what was captured (checked against the plan, as
/// in a check report, whose fields it carries at the top level) × what
/// Amplitude's Export API holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileReport {
    #[serde(flatten)]
    pub check: Report,
    pub reconcile: Reconciliation,
    /// The plan held against the exported rows (their `event.capture` is `"export"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exported_findings: Vec<FindingEntry>,
}

/// What every report can do: be written in each format, and give a verdict.
pub trait Document: std::fmt::Debug + Send {
    /// Writes it; `fail_on` marks JUnit test cases as failed.
    fn write(
        &self,
        format: Format,
        fail_on: Option<Severity>,
        out: &mut dyn Write,
    ) -> io::Result<()>;
    /// Whether anything is at or above `threshold` (`None`: never fail).
    fn fails(&self, threshold: Option<Severity>) -> bool;
    /// `check` or `reconcile`.
    fn kind(&self) -> &'static str;
}

impl Document for Report {
    fn write(
        &self,
        format: Format,
        fail_on: Option<Severity>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        Report::write(self, format, fail_on, out)
    }

    fn fails(&self, threshold: Option<Severity>) -> bool {
        Report::fails(self, threshold)
    }

    fn kind(&self) -> &'static str {
        "check"
    }
}

impl Document for ReconcileReport {
    fn write(
        &self,
        format: Format,
        fail_on: Option<Severity>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let rec = &self.reconcile;
        match format {
            Format::Text => reconcile_out::text(self, rec, out),
            Format::Csv => reconcile_out::csv(self, rec, out),
            Format::Md => reconcile_out::markdown(self, rec, out),
            Format::Html => reconcile_out::html(self, rec, out),
            Format::Junit => reconcile_junit::write(self, rec, fail_on, out),
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)?;
                out.write_all(b"\n")
            }
        }
    }

    fn fails(&self, threshold: Option<Severity>) -> bool {
        self.check.fails(threshold)
            || threshold.is_some_and(|t| {
                self.exported_findings
                    .iter()
                    .any(|f| f.finding.severity >= t)
                    || self.reconcile.problems.iter().any(|p| p.severity >= t)
            })
    }

    fn kind(&self) -> &'static str {
        "reconcile"
    }
}

impl Report {
    /// Whether any finding is at or above `threshold` (`None`: never fail).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        let s = &self.summary;
        let counted = |t: Severity| match t {
            Severity::Error => s.errors,
            Severity::Warning => s.errors + s.warnings,
            Severity::Info => s.errors + s.warnings + s.infos,
        };
        threshold.is_some_and(|t| {
            counted(t) > 0 || self.findings.iter().any(|f| f.finding.severity >= t)
        })
    }

    /// Writes the report; `fail_on` marks JUnit test cases as failed.
    pub fn write(
        &self,
        format: Format,
        fail_on: Option<Severity>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        match format {
            Format::Text => text::write(self, out),
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)?;
                out.write_all(b"\n")
            }
            Format::Csv => csv_out::write(self, out),
            Format::Md => markdown::write(self, out),
            Format::Html => html::write(self, out),
            Format::Junit => junit::write(self, fail_on, out),
        }
    }

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

/// Which findings a [`ReportBuilder`] lists (all are counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every finding: for reports of what is on screen.
    All,
    /// At most this many of each (event type, code, path): memory grows
    /// with the kinds of problems, not with events.
    Examples(usize),
    /// None kept: each is handed out by [`ReportBuilder::drain`] to be
    /// written as it comes.
    Stream,
}

/// Collects events and their findings into a [`Report`].
pub struct ReportBuilder {
    report: Report,
    types: BTreeMap<String, TypeSummary>,
    keep: Keep,
    kept: rustc_hash::FxHashMap<(String, Code, String), usize>,
}

impl ReportBuilder {
    pub fn new(
        inputs: Vec<String>,
        plan: Option<(String, Vec<String>)>,
        generated: String,
    ) -> Self {
        let mut types = BTreeMap::new();
        let plan_name = plan.map(|(name, planned)| {
            for t in planned {
                types.insert(
                    t.clone(),
                    TypeSummary {
                        event_type: t,
                        in_plan: true,
                        ..TypeSummary::default()
                    },
                );
            }
            name
        });
        ReportBuilder {
            report: Report {
                schema: SCHEMA.into(),
                tool: format!("amptap {}", env!("CARGO_PKG_VERSION")),
                generated,
                inputs,
                plan: plan_name,
                summary: Summary::default(),
                event_types: Vec::new(),
                findings: Vec::new(),
                omitted: 0,
            },
            types,
            keep: Keep::All,
            kept: rustc_hash::FxHashMap::default(),
        }
    }

    /// Which findings to list (default: all).
    pub fn keep(mut self, keep: Keep) -> Self {
        self.keep = keep;
        self
    }

    /// The report's head (schema, inputs, plan): what a streaming writer
    /// writes before the findings.
    pub fn head(&self) -> &Report {
        &self.report
    }

    /// With [`Keep::Stream`]: the findings added since the last call
    /// (otherwise none: the others keep theirs for the report).
    pub fn drain(&mut self) -> std::vec::Drain<'_, FindingEntry> {
        let n = match self.keep {
            Keep::Stream => self.report.findings.len(),
            Keep::All | Keep::Examples(_) => 0,
        };
        self.report.findings.drain(..n)
    }

    pub fn add_request(&mut self) {
        self.report.summary.requests += 1;
    }

    /// One event and its findings.
    pub fn add_event(&mut self, event_type: Option<&str>, event: EventRef, findings: Vec<Finding>) {
        self.report.summary.events += 1;
        let name = event_type.filter(|t| !t.is_empty()).unwrap_or(NO_TYPE);
        self.type_summary(name).events += 1;
        self.add_findings(name, &event, findings);
    }

    /// A request that carried no events amptap could read, with its finding
    /// (none when the plan turns the code off).
    pub fn add_bad_request(&mut self, request: EventRef, finding: Option<Finding>) {
        self.report.summary.bad_requests += 1;
        self.add_findings(BAD_REQUESTS, &request, finding.into_iter().collect());
    }

    fn type_summary(&mut self, name: &str) -> &mut TypeSummary {
        self.types
            .entry(name.to_owned())
            .or_insert_with(|| TypeSummary {
                event_type: name.to_owned(),
                ..TypeSummary::default()
            })
    }

    fn add_findings(&mut self, type_name: &str, event: &EventRef, findings: Vec<Finding>) {
        if findings.is_empty() {
            return;
        }
        let ty = self.type_summary(type_name);
        ty.events_with_findings += 1;
        for finding in &findings {
            *ty.by_code.entry(finding.code).or_default() += 1;
        }
        self.report.summary.events_with_findings += 1;
        for finding in findings {
            let s = &mut self.report.summary;
            *s.by_code.entry(finding.code).or_default() += 1;
            match finding.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
            if self.listed(type_name, &finding) {
                self.report.findings.push(FindingEntry {
                    finding,
                    event: event.clone(),
                });
            } else {
                self.report.omitted += 1;
            }
        }
    }

    fn listed(&mut self, type_name: &str, f: &Finding) -> bool {
        let limit = match self.keep {
            Keep::All | Keep::Stream => return true,
            Keep::Examples(n) => n,
        };
        let key = (type_name.to_owned(), f.code, f.path.clone());
        let n = self.kept.entry(key).or_default();
        *n += 1;
        *n <= limit
    }

    pub fn finish(mut self) -> Report {
        if self.keep == Keep::Stream {
            self.report.omitted += self.report.findings.len() as u64;
            self.report.findings.clear();
        }
        // Worst first: types with errors, then by volume.
        let mut types: Vec<TypeSummary> = self.types.into_values().collect();
        types.sort_by(|a, b| {
            b.events_with_findings
                .cmp(&a.events_with_findings)
                .then(b.events.cmp(&a.events))
                .then(a.event_type.cmp(&b.event_type))
        });
        self.report.event_types = types;
        self.report
    }
}

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

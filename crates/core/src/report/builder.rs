//! Events and their findings collected into a [`Report`]: counted always,
//! listed as the [`Keep`] policy says.

use std::collections::BTreeMap;

use super::{EventRef, FindingEntry, Report, Summary, TypeSummary, BAD_REQUESTS, NO_TYPE, SCHEMA};
use crate::plan::{Code, Finding, Severity};

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
            let paths = ty.by_path.entry(finding.code).or_default();
            match paths.get_mut(&finding.path) {
                Some(n) => *n += 1,
                None => {
                    paths.insert(finding.path.clone(), 1);
                }
            }
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

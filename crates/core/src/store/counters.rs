//! Counters kept as events arrive, so no pane ever scans the store.

use std::collections::{BTreeMap, HashMap, VecDeque};

use time::OffsetDateTime;

use crate::event::{Event, View};
use crate::filter::Status;
use crate::plan::{Code, Finding, Plan};

#[derive(Debug, Default, Clone)]
pub struct TypeCounts {
    pub events: u64,
    pub with_findings: u64,
    /// Events whose worst finding is an error.
    pub with_errors: u64,
    pub last_seen: Option<OffsetDateTime>,
}

/// Per planned property: how often it came, null, or mistyped.
#[derive(Debug, Default, Clone)]
pub struct PropertyCounts {
    pub present: u64,
    pub null: u64,
    pub type_errors: u64,
}

/// Counters kept as events arrive (never recomputed by scanning), over
/// everything taken in: eviction from memory does not lower them.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: u64,
    pub events: u64,
    pub by_status: [u64; 3],
    pub by_type: HashMap<String, TypeCounts>,
    pub by_code: BTreeMap<Code, u64>,
    pub upstream: BTreeMap<u16, u64>,
    pub forward_failures: u64,
    pub undecodable: u64,
    /// Events per second of receipt, the last [`RATE_WINDOW`] seconds.
    pub per_second: VecDeque<(i64, u64)>,
    /// Planned type → property → counts.
    pub coverage: BTreeMap<String, BTreeMap<String, PropertyCounts>>,
}

pub const RATE_WINDOW: usize = 120;

/// One line of the event-types view: a type seen or planned.
#[derive(Debug, Clone)]
pub struct TypeLine<'a> {
    pub name: &'a str,
    pub planned: bool,
    pub counts: TypeCounts,
}

impl TypeLine<'_> {
    /// Share of its events with any finding, 0 to 1.
    pub fn problem_rate(&self) -> f64 {
        match self.counts.events {
            0 => 0.0,
            n => self.counts.with_findings as f64 / n as f64,
        }
    }
}

/// How the event-types view is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TypeOrder {
    /// Most events first; planned types never seen last.
    #[default]
    Events,
    /// Most events with findings first.
    Problems,
    /// Highest share of events with findings first.
    Rate,
    Name,
}

impl TypeOrder {
    pub fn next(self) -> Self {
        match self {
            TypeOrder::Events => TypeOrder::Problems,
            TypeOrder::Problems => TypeOrder::Rate,
            TypeOrder::Rate => TypeOrder::Name,
            TypeOrder::Name => TypeOrder::Events,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TypeOrder::Events => "events",
            TypeOrder::Problems => "problems",
            TypeOrder::Rate => "problem rate",
            TypeOrder::Name => "name",
        }
    }
}

impl Counters {
    /// `plan` seeds the coverage table with every planned type and property.
    pub fn new(plan: Option<&Plan>) -> Self {
        let mut counters = Counters::default();
        for (name, spec) in plan.iter().flat_map(|p| &p.events) {
            let props = spec
                .properties
                .keys()
                .map(|p| (p.clone(), PropertyCounts::default()))
                .collect();
            counters.coverage.insert(name.clone(), props);
        }
        counters
    }

    /// Every type seen or planned, in `order` (then by name).
    pub fn types(&self, order: TypeOrder) -> Vec<TypeLine<'_>> {
        let mut lines: Vec<TypeLine<'_>> = self
            .by_type
            .iter()
            .map(|(name, counts)| TypeLine {
                name,
                planned: self.coverage.contains_key(name),
                counts: counts.clone(),
            })
            .chain(
                self.coverage
                    .keys()
                    .filter(|k| !self.by_type.contains_key(*k))
                    .map(|name| TypeLine {
                        name,
                        planned: true,
                        counts: TypeCounts::default(),
                    }),
            )
            .collect();
        lines.sort_by(|a, b| {
            let (a_, b_) = (&a.counts, &b.counts);
            match order {
                TypeOrder::Events => b_.events.cmp(&a_.events),
                TypeOrder::Problems => b_.with_findings.cmp(&a_.with_findings),
                TypeOrder::Rate => b.problem_rate().total_cmp(&a.problem_rate()),
                TypeOrder::Name => std::cmp::Ordering::Equal,
            }
            .then_with(|| a.name.cmp(b.name))
        });
        lines
    }

    pub(super) fn count_event(
        &mut self,
        event: &Event,
        findings: &[Finding],
        received: OffsetDateTime,
    ) {
        self.events += 1;
        self.by_status[Status::of(findings) as usize] += 1;
        for f in findings {
            *self.by_code.entry(f.code).or_default() += 1;
        }
        let name = event.event_type().unwrap_or("(no event_type)");
        let t = match self.by_type.get_mut(name) {
            Some(t) => t,
            None => self.by_type.entry(name.to_owned()).or_default(),
        };
        t.events += 1;
        t.with_findings += u64::from(!findings.is_empty());
        t.with_errors += u64::from(Status::of(findings) == Status::Error);
        t.last_seen = Some(received);
        self.count_second(received.unix_timestamp());
        if let Some(props) = self.coverage.get_mut(name) {
            count_coverage(props, event, findings);
        }
    }

    fn count_second(&mut self, second: i64) {
        match self.per_second.back_mut() {
            Some((s, n)) if *s == second => *n += 1,
            _ => {
                self.per_second.push_back((second, 1));
                while self.per_second.len() > RATE_WINDOW {
                    self.per_second.pop_front();
                }
            }
        }
    }
}

fn count_coverage(
    props: &mut BTreeMap<String, PropertyCounts>,
    event: &Event,
    findings: &[Finding],
) {
    let sent = event.view().get("event_properties").filter(View::is_object);
    for (prop, counts) in props.iter_mut() {
        match sent.and_then(|s| s.get(prop)) {
            Some(v) if v.is_null() => {
                counts.present += 1;
                counts.null += 1;
            }
            Some(_) => counts.present += 1,
            None => {}
        }
        let mistyped = findings.iter().any(|f| {
            f.code == Code::TypeMismatch
                && f.path.strip_prefix("event_properties.") == Some(prop.as_str())
        });
        if mistyped {
            counts.type_errors += 1;
        }
    }
}

//! The in-memory session: events with their findings, in arrival order,
//! with counters kept on ingest so no pane ever scans the whole store.
//!
//! Memory is capped: past `cap` events the oldest leave (the journal keeps
//! them all). Every event has a stable id; views and focus hold ids.

pub mod view;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::event::{Endpoint, Event};
use crate::filter::{Candidate, Status};
use crate::judge::Judged;
use crate::plan::{Code, Finding, Plan};
use crate::record::Delivery;

/// The request an event came in, shared by its events.
#[derive(Debug)]
pub struct Request {
    pub seq: u64,
    pub received: OffsetDateTime,
    pub endpoint: Option<Endpoint>,
    pub path: String,
    pub client: String,
    pub status: u16,
    pub answer_body: String,
    pub delivery: Delivery,
    pub api_key: Option<String>,
    pub method: String,
    pub problem: Option<crate::record::Problem>,
    /// The body as received, for a request without readable events.
    pub body: Option<crate::record::KeptBody>,
    pub event_count: usize,
    pub tag: Option<String>,
}

/// One stored event.
#[derive(Debug)]
pub struct Entry {
    pub id: u64,
    pub request: Arc<Request>,
    /// Position in its request's events.
    pub index: usize,
    pub event: Event,
    pub findings: Vec<Finding>,
    pub status: Status,
}

impl Entry {
    pub fn candidate(&self) -> Candidate<'_> {
        Candidate {
            event: &self.event,
            findings: &self.findings,
            status: self.status,
            tag: self.request.tag.as_deref(),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct TypeCounts {
    pub events: u64,
    pub with_findings: u64,
    pub last_seen: Option<OffsetDateTime>,
}

/// Per planned property: how often it came, null, or mistyped.
#[derive(Debug, Default, Clone)]
pub struct PropertyCounts {
    pub present: u64,
    pub null: u64,
    pub type_errors: u64,
}

/// Counters kept as events arrive (never recomputed by scanning).
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

fn null_raw() -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string("null".into())
        .unwrap_or_else(|_| unreachable!("null is JSON"))
}

pub struct Store {
    entries: VecDeque<Entry>,
    next_id: u64,
    cap: usize,
    evicted: u64,
    counters: Counters,
}

impl Store {
    /// `plan` seeds the coverage table with every planned type and property.
    pub fn new(cap: usize, plan: Option<&Plan>) -> Self {
        let mut counters = Counters::default();
        if let Some(plan) = plan {
            for (name, spec) in &plan.events {
                let props = spec
                    .properties
                    .keys()
                    .map(|p| (p.clone(), PropertyCounts::default()))
                    .collect();
                counters.coverage.insert(name.clone(), props);
            }
        }
        Store {
            entries: VecDeque::new(),
            next_id: 0,
            cap: cap.max(1),
            evicted: 0,
            counters,
        }
    }

    /// Stores a judged record; returns the ids of its rows: one per event,
    /// or one for a request without readable events.
    pub fn ingest(&mut self, judged: &Judged) -> std::ops::Range<u64> {
        let capture = &judged.record;
        let c = &mut self.counters;
        c.requests += 1;
        *c.upstream.entry(capture.answer.status).or_default() += 1;
        if matches!(capture.delivery, Delivery::Failed { .. }) {
            c.forward_failures += 1;
        }
        if capture.problem.is_some() {
            c.undecodable += 1;
        }
        let request = Arc::new(Request {
            seq: capture.seq,
            received: capture.received,
            endpoint: capture.endpoint,
            path: capture.path.clone(),
            method: capture.method.clone(),
            client: capture.client.clone(),
            status: capture.answer.status,
            answer_body: capture.answer.body.clone(),
            delivery: capture.delivery.clone(),
            api_key: capture.api_key.clone(),
            problem: capture.problem.clone(),
            body: capture.body.clone(),
            event_count: capture.events.len(),
            tag: capture.tag.clone(),
        });
        let second = request.received.unix_timestamp();
        let first = self.next_id;
        if capture.problem.is_some() {
            // A request without readable events is a row of its own.
            let findings: Vec<Finding> = judged.request.iter().cloned().collect();
            let status = Status::of(&findings);
            self.counters.by_status[status as usize] += 1;
            self.push(Entry {
                id: self.next_id,
                request: request.clone(),
                index: 0,
                event: Event::from_raw(null_raw(), crate::event::Dialect::V2),
                findings,
                status,
            });
        }
        for (index, event) in capture.events.iter().enumerate() {
            let findings = judged.findings.get(index).cloned().unwrap_or_default();
            self.count_event(event, &findings, &request, second);
            let status = Status::of(&findings);
            self.push(Entry {
                id: self.next_id,
                request: request.clone(),
                index,
                event: event.clone(),
                findings,
                status,
            });
        }
        while self.entries.len() > self.cap {
            self.entries.pop_front();
            self.evicted += 1;
        }
        first..self.next_id
    }

    fn push(&mut self, entry: Entry) {
        self.entries.push_back(entry);
        self.next_id += 1;
    }

    fn count_event(&mut self, event: &Event, findings: &[Finding], request: &Request, second: i64) {
        let c = &mut self.counters;
        c.events += 1;
        let status = Status::of(findings);
        c.by_status[status as usize] += 1;
        for f in findings {
            *c.by_code.entry(f.code).or_default() += 1;
        }
        let name = event.event_type().unwrap_or("(no event_type)");
        let t = match c.by_type.get_mut(name) {
            Some(t) => t,
            None => c.by_type.entry(name.to_owned()).or_default(),
        };
        t.events += 1;
        t.with_findings += u64::from(!findings.is_empty());
        t.last_seen = Some(request.received);
        match c.per_second.back_mut() {
            Some((s, n)) if *s == second => *n += 1,
            _ => {
                c.per_second.push_back((second, 1));
                while c.per_second.len() > RATE_WINDOW {
                    c.per_second.pop_front();
                }
            }
        }
        if let Some(props) = c.coverage.get_mut(name) {
            let sent = event.event_properties();
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
    }

    pub fn get(&self, id: u64) -> Option<&Entry> {
        let first = self.entries.front()?.id;
        let index = usize::try_from(id.checked_sub(first)?).ok()?;
        self.entries.get(index)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Id of the oldest event still held.
    pub fn first_id(&self) -> u64 {
        self.entries.front().map_or(self.next_id, |e| e.id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

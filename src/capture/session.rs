//! The live session behind the query API: every request the tap journals is
//! judged and kept in memory (capped), so tests can ask what arrived and
//! wait for it instead of sleeping.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::watch;

use super::{Capture, Delivery};
use crate::check::check_capture;
use crate::filter::{Filter, Status};
use crate::plan::{Finding, Plan, Validator};
use crate::store::{Checked, Entry, Store};

pub struct LiveSession {
    plan: &'static Plan,
    cap: usize,
    inner: Mutex<Inner>,
    tag: Mutex<Option<String>>,
    arrivals: watch::Sender<u64>,
}

struct Inner {
    store: Store,
    validator: Validator<'static>,
}

/// One event as the query API shows it.
#[derive(Serialize)]
pub struct EventView<'a> {
    pub seq: u64,
    pub index: usize,
    pub received: String,
    pub endpoint: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<&'a str>,
    /// `ok`, `warning` or `error`: the worst finding.
    pub verdict: &'static str,
    pub findings: &'a [Finding],
    /// What Amplitude (or the offline stand-in) answered its request.
    pub upstream_status: u16,
    /// `forwarded`, `offline`, `failed` or `refused`.
    pub delivery: &'static str,
    pub event: &'a RawValue,
}

impl LiveSession {
    /// `plan` lives as long as the process (the tap loads one).
    pub fn new(plan: &'static Plan, cap: usize) -> Self {
        LiveSession {
            plan,
            cap,
            inner: Mutex::new(Inner::new(plan, cap)),
            tag: Mutex::new(None),
            arrivals: watch::channel(0).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn tag(&self) -> Option<String> {
        self.tag.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_tag(&self, tag: Option<String>) {
        *self.tag.lock().unwrap_or_else(|p| p.into_inner()) = tag;
    }

    /// Judges and keeps a journaled request; returns its findings (for metrics).
    pub fn ingest(&self, capture: &Capture) -> Vec<Finding> {
        let mut inner = self.lock();
        let findings = check_capture(&mut inner.validator, capture);
        let all: Vec<Finding> = findings.iter().flatten().cloned().collect();
        let tag = capture.tag.clone();
        inner.store.ingest(Checked {
            capture: capture.clone(),
            findings,
            tag,
        });
        let events = inner.store.counters().events;
        drop(inner);
        self.arrivals.send_replace(events);
        all
    }

    /// Forgets everything (the journal keeps it, with a marker line).
    pub fn reset(&self) {
        *self.lock() = Inner::new(self.plan, self.cap);
        self.arrivals.send_replace(0);
    }

    /// Wakes on every arrival.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.arrivals.subscribe()
    }

    /// The last `limit` events matching `filter`, oldest first, as JSON.
    pub fn query(&self, filter: &Filter, limit: usize) -> (usize, serde_json::Value) {
        let inner = self.lock();
        let matching: Vec<&Entry> = inner
            .store
            .iter()
            .filter(|e| filter.matches(&e.candidate()))
            .collect();
        let total = matching.len();
        let shown: Vec<EventView> = matching[total.saturating_sub(limit)..]
            .iter()
            .map(|e| view(e))
            .collect();
        (total, serde_json::to_value(shown).unwrap_or_default())
    }

    pub fn count(&self, filter: &Filter) -> usize {
        self.lock()
            .store
            .iter()
            .filter(|e| filter.matches(&e.candidate()))
            .count()
    }

    /// Counts by type, verdict, finding code and upstream status.
    pub fn summary(&self) -> serde_json::Value {
        let inner = self.lock();
        let c = inner.store.counters();
        let types: std::collections::BTreeMap<&String, u64> =
            c.by_type.iter().map(|(k, v)| (k, v.events)).collect();
        serde_json::json!({
            "requests": c.requests,
            "events": c.events,
            "by_type": types,
            "by_status": {"ok": c.by_status[0], "warning": c.by_status[1], "error": c.by_status[2]},
            "by_code": c.by_code,
            "upstream": c.upstream.iter().map(|(s, n)| (s.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "forward_failures": c.forward_failures,
            "undecodable": c.undecodable,
            "tag": self.tag(),
        })
    }
}

impl Inner {
    fn new(plan: &'static Plan, cap: usize) -> Self {
        Inner {
            store: Store::new(cap, (!plan.events.is_empty()).then_some(plan)),
            validator: Validator::new(plan),
        }
    }
}

fn view(e: &Entry) -> EventView<'_> {
    let r = &e.request;
    EventView {
        seq: r.seq,
        index: e.index,
        received: r
            .received
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        endpoint: r.endpoint.path(),
        tag: r.tag.as_deref(),
        verdict: match e.status {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Error => "error",
        },
        findings: &e.findings,
        upstream_status: r.status,
        delivery: match r.delivery {
            Delivery::Forwarded { .. } => "forwarded",
            Delivery::Offline => "offline",
            Delivery::Failed { .. } => "failed",
            Delivery::Refused { .. } => "refused",
        },
        event: e.event.raw(),
    }
}

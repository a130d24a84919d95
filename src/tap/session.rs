//! The live session behind the query API: every record the pipeline judged
//! is kept in memory (capped), so tests can ask what arrived and wait for it
//! instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::watch;

use super::Delivery;
use crate::filter::{Filter, Status};
use crate::pipeline::{Item, Sink};
use crate::plan::{Finding, Plan};
use crate::store::{Entry, Store};

pub struct LiveSession {
    shared: Arc<Shared>,
}

struct Shared {
    plan: Arc<Plan>,
    cap: usize,
    store: Mutex<Store>,
    tag: Mutex<Option<String>>,
    /// Sequence number of the last journal line taken in (bumped on every
    /// batch, so waiters wake).
    taken: watch::Sender<u64>,
}

/// Feeds the session from the judge stage.
pub struct SessionSink(Arc<Shared>);

impl Sink for SessionSink {
    fn accept(&mut self, batch: &[Item]) {
        {
            let mut store = self.0.lock();
            for item in batch {
                match item {
                    Item::Judged(judged) => {
                        store.ingest(judged);
                    }
                    Item::Marker(marker) if marker.marker == "reset" => {
                        *store = self.0.new_store();
                    }
                    Item::Marker(_) => {}
                }
            }
        }
        if let Some(last) = batch.last() {
            self.0.taken.send_replace(last.seq());
        }
    }
}

/// One event as the query API shows it.
#[derive(Serialize)]
pub struct EventView<'a> {
    pub seq: u64,
    pub index: usize,
    pub received: String,
    pub endpoint: &'static str,
    /// The request as made: `POST /2/httpapi`.
    pub request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<&'a str>,
    /// Why a request carried no readable events (its `event` is then null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<&'a crate::record::Problem>,
    /// The body as received, for such a request (keys masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<std::borrow::Cow<'a, str>>,
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
    /// A session judged with `plan` (by the pipeline), holding at most `cap` rows.
    pub fn new(plan: Arc<Plan>, cap: usize) -> Self {
        let shared = Shared {
            plan,
            cap,
            store: Mutex::new(Store::new(1, None)),
            tag: Mutex::new(None),
            taken: watch::channel(0).0,
        };
        *shared.lock() = shared.new_store();
        LiveSession {
            shared: Arc::new(shared),
        }
    }

    /// The sink the pipeline feeds it through.
    pub fn sink(&self) -> SessionSink {
        SessionSink(self.shared.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.shared.lock()
    }

    pub fn tag(&self) -> Option<String> {
        self.shared
            .tag
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_tag(&self, tag: Option<String>) {
        *self.shared.tag.lock().unwrap_or_else(|p| p.into_inner()) = tag;
    }

    /// Waits (at most 2 s) until the line `seq` of the journal has been
    /// taken in, so a query right after the SDK's answer sees its events.
    pub async fn caught_up(&self, seq: u64) {
        let mut taken = self.shared.taken.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(2), taken.wait_for(|&n| n >= seq)).await;
    }

    /// Wakes whenever records have been taken in.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.taken.subscribe()
    }

    /// The last `limit` events matching `filter`, oldest first, as JSON.
    pub fn query(&self, filter: &Filter, limit: usize) -> (usize, serde_json::Value) {
        let store = self.lock();
        let matching: Vec<&Entry> = store
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

    /// Matches among the events from id `from` on, and the id to continue
    /// from: a waiter re-checks only what arrived since its last look.
    pub fn count_from(&self, filter: &Filter, from: u64) -> (usize, u64) {
        let store = self.lock();
        let next = store.iter().next_back().map_or(from, |e| e.id + 1);
        // A reset starts ids again from 0: then look at everything.
        let from = if from > next { 0 } else { from };
        let skip = usize::try_from(from.saturating_sub(store.first_id())).unwrap_or(usize::MAX);
        let n = store
            .iter()
            .skip(skip)
            .filter(|e| filter.matches(&e.candidate()))
            .count();
        (n, next)
    }

    /// Counts by type, verdict, finding code and upstream status.
    pub fn summary(&self) -> serde_json::Value {
        let store = self.lock();
        let c = store.counters();
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

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_store(&self) -> Store {
        Store::new(
            self.cap,
            (!self.plan.events.is_empty()).then_some(&*self.plan),
        )
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
        endpoint: r.endpoint.map_or("other", crate::event::Endpoint::path),
        request: format!("{} {}", r.method, r.path),
        tag: r.tag.as_deref(),
        problem: r.problem.as_ref(),
        body: r.body.as_ref().map(|b| b.text()),
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

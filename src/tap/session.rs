//! The live session behind the query API: every request the tap journals is
//! judged and kept in memory (capped), so tests can ask what arrived and
//! wait for it instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::watch;

use super::metrics::Metrics;
use super::{Delivery, Record};
use crate::filter::{Filter, Status};
use crate::judge::check_capture;
use crate::plan::{Finding, Plan, Validator};
use crate::store::{Checked, Entry, Store};

pub struct LiveSession {
    shared: Arc<Shared>,
    /// Journaled requests on their way to the session's task.
    queue: mpsc::Sender<Arc<Record>>,
    /// Requests handed over so far; queries wait until the task has judged them all.
    offered: AtomicU64,
}

struct Shared {
    plan: &'static Plan,
    cap: usize,
    inner: Mutex<Inner>,
    tag: Mutex<Option<String>>,
    /// Requests judged so far (bumped on every one, so waiters wake).
    judged: watch::Sender<u64>,
    metrics: Arc<Metrics>,
    on_judged: Option<OnJudged>,
}

/// Called on the session's thread with every request and its findings, in
/// order (`serve` prints its log lines from here: one judgement, not two).
pub type OnJudged = Box<dyn Fn(&Record, &[Vec<Finding>]) + Send + Sync>;

/// Requests that may wait for the session's task before handlers wait too.
const QUEUE: usize = 4096;

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
    /// Starts the session's task. `plan` lives as long as the process (the
    /// tap loads one); findings and event types are counted into `metrics`.
    pub fn start(
        plan: &'static Plan,
        cap: usize,
        metrics: Arc<Metrics>,
        on_judged: Option<OnJudged>,
    ) -> Self {
        let shared = Arc::new(Shared {
            plan,
            cap,
            inner: Mutex::new(Inner::new(plan, cap)),
            tag: Mutex::new(None),
            judged: watch::channel(0).0,
            metrics,
            on_judged,
        });
        let (queue, mut rx) = mpsc::channel::<Arc<Record>>(QUEUE);
        let task = shared.clone();
        // Its own thread, like the journal's: judging a hundred events is
        // CPU work that must not hold up the runtime's workers, which answer SDKs.
        let spawned = std::thread::Builder::new()
            .name("amptap-session".into())
            .spawn(move || {
                while let Some(capture) = rx.blocking_recv() {
                    task.judge(capture);
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the query API's session thread: {e}");
        }
        LiveSession {
            shared,
            queue,
            offered: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
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

    /// Hands a journaled request to the session's task. It waits only when
    /// the task is thousands of requests behind, so the API stays complete.
    pub async fn offer(&self, capture: Arc<Record>) {
        self.offered.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(capture).await.is_err() {
            // The task is gone (shutdown): nothing will judge it.
            self.offered.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Waits (at most 2 s) until every request handed over has been judged,
    /// so a query right after the SDK's answer sees its events.
    pub async fn caught_up(&self) {
        let want = self.offered.load(Ordering::Relaxed);
        let mut judged = self.shared.judged.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(2), judged.wait_for(|&n| n >= want)).await;
    }

    /// Forgets everything (the journal keeps it, with a marker line).
    pub async fn reset(&self) {
        self.caught_up().await;
        *self.lock() = Inner::new(self.shared.plan, self.shared.cap);
    }

    /// Wakes whenever a request has been judged.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.judged.subscribe()
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

    /// Matches among the events from id `from` on, and the id to continue
    /// from: a waiter re-checks only what arrived since its last look.
    pub fn count_from(&self, filter: &Filter, from: u64) -> (usize, u64) {
        let inner = self.lock();
        let store = &inner.store;
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

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Judges and keeps one request; counts its event types and findings.
    fn judge(&self, capture: Arc<Record>) {
        let capture = Arc::try_unwrap(capture).unwrap_or_else(|shared| (*shared).clone());
        let types: Vec<Option<&str>> = capture.events.iter().map(|e| e.event_type()).collect();
        self.metrics.events(capture.path_label(), &types);
        drop(types);
        let mut inner = self.lock();
        let findings = check_capture(&mut inner.validator, &capture);
        for f in &findings {
            self.metrics.findings(f);
        }
        if let Some(on_judged) = &self.on_judged {
            on_judged(&capture, &findings);
        }
        let tag = capture.tag.clone();
        inner.store.ingest(Checked {
            capture,
            findings,
            tag,
        });
        drop(inner);
        self.judged.send_modify(|n| *n += 1);
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
        endpoint: r.endpoint.map_or("other", crate::event::Endpoint::path),
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

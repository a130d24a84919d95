//! The live session behind the query API: every record the pipeline judged
//! is kept in memory (capped), so tests can ask what arrived and wait for it
//! instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

pub use super::query::Found;
use crate::filter::Filter;
use crate::pipeline::{Item, Sink};
use crate::plan::Plan;
use crate::store::{Lines, Store};

/// How long one search may read the journal before it answers with what
/// it has (`"partial": true`).
pub const QUERY_BUDGET: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct LiveSession {
    shared: Arc<Shared>,
}

pub(super) struct Shared {
    plan: Arc<Plan>,
    budget: usize,
    pub(super) store: Mutex<Store>,
    /// Reads the journal lines back: the store keeps only where they are.
    pub(super) lines: Arc<dyn Lines>,
    tag: Mutex<Option<String>>,
    /// Sequence number of the last journal line taken in (bumped on every
    /// batch, so waiters wake).
    taken: watch::Sender<u64>,
    /// Searches run two at a time; the rest queue.
    searches: tokio::sync::Semaphore,
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

impl LiveSession {
    /// A session judged with `plan` (by the pipeline), within `budget`
    /// bytes, reading events back through `lines`.
    pub fn new(plan: Arc<Plan>, budget: usize, lines: Arc<dyn Lines>) -> Self {
        let shared = Shared {
            plan,
            budget,
            lines,
            store: Mutex::new(Store::new(1, None)),
            tag: Mutex::new(None),
            taken: watch::channel(0).0,
            searches: tokio::sync::Semaphore::new(2),
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
        self.caught_up_within(seq, Duration::from_secs(2)).await;
    }

    /// Waits at most `limit` until the line `seq` has been taken in.
    pub async fn caught_up_within(&self, seq: u64, limit: Duration) {
        let mut taken = self.shared.taken.subscribe();
        let _ = tokio::time::timeout(limit, taken.wait_for(|&n| n >= seq)).await;
    }

    /// Wakes whenever records have been taken in.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.taken.subscribe()
    }

    /// The last `limit` events matching `filter`, oldest first, with how
    /// many match in all. Runs off the async workers, two searches at a
    /// time, each within [`QUERY_BUDGET`]: a filter on the events' JSON
    /// reads their journal lines, and the SDKs' requests never wait on it.
    pub async fn query(&self, filter: &Filter, limit: usize) -> Found {
        let empty = || Found {
            total: 0,
            shown: Default::default(),
            partial: true,
            trimmed: false,
        };
        let Ok(_turn) = self.shared.searches.acquire().await else {
            return empty();
        };
        let (shared, filter) = (self.shared.clone(), filter.clone());
        let deadline = std::time::Instant::now() + QUERY_BUDGET;
        tokio::task::spawn_blocking(move || super::query::query(&shared, &filter, limit, deadline))
            .await
            .unwrap_or_else(|_| empty())
    }

    /// Matches among the events from id `from` on, and the id to continue
    /// from: a waiter re-checks only what arrived since its last look.
    pub async fn count_from(&self, filter: &Filter, from: u64) -> (usize, u64) {
        let Ok(_turn) = self.shared.searches.acquire().await else {
            return (0, from);
        };
        let (shared, filter) = (self.shared.clone(), filter.clone());
        tokio::task::spawn_blocking(move || super::query::count_from(&shared, &filter, from))
            .await
            .unwrap_or((0, from))
    }

    /// Counts by type, verdict, finding code and upstream status.
    pub fn summary(&self) -> serde_json::Value {
        let store = self.shared.lock();
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
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_store(&self) -> Store {
        Store::new(
            self.budget,
            (!self.plan.events.is_empty()).then_some(&*self.plan),
        )
    }
}

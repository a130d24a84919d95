//! The relay's outbox: events the relay journaled are sent to Amplitude's
//! `/2/httpapi` as the SDKs would, without their losses — batched by count,
//! size and time; 5xx, 429 and an unreachable upstream retried with backoff
//! (never dropped); 413 splits the batch; a 400 drops only the events it
//! names. What was sent, and what was dropped and why, are journal markers
//! (`relayed`, `relay_dropped`), so after a restart exactly the unsent
//! events are sent again ([`pending_in`]); the stable insert ids keep
//! Amplitude from doubling one sent twice across a crash.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use tokio::sync::mpsc;

mod answers;
mod queue;

pub use answers::pending_in;
use answers::{indices, named_events};
pub use queue::Pending;
use queue::{due, park, sleep_until, take_batch, until};

use super::Mode;
use crate::event::Endpoint;
use crate::journal::Journal;
use crate::record::{Delivery, Marker};

/// Amplitude's limits per `/2/httpapi` request (its docs), and how long a
/// batch waits to fill.
const MAX_EVENTS: usize = 2000;
const MAX_BYTES: usize = 1_000_000;
const LINGER: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Counters for `/metrics` and the summary.
#[derive(Debug, Default)]
pub struct OutboxStats {
    pub backlog: AtomicU64,
    pub delivered: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
    /// Held back by the plan's throttle rules (never sent).
    pub throttled: AtomicU64,
    /// Delayed by the plan's rate, sent later.
    pub delayed: AtomicU64,
}

pub struct Outbox {
    tx: mpsc::UnboundedSender<Pending>,
    pub stats: Arc<OutboxStats>,
    /// Set when the tap stops: the sender ends (what is unsent stays in the
    /// journal) so the journal can close.
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Outbox {
    /// Starts sending, first what an earlier run left unsent.
    pub fn start(
        mode: Mode,
        api_key: Option<String>,
        throttle_wait: Duration,
        journal: Journal,
        left: Vec<Pending>,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(OutboxStats::default());
        stats.backlog.store(left.len() as u64, Ordering::Relaxed);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let sender = Sender {
            mode,
            api_key: api_key.unwrap_or_default(),
            throttle_wait,
            journal,
            stats: stats.clone(),
        };
        tokio::spawn(async move {
            let mut stopped = stopped;
            tokio::select! {
                () = sender.run(rx, left.into()) => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        });
        Outbox { tx, stats, stop }
    }

    /// Queues an event once its record is on disk.
    pub fn push(&self, pending: Pending) {
        self.stats.backlog.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(pending).is_err() {
            tracing::warn!("relay outbox stopped; the event stays in the journal for the next run");
        }
    }
}

struct Sender {
    mode: Mode,
    api_key: String,
    /// How long throttled users' events wait (Amplitude: 30 s).
    throttle_wait: Duration,
    journal: Journal,
    stats: Arc<OutboxStats>,
}

/// What one attempt at a batch came to.
enum Outcome {
    Sent(u16),
    /// Amplitude's 400 named these events (by index in the batch).
    Refused(u16, BTreeSet<usize>, String),
    /// 429: these events' users or devices are throttled (all when it names
    /// none), for `Retry-After` seconds when it says.
    Throttled(BTreeSet<usize>, Option<Duration>),
    TooLarge,
    /// Again later: why, and how long the upstream asked to wait, if it did.
    Retry(String, Option<Duration>),
}

impl Sender {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Pending>, mut queue: VecDeque<Pending>) {
        // Events the plan's rate delayed, until their time comes.
        let mut waiting: Vec<Pending> = Vec::new();
        let mut open = true;
        loop {
            due(&mut waiting, &mut queue);
            if queue.is_empty() {
                let next = waiting.iter().filter_map(|p| p.not_before_ms).min();
                let wake = next.map(|ms| tokio::time::Instant::now() + until(ms));
                tokio::select! {
                    got = rx.recv(), if open => match got {
                        Some(p) => park(p, &mut waiting, &mut queue),
                        None => open = false,
                    },
                    () = sleep_until(wake) => {}
                }
                if !open && queue.is_empty() && waiting.is_empty() {
                    return;
                }
                continue;
            }
            // Let a burst fill the batch a moment.
            let deadline = tokio::time::Instant::now() + LINGER;
            while open && queue.len() < MAX_EVENTS {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(p)) => park(p, &mut waiting, &mut queue),
                    Ok(None) => open = false,
                    Err(_) => break,
                }
            }
            let batch = take_batch(&mut queue);
            self.deliver(batch).await;
        }
    }

    /// Sends `batch` until Amplitude has taken or refused every event.
    async fn deliver(&self, batch: Vec<Pending>) {
        let mut work = vec![batch];
        // Throttled users' events, and when they may go again.
        let mut later: Vec<(tokio::time::Instant, Vec<Pending>)> = Vec::new();
        let mut backoff = Duration::from_millis(500);
        loop {
            let Some(batch) = work.pop() else {
                let Some(next) = later.pop() else { return };
                tokio::time::sleep_until(next.0).await;
                work.push(next.1);
                continue;
            };
            match self.attempt(&batch).await {
                Outcome::Sent(status) => {
                    self.note(Marker::RELAYED, &batch, status, None).await;
                    self.done(&batch, &self.stats.delivered);
                    backoff = Duration::from_millis(500);
                }
                Outcome::Refused(status, named, why) => {
                    let (dropped, rest): (Vec<_>, Vec<_>) = batch
                        .into_iter()
                        .enumerate()
                        .partition(|(i, _)| named.contains(i));
                    let dropped: Vec<Pending> = dropped.into_iter().map(|(_, p)| p).collect();
                    self.note(Marker::RELAY_DROPPED, &dropped, status, Some(why))
                        .await;
                    self.done(&dropped, &self.stats.dropped);
                    let rest: Vec<Pending> = rest.into_iter().map(|(_, p)| p).collect();
                    if !rest.is_empty() {
                        work.push(rest);
                    }
                }
                Outcome::Throttled(named, retry_after) => {
                    // Amplitude: stop sending for those users 30 s; the others go on.
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let (held, rest): (Vec<_>, Vec<_>) = batch
                        .into_iter()
                        .enumerate()
                        .partition(|(i, _)| named.is_empty() || named.contains(i));
                    let wait = retry_after
                        .unwrap_or(self.throttle_wait)
                        .min(Duration::from_secs(300));
                    let at = tokio::time::Instant::now() + wait;
                    later.insert(0, (at, held.into_iter().map(|(_, p)| p).collect()));
                    let rest: Vec<Pending> = rest.into_iter().map(|(_, p)| p).collect();
                    if !rest.is_empty() {
                        work.push(rest);
                    }
                }
                Outcome::TooLarge if batch.len() > 1 => {
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    work.push(second);
                    work.push(first);
                }
                Outcome::TooLarge => {
                    self.note(
                        Marker::RELAY_DROPPED,
                        &batch,
                        413,
                        Some("Amplitude: too large".into()),
                    )
                    .await;
                    self.done(&batch, &self.stats.dropped);
                }
                Outcome::Retry(why, asked) => {
                    // The upstream's Retry-After (within five minutes), else backoff.
                    let wait = asked.map_or(backoff, |a| a.min(Duration::from_secs(300)));
                    tracing::warn!("relay: {why}; again in {wait:?}");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    work.push(batch);
                }
            }
        }
    }

    fn done(&self, batch: &[Pending], counter: &AtomicU64) {
        counter.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.stats
            .backlog
            .fetch_sub(batch.len() as u64, Ordering::Relaxed);
    }

    /// Journals what happened to `batch`.
    async fn note(&self, kind: &str, batch: &[Pending], status: u16, reason: Option<String>) {
        let mut marker = Marker::new(kind, time::OffsetDateTime::now_utc());
        marker.seqs = batch.iter().map(|p| p.seq).collect();
        marker.status = Some(status);
        marker.reason = reason;
        if let Err(e) = self.journal.write_marker(marker).await {
            // Sent but not noted: a restart sends it again, Amplitude drops the copy.
            tracing::error!("relay: noting a delivery: {e}");
        }
    }

    async fn attempt(&self, batch: &[Pending]) -> Outcome {
        let events: Vec<&str> = batch.iter().map(|p| p.event.as_str()).collect();
        let body = format!(
            "{{\"api_key\":{},\"events\":[{}]}}",
            Value::String(self.api_key.clone()),
            events.join(",")
        );
        let upstream = match &self.mode {
            Mode::Offline => return Outcome::Sent(200),
            Mode::Forward(upstream) => upstream,
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let (reply, delivery) = upstream
            .forward(
                Endpoint::HttpV2,
                Method::POST,
                "/2/httpapi",
                "",
                &headers,
                body.into(),
            )
            .await;
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        match (reply.status, delivery) {
            (_, Delivery::Failed { error, .. }) => Outcome::Retry(error, None),
            (200..=299, _) => Outcome::Sent(reply.status),
            (413, _) => Outcome::TooLarge,
            (429, _) => Outcome::Throttled(
                indices(&text, &["throttled_events"]),
                reply.retry_after_secs().map(Duration::from_secs),
            ),
            (400, _) => match named_events(&text) {
                named if !named.is_empty() => Outcome::Refused(400, named, text),
                // A 400 that names no event (a bad api key): nothing is dropped.
                _ => Outcome::Retry(format!("Amplitude answered 400: {text}"), None),
            },
            (status, _) => Outcome::Retry(
                format!("Amplitude answered {status}: {text}"),
                reply.retry_after_secs().map(Duration::from_secs),
            ),
        }
    }
}

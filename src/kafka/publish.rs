//! `--publish kafka://…`: every journal line, published to a topic.
//!
//! The publisher follows the journal *file* on a thread of its own, behind
//! the tap like the judge stage: the SDK's answer never waits for Kafka.
//! While the broker is away the journal is the buffer — the publisher holds
//! one batch in memory, and when the broker returns it carries on from the
//! position it remembered (in `JOURNAL.published.json`, so a restart goes on
//! from there too). A batch whose answer was lost (a timeout, a crash) is
//! looked for in the topic before it is sent again: nothing twice.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rskafka::client::partition::Compression;
use rskafka::record::Record;

use super::conn::{Topic, Unreachable};
use super::journal_lines::{read_batch, Batch};
use super::position::{self, Pending, Position};
use super::{key, KafkaUrl};
use crate::journal::JournalStats;

/// Header naming the journal a record came from, and its byte offset there.
pub const SOURCE_HEADER: &str = "amptap-source";
pub const OFFSET_HEADER: &str = "amptap-offset";

/// What the publisher has done, readable from any thread.
#[derive(Debug, Default)]
pub struct PublishStats {
    pub target: String,
    /// The broker took the last batch (or nothing has been tried yet).
    pub up: AtomicBool,
    /// Records the broker acknowledged this session.
    pub records: AtomicU64,
    /// Attempts that failed (the batch waits and is sent again).
    pub failures: AtomicU64,
    /// Lines larger than the broker takes, left in the journal only.
    pub too_large: AtomicU64,
    /// Journal offset published up to, and the journal's end last seen.
    pub published: AtomicU64,
    pub end: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl PublishStats {
    /// Journal bytes written but not yet in the topic.
    pub fn backlog_bytes(&self) -> u64 {
        let end = self.end.load(Ordering::Relaxed);
        end.saturating_sub(self.published.load(Ordering::Relaxed))
    }

    /// Why the broker cannot be used now, if it cannot.
    pub fn down(&self) -> Option<String> {
        if self.up.load(Ordering::Relaxed) {
            return None;
        }
        let error = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        Some(error.clone().unwrap_or_else(|| "connecting".into()))
    }
}

#[derive(Default)]
struct Control {
    abort: AtomicBool,
    /// Publish to the end of the journal, but give up at this instant.
    finish_by: Mutex<Option<Instant>>,
}

impl Control {
    fn finish_by(&self) -> Option<Instant> {
        *self.finish_by.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn past_deadline(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || self.finish_by().is_some_and(|t| Instant::now() >= t)
    }
}

pub struct Publisher {
    thread: Option<std::thread::JoinHandle<()>>,
    control: Arc<Control>,
    pub stats: Arc<PublishStats>,
}

impl Publisher {
    /// Starts publishing `journal` from where it was last published to this
    /// topic, or from `session_start` the first time.
    pub fn start(
        url: KafkaUrl,
        journal: &Path,
        written: Arc<JournalStats>,
        session_start: u64,
    ) -> std::io::Result<Publisher> {
        let target = url.to_string();
        let positions = position::path_for(journal);
        let position = match position::load(&positions, &target)? {
            Some(p) => p,
            None => {
                // Remembered at once: if the broker is away for this whole
                // session, the next start still knows where to begin.
                let first = Position {
                    source: position::new_source(),
                    offset: session_start,
                    pending: None,
                };
                position::save(&positions, &target, &first)?;
                first
            }
        };
        let stats = Arc::new(PublishStats {
            target: target.clone(),
            up: AtomicBool::new(true),
            ..Default::default()
        });
        stats.published.store(position.offset, Ordering::Relaxed);
        let control = Arc::new(Control::default());
        let mut work = Work {
            url,
            target,
            journal: journal.to_owned(),
            positions,
            position,
            written,
            stats: stats.clone(),
            control: control.clone(),
            topic: None,
            marks: Vec::new(),
        };
        let thread = std::thread::Builder::new()
            .name("amptap-publish".into())
            .spawn(move || {
                crate::pipeline::yield_to_the_tap();
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(work.run()),
                    Err(e) => tracing::error!("publisher: {e}"),
                }
            })?;
        Ok(Publisher {
            thread: Some(thread),
            control,
            stats,
        })
    }

    /// Publishes what the journal holds, for at most `grace` (a broker that
    /// is away keeps the rest for the next start), and joins.
    pub fn finish(mut self, grace: Duration) {
        *self
            .control
            .finish_by
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + grace);
        self.join();
    }

    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the publisher panicked");
            }
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.control.abort.store(true, Ordering::Relaxed);
        self.join();
    }
}

/// Most journal bytes and lines sent in one go (each partition's share is
/// one compressed produce request).
const BATCH_BYTES: usize = 2 << 20;
const BATCH_LINES: usize = 5_000;
const IDLE: Duration = Duration::from_millis(200);

struct Work {
    url: KafkaUrl,
    target: String,
    journal: PathBuf,
    positions: PathBuf,
    position: Position,
    written: Arc<JournalStats>,
    stats: Arc<PublishStats>,
    control: Arc<Control>,
    topic: Option<Topic>,
    /// Per partition, an offset at or before our next record there.
    marks: Vec<Option<i64>>,
}

impl Work {
    async fn run(&mut self) {
        let mut backoff = Duration::from_millis(250);
        let file = match std::fs::File::open(&self.journal) {
            Ok(f) => f,
            Err(e) => {
                self.failed(&Unreachable(format!("{}: {e}", self.journal.display())));
                return;
            }
        };
        loop {
            if self.control.abort.load(Ordering::Relaxed) {
                return;
            }
            let finishing = self.control.finish_by().is_some();
            let rings = self.written.written.rings();
            let batch = match read_batch(&file, self.position.offset, BATCH_BYTES, BATCH_LINES) {
                Ok(b) => b,
                Err(e) => {
                    self.failed(&Unreachable(format!("{}: {e}", self.journal.display())));
                    return;
                }
            };
            self.stats.end.fetch_max(batch.file_len, Ordering::Relaxed);
            if batch.lines.is_empty() {
                if finishing {
                    return;
                }
                let written = self.written.clone();
                let _ = tokio::task::spawn_blocking(move || written.written.wait_past(rings, IDLE))
                    .await;
                continue;
            }
            match self.publish(&batch).await {
                Ok(()) => backoff = Duration::from_millis(250),
                Err(e) => {
                    self.failed(&e);
                    if self.control.past_deadline() {
                        return;
                    }
                    self.pause(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    async fn pause(&self, how_long: Duration) {
        let until = Instant::now() + how_long;
        while Instant::now() < until && !self.control.past_deadline() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn failed(&mut self, e: &Unreachable) {
        tracing::warn!(target = %self.target, "publish: {e}");
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        *self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(e.0.clone());
        self.stats.up.store(false, Ordering::Relaxed);
        // Start again from a fresh connection: a stopped broker's socket may
        // still hold our request.
        self.topic = None;
    }

    async fn connect(&mut self) -> Result<&Topic, Unreachable> {
        if self.topic.is_none() {
            let topic = Topic::open(&self.url, true).await?;
            self.marks = vec![None; topic.partitions.len()];
            self.topic = Some(topic);
        }
        self.topic
            .as_ref()
            .ok_or_else(|| Unreachable("not connected".into()))
    }

    /// Sends one batch: each partition's share in one request, all at once.
    async fn publish(&mut self, batch: &Batch) -> Result<(), Unreachable> {
        let partitions = self.connect().await?.partitions.len();
        let mut shares: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut peeks = Vec::with_capacity(batch.lines.len());
        for (i, line) in batch.lines.iter().enumerate() {
            let peek = key::peek(&line.bytes);
            shares
                .entry(key::partition_for(&peek.key, partitions))
                .or_default()
                .push(i);
            peeks.push(peek);
        }
        let landed = match self.position.pending.clone() {
            Some(pending) => self.landed(&pending).await?,
            None => {
                self.intend(batch.end, shares.keys().copied()).await?;
                HashSet::new()
            }
        };
        let topic = self
            .topic
            .as_ref()
            .ok_or_else(|| Unreachable("not connected".into()))?;
        let mut sends = Vec::new();
        for (&p, lines) in &shares {
            let records: Vec<Record> = lines
                .iter()
                .filter(|&&i| !landed.contains(&batch.lines[i].offset))
                .map(|&i| self.record(&batch.lines[i], &peeks[i]))
                .collect();
            if records.is_empty() {
                continue;
            }
            let client = &topic.partitions[p];
            sends.push(async move {
                let n = records.len();
                (
                    p,
                    n,
                    tokio::time::timeout(
                        super::conn::REQUEST_TIMEOUT,
                        client.produce(records, Compression::Zstd),
                    )
                    .await,
                )
            });
        }
        let results = futures_util::future::join_all(sends).await;
        // What landed before counts as published: it is in the topic.
        let mut sent = batch
            .lines
            .iter()
            .filter(|l| landed.contains(&l.offset))
            .count();
        let mut first_error = None;
        for (p, n, result) in results {
            match result {
                Ok(Ok(offsets)) => {
                    sent += n;
                    if let Some(last) = offsets.last() {
                        self.marks[p] = Some(last + 1);
                    }
                }
                Ok(Err(e)) if too_large(&e) => {
                    // Amplitude's batches can outgrow a broker's message.max.bytes:
                    // the journal keeps them; the topic cannot.
                    self.stats.too_large.fetch_add(n as u64, Ordering::Relaxed);
                    tracing::warn!(
                        "publish: {n} records too large for the broker, kept in the journal only"
                    );
                }
                Ok(Err(e)) => {
                    first_error =
                        first_error.or(Some(Unreachable(format!("produce: {}", short(&e)))))
                }
                Err(_) => {
                    first_error = first_error.or(Some(Unreachable(format!(
                        "produce: no answer in {} s",
                        super::conn::REQUEST_TIMEOUT.as_secs()
                    ))))
                }
            }
        }
        self.stats.records.fetch_add(sent as u64, Ordering::Relaxed);
        if let Some(e) = first_error {
            return Err(e);
        }
        self.position.offset = batch.end;
        self.position.pending = None;
        self.save();
        self.stats.published.store(batch.end, Ordering::Relaxed);
        self.stats.up.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Notes, before sending, where each partition stood: after a lost
    /// answer that is where to look for what landed.
    async fn intend(
        &mut self,
        end: u64,
        partitions: impl Iterator<Item = usize>,
    ) -> Result<(), Unreachable> {
        let mut at = BTreeMap::new();
        for p in partitions {
            let mark = match self.marks[p] {
                Some(m) => m,
                None => {
                    let topic = self
                        .topic
                        .as_ref()
                        .ok_or_else(|| Unreachable("not connected".into()))?;
                    let end = topic.end(p).await?;
                    self.marks[p] = Some(end);
                    end
                }
            };
            at.insert(i32::try_from(p).unwrap_or(i32::MAX), mark);
        }
        self.position.pending = Some(Pending {
            end,
            partitions: at,
        });
        self.save();
        Ok(())
    }

    /// The journal offsets of ours the topic already holds, from where the
    /// partitions stood before the unanswered batch.
    async fn landed(&self, pending: &Pending) -> Result<HashSet<u64>, Unreachable> {
        let topic = self
            .topic
            .as_ref()
            .ok_or_else(|| Unreachable("not connected".into()))?;
        let mut found = HashSet::new();
        for (&p, &from) in &pending.partitions {
            let Ok(p) = usize::try_from(p) else { continue };
            if p >= topic.partitions.len() {
                continue;
            }
            let mut offset = from.max(topic.start(p).await?);
            loop {
                let (records, high) = topic.fetch(p, offset, 4 << 20, 0).await?;
                for r in &records {
                    offset = offset.max(r.offset + 1);
                    if let Some(at) = ours(&r.record, &self.position.source) {
                        found.insert(at);
                    }
                }
                if records.is_empty() || offset >= high {
                    break;
                }
            }
        }
        Ok(found)
    }

    fn record(&self, line: &super::journal_lines::JournalLine, peek: &key::Peek) -> Record {
        let nanos = peek.time.map_or_else(
            || time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            |t| t.unix_timestamp_nanos(),
        );
        Record {
            key: Some(peek.key.clone()),
            value: Some(line.bytes.clone()),
            headers: BTreeMap::from([
                (
                    SOURCE_HEADER.to_owned(),
                    self.position.source.clone().into_bytes(),
                ),
                (
                    OFFSET_HEADER.to_owned(),
                    line.offset.to_string().into_bytes(),
                ),
            ]),
            timestamp: rskafka::chrono::DateTime::from_timestamp_nanos(
                i64::try_from(nanos).unwrap_or(0),
            ),
        }
    }

    fn save(&mut self) {
        if let Err(e) = position::save(&self.positions, &self.target, &self.position) {
            // The topic still gets everything; a restart may look again.
            tracing::warn!(
                "publish: cannot remember the position in {}: {e}",
                self.positions.display()
            );
        }
    }
}

/// The journal offset of a record this journal published.
fn ours(record: &Record, source: &str) -> Option<u64> {
    if record.headers.get(SOURCE_HEADER)?.as_slice() != source.as_bytes() {
        return None;
    }
    std::str::from_utf8(record.headers.get(OFFSET_HEADER)?)
        .ok()?
        .parse()
        .ok()
}

fn too_large(e: &rskafka::client::error::Error) -> bool {
    use rskafka::client::error::{Error, ProtocolError};
    matches!(
        e,
        Error::ServerError {
            protocol_error: ProtocolError::MessageTooLarge | ProtocolError::RecordListTooLarge,
            ..
        }
    )
}

fn short(e: &rskafka::client::error::Error) -> String {
    let text = e.to_string();
    text.split(", request:").next().unwrap_or(&text).to_owned()
}

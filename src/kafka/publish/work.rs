//! The publisher's loop: read a batch of journal lines, send each
//! partition's share, remember how far the topic has them.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rskafka::client::partition::Compression;
use rskafka::record::Record;

use super::{Control, PublishStats, OFFSET_HEADER, SOURCE_HEADER};
use crate::journal::JournalStats;
use crate::kafka::conn::{unreachable, Topic, Unreachable};
use crate::kafka::journal_lines::{read_batch, Batch, JournalLine};
use crate::kafka::position::{self, Pending, Position};
use crate::kafka::{key, KafkaUrl};

/// Most journal bytes and lines sent in one go (each partition's share is
/// one compressed produce request).
const BATCH_BYTES: usize = 2 << 20;
const BATCH_LINES: usize = 5_000;
const IDLE: Duration = Duration::from_millis(200);

pub(super) struct Work {
    pub url: KafkaUrl,
    pub target: String,
    pub journal: PathBuf,
    pub positions: position::Book,
    pub position: Position,
    pub written: Arc<JournalStats>,
    pub stats: Arc<PublishStats>,
    pub control: Arc<Control>,
    pub topic: Option<Topic>,
    /// Per partition, an offset at or before our next record there.
    pub marks: Vec<Option<i64>>,
}

impl Work {
    pub async fn run(&mut self) {
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
        self.stats.health.failed(e);
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
        let (shares, peeks) = shares(batch, partitions);
        let landed = match self.position.pending.clone() {
            Some(pending) => self.landed(&pending).await?,
            None => {
                self.intend(batch.end, shares.keys().copied()).await?;
                HashSet::new()
            }
        };
        // What landed before counts as published: it is in the topic.
        let before = batch
            .lines
            .iter()
            .filter(|l| landed.contains(&l.offset))
            .count();
        let sends: Vec<(usize, Vec<Record>)> = shares
            .iter()
            .map(|(&p, lines)| {
                let records = lines
                    .iter()
                    .filter(|&&i| !landed.contains(&batch.lines[i].offset))
                    .map(|&i| self.record(&batch.lines[i], &peeks[i]))
                    .collect();
                (p, records)
            })
            .filter(|(_, records): &(usize, Vec<Record>)| !records.is_empty())
            .collect();
        let sent = self.send(sends).await;
        self.stats.records.fetch_add(
            (before + sent.as_ref().map_or(0, |n| *n)) as u64,
            Ordering::Relaxed,
        );
        sent?;
        self.position.offset = batch.end;
        self.position.pending = None;
        self.save();
        self.stats.published.store(batch.end, Ordering::Relaxed);
        self.stats.health.ok();
        Ok(())
    }

    /// Produces each partition's records at once; the records taken, or
    /// the first failure (a too-large share is counted and skipped).
    async fn send(&mut self, sends: Vec<(usize, Vec<Record>)>) -> Result<usize, Unreachable> {
        let topic = self
            .topic
            .as_ref()
            .ok_or_else(|| Unreachable("not connected".into()))?;
        let timeout = crate::kafka::conn::REQUEST_TIMEOUT;
        let requests = sends.into_iter().map(|(p, records)| {
            let client = &topic.partitions[p];
            let n = records.len();
            async move {
                let produced = client.produce(records, Compression::Zstd);
                (p, n, tokio::time::timeout(timeout, produced).await)
            }
        });
        let results = futures_util::future::join_all(requests).await;
        let mut sent = 0;
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
                    first_error = first_error.or(Some(unreachable("produce", &e)));
                }
                Err(_) => {
                    let why = format!("produce: no answer in {} s", timeout.as_secs());
                    first_error = first_error.or(Some(Unreachable(why)));
                }
            }
        }
        first_error.map_or(Ok(sent), Err)
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

    fn record(&self, line: &JournalLine, peek: &key::Peek) -> Record {
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
        if let Err(e) = self.positions.put(&self.target, &self.position) {
            // The topic still gets everything; a restart may look again.
            tracing::warn!(
                "publish: cannot remember the position in {}: {e}",
                self.positions.file().display()
            );
        }
    }
}

/// Each partition's lines (indices into the batch, in order) and each
/// line's key and time.
fn shares(batch: &Batch, partitions: usize) -> (BTreeMap<usize, Vec<usize>>, Vec<key::Peek>) {
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
    (shares, peeks)
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

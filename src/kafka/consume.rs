//! Reading a topic as a journal: `check kafka://…` and the other batch
//! commands read it to its end as it stands (partitions merged by the time
//! the taps received each record); `watch kafka://…` follows it. Either way
//! the records are written, one line each, to a local spool file — the
//! store and the detail view read journal lines back by position.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rskafka::record::RecordAndOffset;

use super::conn::{own_thread, Health, Topic, Unreachable};
use super::{KafkaUrl, StartAt};
use crate::journal::JournalStats;

/// Bytes asked of a partition per fetch.
const FETCH_BYTES: i32 = 4 << 20;
/// How long a follower's fetch may wait for new records: brokers differ in
/// whether new records end the wait early, so this bounds the latency.
const FOLLOW_WAIT_MS: i32 = 50;

/// What a read took from the topic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Spooled {
    pub records: u64,
    /// Messages that were not one line (not written by an amptap tap).
    pub skipped: u64,
}

/// Runs `f` on a runtime of its own, on a thread of its own: callers may be
/// inside the command's runtime or not.
fn on_own_runtime<T: Send>(
    f: impl std::future::Future<Output = T> + Send,
) -> Result<T, Unreachable> {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(f))
                .map_err(|e| Unreachable(e.to_string()))
        })
        .join()
        .unwrap_or_else(|_| Err(Unreachable("the Kafka reader panicked".into())))
    })
}

/// Writes the topic's records from `url.from` (else `earliest`) up to its
/// end as it stands now.
pub fn spool(url: &KafkaUrl, out: &mut (impl Write + Send)) -> Result<Spooled, Unreachable> {
    on_own_runtime(spool_async(url, out))?
}

struct Cursor {
    partition: usize,
    next: i64,
    end: i64,
    buf: VecDeque<RecordAndOffset>,
}

async fn spool_async(
    url: &KafkaUrl,
    out: &mut (impl Write + Send),
) -> Result<Spooled, Unreachable> {
    let from = url.from.unwrap_or(StartAt::Earliest);
    let topic = Topic::open(url, false).await?;
    let mut cursors = Vec::new();
    for p in 0..topic.partitions.len() {
        let start = topic.start(p).await?;
        let end = topic.high_watermark(p, start).await?;
        let next = match from {
            StartAt::Latest => end,
            StartAt::Earliest | StartAt::Time(_) => start,
        };
        cursors.push(Cursor {
            partition: p,
            next,
            end,
            buf: VecDeque::new(),
        });
    }
    let mut done = Spooled::default();
    loop {
        for c in cursors
            .iter_mut()
            .filter(|c| c.buf.is_empty() && c.next < c.end)
        {
            let (records, _) = topic.fetch(c.partition, c.next, FETCH_BYTES, 0).await?;
            if records.is_empty() {
                c.next = c.end;
            }
            for r in records {
                c.next = c.next.max(r.offset + 1);
                if r.offset < c.end {
                    c.buf.push_back(r);
                }
            }
        }
        // The earliest received of the partitions' next records.
        let Some(c) = cursors
            .iter_mut()
            .filter(|c| !c.buf.is_empty())
            .min_by_key(|c| c.buf.front().map(|r| r.record.timestamp))
        else {
            break;
        };
        let Some(r) = c.buf.pop_front() else { break };
        write_record(&r, from, out, &mut done).map_err(|e| Unreachable(format!("spool: {e}")))?;
    }
    out.flush()
        .map_err(|e| Unreachable(format!("spool: {e}")))?;
    Ok(done)
}

fn write_record(
    r: &RecordAndOffset,
    from: StartAt,
    out: &mut impl Write,
    done: &mut Spooled,
) -> std::io::Result<()> {
    if let StartAt::Time(t) = from {
        if r.record.timestamp.timestamp_nanos_opt().unwrap_or(i64::MAX)
            < i64::try_from(t.unix_timestamp_nanos()).unwrap_or(0)
        {
            return Ok(());
        }
    }
    match r.record.value.as_deref() {
        Some(value) if !value.is_empty() && !value.contains(&b'\n') => {
            out.write_all(value)?;
            out.write_all(b"\n")?;
            done.records += 1;
        }
        _ => done.skipped += 1,
    }
    Ok(())
}

/// Follows a topic into a spool file, ringing `written` after each write.
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub written: Arc<JournalStats>,
    /// Whether the broker answers, for the screen's header.
    pub health: Arc<Health>,
}

impl Follower {
    pub fn start(url: KafkaUrl, spool: std::fs::File) -> std::io::Result<Follower> {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(JournalStats::default());
        let health = Arc::new(Health::new(false));
        let (s, w, h) = (stop.clone(), written.clone(), health.clone());
        let thread = own_thread("amptap-follow", follow(url, spool, s, w, h))?;
        Ok(Follower {
            stop,
            thread: Some(thread),
            written,
            health,
        })
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn follow(
    url: KafkaUrl,
    spool: std::fs::File,
    stop: Arc<AtomicBool>,
    written: Arc<JournalStats>,
    health: Arc<Health>,
) {
    let mut state = Following {
        from: url.from.unwrap_or(StartAt::Latest),
        url,
        out: std::io::BufWriter::new(spool),
        next: Vec::new(),
        count: Spooled::default(),
    };
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = state.round(&stop, &written, &health).await {
            tracing::warn!("follow {}: {e}", state.url);
            health.failed(&e);
            for _ in 0..20 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A follower's place in the topic: it survives a reconnection.
struct Following {
    url: KafkaUrl,
    from: StartAt,
    out: std::io::BufWriter<std::fs::File>,
    /// Per partition, the next offset to read.
    next: Vec<i64>,
    count: Spooled,
}

impl Following {
    /// Connects, then fetches from every partition until told to stop or
    /// the broker fails.
    async fn round(
        &mut self,
        stop: &AtomicBool,
        written: &JournalStats,
        health: &Health,
    ) -> Result<(), Unreachable> {
        let topic = Topic::open(&self.url, false).await?;
        health.ok();
        while self.next.len() < topic.partitions.len() {
            let p = self.next.len();
            let start = topic.start(p).await?;
            self.next.push(match self.from {
                StartAt::Latest => topic.high_watermark(p, start).await?,
                StartAt::Earliest | StartAt::Time(_) => start,
            });
        }
        // Each partition on its own: a quiet one never holds a busy one back.
        let out = std::sync::Mutex::new((&mut self.out, &mut self.count));
        let from = self.from;
        let loops = self.next.iter_mut().enumerate().map(|(p, next)| {
            let (topic, out) = (&topic, &out);
            async move {
                while !stop.load(Ordering::Relaxed) {
                    let (records, _) = topic.fetch(p, *next, FETCH_BYTES, FOLLOW_WAIT_MS).await?;
                    if records.is_empty() {
                        continue;
                    }
                    let mut guard = out.lock().unwrap_or_else(|e| e.into_inner());
                    let (file, count) = &mut *guard;
                    for r in records {
                        *next = (*next).max(r.offset + 1);
                        write_record(&r, from, &mut **file, count)
                            .map_err(|e| Unreachable(format!("spool: {e}")))?;
                    }
                    file.flush()
                        .map_err(|e| Unreachable(format!("spool: {e}")))?;
                    written.records.store(count.records, Ordering::Relaxed);
                    drop(guard);
                    written.written.ring();
                }
                Ok::<(), Unreachable>(())
            }
        });
        futures_util::future::try_join_all(loops).await?;
        Ok(())
    }
}

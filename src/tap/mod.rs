//! The tap: the proxy the SDK talks to, the upstream it forwards to, the
//! offline answers, and the journal every request is written to.

mod access;
pub mod api;
pub mod budget;
pub mod forward;
pub mod metrics;
pub mod offline;
pub mod outbox;
pub mod proxy;
mod query;
mod receive;
pub mod relay;
pub mod server;
pub mod session;
mod shape;

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::journal::{self, Journal};
pub use crate::record::{mask_api_key, Answer, Delivery, Record};
pub use forward::{Target, Upstream};

use crate::event::BodyLimits;

/// What the SDK is sent back: the upstream's bytes, untouched.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// The whole body, or its first [`Answer::KEPT_BODY_BYTES`] when the
    /// upstream sent more: the rest is streamed from `rest`, never held.
    pub body: Bytes,
    pub rest: Option<forward::Rest>,
    /// The upstream's `Retry-After`, passed on to the SDK as it came.
    pub retry_after: Option<String>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Reply {
            status,
            content_type: Some(content_type.to_owned()),
            content_encoding: None,
            body: body.into(),
            rest: None,
            retry_after: None,
        }
    }

    /// `Retry-After` in seconds, when the upstream gave it as a number.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.as_deref()?.trim().parse().ok()
    }

    /// The journal's copy of this reply.
    pub fn answer(&self) -> Answer {
        let mut answer = Answer::new(self.status, self.content_type.clone(), &self.body);
        answer.body_truncated |= self.rest.is_some();
        answer
    }
}

/// Forward to an upstream, or answer as Amplitude would.
#[derive(Clone)]
pub enum Mode {
    Forward(Upstream),
    Offline,
}

impl Mode {
    pub fn describe(&self) -> String {
        match self {
            Mode::Forward(up) => format!("forwarding to {}", up.target().describe()),
            Mode::Offline => "offline (answering as Amplitude would)".into(),
        }
    }
}

/// Counters kept as requests arrive.
#[derive(Debug, Default)]
pub struct TapStats {
    pub requests: AtomicU64,
    pub events: AtomicU64,
    pub forward_failures: AtomicU64,
    pub undecodable: AtomicU64,
    pub journal_failures: AtomicU64,
}

impl TapStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Everything a request handler needs, shared by all of them.
pub struct Tap {
    pub mode: Mode,
    pub limits: BodyLimits,
    pub journal: Journal,
    pub stats: TapStats,
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// What the query API answers from; `None` keeps no events in memory.
    pub session: Option<session::LiveSession>,
    pub api_token: Option<String>,
    /// How long clients may take and how many there may be.
    pub clients: server::ClientLimits,
    /// What requests in flight may hold.
    pub memory: budget::MemoryBudget,
    /// `/relay/SOURCE`, when the plan maps an app's own records.
    pub relay: Option<relay::Relay>,
    /// How publishing to Kafka goes, when `--publish` is on.
    pub publish: Option<std::sync::Arc<crate::kafka::PublishStats>>,
}

impl Tap {
    /// Sequence number of the last journal line on disk.
    pub fn written_seq(&self) -> u64 {
        TapStats::get(&self.journal.stats().last_seq)
    }

    pub fn new(mode: Mode, limits: BodyLimits, journal: Journal) -> Self {
        Tap {
            mode,
            limits,
            journal,
            stats: TapStats::default(),
            metrics: std::sync::Arc::new(metrics::Metrics::new()),
            session: None,
            api_token: None,
            clients: server::ClientLimits::default(),
            memory: budget::MemoryBudget::new(default_in_flight()),
            relay: None,
            publish: None,
        }
    }
}

/// What it takes to start a tap.
pub struct TapConfig {
    pub listen: std::net::SocketAddr,
    pub mode: Mode,
    pub limits: BodyLimits,
    pub journal_path: std::path::PathBuf,
    /// When the journal's lines are made durable.
    pub fsync: crate::journal::Fsync,
    /// What every record is judged with (the empty plan judges ids and times only).
    pub plan: std::sync::Arc<crate::plan::Plan>,
    /// Bytes the query API's live session may hold; `None` keeps none (no query API).
    pub session_memory: Option<usize>,
    /// Bearer token the query API requires (and then accepts from any client).
    pub api_token: Option<String>,
    /// Run the judge stage (off only to measure the tap without it).
    pub judging: bool,
    pub clients: server::ClientLimits,
    /// Bytes requests in flight may hold (see [`budget`]).
    pub in_flight_memory: usize,
    /// The Amplitude project key the relay's outbox sends with.
    pub relay_api_key: Option<String>,
    /// How long the outbox holds events of users Amplitude throttles (429).
    pub relay_throttle_wait: std::time::Duration,
    /// The Kafka topic every journal line is published to.
    pub publish: Option<crate::kafka::KafkaUrl>,
}

/// What requests in flight may hold when nobody says: what `serve`'s
/// defaults leave (512 MiB less the session's 128, the tap's own 64 and the
/// judge stage's share for a 20 MB `--max-body`).
pub fn default_in_flight() -> usize {
    (512 << 20) - (128 << 20) - (64 << 20) - budget::judge_cost(20 * 1024 * 1024)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error("cannot listen on {addr}: {source}{hint}", hint = listen_hint(source))]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the judge stage: {0}")]
    Pipeline(std::io::Error),
    #[error("cannot start publishing: {0}")]
    Publish(std::io::Error),
}

/// What to do about a port that cannot be had.
fn listen_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another amptap, or another program, has this port: stop it or pick another with --listen 127.0.0.1:PORT)"
        }
        std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges: pick one above)",
        std::io::ErrorKind::AddrNotAvailable => {
            " (this machine has no such address: 127.0.0.1 is the loopback)"
        }
        _ => "",
    }
}

/// A tap serving in the background, with its judge stage.
pub struct RunningTap {
    pub addr: std::net::SocketAddr,
    pub tap: std::sync::Arc<Tap>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    writer: journal::JournalWriterHandle,
    pipeline: Option<crate::pipeline::Pipeline>,
    publisher: Option<crate::kafka::Publisher>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// How long a stopping tap goes on publishing what the broker has not yet
/// taken; the rest is published at the next start (the position is kept).
const PUBLISH_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The counters at the end of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapSummary {
    pub requests: u64,
    pub events: u64,
    pub forward_failures: u64,
    pub undecodable: u64,
    pub journal_failures: u64,
    pub journal_path: std::path::PathBuf,
    pub journal_bytes: u64,
}

impl RunningTap {
    /// Opens the journal, starts the judge stage following it (feeding the
    /// metrics, the query API's session and `sinks`: `serve`'s printer, the
    /// screen), binds, and serves.
    pub async fn start(
        config: TapConfig,
        sinks: Vec<Box<dyn crate::pipeline::Sink>>,
    ) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
        let (journal, writer) = Journal::open(&config.journal_path, config.fsync)?;
        let mut tap = Tap::new(config.mode, config.limits, journal);
        if config.publish.is_some() {
            tap.metrics = std::sync::Arc::new(metrics::Metrics::publishing());
        }
        let lines = || {
            std::sync::Arc::new(crate::lines::FileLines::new(vec![config
                .journal_path
                .clone()]))
        };
        tap.session = config
            .session_memory
            .map(|bytes| session::LiveSession::new(config.plan.clone(), bytes, lines()));
        tap.api_token = config.api_token;
        tap.clients = config.clients;
        tap.memory = budget::MemoryBudget::new(config.in_flight_memory);
        if relay::relays(&config.plan) {
            let left = outbox::pending_in(tap.journal.path());
            tap.relay = Some(relay::Relay {
                plan: config.plan.clone(),
                throttle: Default::default(),
                outbox: outbox::Outbox::start(
                    tap.mode.clone(),
                    config.relay_api_key.clone(),
                    config.relay_throttle_wait,
                    tap.journal.clone(),
                    left,
                ),
            });
        }
        let mut all: Vec<Box<dyn crate::pipeline::Sink>> =
            vec![Box::new(metrics::MetricsSink(tap.metrics.clone()))];
        if let Some(session) = &tap.session {
            all.push(Box::new(session.sink()));
        }
        all.extend(sinks);
        let source = crate::pipeline::Source::Live {
            path: tap.journal.path().to_owned(),
            offset: tap.journal.start_offset(),
            journal: tap.journal.stats_handle(),
        };
        let pipeline = config
            .judging
            .then(|| crate::pipeline::Pipeline::start(source, config.plan, all))
            .transpose()
            .map_err(StartError::Pipeline)?;
        let publisher = config
            .publish
            .map(|url| {
                crate::kafka::Publisher::start(
                    url,
                    tap.journal.path(),
                    tap.journal.stats_handle(),
                    tap.journal.start_offset(),
                )
            })
            .transpose()
            .map_err(StartError::Publish)?;
        tap.publish = publisher.as_ref().map(|p| p.stats.clone());
        let tap = std::sync::Arc::new(tap);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(proxy::serve(listener, tap.clone(), async {
            let _ = stopped.await;
        }));
        Ok(RunningTap {
            addr,
            tap,
            server,
            writer,
            pipeline,
            publisher,
            stop,
        })
    }

    /// What the judge stage has done so far.
    pub fn pipeline_stats(&self) -> std::sync::Arc<crate::pipeline::Stats> {
        self.pipeline
            .as_ref()
            .map_or_else(Default::default, crate::pipeline::Pipeline::stats)
    }

    /// Stops accepting, lets in-flight requests finish and reach the
    /// journal, closes it, lets the judge stage hand every record to its
    /// sinks, and returns the session's counters.
    pub async fn stop(self) -> TapSummary {
        let _ = self.stop.send(());
        match self.server.await {
            Ok(Err(e)) => tracing::error!("proxy: {e}"),
            Err(e) => tracing::error!("proxy task: {e}"),
            Ok(Ok(())) => {}
        }
        let stats = &self.tap.stats;
        let mut summary = TapSummary {
            requests: TapStats::get(&stats.requests),
            events: TapStats::get(&stats.events),
            forward_failures: TapStats::get(&stats.forward_failures),
            undecodable: TapStats::get(&stats.undecodable),
            journal_failures: TapStats::get(&stats.journal_failures),
            journal_path: self.tap.journal.path().to_owned(),
            journal_bytes: 0,
        };
        // The writer thread ends once the last Journal handle is gone.
        let journal_stats = self.tap.journal.stats_handle();
        drop(self.tap);
        self.writer.finished().await;
        // Everything is on disk now: the stage reads to the end and joins.
        if let Some(pipeline) = self.pipeline {
            let _ = tokio::task::spawn_blocking(move || pipeline.finish()).await;
        }
        if let Some(publisher) = self.publisher {
            let _ = tokio::task::spawn_blocking(move || publisher.finish(PUBLISH_GRACE)).await;
        }
        summary.journal_bytes = TapStats::get(&journal_stats.bytes);
        summary
    }
}

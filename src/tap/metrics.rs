//! Prometheus metrics of the tap, served at `GET /metrics` on its port.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::plan::Finding;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabel {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    endpoint: String,
    event_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabel {
    severity: String,
}

/// Event types get their own label up to this many; the rest share `(other)`,
/// so a buggy app cannot blow up the scrape.
const MAX_EVENT_TYPES: usize = 500;

pub struct Metrics {
    registry: Registry,
    requests: Family<EndpointLabel, Counter>,
    events: Family<EventLabels, Counter>,
    upstream: Family<StatusLabel, Counter>,
    forward_failures: Counter,
    judged: Counter,
    findings: Family<CodeLabel, Counter>,
    severities: Family<SeverityLabel, Counter>,
    latency: Histogram,
    journal_bytes: Gauge,
    journal_writable: Gauge,
    journal_failures: Counter,
    relay_backlog: Gauge,
    relay_delivered: Counter,
    relay_dropped: Counter,
    relay_retries: Counter,
    relay_throttled: Counter,
    relay_delayed: Counter,
    event_types: Mutex<HashSet<String>>,
    publish: Option<PublishMetrics>,
}

/// `--publish`'s state: registered only when publishing, so an alert on
/// `amptap_publish_up == 0` never fires for a tap that does not publish.
struct PublishMetrics {
    up: Gauge,
    backlog_bytes: Gauge,
    records: Counter,
    failures: Counter,
    too_large: Counter,
}

impl PublishMetrics {
    fn register(registry: &mut Registry) -> Self {
        let m = PublishMetrics {
            up: Gauge::default(),
            backlog_bytes: Gauge::default(),
            records: Counter::default(),
            failures: Counter::default(),
            too_large: Counter::default(),
        };
        registry.register(
            "publish_up",
            "1 while the Kafka broker takes what is published, 0 during an outage",
            m.up.clone(),
        );
        registry.register(
            "publish_backlog_bytes",
            "Journal bytes not yet in the Kafka topic (the journal holds them)",
            m.backlog_bytes.clone(),
        );
        registry.register(
            "publish_records",
            "Journal lines the Kafka broker acknowledged",
            m.records.clone(),
        );
        registry.register(
            "publish_failures",
            "Attempts to publish that failed (the batch is sent again)",
            m.failures.clone(),
        );
        registry.register(
            "publish_too_large",
            "Journal lines larger than the broker takes, kept in the journal only",
            m.too_large.clone(),
        );
        m
    }

    fn read(&self, stats: &crate::kafka::PublishStats) {
        use std::sync::atomic::Ordering::Relaxed;
        self.up.set(i64::from(stats.down().is_none()));
        self.backlog_bytes
            .set(i64::try_from(stats.backlog_bytes()).unwrap_or(i64::MAX));
        for (counter, now) in [
            (&self.records, stats.records.load(Relaxed)),
            (&self.failures, stats.failures.load(Relaxed)),
            (&self.too_large, stats.too_large.load(Relaxed)),
        ] {
            counter.inc_by(now.saturating_sub(counter.get()));
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("amptap");
        let requests = Family::<EndpointLabel, Counter>::default();
        let events = Family::<EventLabels, Counter>::default();
        let upstream = Family::<StatusLabel, Counter>::default();
        let forward_failures = Counter::default();
        let judged = Counter::default();
        let findings = Family::<CodeLabel, Counter>::default();
        let severities = Family::<SeverityLabel, Counter>::default();
        // 1 ms to about 16 s.
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let journal_bytes = Gauge::default();
        let journal_writable = Gauge::default();
        let journal_failures = Counter::default();
        let relay_backlog = Gauge::default();
        let relay_delivered = Counter::default();
        let relay_dropped = Counter::default();
        let relay_retries = Counter::default();
        let relay_throttled = Counter::default();
        let relay_delayed = Counter::default();
        registry.register(
            "relay_delayed",
            "Relayed events the plan's max_per_minute delayed until the minute had room",
            relay_delayed.clone(),
        );
        registry.register(
            "relay_throttled",
            "Relayed events the plan's throttle rules held back (debounce_ms, max_per_minute)",
            relay_throttled.clone(),
        );
        registry.register(
            "relay_backlog",
            "Relayed events journaled but not yet taken by Amplitude",
            relay_backlog.clone(),
        );
        registry.register(
            "relay_delivered",
            "Relayed events Amplitude took",
            relay_delivered.clone(),
        );
        registry.register(
            "relay_dropped",
            "Relayed events Amplitude refused by name (400), each journaled with the reason",
            relay_dropped.clone(),
        );
        registry.register(
            "relay_retries",
            "Times the relay's outbox waited and tried again (5xx, 429, unreachable)",
            relay_retries.clone(),
        );
        registry.register(
            "journal_writable",
            "1 while the journal takes records; 0 after a failed write (requests are answered 503)",
            journal_writable.clone(),
        );
        registry.register(
            "journal_failures",
            "Requests whose record could not be written (each answered 503)",
            journal_failures.clone(),
        );
        registry.register(
            "requests",
            "Requests received, by ingestion endpoint",
            requests.clone(),
        );
        registry.register(
            "events",
            "Events received, by endpoint and event type",
            events.clone(),
        );
        registry.register(
            "upstream_responses",
            "Answers given to the SDKs, by HTTP status",
            upstream.clone(),
        );
        registry.register(
            "forward_failures",
            "Requests the upstream could not be reached for or did not answer",
            forward_failures.clone(),
        );
        registry.register("findings", "Validation findings, by code", findings.clone());
        registry.register(
            "findings_by_severity",
            "Validation findings, by severity (error, warning, info): what alerts count",
            severities.clone(),
        );
        registry.register(
            "events_judged",
            "Events the judge stage judged against the plan (each exactly once)",
            judged.clone(),
        );
        registry.register(
            "upstream_latency_seconds",
            "Time the upstream took to answer",
            latency.clone(),
        );
        registry.register(
            "journal_bytes",
            "Bytes written to the journal",
            journal_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            events,
            upstream,
            forward_failures,
            judged,
            findings,
            severities,
            latency,
            journal_bytes,
            journal_writable,
            journal_failures,
            relay_backlog,
            relay_delivered,
            relay_dropped,
            relay_retries,
            relay_throttled,
            relay_delayed,
            event_types: Mutex::new(HashSet::new()),
            publish: None,
        }
    }

    /// The tap's metrics with `--publish`'s among them.
    pub fn publishing() -> Self {
        let mut m = Self::new();
        m.publish = Some(PublishMetrics::register(&mut m.registry));
        m
    }

    /// One request and its answer.
    pub fn request(&self, endpoint: &str, status: u16, latency_ms: Option<f64>, failed: bool) {
        self.requests
            .get_or_create(&EndpointLabel {
                endpoint: endpoint.to_owned(),
            })
            .inc();
        self.upstream
            .get_or_create(&StatusLabel {
                status: status.to_string(),
            })
            .inc();
        if failed {
            self.forward_failures.inc();
        }
        if let Some(ms) = latency_ms {
            self.latency.observe(ms / 1000.0);
        }
    }

    /// The events of one request, by type: one label lookup per type in
    /// the request, not per event.
    pub fn events(&self, endpoint: &str, event_types: &[Option<&str>]) {
        let mut counts: rustc_hash::FxHashMap<&str, u64> = Default::default();
        for t in event_types {
            *counts.entry(t.unwrap_or("(none)")).or_default() += 1;
        }
        let mut known = self.event_types.lock().unwrap_or_else(|p| p.into_inner());
        for (t, n) in counts {
            let label = if known.contains(t)
                || (known.len() < MAX_EVENT_TYPES && known.insert(t.to_owned()))
            {
                t
            } else {
                "(other)"
            };
            self.events
                .get_or_create(&EventLabels {
                    endpoint: endpoint.to_owned(),
                    event_type: label.to_owned(),
                })
                .inc_by(n);
        }
    }

    pub fn findings<'a>(&self, findings: impl IntoIterator<Item = &'a Finding>) {
        for f in findings {
            self.findings
                .get_or_create(&CodeLabel {
                    code: f.code.to_string(),
                })
                .inc();
            self.severities
                .get_or_create(&SeverityLabel {
                    severity: f.severity.to_string(),
                })
                .inc();
        }
    }

    /// The text exposition, with the journal's state read now.
    pub fn render(
        &self,
        journal: &crate::journal::JournalStats,
        relay: Option<&super::outbox::OutboxStats>,
        publish: Option<&crate::kafka::PublishStats>,
    ) -> String {
        if let (Some(metrics), Some(stats)) = (&self.publish, publish) {
            metrics.read(stats);
        }
        if let Some(relay) = relay {
            let get =
                |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
            self.relay_backlog
                .set(i64::try_from(get(&relay.backlog)).unwrap_or(i64::MAX));
            for (counter, now) in [
                (&self.relay_delivered, get(&relay.delivered)),
                (&self.relay_dropped, get(&relay.dropped)),
                (&self.relay_retries, get(&relay.retries)),
                (&self.relay_throttled, get(&relay.throttled)),
                (&self.relay_delayed, get(&relay.delayed)),
            ] {
                counter.inc_by(now.saturating_sub(counter.get()));
            }
        }
        let bytes = journal.bytes.load(std::sync::atomic::Ordering::Relaxed);
        self.journal_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.journal_writable
            .set(i64::from(journal.broken().is_none()));
        let failures = journal.failures.load(std::sync::atomic::Ordering::Relaxed);
        self.journal_failures
            .inc_by(failures.saturating_sub(self.journal_failures.get()));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Counts what the judge stage judged: events by type, findings by code.
pub struct MetricsSink(pub std::sync::Arc<Metrics>);

impl crate::pipeline::Sink for MetricsSink {
    fn accept(&mut self, batch: &[crate::pipeline::Item]) {
        for item in batch {
            if let crate::pipeline::Item::Judged(judged) = item {
                let record = &judged.record;
                // A huge record's events were released after judging: each is
                // parsed again for a moment, not kept.
                let owned: Vec<Option<String>>;
                let types: Vec<Option<&str>> =
                    if record.events.len() > crate::judge::KEEP_PARSED_UP_TO {
                        owned = record
                            .events
                            .iter()
                            .map(|e| e.with_parsed(|e| e.event_type().map(str::to_owned)))
                            .collect();
                        owned.iter().map(Option::as_deref).collect()
                    } else {
                        record.events.iter().map(|e| e.event_type()).collect()
                    };
                self.0.events(record.path_label(), &types);
                self.0.judged.inc_by(types.len() as u64);
                self.0.findings(judged.all_findings());
            }
        }
    }
}

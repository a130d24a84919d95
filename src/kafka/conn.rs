//! A connection to a topic: its partitions' clients, made on demand, with
//! every request bounded in time (a stopped broker must not hang us).

use std::time::Duration;

use rskafka::client::partition::{OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::RecordAndOffset;
use rskafka::BackoffConfig;

use super::KafkaUrl;

/// Longest any one request to the broker may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Partitions of a topic `--publish` creates (one device's records stay on one).
const NEW_TOPIC_PARTITIONS: i32 = 3;

pub struct Topic {
    pub partitions: Vec<PartitionClient>,
}

/// Why the broker could not be used, in words for stderr and the screen.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

pub(crate) fn unreachable(what: &str, e: impl std::fmt::Display) -> Unreachable {
    let text = e.to_string();
    // rskafka's messages carry the whole request; the first clause is the news.
    let short = text.split(", request:").next().unwrap_or(&text);
    Unreachable(format!("{what}: {short}"))
}

/// Whether the broker answers, and why not: for stderr, the screen, /metrics.
#[derive(Debug)]
pub struct Health {
    up: std::sync::atomic::AtomicBool,
    last_error: std::sync::Mutex<Option<String>>,
}

impl Health {
    /// `up` until a first failure says otherwise, or down until a first success.
    pub fn new(up: bool) -> Self {
        Health {
            up: std::sync::atomic::AtomicBool::new(up),
            last_error: std::sync::Mutex::new(None),
        }
    }

    pub fn ok(&self) {
        self.up.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn failed(&self, e: &Unreachable) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.0.clone());
        self.up.store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Why the broker cannot be used now, if it cannot.
    pub fn down(&self) -> Option<String> {
        if self.up.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let error = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        Some(error.clone().unwrap_or_else(|| "connecting".into()))
    }
}

/// Runs `work` on a current-thread runtime of its own, on a thread of its
/// own: a Kafka client's tasks never compete with the tap's.
pub fn own_thread<F>(name: &str, work: F) -> std::io::Result<std::thread::JoinHandle<F::Output>>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + Default + 'static,
{
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(work),
                Err(e) => {
                    tracing::error!("{e}");
                    F::Output::default()
                }
            }
        })
}

pub async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Unreachable> {
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(unreachable(what, e)),
        Err(_) => Err(Unreachable(format!(
            "{what}: no answer in {} s",
            REQUEST_TIMEOUT.as_secs()
        ))),
    }
}

async fn client(url: &KafkaUrl) -> Result<Client, Unreachable> {
    let backoff = BackoffConfig {
        init_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        base: 2.0,
        deadline: Some(Duration::from_secs(5)),
    };
    let build = ClientBuilder::new(url.brokers.clone())
        .client_id("amptap")
        .backoff_config(backoff)
        .build();
    bounded(&format!("cannot reach {}", url.brokers.join(",")), build).await
}

impl Topic {
    /// Connects; `create` makes a missing topic (publishing), else a
    /// missing topic is an error (reading).
    pub async fn open(url: &KafkaUrl, create: bool) -> Result<Topic, Unreachable> {
        let client = client(url).await?;
        let mut count = partitions(&client, &url.topic).await?;
        if count == 0 && create {
            let controller = client
                .controller_client()
                .map_err(|e| unreachable("no controller", e))?;
            let made = controller.create_topic(&url.topic, NEW_TOPIC_PARTITIONS, 1, 5_000);
            if let Err(e) = bounded(&format!("cannot create topic {}", url.topic), made).await {
                // Another tap may have made it first.
                tracing::debug!("{e}");
            }
            count = partitions(&client, &url.topic).await?;
        }
        if count == 0 {
            return Err(Unreachable(format!("{url}: no such topic")));
        }
        let mut clients = Vec::with_capacity(count);
        for p in 0..count {
            let made = client.partition_client(
                url.topic.clone(),
                i32::try_from(p).unwrap_or(i32::MAX),
                UnknownTopicHandling::Retry,
            );
            clients.push(bounded(&format!("partition {p}"), made).await?);
        }
        Ok(Topic {
            partitions: clients,
        })
    }

    /// The next offset to be written in `partition` (or one before it: some
    /// brokers answer the last offset written; reading from a little early
    /// is harmless).
    pub async fn end(&self, partition: usize) -> Result<i64, Unreachable> {
        let client = &self.partitions[partition];
        bounded("latest offset", client.get_offset(OffsetAt::Latest)).await
    }

    pub async fn start(&self, partition: usize) -> Result<i64, Unreachable> {
        let client = &self.partitions[partition];
        bounded("earliest offset", client.get_offset(OffsetAt::Earliest)).await
    }

    /// The offset the next record written to `partition` will get (asked
    /// with a fetch: brokers differ in what a latest-offset query answers).
    pub async fn high_watermark(&self, partition: usize, start: i64) -> Result<i64, Unreachable> {
        Ok(self.fetch(partition, start, 1, 0).await?.1)
    }

    /// Records from `offset` on (up to about `max_bytes`), and the high watermark.
    pub async fn fetch(
        &self,
        partition: usize,
        offset: i64,
        max_bytes: i32,
        max_wait_ms: i32,
    ) -> Result<(Vec<RecordAndOffset>, i64), Unreachable> {
        let client = &self.partitions[partition];
        bounded(
            "fetch",
            client.fetch_records(offset, 1..max_bytes, max_wait_ms),
        )
        .await
    }
}

async fn partitions(client: &Client, topic: &str) -> Result<usize, Unreachable> {
    let topics = bounded("list topics", client.list_topics()).await?;
    Ok(topics
        .iter()
        .find(|t| t.name == topic)
        .map_or(0, |t| t.partitions.len()))
}

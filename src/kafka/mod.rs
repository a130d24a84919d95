//! Taps and inspectors joined through Kafka: `--publish kafka://…` sends
//! every journal line to a topic, and `kafka://…` inputs read one back.
//! The client is rskafka (pure Rust, tokio, maintained by InfluxData; see
//! the README for why).

mod address;
mod conn;
pub mod consume;
mod journal_lines;
pub mod key;
pub mod position;
pub mod publish;

pub use address::{is_kafka, AddressError, KafkaUrl, StartAt};
pub use conn::Unreachable;
pub use publish::{PublishStats, Publisher};

//! `kafka://HOST:PORT[,HOST:PORT…]/TOPIC[?from=earliest|latest|<RFC 3339>]`:
//! where records are published and read from.

use std::fmt;
use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Kafka's own port, when an address names none.
const DEFAULT_PORT: u16 = 9092;

/// Where in a topic reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest record the broker still keeps.
    Earliest,
    /// Only what is published from now on.
    Latest,
    /// Records the tap received at or after this time.
    Time(OffsetDateTime),
}

/// A topic on a Kafka cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaUrl {
    pub brokers: Vec<String>,
    pub topic: String,
    /// `None` when the address does not say: each command has its default.
    pub from: Option<StartAt>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("{0}: a Kafka address starts with kafka://")]
    Scheme(String),
    #[error("{0}: name the broker, as kafka://HOST:PORT/TOPIC")]
    NoBroker(String),
    #[error("{0}: name the topic, as kafka://HOST:PORT/TOPIC")]
    NoTopic(String),
    #[error("{url}: {why}")]
    Bad { url: String, why: String },
}

/// Whether a command-line input names a Kafka topic rather than a file.
pub fn is_kafka(input: &std::ffi::OsStr) -> bool {
    input.to_str().is_some_and(|s| s.starts_with("kafka://"))
}

impl FromStr for KafkaUrl {
    type Err = AddressError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let rest = url
            .strip_prefix("kafka://")
            .ok_or_else(|| AddressError::Scheme(url.to_owned()))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hosts, topic) = rest.split_once('/').unwrap_or((rest, ""));
        let brokers = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| broker(url, h))
            .collect::<Result<Vec<_>, _>>()?;
        if brokers.is_empty() {
            return Err(AddressError::NoBroker(url.to_owned()));
        }
        let topic = topic.trim_end_matches('/');
        if topic.is_empty() {
            return Err(AddressError::NoTopic(url.to_owned()));
        }
        if !topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            || topic.len() > 249
        {
            return Err(bad(url, "a topic name is up to 249 of a-z A-Z 0-9 . _ -"));
        }
        let mut from = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "from" => from = Some(parse_from(url, &value)?),
                other => {
                    return Err(bad(
                        url,
                        &format!("unknown setting {other:?} (known: from)"),
                    ))
                }
            }
        }
        Ok(KafkaUrl {
            brokers,
            topic: topic.to_owned(),
            from,
        })
    }
}

fn bad(url: &str, why: &str) -> AddressError {
    AddressError::Bad {
        url: url.to_owned(),
        why: why.to_owned(),
    }
}

fn broker(url: &str, host: &str) -> Result<String, AddressError> {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() => {
            port.parse::<u16>()
                .map_err(|_| bad(url, &format!("{port:?} is not a port")))?;
            Ok(host.to_owned())
        }
        Some(_) => Err(AddressError::NoBroker(url.to_owned())),
        None => Ok(format!("{host}:{DEFAULT_PORT}")),
    }
}

fn parse_from(url: &str, value: &str) -> Result<StartAt, AddressError> {
    match value {
        "earliest" | "beginning" => Ok(StartAt::Earliest),
        "latest" | "end" => Ok(StartAt::Latest),
        time => OffsetDateTime::parse(time, &Rfc3339).map(StartAt::Time).map_err(|_| {
            bad(
                url,
                &format!("from={time:?}: say earliest, latest or an RFC 3339 time such as 2026-11-25T09:00:00Z"),
            )
        }),
    }
}

impl fmt::Display for KafkaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kafka://{}/{}", self.brokers.join(","), self.topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_brokers_topic_and_where_to_start() {
        let url: KafkaUrl = "kafka://a:1,b/amp.events?from=earliest"
            .parse()
            .expect("url");
        assert_eq!(url.brokers, ["a:1", "b:9092"]);
        assert_eq!(url.topic, "amp.events");
        assert_eq!(url.from, Some(StartAt::Earliest));
        assert_eq!(url.to_string(), "kafka://a:1,b:9092/amp.events");
        let url: KafkaUrl = "kafka://h:9/t?from=2026-11-25T09:00:00Z"
            .parse()
            .expect("url");
        assert!(matches!(url.from, Some(StartAt::Time(_))));
        assert_eq!("kafka://h:9/t".parse::<KafkaUrl>().expect("url").from, None);
    }

    #[test]
    fn says_what_is_wrong() {
        let err = |s: &str| s.parse::<KafkaUrl>().expect_err(s).to_string();
        assert!(err("http://h/t").contains("kafka://"));
        assert!(err("kafka:///t").contains("name the broker"));
        assert!(err("kafka://h:1").contains("name the topic"));
        assert!(err("kafka://h:x/t").contains("not a port"));
        assert!(err("kafka://h/t?from=yesterday").contains("RFC 3339"));
        assert!(err("kafka://h/t?group=x").contains("unknown setting"));
        assert!(err("kafka://h/a b").contains("topic name"));
    }
}

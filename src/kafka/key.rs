//! What a journal line is published under: a key that keeps one device's
//! records in order (they land on one partition), the partition Kafka's own
//! default partitioner would pick for it, and the time the tap received it.

use std::borrow::Cow;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What publishing needs from a line, read without building the events.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Peek {
    /// The first event's device_id, else its user_id; empty for markers
    /// and requests without events (they share one partition, in order).
    pub key: Vec<u8>,
    /// When the tap received it (a marker: when it was written).
    pub time: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    events: Option<Vec<Ids<'a>>>,
    #[serde(borrow, default)]
    received: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Ids<'a> {
    #[serde(borrow, default)]
    device_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_id: Option<Cow<'a, str>>,
}

/// Reads a line's key and time; a line it cannot read gets the empty key.
pub fn peek(line: &[u8]) -> Peek {
    let Ok(parsed) = serde_json::from_slice::<Line<'_>>(line) else {
        // An event whose ids are not strings: still one key for its device.
        return peek_loosely(line);
    };
    let key = parsed
        .events
        .as_deref()
        .and_then(<[Ids<'_>]>::first)
        .and_then(|ids| ids.device_id.as_deref().or(ids.user_id.as_deref()))
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let time = parsed
        .received
        .or(parsed.at)
        .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok());
    Peek { key, time }
}

fn peek_loosely(line: &[u8]) -> Peek {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else {
        return Peek::default();
    };
    let first = value.pointer("/events/0");
    let id = first
        .and_then(|e| e.get("device_id").filter(|v| !v.is_null()))
        .or_else(|| first.and_then(|e| e.get("user_id")))
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    let time = value
        .get("received")
        .and_then(serde_json::Value::as_str)
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
    Peek {
        key: id.unwrap_or_default().into_bytes(),
        time,
    }
}

/// The partition for a key, as Kafka's default partitioner picks it
/// (murmur2, sign bit cleared), so other producers keyed by device agree.
pub fn partition_for(key: &[u8], partitions: usize) -> usize {
    if partitions == 0 {
        return 0;
    }
    (murmur2(key) & 0x7fff_ffff) as usize % partitions
}

/// Kafka's `Utils.murmur2`.
fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kafkas_own_partitioner() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21") as i32, -973_932_308);
        assert_eq!(murmur2(b"foobar") as i32, -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985_981_536);
        assert_eq!(
            murmur2(b"a-little-bit-longer-string") as i32,
            -1_486_304_829
        );
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32,
            -58_897_971
        );
        assert_eq!(partition_for(b"device-1", 1), 0);
        assert!(partition_for(b"device-1", 3) < 3);
    }

    #[test]
    fn keys_by_device_then_user() {
        let line = br#"{"seq":1,"received":"2026-11-25T09:00:00Z","events":[{"device_id":"d1","user_id":"u"},{"device_id":"d2"}]}"#;
        let first = peek(line);
        assert_eq!(first.key, b"d1");
        assert_eq!(first.time.map(|t| t.unix_timestamp()), Some(1_795_597_200));
        assert_eq!(peek(br#"{"events":[{"user_id":"u"}]}"#).key, b"u");
        assert_eq!(peek(br#"{"events":[{"device_id":42}]}"#).key, b"42");
        assert_eq!(
            peek(br#"{"seq":3,"marker":"reset","at":"2026-11-25T09:00:00Z"}"#).key,
            b""
        );
        assert_eq!(peek(b"not json"), Peek::default());
    }
}

//! The load the tap benchmarks send: 100-event batches over 32
//! connections flat out, or a fixed 300 requests/s; latencies kept.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use bytes::Bytes;

/// A helper process (a broker, mitmdump) stopped when dropped.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
use serde_json::json;

pub const CONNECTIONS: usize = 32;
pub const EVENTS_PER_REQUEST: usize = 100;
pub const FIXED_RATE: u64 = 300;

pub struct Stats {
    pub requests: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    pub errors: usize,
}

impl Stats {
    pub fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }

    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn print(&self, name: &str) {
        println!(
            "{name:<34} {:>9.0} req/s {:>10.0} events/s   p50 {:>7.3} ms   p99 {:>7.3} ms   errors {}",
            self.rps(),
            self.rps() * EVENTS_PER_REQUEST as f64,
            self.percentile(0.5),
            self.percentile(0.99),
            self.errors
        );
    }
}

pub fn body() -> Bytes {
    let events: Vec<_> = (0..EVENTS_PER_REQUEST)
        .map(|i| {
            json!({
                "event_type": "dify_user_query",
                "user_id": format!("user-{:05}", i % 50),
                "device_id": format!("device-{:05}", i % 80),
                "insert_id": format!("00000000-0000-4000-8000-{i:012}"),
                "time": 1_795_559_291_068_i64 + i as i64,
                "session_id": 1_795_559_000_000_i64,
                "platform": "Web",
                "event_properties": {"query_text": "How do I reset my password?", "app_id": "app-1234", "latency_ms": 812, "model": "gpt-4o"},
                "library": "amplitude-ts/2.48.1"
            })
        })
        .collect();
    Bytes::from(json!({"api_key": "FAKE_API_KEY_BENCH_0123456789", "events": events}).to_string())
}

pub async fn saturate(url: &str, body: Bytes, secs: f64) -> Stats {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_owned(), body.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = post(&client, &url, body.clone()).await;
                    lat.push(t.elapsed());
                    errors += usize::from(!ok);
                }
                (lat, errors)
            })
        })
        .collect();
    collect(workers, started).await
}

pub async fn fixed_rate(url: &str, body: Bytes, secs: f64) -> Stats {
    let client = reqwest::Client::new();
    let n = (FIXED_RATE as f64 * secs) as usize;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / FIXED_RATE));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        tick.tick().await;
        let (client, url, body) = (client.clone(), url.to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = post(&client, &url, body).await;
            (vec![t.elapsed()], usize::from(!ok))
        }));
    }
    collect(tasks, started).await
}

pub async fn post(client: &reqwest::Client, url: &str, body: Bytes) -> bool {
    match client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

pub async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
    started: Instant,
) -> Stats {
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Stats {
        requests: latencies.len(),
        elapsed,
        latencies,
        errors,
    }
}

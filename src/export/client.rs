//! The Export API client: `GET {host}/api/2/export?start=…&end=…` with HTTP
//! Basic auth, streamed to a file, with retries on 429 and 5xx and clear
//! errors for everything else.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::window::Window;
use super::ExportError;
use crate::event::Region;

/// The project's API key and secret key. Never taken from argv; never printed.
#[derive(Clone)]
pub struct Credentials {
    pub api_key: String,
    secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials({}, secret ****)",
            crate::tap::mask_api_key(&self.api_key)
        )
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    amplitude: Option<AmplitudeSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmplitudeSection {
    api_key: Option<String>,
    secret_key: Option<String>,
}

impl Credentials {
    pub fn new(api_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            api_key: api_key.into(),
            secret_key: secret_key.into(),
        }
    }

    /// `AMPLITUDE_API_KEY` / `AMPLITUDE_SECRET_KEY`, else `[amplitude]` in `config`.
    pub fn load(config: &Path) -> Result<Credentials, ExportError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let (mut api, mut secret) = (env("AMPLITUDE_API_KEY"), env("AMPLITUDE_SECRET_KEY"));
        if api.is_none() || secret.is_none() {
            if let Ok(text) = std::fs::read_to_string(config) {
                let parsed: ConfigFile = toml::from_str(&text).map_err(|e| {
                    ExportError::Config(format!("{}: {}", config.display(), e.message()))
                })?;
                if let Some(section) = parsed.amplitude {
                    api = api.or(section.api_key);
                    secret = secret.or(section.secret_key);
                }
            }
        }
        match (api, secret) {
            (Some(api), Some(secret)) => Ok(Credentials::new(api, secret)),
            _ => Err(ExportError::NoCredentials {
                config: config.display().to_string(),
            }),
        }
    }
}

/// Where the client is in a download, for a progress bar or gauge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub bytes: u64,
    pub total: Option<u64>,
    pub attempt: u32,
    /// `requesting`, `downloading`, `retrying in 4 s (429)`, `done`, `no data`.
    pub state: String,
}

/// What a download produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Downloaded {
    Archive {
        path: PathBuf,
        bytes: u64,
    },
    /// HTTP 404: Amplitude has no data for the range (yet).
    NoData,
}

#[derive(Debug, Clone)]
pub struct ExportClient {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    pub attempts: u32,
    pub first_backoff: Duration,
    read_timeout: Duration,
}

impl ExportClient {
    /// `endpoint` replaces the region's host (`URL/api/2/export`).
    pub fn new(
        region: Region,
        endpoint: Option<&str>,
        credentials: Credentials,
        read_timeout: Duration,
    ) -> Result<Self, ExportError> {
        let base = match endpoint {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => match region {
                Region::Us => "https://amplitude.com".to_owned(),
                Region::Eu => "https://analytics.eu.amplitude.com".to_owned(),
            },
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(read_timeout)
            .build()
            .map_err(|e| ExportError::Config(format!("HTTP client: {e}")))?;
        Ok(ExportClient {
            http,
            base,
            credentials,
            attempts: 5,
            first_backoff: Duration::from_secs(2),
            read_timeout,
        })
    }

    pub fn url(&self, window: &Window) -> String {
        format!(
            "{}/api/2/export?start={}&end={}",
            self.base, window.start, window.end
        )
    }

    /// Downloads `window` into `dest`, reporting on `progress`.
    pub async fn download(
        &self,
        window: &Window,
        dest: &Path,
        progress: &watch::Sender<Progress>,
    ) -> Result<Downloaded, ExportError> {
        let url = self.url(window);
        let mut backoff = self.first_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            progress.send_replace(Progress {
                attempt,
                state: "requesting".into(),
                ..Progress::default()
            });
            let response = self
                .http
                .get(&url)
                .basic_auth(
                    &self.credentials.api_key,
                    Some(&self.credentials.secret_key),
                )
                .send()
                .await
                .map_err(|e| self.transport_error(&url, &e))?;
            let status = response.status().as_u16();
            match status {
                200 => return self.stream(response, dest, attempt, progress).await,
                404 => {
                    progress.send_replace(Progress {
                        attempt,
                        state: "no data".into(),
                        ..Progress::default()
                    });
                    return Ok(Downloaded::NoData);
                }
                401 | 403 => return Err(ExportError::Unauthorized { status }),
                400 => {
                    let half = window.first_half();
                    return Err(ExportError::TooLarge {
                        window: window.to_string(),
                        first_half_start: half.start.to_string(),
                        first_half_end: half.end.to_string(),
                    });
                }
                429 | 500 | 502 | 503 | 504 => {
                    let wait = retry_after(&response).unwrap_or(backoff);
                    let body = response.text().await.unwrap_or_default();
                    if attempt >= self.attempts {
                        if status == 504 {
                            return Err(ExportError::GatewayTimeout {
                                window: window.to_string(),
                            });
                        }
                        return Err(ExportError::GaveUp {
                            status,
                            attempts: attempt,
                            body: body.chars().take(200).collect(),
                        });
                    }
                    progress.send_replace(Progress {
                        attempt,
                        state: format!("retrying in {} s ({status})", wait.as_secs_f32().ceil()),
                        ..Progress::default()
                    });
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
                _ => {
                    let body = response.text().await.unwrap_or_default();
                    return Err(ExportError::Unexpected {
                        status,
                        body: body.chars().take(200).collect(),
                    });
                }
            }
        }
    }

    async fn stream(
        &self,
        mut response: reqwest::Response,
        dest: &Path,
        attempt: u32,
        progress: &watch::Sender<Progress>,
    ) -> Result<Downloaded, ExportError> {
        let total = response.content_length();
        let mut file = tokio::fs::File::create(dest).await?;
        let mut bytes = 0u64;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    file.write_all(&chunk).await?;
                    bytes += chunk.len() as u64;
                    progress.send_replace(Progress {
                        bytes,
                        total,
                        attempt,
                        state: "downloading".into(),
                    });
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return Err(ExportError::Timeout {
                        seconds: self.read_timeout.as_secs(),
                    })
                }
                Err(_) => {
                    return Err(ExportError::CutOff {
                        got: bytes,
                        expected: total.unwrap_or(0),
                    })
                }
            }
        }
        file.flush().await?;
        if let Some(total) = total.filter(|&t| t != bytes) {
            return Err(ExportError::CutOff {
                got: bytes,
                expected: total,
            });
        }
        progress.send_replace(Progress {
            bytes,
            total,
            attempt,
            state: "done".into(),
        });
        Ok(Downloaded::Archive {
            path: dest.to_owned(),
            bytes,
        })
    }

    fn transport_error(&self, url: &str, e: &reqwest::Error) -> ExportError {
        if e.is_timeout() {
            ExportError::Timeout {
                seconds: self.read_timeout.as_secs(),
            }
        } else {
            let mut reason = e.to_string();
            if let Some(cause) = std::error::Error::source(e) {
                reason = format!("{reason}: {cause}");
            }
            ExportError::Unreachable {
                url: crate::record::redact_url(url).into_owned(),
                reason: crate::record::redact_urls(&reason).into_owned(),
            }
        }
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(300)))
}

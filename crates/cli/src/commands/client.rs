//! The marketplace's HTTP API as the command line uses it (`submit`, `review`, `publish`):
//! `Authorization: Bearer <API token>` on every request, the API's `{"error": {"code",
//! "message"}}` turned into a message naming the request, and the submission's event stream
//! read as server-sent events.

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use futures_util::StreamExt;
use serde_json::Value;

#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// The marketplace: http(s)://HOST:PORT.
    #[arg(long, value_name = "URL", env = "EDGECERT_SERVER")]
    pub server: String,
    /// API token (default: the EDGECERT_TOKEN variable).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EDGECERT_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// A signed-in client of one marketplace.
#[derive(Debug, Clone)]
pub struct Client {
    pub server: String,
    token: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(args: &ServerArgs) -> anyhow::Result<Client> {
        let server = args.server.trim_end_matches('/').to_owned();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            bail!("--server {server:?}: expected http://HOST:PORT or https://HOST:PORT");
        }
        let token = args
            .token
            .clone()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| anyhow!("no API token: set EDGECERT_TOKEN or give --token"))?;
        // rustls with ring, as everywhere in edgecert.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("edgecert/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("setting up the HTTP client")?;
        Ok(Client {
            server,
            token: token.trim().to_owned(),
            http,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    /// `host:port` of the server, for registry references.
    pub fn host(&self) -> &str {
        self.server
            .trim_start_matches("https://")
            .trim_start_matches("http://")
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// Sends `req` and returns the JSON answer, or an error with the API's message.
    pub async fn json(&self, what: &str, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let text = self.text(what, req).await?;
        serde_json::from_str(&text).with_context(|| format!("{what}: the answer is not JSON"))
    }

    /// Sends `req` and returns the body, or an error with the API's message.
    pub async fn text(&self, what: &str, req: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let response = req
            .send()
            .await
            .map_err(|e| anyhow!("{what}: {}: {}", self.server, error_chain(&e)))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .with_context(|| format!("{what}: reading the answer"))?;
        if status.is_success() {
            return Ok(body);
        }
        Err(api_error(what, status, &body))
    }

    /// Follows the submission's events until it reaches a final state or `each`, called with
    /// `(kind, data)` for every event, returns `false`. Reconnects (resuming after the last
    /// event seen) when the connection drops.
    pub async fn follow(
        &self,
        id: &str,
        mut each: impl FnMut(&str, &str) -> bool,
    ) -> anyhow::Result<()> {
        let mut last: Option<String> = None;
        let mut failures = 0;
        loop {
            let mut req = self
                .request(
                    reqwest::Method::GET,
                    &format!("/api/v1/submissions/{id}/events"),
                )
                .header("Accept", "text/event-stream");
            if let Some(l) = &last {
                req = req.header("Last-Event-ID", l);
            }
            let response = match req.send().await {
                Ok(r) if r.status().is_success() => r,
                Ok(r) => {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    return Err(api_error(
                        &format!("following submission {id}"),
                        status,
                        &body,
                    ));
                }
                Err(e) => {
                    failures += 1;
                    if failures > 5 {
                        bail!("following submission {id}: {}", error_chain(&e));
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut stream = response.bytes_stream();
            let mut buffer = String::new();
            let (mut kind, mut data, mut event_id) = (String::new(), String::new(), None);
            let mut dropped = false;
            while let Some(chunk) = stream.next().await {
                let Ok(chunk) = chunk else {
                    dropped = true;
                    break;
                };
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find('\n') {
                    let line: String = buffer.drain(..=end).collect();
                    let line = line.trim_end_matches(['\r', '\n']);
                    if line.is_empty() {
                        if !data.is_empty() || !kind.is_empty() {
                            let more = each(if kind.is_empty() { "message" } else { &kind }, &data);
                            if let Some(i) = event_id.take() {
                                last = Some(i);
                            }
                            if !more {
                                return Ok(());
                            }
                        }
                        kind.clear();
                        data.clear();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim_start().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event_id = Some(v.trim().to_owned());
                    }
                }
            }
            if !dropped {
                // The server ends the stream at a final state.
                return Ok(());
            }
            failures += 1;
            if failures > 5 {
                bail!("following submission {id}: the connection keeps dropping");
            }
        }
    }
}

/// The API's `{"error": {"code", "message"}}` (or the start of the body) as an error.
fn api_error(what: &str, status: reqwest::StatusCode, body: &str) -> anyhow::Error {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let e = &v["error"];
            Some(format!(
                "{} ({})",
                e["message"].as_str()?,
                e["code"].as_str()?
            ))
        })
        .unwrap_or_else(|| body.chars().take(300).collect());
    anyhow!("{what}: {status}: {message}")
}

/// An error with its causes, `: `-joined (reqwest hides the useful part in its sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s = s.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = source.and_then(|s| s.source());
    }
    text
}

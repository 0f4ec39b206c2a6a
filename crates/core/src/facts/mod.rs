//! What reading an image established: the facts checks judge. Plain data, no behaviour beyond
//! lookups; produced by `image::scan`, consumed by `checks`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
pub use crate::location::Location;
use crate::platform::Platform;
use merged::{MergedFs, NodeKind};

pub mod file;
pub mod layer;
pub mod merged;

use file::{FileFact, Manager};

/// Who installed a file: package manager and package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub manager: Manager,
    pub package: &'a str,
}

/// Something wrong with the image itself: an EC101 finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub message: String,
    /// `index.json`, `manifest sha256:…`, `layer sha256:…: path/in/layer`.
    pub location: Location,
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Default)]
pub struct ConfigFacts {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub history: Vec<String>,
    pub diff_ids: Vec<String>,
    /// The config blob exactly as read (its digest is the manifest's config digest).
    pub raw: Vec<u8>,
}

impl ConfigFacts {
    pub fn platform(&self) -> Platform {
        Platform::new(&self.os, &self.architecture, self.variant.as_deref())
    }

    /// The value of `name` in the config's `Env`.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }
}

#[derive(Debug, Clone)]
pub struct LayerSummary {
    pub digest: Digest,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct PlatformFacts {
    /// The platform this manifest serves: the index's, or the config's for a lone manifest.
    pub platform: Platform,
    pub index_platform: Option<Platform>,
    pub manifest_digest: Digest,
    pub config: Option<ConfigFacts>,
    pub layers: Vec<LayerSummary>,
    pub fs: MergedFs,
    /// Every layer was read to the end and verified.
    pub complete: bool,
}

impl PlatformFacts {
    /// The files a platform's package databases say their packages own (paths relative, as the
    /// merged filesystem keys them), from the databases its merged filesystem holds.
    pub fn package_owners(&self) -> HashMap<&str, Owner<'_>> {
        let mut owners = HashMap::new();
        for (_, node) in self.fs.iter().filter(|(_, n)| n.kind == NodeKind::File) {
            for f in &node.facts {
                if let FileFact::Owned(pkg) = f {
                    for path in &pkg.paths {
                        owners.entry(path.as_str()).or_insert(Owner {
                            manager: pkg.manager,
                            package: pkg.package.as_str(),
                        });
                    }
                }
            }
        }
        owners
    }

    pub fn compressed_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.compressed_bytes).sum()
    }
    pub fn uncompressed_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.uncompressed_bytes).sum()
    }
}

/// One regular file of one layer with what analyzers found in it.
#[derive(Debug, Clone)]
pub struct LayerFile {
    pub path: String,
    pub facts: Vec<FileFact>,
}

#[derive(Debug, Clone, Default)]
pub struct ImageFacts {
    pub source: String,
    /// Digest of the top manifest or index as read.
    pub top_digest: Option<Digest>,
    pub platforms: Vec<PlatformFacts>,
    pub problems: Vec<Problem>,
    /// Tag -> digest in the source, for the versioning checks.
    pub tags: TagMap,
    /// The malware engines that looked at every file (for the report and EC807).
    pub engines: Vec<MalwareEngine>,
    /// Every layer read, once, by digest (shared layers appear once).
    pub layers: BTreeMap<Digest, Arc<layer::LayerFacts>>,
}

impl ImageFacts {
    pub fn platform(&self, p: &Platform) -> Option<&PlatformFacts> {
        self.platforms.iter().find(|f| &f.platform == p)
    }
}

/// What the ingestion test (a real Moby engine, `edgecert-runtime`) observed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeFacts {
    /// Engine name and version (`Moby 20.10.24`), when one answered.
    pub engine: Option<String>,
    /// Why no platform could run at all (no engine reachable, …) — with how to get one.
    pub unavailable: Option<String>,
    pub platforms: Vec<PlatformRun>,
    /// `parallel` or `sequential`.
    pub mode: String,
    pub duration_ms: u64,
}

/// One platform's run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformRun {
    pub platform: Platform,
    /// This platform could not be run (image load failed, no qemu handler, …): checks `error`.
    pub error: Option<String>,
    /// The container was created with the defaults; `create_error` says why not.
    pub created: bool,
    pub create_error: Option<String>,
    /// It reached `running`.
    pub started: bool,
    /// State transitions observed, first to last (`created`, `running`, `exited` …).
    pub states: Vec<String>,
    /// Still running at the end of the observation window.
    pub running_at_end: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub restart_count: i64,
    pub memory_limit_bytes: u64,
    pub peak_memory_bytes: Option<u64>,
    /// The last log lines (at most 50).
    pub log_tail: Vec<String>,
    /// After SIGTERM: stopped on its own within the grace period (`None` if not asked).
    pub stopped_on_sigterm: Option<bool>,
    pub stop_ms: Option<u64>,
    pub window_secs: u64,
    /// What the module did with the runtime's stand-ins (workload API, edgeHub); `None` when
    /// they were not set up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub: Option<HubFacts>,
}

/// What a module asked of the workload API stand-in and did on the edgeHub stand-in.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HubFacts {
    /// Why the edgeHub stand-in was not reachable for this module (createOptions networking,
    /// the port could not be had, …); the workload API may still have answered.
    pub unavailable: Option<String>,
    /// Parts of edgeHub the stand-in could not serve in this run, with why (MQTT and AMQP over
    /// WebSockets when port 443 could not be had).
    pub not_served: Vec<String>,
    /// Workload API calls: `GET /trust-bundle → 200`.
    pub workload_calls: Vec<String>,
    /// Milliseconds from the stand-in's start to the first accepted connection (an MQTT
    /// CONNECT, an AMQP put-token).
    pub connected_after_ms: Option<u64>,
    /// The protocol of that connection: `MQTT` or `AMQP`.
    pub protocol: Option<String>,
    /// The SDK's user agent with its product info (`DeviceClientType`, decoded).
    pub client_type: Option<String>,
    pub model_id: Option<String>,
    /// Refused connections, with why (bad SAS token, wrong client id, an AMQP link attached
    /// without a valid put-token).
    pub refused: Vec<String>,
    /// TLS handshakes that failed (the module does not trust the trust bundle).
    pub tls_failures: Vec<String>,
    pub twin_reads: u32,
    /// Desired-property patches the stand-in sent (after the twin read, to a module that
    /// listens for them).
    pub desired_patches: u32,
    pub reported_patches: usize,
    /// Messages per output (`""`: without an output name).
    pub outputs: BTreeMap<String, u64>,
    /// The first messages per output as sent (properties from the topic's property bag, the
    /// body cut at 4 KiB): what EC405 evaluates the default routes on.
    pub messages: Vec<SentMessage>,
    pub protocol_errors: Vec<String>,
}

/// One message a module sent to edgeHub, as a route sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    /// The output it was sent on (`""`: none).
    pub output: String,
    /// Application properties.
    pub properties: BTreeMap<String, String>,
    /// System properties by their route names (`contentType`, `contentEncoding`, …).
    pub system_properties: BTreeMap<String, String>,
    /// The body, lossy UTF-8.
    pub body: String,
}

impl HubFacts {
    /// Whether the module touched the stand-ins at all.
    pub fn touched(&self) -> bool {
        !self.workload_calls.is_empty()
            || self.connected_after_ms.is_some()
            || !self.refused.is_empty()
            || !self.tls_failures.is_empty()
            || !self.protocol_errors.is_empty()
    }

    /// One sentence for the report: `connected over MQTT in 1.4 s as …, read its twin, sent 12
    /// messages on output1`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let protocol = self.protocol.as_deref().unwrap_or("MQTT");
        match (self.connected_after_ms, &self.client_type) {
            (Some(ms), Some(ua)) => parts.push(format!(
                "connected to edgeHub over {protocol} after {:.1} s as `{ua}`",
                ms as f64 / 1000.0
            )),
            (Some(ms), None) => parts.push(format!(
                "connected to edgeHub over {protocol} after {:.1} s",
                ms as f64 / 1000.0
            )),
            (None, _) => {
                if let Some(why) = &self.unavailable {
                    parts.push(format!("no edgeHub stand-in ({why})"));
                } else if self.not_served.is_empty() {
                    parts.push("never connected to edgeHub".to_owned());
                } else {
                    parts.push(format!(
                        "never connected to edgeHub (not served in this run: {})",
                        self.not_served.join("; ")
                    ));
                }
            }
        }
        if let Some(r) = self.refused.first() {
            parts.push(format!("refused: {r}"));
        }
        if let Some(t) = self.tls_failures.first() {
            parts.push(format!("TLS failed: {t}"));
        }
        if self.twin_reads > 0 {
            parts.push("read its twin".to_owned());
        }
        if self.desired_patches > 0 {
            parts.push(format!(
                "got {} desired-property patch(es)",
                self.desired_patches
            ));
        }
        if self.reported_patches > 0 {
            parts.push(format!(
                "reported properties {} time(s)",
                self.reported_patches
            ));
        }
        for (output, n) in &self.outputs {
            if output.is_empty() {
                parts.push(format!("sent {n} message(s) without an output name"));
            } else {
                parts.push(format!("sent {n} message(s) on `{output}`"));
            }
        }
        if let Some(e) = self.protocol_errors.first() {
            parts.push(format!("protocol error: {e}"));
        }
        if !self.workload_calls.is_empty() {
            parts.push(format!("workload API: {}", self.workload_calls.join(", ")));
        }
        parts.join("; ")
    }
}

impl RuntimeFacts {
    pub fn platform(&self, p: &Platform) -> Option<&PlatformRun> {
        self.platforms.iter().find(|r| &r.platform == p)
    }
}

/// Tag resolution of the source, for the versioning checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TagMap {
    /// The source can say which digest each tag names (`None` = tag absent from the source).
    Known(BTreeMap<String, Option<Digest>>),
    /// The transport has no notion of several tags (a single-image archive).
    #[default]
    Unknown,
}

// A malware engine that scanned the image (`engines` in the report); named `Engine` in the
// report's JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Engine")]
pub struct MalwareEngine {
    pub name: String,
    pub version: String,
    pub rules: String,
}

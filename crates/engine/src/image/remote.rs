//! `docker://HOST/REPO:TAG` and `docker://HOST/REPO@sha256:…`: a registry, through the
//! maintained OCI Distribution client `oci-client` (token auth, redirects, retries are its job).
//!
//! The engine is synchronous and parallel (rayon); this store owns a small tokio runtime and
//! bridges: manifests are fetched with `block_on`, blobs are streamed through `SyncIoBridge`, so
//! a layer is never held whole in memory. Credentials come from docker's `config.json`
//! (`$DOCKER_CONFIG` or `~/.docker`), `auths.<host>.auth` (base64 `user:pass`) or
//! `username`/`password`; credential helpers are not supported (the error says so).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use futures_util::StreamExt as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::DigestError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use tokio::runtime::Runtime;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::registry_error::{Meaning, describe, meaning};
use super::store::{MAX_MANIFEST_BYTES, Root, Store, StoreError, TagMap};
use crate::cancel::Cancel;
use crate::digest::Digest;

/// Every manifest media type we can read; the registry picks.
const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

pub struct Remote {
    runtime: Runtime,
    cancel: Cancel,
    client: Client,
    reference: Reference,
    auth: RegistryAuth,
    tls_verify: bool,
}

#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// `false`: plain http (and self-signed certificates accepted), for loopback registries.
    pub tls_verify: bool,
    /// Every request races it: Ctrl-C ends a wait on a registry that does not answer.
    pub cancel: Cancel,
}

impl RemoteOptions {
    pub fn new(tls_verify: bool) -> RemoteOptions {
        RemoteOptions {
            tls_verify,
            cancel: Cancel::default(),
        }
    }

    pub fn with_cancel(mut self, cancel: Cancel) -> RemoteOptions {
        self.cancel = cancel;
        self
    }
}

/// How long a registry may take to accept a connection, and to send the next bytes of an
/// answer, before the request fails naming the timeout (`EDGECERT_REGISTRY_TIMEOUT`, in
/// seconds, sets both; a registry that accepts and never answers must not hang a run).
fn timeouts() -> (Duration, Duration) {
    match std::env::var("EDGECERT_REGISTRY_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
    {
        Some(s) => (Duration::from_secs(s), Duration::from_secs(s)),
        None => (Duration::from_secs(30), Duration::from_secs(120)),
    }
}

impl Remote {
    pub fn open(reference: &str, options: RemoteOptions) -> Result<Self, StoreError> {
        // rustls needs a process-wide crypto provider; ring is the one we build (no C++/cmake).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let reference: Reference = reference.parse().map_err(|e| {
            StoreError::Source(format!("invalid image reference docker://{reference}: {e}"))
        })?;
        check_host(reference.resolve_registry())?;
        let (connect_timeout, read_timeout) = timeouts();
        let config = ClientConfig {
            protocol: if options.tls_verify {
                ClientProtocol::Https
            } else {
                ClientProtocol::Http
            },
            accept_invalid_certificates: !options.tls_verify,
            connect_timeout: Some(connect_timeout),
            read_timeout: Some(read_timeout),
            ..Default::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| StoreError::Source(format!("cannot start the network runtime: {e}")))?;
        let auth = docker_config_auth(reference.resolve_registry())?;
        let client = runtime.block_on(async { Client::new(config) });
        Ok(Remote {
            runtime,
            cancel: options.cancel,
            client,
            reference,
            auth,
            tls_verify: options.tls_verify,
        })
    }

    /// Runs `request` to its end, or until the run is cancelled.
    fn wait<F: std::future::Future>(&self, request: F) -> Result<F::Output, StoreError> {
        let cancel = self.cancel.clone();
        self.runtime.block_on(async move {
            tokio::select! {
                out = request => Ok(out),
                () = cancel.cancelled() => Err(StoreError::Source(
                    cancel.check().err().unwrap_or_default(),
                )),
            }
        })
    }

    fn fetch(&self, reference: &Reference) -> Result<Vec<u8>, StoreError> {
        let (bytes, _) = self
            .wait(self.client.pull_manifest_raw(reference, &self.auth, ACCEPT))?
            .map_err(|e| classify(reference, "manifest", e, self.tls_verify))?;
        Ok(bytes.to_vec())
    }

    fn at_digest(&self, digest: &Digest) -> Reference {
        self.reference.clone_with_digest(digest.to_string())
    }
}

/// A missing manifest/blob is the image's problem; anything else (auth, network, a 5xx) is ours.
/// Decided by `registry_error::meaning` from the error variant, never from its text.
fn classify(
    reference: &Reference,
    what: &'static str,
    e: oci_client::errors::OciDistributionError,
    tls_verify: bool,
) -> StoreError {
    if meaning(&e) == Meaning::NotThere
        && let Some(d) = reference.digest()
    {
        return StoreError::Missing {
            what,
            digest: d.to_owned(),
        };
    }
    StoreError::Source(describe(
        reference.resolve_registry(),
        &format!("{what} of {reference}"),
        &e,
        tls_verify,
    ))
}

/// `oci-client` checks a blob's digest at the end of the stream and fails the stream when it
/// does not match. The layer pass checks digest and size itself and makes a mismatch an EC101
/// finding, so that error ends the stream instead: every other stream error is transport.
fn is_digest_mismatch<T>(item: &std::io::Result<T>) -> bool {
    item.as_ref().err().is_some_and(|e| {
        e.get_ref()
            .is_some_and(|inner| inner.downcast_ref::<DigestError>().is_some())
    })
}

impl Store for Remote {
    fn root(&self) -> Result<Root, StoreError> {
        let bytes = self.fetch(&self.reference)?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(StoreError::TooLarge {
                what: "manifest",
                digest: self.reference.whole(),
                max: MAX_MANIFEST_BYTES,
            });
        }
        // A by-digest reference names what the bytes must hash to.
        let expected_digest = self.reference.digest().and_then(|d| d.parse().ok());
        Ok(Root {
            bytes,
            media_type: None,
            expected_digest,
            expected_size: None,
        })
    }

    fn manifest(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError> {
        let bytes = self.fetch(&self.at_digest(digest))?;
        if bytes.len() as u64 > max {
            return Err(StoreError::TooLarge {
                what: "manifest",
                digest: digest.to_string(),
                max,
            });
        }
        Ok(bytes)
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, StoreError> {
        let reference = self.at_digest(digest);
        let sized = self
            .wait(
                self.client
                    .pull_blob_stream(&self.reference, digest.as_str()),
            )?
            .map_err(|e| classify(&reference, "blob", e, self.tls_verify))?;
        let stream = sized
            .stream
            .take_while(|item| std::future::ready(!is_digest_mismatch(item)))
            // Ctrl-C ends a read waiting on a stalled registry at once (the layer then ends
            // early, and the run is reported interrupted, not judged).
            .take_until(Box::pin({
                let cancel = self.cancel.clone();
                async move { cancel.cancelled().await }
            }));
        let reader = StreamReader::new(stream);
        Ok(Box::new(SyncIoBridge::new_with_handle(
            reader,
            self.runtime.handle().clone(),
        )))
    }

    /// Only a 404 (or `MANIFEST_UNKNOWN`/`NAME_UNKNOWN`) means a tag is absent. Any other
    /// failure (401, 5xx, timeout, DNS, connection refused) is an `Err`: the caller cannot
    /// know the tag's digest, and reading it as "absent" would let EC603 pass unjudged.
    fn tags(&self, tags: &[String]) -> Result<TagMap, StoreError> {
        let mut map = BTreeMap::new();
        for tag in tags {
            let reference = Reference::with_tag(
                self.reference.registry().to_owned(),
                self.reference.repository().to_owned(),
                tag.clone(),
            );
            let found = self.wait(self.client.fetch_manifest_digest(&reference, &self.auth))?;
            let digest = match found {
                Ok(d) => Some(d.parse().map_err(|e| {
                    StoreError::Source(format!(
                        "registry {}: tag {tag}: the registry answered an invalid digest {d:?}: {e}",
                        reference.resolve_registry()
                    ))
                })?),
                Err(e) if meaning(&e) == Meaning::NotThere => None,
                Err(e) => {
                    return Err(StoreError::Source(describe(
                        reference.resolve_registry(),
                        &format!("tag {reference}"),
                        &e,
                        self.tls_verify,
                    )));
                }
            };
            map.insert(tag.clone(), digest);
        }
        Ok(TagMap::Known(map))
    }
}

/// The registry part of a reference must make a URL: `oci-client`'s reference grammar lets
/// through hosts reqwest cannot use (a port past 65535), which then failed every request with
/// "could not clone request builder".
fn check_host(registry: &str) -> Result<(), StoreError> {
    let parsed = url::Url::parse(&format!("https://{registry}/v2/"));
    match parsed {
        Ok(u) if u.host_str().is_some() => Ok(()),
        Ok(_) => Err(StoreError::Source(format!(
            "invalid registry host {registry:?}: no host name"
        ))),
        Err(e) => Err(StoreError::Source(format!(
            "invalid registry host {registry:?}: {e}"
        ))),
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// Credentials for `registry` from docker's config.json, anonymous when there are none.
pub fn docker_config_auth(registry: &str) -> Result<RegistryAuth, StoreError> {
    let Some(path) = docker_config_path() else {
        return Ok(RegistryAuth::Anonymous);
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(RegistryAuth::Anonymous);
    };
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| StoreError::Source(format!("{}: not valid JSON: {e}", path.display())))?;
    let host_of = |key: &str| {
        let k = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        k.split('/').next().unwrap_or(k).to_owned()
    };
    let want = if registry == "docker.io" {
        "index.docker.io".to_owned()
    } else {
        registry.to_owned()
    };
    let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
        return Ok(RegistryAuth::Anonymous);
    };
    for (key, entry) in auths {
        if host_of(key) != want {
            continue;
        }
        if let Some(encoded) = entry
            .get("auth")
            .and_then(|a| a.as_str())
            .filter(|a| !a.is_empty())
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| {
                    StoreError::Source(format!(
                        "{}: auths.{key}.auth is not base64: {e}",
                        path.display()
                    ))
                })?;
            let decoded = String::from_utf8_lossy(&decoded).into_owned();
            let (user, pass) = decoded.split_once(':').ok_or_else(|| {
                StoreError::Source(format!(
                    "{}: auths.{key}.auth is not user:password",
                    path.display()
                ))
            })?;
            return Ok(RegistryAuth::Basic(user.to_owned(), pass.to_owned()));
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|v| v.as_str()),
            entry.get("password").and_then(|v| v.as_str()),
        ) {
            return Ok(RegistryAuth::Basic(u.to_owned(), p.to_owned()));
        }
    }
    if config
        .get("credHelpers")
        .and_then(|h| h.get(&want))
        .is_some()
    {
        return Err(StoreError::Source(format!(
            "{}: credentials for {want} are in a credential helper, which edgecert does not run; \
             add an `auths` entry (docker login --password-stdin writes one when no helper is set)",
            path.display()
        )));
    }
    Ok(RegistryAuth::Anonymous)
}

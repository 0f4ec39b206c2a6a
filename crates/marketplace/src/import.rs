//! Ingest from outside this registry: a submission whose image is `docker://HOST/REPO:TAG`
//! (or `@sha256:…`) is read through the certification engine's own registry client — the
//! transport `edgecert check` uses, with its limits on manifest sizes — and written into the
//! submission's content repository: every blob streamed to a temporary file and stored only
//! once its digest verifies, the platform manifests by digest, the top one by tag last, all
//! byte for byte so every digest is kept. Local paths (`oci:`, archives, the daemon) are
//! refused: they would name files and images of the server, not the publisher's.
//!
//! The engine's client is blocking (it drives a runtime of its own), so the whole import runs
//! on a blocking thread and reaches the registry's async API through the caller's runtime.

use std::io::Read as _;

use edgecert_engine::image::remote::RemoteOptions;
use edgecert_engine::image::source::ImageSource;
use edgecert_engine::image::store::Store;
use edgecert_registry::api::Registry;
use edgecert_registry::digest::Digest;
use serde_json::Value;
use tokio::runtime::Handle;

/// Largest manifest read from a source (the registry's own limit).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// Why an import failed: the source's fault (the submission ends incomplete) or ours.
#[derive(Debug)]
pub enum ImportError {
    Source(String),
    Ours(String),
}

/// Whether `source` names an image outside this registry that the pipeline may import.
pub fn is_remote(source: &str) -> bool {
    source.starts_with("docker://")
}

/// Copies the image `source` (`docker://…`) into `repository:tag`; returns its digest.
pub async fn import(
    registry: &Registry,
    source: &str,
    remote: RemoteOptions,
    repository: &str,
    tag: &str,
) -> Result<String, ImportError> {
    let parsed = ImageSource::parse(source).map_err(|e| ImportError::Source(e.to_string()))?;
    if !matches!(parsed, ImageSource::Registry { .. }) {
        return Err(ImportError::Source(format!(
            "{source}: the marketplace imports docker://HOST/REPO:TAG or its own staging \
             repositories; local files and the server's engine are not sources"
        )));
    }
    let job = Import {
        handle: Handle::current(),
        registry: registry.clone(),
        source: source.to_owned(),
        repository: repository.to_owned(),
    };
    let tag = tag.to_owned();
    tokio::task::spawn_blocking(move || job.run(parsed, remote, &tag))
        .await
        .map_err(|e| ImportError::Ours(format!("the import task: {e}")))?
}

struct Import {
    handle: Handle,
    registry: Registry,
    source: String,
    repository: String,
}

impl Import {
    fn run(
        &self,
        parsed: ImageSource,
        remote: RemoteOptions,
        tag: &str,
    ) -> Result<String, ImportError> {
        let tmp = tempfile::Builder::new()
            .prefix("edgecert-import-")
            .tempdir()
            .map_err(|e| ImportError::Ours(format!("a temporary directory: {e}")))?;
        let store = parsed
            .open(remote, tmp.path())
            .map_err(|e| self.source_error(e))?;
        let root = store.root().map_err(|e| self.source_error(e))?;
        let digest = match &root.expected_digest {
            Some(d) => d.to_string(),
            None => {
                Digest::of(edgecert_registry::digest::Algorithm::Sha256, &root.bytes).to_string()
            }
        };
        let media = media_type(&root.bytes, root.media_type.as_deref());
        self.manifest(store.as_ref(), &root.bytes, tmp.path())?;
        self.handle
            .block_on(self.registry.put_manifest_bytes(
                &self.repository,
                &media,
                &root.bytes,
                Some(tag),
            ))
            .map_err(|e| ImportError::Source(format!("{}: {}", self.source, e.message)))?;
        Ok(digest)
    }

    fn source_error(&self, e: impl std::fmt::Display) -> ImportError {
        ImportError::Source(format!("{}: {e}", self.source))
    }

    /// Everything `bytes` (a manifest or index) refers to, children before it; not `bytes`.
    fn manifest(
        &self,
        store: &dyn Store,
        bytes: &[u8],
        dir: &std::path::Path,
    ) -> Result<(), ImportError> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| self.source_error(format!("a manifest is not JSON: {e}")))?;
        let digest_of = |d: &Value| -> Result<String, ImportError> {
            d["digest"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| self.source_error("a descriptor has no digest"))
        };
        if let Some(children) = v["manifests"].as_array() {
            for c in children {
                let d = digest_of(c)?;
                let ed: edgecert_engine::digest::Digest = d
                    .parse()
                    .map_err(|e| self.source_error(format!("{d}: {e}")))?;
                let child = store
                    .manifest(&ed, MAX_MANIFEST)
                    .map_err(|e| self.source_error(format!("manifest {d}: {e}")))?;
                let media = media_type(&child, c["mediaType"].as_str());
                self.manifest(store, &child, dir)?;
                self.handle
                    .block_on(self.registry.put_manifest_bytes(
                        &self.repository,
                        &media,
                        &child,
                        Some(&d),
                    ))
                    .map_err(|e| self.source_error(format!("manifest {d}: {}", e.message)))?;
            }
            return Ok(());
        }
        let mut blobs = vec![digest_of(&v["config"])?];
        for l in v["layers"].as_array().into_iter().flatten() {
            blobs.push(digest_of(l)?);
        }
        for d in blobs {
            self.blob(store, &d, dir)?;
        }
        Ok(())
    }

    /// One blob: already stored → linked; else streamed to a file, stored once it verifies.
    fn blob(&self, store: &dyn Store, d: &str, dir: &std::path::Path) -> Result<(), ImportError> {
        let digest: Digest = d
            .parse()
            .map_err(|e| self.source_error(format!("blob {d}: {e}")))?;
        let ours = |e: &dyn std::fmt::Display| ImportError::Ours(e.to_string());
        let stored = self
            .handle
            .block_on(self.registry.store.stat(&digest))
            .map_err(|e| ours(&e))?
            .is_some();
        if !stored {
            let ed: edgecert_engine::digest::Digest = d
                .parse()
                .map_err(|e| self.source_error(format!("blob {d}: {e}")))?;
            let path = dir.join(digest.hex());
            let mut reader = store
                .open_blob(&ed)
                .map_err(|e| self.source_error(format!("blob {d}: {e}")))?;
            let mut file = std::fs::File::create(&path)
                .map_err(|e| ImportError::Ours(format!("{}: {e}", path.display())))?;
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(|e| self.source_error(format!("blob {d}: {e}")))?;
                if n == 0 {
                    break;
                }
                std::io::Write::write_all(&mut file, &buf[..n])
                    .map_err(|e| ImportError::Ours(format!("{}: {e}", path.display())))?;
                size += n as u64;
            }
            drop(file);
            self.handle
                .block_on(async {
                    let file = tokio::fs::File::open(&path).await?;
                    self.registry
                        .store
                        .put(&digest, Some(size), file)
                        .await
                        .map_err(|e| std::io::Error::other(e.to_string()))
                })
                .map_err(|e| self.source_error(format!("blob {d}: {e}")))?;
            let _ = std::fs::remove_file(&path);
        }
        self.handle
            .block_on(self.registry.link(&self.repository, &digest))
            .map_err(|e| ImportError::Ours(e.message))
    }
}

fn media_type(bytes: &[u8], declared: Option<&str>) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
        .or_else(|| declared.map(str::to_owned))
        .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".to_owned())
}

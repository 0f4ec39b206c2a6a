//! `docker-archive:FILE[:NAME:TAG]`: the output of `docker save`.
//!
//! Docker >= 25 (and the containerd image store) put an OCI layout inside the archive; when
//! its `index.json` resolves, the archive is read as that layout. Otherwise — and always for
//! the classic store of Docker <= 24, whose archives only have `manifest.json` — the legacy
//! form is read: `manifest.json` names a config file and layer tars, and there is no registry
//! manifest at all. We synthesise a Docker schema 2 manifest for it (config digest = hash of
//! the config file, layer digest = the config's `rootfs.diff_ids`, which for the uncompressed
//! layers Docker writes is the blob's own digest; compressed ones are hashed), so the rest of
//! the engine sees one shape. The top digest of such an image is that synthesised manifest's.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::Deserialize;
use serde_json::json;

use super::files::{Files, TarFiles};
use super::layout::Layout;
use super::store::{MAX_MANIFEST_BYTES, Root, Store, StoreError, TagMap, read_capped};
use crate::digest::Digest;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Opens a docker archive, preferring its OCI layout when it has a usable one.
pub fn open(
    path: &std::path::Path,
    reference: Option<String>,
) -> Result<Box<dyn Store>, StoreError> {
    let files = TarFiles::open(path)?;
    if files.exists("index.json") && files.exists("oci-layout") {
        // Docker names entries by the full reference in `io.containerd.image.name` and by the
        // tag in the OCI ref annotation; only the legacy path understands NAME:TAG references.
        if reference.is_none()
            && let Ok(layout) = Layout::open(TarFiles::open(path)?, None)
            && layout.root().is_ok()
        {
            return Ok(Box::new(layout));
        }
    }
    Ok(Box::new(Legacy::open(files, reference)?))
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

struct Synth {
    manifest: Vec<u8>,
    digest: Digest,
    tags: Vec<String>,
}

pub struct Legacy {
    files: TarFiles,
    chosen: usize,
    images: Vec<Synth>,
    /// digest -> archive member, for configs and layers of every entry.
    members: HashMap<Digest, String>,
}

impl Legacy {
    fn open(files: TarFiles, reference: Option<String>) -> Result<Self, StoreError> {
        let what = files.describe();
        let Some((reader, _)) = files.open("manifest.json")? else {
            return Err(StoreError::Source(format!(
                "{what} is not a docker archive: no manifest.json (and no usable index.json)"
            )));
        };
        let bytes = read_capped(reader, "manifest.json", "manifest.json", MAX_MANIFEST_BYTES)?;
        let entries: Vec<Entry> = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Source(format!("{what}: manifest.json does not parse: {e}"))
        })?;
        if entries.is_empty() {
            return Err(StoreError::Source(format!(
                "{what}: manifest.json lists no images"
            )));
        }
        let mut members = HashMap::new();
        let mut images = Vec::new();
        for entry in &entries {
            images.push(synthesise(&files, entry, &mut members)?);
        }
        let chosen = match &reference {
            None => 0,
            Some(r) => images
                .iter()
                .position(|s| s.tags.iter().any(|t| t == r))
                .ok_or_else(|| {
                    StoreError::Source(format!("{what}: no image tagged {r:?} in manifest.json"))
                })?,
        };
        Ok(Legacy {
            files,
            chosen,
            images,
            members,
        })
    }
}

fn synthesise(
    files: &TarFiles,
    entry: &Entry,
    members: &mut HashMap<Digest, String>,
) -> Result<Synth, StoreError> {
    let missing = |name: &str| StoreError::Missing {
        what: "archive member",
        digest: name.to_owned(),
    };
    let (reader, _) = files
        .open(&entry.config)?
        .ok_or_else(|| missing(&entry.config))?;
    let config = read_capped(reader, "config", &entry.config, MAX_MANIFEST_BYTES)?;
    let config_digest = Digest::of(&config);
    members.insert(config_digest.clone(), entry.config.clone());
    let diff_ids: Vec<Option<Digest>> = serde_json::from_slice::<serde_json::Value>(&config)
        .ok()
        .and_then(|v| v.pointer("/rootfs/diff_ids").cloned())
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.parse().ok())
        .collect();
    let mut layers = Vec::new();
    for (i, name) in entry.layers.iter().enumerate() {
        let (mut reader, size) = files.open(name)?.ok_or_else(|| missing(name))?;
        let mut magic = [0u8; 4];
        let n = read_up_to(&mut reader, &mut magic);
        let compressed =
            magic[..n].starts_with(&[0x1f, 0x8b]) || magic[..n] == [0x28, 0xb5, 0x2f, 0xfd];
        let digest = match diff_ids.get(i).cloned().flatten() {
            Some(d) if !compressed => d,
            _ => hash_member(files, name)?,
        };
        members.insert(digest.clone(), name.clone());
        layers.push(json!({ "mediaType": OCI_LAYER_TAR, "size": size, "digest": digest.as_str() }));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": { "mediaType": DOCKER_CONFIG, "size": config.len(), "digest": config_digest.as_str() },
        "layers": layers,
    });
    let manifest = serde_json::to_vec(&manifest).expect("json values serialize");
    let tags = entry.repo_tags.clone().unwrap_or_default();
    Ok(Synth {
        digest: Digest::of(&manifest),
        manifest,
        tags,
    })
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

fn hash_member(files: &TarFiles, name: &str) -> Result<Digest, StoreError> {
    use sha2::Digest as _;
    let (mut reader, _) = files.open(name)?.ok_or_else(|| StoreError::Missing {
        what: "archive member",
        digest: name.to_owned(),
    })?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut reader, &mut hasher).map_err(|source| StoreError::Io {
        context: format!("reading {name}"),
        error: source,
    })?;
    Ok(Digest::from_sha256(hasher.finalize().into()))
}

impl Store for Legacy {
    fn root(&self) -> Result<Root, StoreError> {
        let image = &self.images[self.chosen];
        Ok(Root {
            bytes: image.manifest.clone(),
            media_type: Some(DOCKER_MANIFEST.into()),
            expected_digest: None,
            expected_size: None,
        })
    }

    fn manifest(&self, digest: &Digest, _max: u64) -> Result<Vec<u8>, StoreError> {
        self.images
            .iter()
            .find(|s| &s.digest == digest)
            .map(|s| s.manifest.clone())
            .ok_or_else(|| StoreError::Missing {
                what: "manifest",
                digest: digest.to_string(),
            })
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, StoreError> {
        let missing = || StoreError::Missing {
            what: "blob",
            digest: digest.to_string(),
        };
        let name = self.members.get(digest).ok_or_else(missing)?;
        Ok(self.files.open(name)?.ok_or_else(missing)?.0)
    }

    fn tags(&self, tags: &[String]) -> Result<TagMap, StoreError> {
        let mut map = BTreeMap::new();
        for tag in tags {
            let found = self.images.iter().find(|s| {
                s.tags
                    .iter()
                    .any(|rt| rt.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            });
            map.insert(tag.clone(), found.map(|s| s.digest.clone()));
        }
        Ok(TagMap::Known(map))
    }
}

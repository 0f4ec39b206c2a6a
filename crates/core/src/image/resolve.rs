//! The manifest walk: from the source's root to one plan per platform (manifest, config,
//! layer descriptors), verifying every digest and size on the way.
//!
//! Everything hostile about the JSON side of an image is caught here and becomes a `Problem`
//! (EC101): over-size manifests (the store caps reads at 4 MiB), nesting deeper than 4 or
//! cyclic indexes, unknown media types, digest or size mismatches, JSON that does not parse
//! (serde_json's recursion limit turns a 10 000-deep document into an error, not a stack
//! overflow). Parsing uses `oci-spec` types, which read Docker schema 2 as well.

use std::collections::{BTreeMap, HashSet};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use super::store::{MAX_MANIFEST_BYTES, Store, StoreError};
use crate::digest::Digest;
use crate::facts::{ConfigFacts, Problem};
use crate::location::Location;
use crate::platform::Platform;

pub const MAX_INDEX_DEPTH: usize = 4;

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
const CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];
pub const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
];

#[derive(Debug, Clone)]
pub struct LayerRef {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

#[derive(Debug, Clone)]
pub struct PlatformPlan {
    pub index_platform: Option<Platform>,
    pub manifest_digest: Digest,
    pub config: Option<ConfigFacts>,
    pub layers: Vec<LayerRef>,
    /// The manifest and config were read and are sound.
    pub sound: bool,
}

#[derive(Debug, Default)]
pub struct ResolvedImage {
    pub top_digest: Option<Digest>,
    pub platforms: Vec<PlatformPlan>,
    pub problems: Vec<Problem>,
}

/// Walks the image from its root. `Err` only when the source itself fails (unreachable,
/// unauthorised); everything wrong with the image is in `ResolvedImage::problems`.
pub fn resolve(store: &dyn Store) -> Result<ResolvedImage, StoreError> {
    let mut out = ResolvedImage::default();
    let root = match store.root() {
        Ok(root) => root,
        Err(
            e @ (StoreError::TooLarge { .. }
            | StoreError::Missing { .. }
            | StoreError::Malformed(_)),
        ) => {
            out.problems.push(problem(
                e.to_string(),
                &Location::Other("root manifest".into()),
                None,
            ));
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    let digest = Digest::of(&root.bytes);
    if let Some(expected) = &root.expected_digest
        && expected != &digest
    {
        out.problems.push(problem(
            format!(
                "root manifest digest mismatch: descriptor says {expected}, content is {digest}"
            ),
            &Location::Other("root manifest".into()),
            None,
        ));
    }
    if let Some(size) = root.expected_size
        && size != root.bytes.len() as u64
    {
        out.problems.push(problem(
            format!(
                "root manifest size mismatch: descriptor says {size}, content is {} bytes",
                root.bytes.len()
            ),
            &Location::Other("root manifest".into()),
            None,
        ));
    }
    out.top_digest = Some(root.expected_digest.clone().unwrap_or(digest.clone()));
    let mut walk = Walk {
        store,
        out: &mut out,
        seen: HashSet::new(),
        failed: None,
    };
    walk.seen.insert(digest.clone());
    // The root's name comes from outside its content (index.json, a tag), so unlike any other
    // node it can list itself: that is a cycle, not a new child.
    if let Some(expected) = &root.expected_digest {
        walk.seen.insert(expected.clone());
    }
    walk.node(&root.bytes, root.media_type.as_deref(), &digest, None, 0);
    if let Some(e) = walk.failed {
        return Err(e);
    }
    Ok(out)
}

fn problem(message: String, location: &Location, platform: Option<&Platform>) -> Problem {
    Problem {
        message,
        location: location.clone(),
        platform: platform.cloned(),
    }
}

struct Walk<'a> {
    store: &'a dyn Store,
    out: &'a mut ResolvedImage,
    seen: HashSet<Digest>,
    /// The first failure of the source itself (a 5xx, a dropped connection, an unreadable
    /// file): not the image's fault, so it ends the walk and `resolve` returns it.
    failed: Option<StoreError>,
}

/// Whether a store error is the source failing rather than the image being wrong.
fn is_source_failure(e: &StoreError) -> bool {
    matches!(e, StoreError::Source(_) | StoreError::Io { .. })
}

impl Walk<'_> {
    fn push(&mut self, message: String, location: Location, platform: Option<&Platform>) {
        self.out.problems.push(Problem {
            message,
            location,
            platform: platform.cloned(),
        });
    }

    /// An index or a manifest, told apart by its own `mediaType` (or the descriptor's) and,
    /// failing both, by its shape.
    fn node(
        &mut self,
        bytes: &[u8],
        declared: Option<&str>,
        digest: &Digest,
        platform: Option<Platform>,
        depth: usize,
    ) {
        let location = Location::Manifest(digest.to_string());
        let value: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                return self.push(
                    format!("manifest is not valid JSON: {e}"),
                    location,
                    platform.as_ref(),
                );
            }
        };
        let own = value
            .get("mediaType")
            .and_then(|m| m.as_str())
            .map(str::to_owned);
        let media = own.or(declared.map(str::to_owned)).unwrap_or_else(|| {
            if value.get("manifests").is_some() {
                INDEX_TYPES[0]
            } else {
                MANIFEST_TYPES[0]
            }
            .to_owned()
        });
        if INDEX_TYPES.contains(&media.as_str()) {
            self.index(bytes, digest, depth, &location);
        } else if MANIFEST_TYPES.contains(&media.as_str()) {
            self.manifest(bytes, digest, platform, &location);
        } else {
            self.push(
                format!("unknown manifest media type {media:?}"),
                location,
                platform.as_ref(),
            );
        }
    }

    fn index(&mut self, bytes: &[u8], digest: &Digest, depth: usize, location: &Location) {
        if depth >= MAX_INDEX_DEPTH {
            return self.push(
                format!("image index nesting deeper than {MAX_INDEX_DEPTH}"),
                location.clone(),
                None,
            );
        }
        let index = match ImageIndex::from_reader(bytes) {
            Ok(i) => i,
            Err(e) => {
                return self.push(
                    format!("image index does not parse: {e}"),
                    location.clone(),
                    None,
                );
            }
        };
        let _ = digest;
        for desc in index.manifests() {
            if is_attestation(desc) {
                continue;
            }
            let platform = desc.platform().as_ref().map(|p| {
                Platform::new(
                    &p.os().to_string(),
                    &p.architecture().to_string(),
                    p.variant().as_deref(),
                )
            });
            let Some(child) = self.checked_digest(desc, location, platform.as_ref()) else {
                continue;
            };
            if !self.seen.insert(child.clone()) {
                self.push(
                    format!("image index refers to {child} again: cyclic or repeated reference"),
                    location.clone(),
                    platform.as_ref(),
                );
                continue;
            }
            let media = desc.media_type().to_string();
            let bytes = match self.store.manifest(&child, MAX_MANIFEST_BYTES) {
                Ok(b) => b,
                Err(e @ (StoreError::Missing { .. } | StoreError::TooLarge { .. })) => {
                    self.push(e.to_string(), location.clone(), platform.as_ref());
                    continue;
                }
                Err(e) if is_source_failure(&e) => {
                    self.failed.get_or_insert(e);
                    return;
                }
                Err(e) => {
                    self.push(
                        format!("cannot read manifest {child}: {e}"),
                        location.clone(),
                        platform.as_ref(),
                    );
                    continue;
                }
            };
            if !self.verify(&bytes, desc, &child, platform.as_ref()) {
                continue;
            }
            self.node(&bytes, Some(&media), &child, platform, depth + 1);
        }
    }

    fn manifest(
        &mut self,
        bytes: &[u8],
        digest: &Digest,
        platform: Option<Platform>,
        location: &Location,
    ) {
        let mut plan = PlatformPlan {
            index_platform: platform.clone(),
            manifest_digest: digest.clone(),
            config: None,
            layers: Vec::new(),
            sound: false,
        };
        let manifest = match ImageManifest::from_reader(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.push(
                    format!("image manifest does not parse: {e}"),
                    location.clone(),
                    platform.as_ref(),
                );
                self.out.platforms.push(plan);
                return;
            }
        };
        let mut sound = true;
        let config_desc = manifest.config();
        let config_media = config_desc.media_type().to_string();
        if !CONFIG_TYPES.contains(&config_media.as_str()) {
            self.push(
                format!("unknown config media type {config_media:?}"),
                location.clone(),
                platform.as_ref(),
            );
            sound = false;
        } else if let Some(cd) = self.checked_digest(config_desc, location, platform.as_ref()) {
            match self.store.blob_bytes(&cd, MAX_MANIFEST_BYTES) {
                Ok(b) if self.verify(&b, config_desc, &cd, platform.as_ref()) => {
                    match ImageConfiguration::from_reader(b.as_slice()) {
                        Ok(c) => {
                            plan.config = Some(ConfigFacts {
                                raw: b.clone(),
                                ..config_facts(&c)
                            })
                        }
                        Err(e) => {
                            self.push(
                                format!("image config does not parse: {e}"),
                                Location::ConfigBlob(cd.to_string()),
                                platform.as_ref(),
                            );
                            sound = false;
                        }
                    }
                }
                Ok(_) => sound = false,
                Err(e) if is_source_failure(&e) => {
                    self.failed.get_or_insert(e);
                    sound = false;
                }
                Err(e) => {
                    self.push(
                        format!("cannot read config: {e}"),
                        Location::ConfigBlob(cd.to_string()),
                        platform.as_ref(),
                    );
                    sound = false;
                }
            }
        } else {
            sound = false;
        }
        for layer in manifest.layers() {
            let media = layer.media_type().to_string();
            if !LAYER_TYPES.contains(&media.as_str()) {
                self.push(
                    format!("unknown layer media type {media:?}"),
                    location.clone(),
                    platform.as_ref(),
                );
                sound = false;
                continue;
            }
            let Some(ld) = self.checked_digest(layer, location, platform.as_ref()) else {
                sound = false;
                continue;
            };
            plan.layers.push(LayerRef {
                digest: ld,
                size: layer.size(),
                media_type: media,
            });
        }
        if let Some(c) = &plan.config
            && c.diff_ids.len() != manifest.layers().len()
        {
            self.push(
                format!(
                    "config lists {} diff_ids for {} layers",
                    c.diff_ids.len(),
                    manifest.layers().len()
                ),
                location.clone(),
                platform.as_ref(),
            );
        }
        plan.sound = sound;
        self.out.platforms.push(plan);
    }

    fn checked_digest(
        &mut self,
        desc: &Descriptor,
        location: &Location,
        platform: Option<&Platform>,
    ) -> Option<Digest> {
        match desc.digest().to_string().parse::<Digest>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.push(e.to_string(), location.clone(), platform);
                None
            }
        }
    }

    fn verify(
        &mut self,
        bytes: &[u8],
        desc: &Descriptor,
        digest: &Digest,
        platform: Option<&Platform>,
    ) -> bool {
        let actual = Digest::of(bytes);
        let mut ok = true;
        if &actual != digest {
            self.push(
                format!("digest mismatch: descriptor says {digest}, content is {actual}"),
                Location::Blob(digest.to_string()),
                platform,
            );
            ok = false;
        }
        if desc.size() != bytes.len() as u64 {
            self.push(
                format!(
                    "size mismatch: descriptor says {} bytes, content is {}",
                    desc.size(),
                    bytes.len()
                ),
                Location::Blob(digest.to_string()),
                platform,
            );
            ok = false;
        }
        ok
    }
}

/// buildx attaches provenance/SBOM manifests with platform unknown/unknown: not a platform.
fn is_attestation(desc: &Descriptor) -> bool {
    let by_annotation = desc
        .annotations()
        .as_ref()
        .and_then(|a| a.get("vnd.docker.reference.type"))
        .is_some_and(|t| t == "attestation-manifest");
    let unknown = desc.platform().as_ref().is_some_and(|p| {
        p.os().to_string() == "unknown" && p.architecture().to_string() == "unknown"
    });
    by_annotation || unknown
}

fn config_facts(c: &ImageConfiguration) -> ConfigFacts {
    let cfg = c.config().clone().unwrap_or_default();
    let labels: BTreeMap<String, String> = cfg
        .labels()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    ConfigFacts {
        raw: Vec::new(),
        os: c.os().to_string(),
        architecture: c.architecture().to_string(),
        variant: c.variant().clone(),
        entrypoint: cfg.entrypoint().clone().unwrap_or_default(),
        cmd: cfg.cmd().clone().unwrap_or_default(),
        env: cfg.env().clone().unwrap_or_default(),
        user: cfg.user().clone().filter(|u| !u.is_empty()),
        working_dir: cfg.working_dir().clone().filter(|w| !w.is_empty()),
        labels,
        history: c
            .history()
            .iter()
            .flatten()
            .filter_map(|h| h.created_by().clone())
            .collect(),
        diff_ids: c
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| d.to_string())
            .collect(),
    }
}

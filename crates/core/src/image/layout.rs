//! OCI image layouts (`oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, and the layout that Docker
//! >= 25 writes inside `docker save` archives), read through `Files`.
//!
//! `index.json` is the root: REF selects the entry whose `org.opencontainers.image.ref.name`
//! annotation equals it; without REF the only (or first) entry is used.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use super::files::Files;
use super::store::{MAX_MANIFEST_BYTES, Root, Store, StoreError, TagMap, read_capped};
use crate::digest::Digest;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub struct Layout<F> {
    files: F,
    reference: Option<String>,
    index: Result<RawIndex, String>,
}

/// Just the part of `index.json` needed to choose the root; the engine parses the chosen
/// manifest itself (with oci-spec), and it is the whole index that may be hostile.
#[derive(Deserialize)]
struct RawIndex {
    #[serde(default)]
    manifests: Vec<RawDescriptor>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl<F: Files> Layout<F> {
    pub fn open(files: F, reference: Option<String>) -> Result<Self, StoreError> {
        let Some((reader, _)) = files.open("index.json")? else {
            return Err(StoreError::Source(format!(
                "{} is not an OCI image layout: no index.json",
                files.describe()
            )));
        };
        // A broken index.json is a broken image (EC101), not a missing source: keep the reason
        // and report it when the root is asked for.
        let index = match read_capped(reader, "index.json", "index.json", MAX_MANIFEST_BYTES) {
            Err(e @ StoreError::TooLarge { .. }) => Err(e.to_string()),
            Err(e) => return Err(e),
            Ok(bytes) => match serde_json::from_slice::<RawIndex>(&bytes) {
                Err(e) => Err(format!("index.json does not parse: {e}")),
                Ok(i) if i.manifests.is_empty() => Err("index.json lists no images".to_owned()),
                Ok(i) => Ok(i),
            },
        };
        let layout = Layout {
            files,
            reference,
            index,
        };
        if layout.index.is_ok() {
            layout.entry()?;
        }
        Ok(layout)
    }

    fn manifests(&self) -> &[RawDescriptor] {
        self.index
            .as_ref()
            .map(|i| i.manifests.as_slice())
            .unwrap_or(&[])
    }

    fn entry(&self) -> Result<&RawDescriptor, StoreError> {
        if let Err(why) = &self.index {
            return Err(StoreError::Malformed(why.clone()));
        }
        match &self.reference {
            None => Ok(&self.manifests()[0]),
            Some(r) => self
                .manifests()
                .iter()
                .find(|d| d.annotations.get(REF_NAME) == Some(r))
                .ok_or_else(|| {
                    let known: Vec<&str> = self
                        .manifests()
                        .iter()
                        .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
                        .collect();
                    StoreError::Source(format!(
                        "{}: no image named {r:?} in index.json (names: {})",
                        self.files.describe(),
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ))
                }),
        }
    }

    fn blob_path(digest: &Digest) -> String {
        format!("blobs/sha256/{}", digest.hex())
    }

    fn open_named(
        &self,
        digest: &Digest,
        what: &'static str,
    ) -> Result<(Box<dyn Read + Send>, u64), StoreError> {
        self.files
            .open(&Self::blob_path(digest))?
            .ok_or_else(|| StoreError::Missing {
                what,
                digest: digest.to_string(),
            })
    }
}

impl<F: Files> Store for Layout<F> {
    fn root(&self) -> Result<Root, StoreError> {
        let entry = self.entry()?;
        let digest: Digest = entry.digest.parse().map_err(|e| {
            StoreError::Source(format!("{}: index.json: {e}", self.files.describe()))
        })?;
        let (reader, _) = self.open_named(&digest, "manifest")?;
        let bytes = read_capped(reader, "manifest", digest.as_str(), MAX_MANIFEST_BYTES)?;
        Ok(Root {
            bytes,
            media_type: entry.media_type.clone(),
            expected_digest: Some(digest),
            expected_size: Some(entry.size),
        })
    }

    fn manifest(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError> {
        let (reader, _) = self.open_named(digest, "manifest")?;
        read_capped(reader, "manifest", digest.as_str(), max)
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, StoreError> {
        Ok(self.open_named(digest, "blob")?.0)
    }

    fn tags(&self, tags: &[String]) -> Result<TagMap, StoreError> {
        let mut map = BTreeMap::new();
        for tag in tags {
            let found = self
                .manifests()
                .iter()
                .find(|d| d.annotations.get(REF_NAME) == Some(tag))
                .and_then(|d| d.digest.parse().ok());
            map.insert(tag.clone(), found);
        }
        Ok(TagMap::Known(map))
    }
}

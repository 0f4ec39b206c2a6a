//! `docker-daemon:NAME:TAG`: an image in the local Moby engine, through the Engine API
//! (`crate::moby`: `DOCKER_HOST` or the default socket).
//!
//! The engine exports images only as a `docker save` stream; it is written to the run's own
//! temporary directory and read as a docker archive, so one code path reads both. Tags are
//! asked of the engine itself (the export names only the tag that was asked for): a tag names
//! the same image when the engine gives it the same image id.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use futures_util::StreamExt as _;

use super::docker_archive;
use super::store::{Root, Store, StoreError, TagMap};
use crate::digest::Digest;

pub struct Daemon {
    archive: Box<dyn Store>,
    runtime: tokio::runtime::Runtime,
    docker: bollard::Docker,
    name: String,
    id: String,
}

pub fn open(name: &str, tmp: &Path) -> Result<Box<dyn Store>, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Source(format!("cannot start the engine client runtime: {e}")))?;
    let path = tmp.join("docker-daemon-export.tar");
    let (docker, id) = runtime.block_on(async {
        let docker = crate::moby::connect()
            .await
            .map_err(|u| StoreError::Source(format!("{u}; {}", crate::moby::HOW_TO_GET_ONE)))?
            .docker;
        let inspect = docker.inspect_image(name).await.map_err(|e| {
            StoreError::Source(format!("image {name} is not in the Moby engine: {e}"))
        })?;
        let mut file = std::fs::File::create(&path).map_err(|source| StoreError::Io {
            context: format!("creating {}", path.display()),
            error: source,
        })?;
        let mut stream = docker.export_image(name);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                StoreError::Source(format!("exporting {name} from the engine: {e}"))
            })?;
            file.write_all(&chunk).map_err(|source| StoreError::Io {
                context: format!("writing {}", path.display()),
                error: source,
            })?;
        }
        Ok::<_, StoreError>((docker, inspect.id.unwrap_or_default()))
    })?;
    // The export holds exactly the one image asked for.
    let archive = docker_archive::open(&path, None)?;
    Ok(Box::new(Daemon {
        archive,
        runtime,
        docker,
        name: name.to_owned(),
        id,
    }))
}

impl Store for Daemon {
    fn root(&self) -> Result<Root, StoreError> {
        self.archive.root()
    }

    fn manifest(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError> {
        self.archive.manifest(digest, max)
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, StoreError> {
        self.archive.open_blob(digest)
    }

    fn tags(&self, tags: &[String]) -> Result<TagMap, StoreError> {
        let own = Digest::of(&self.archive.root()?.bytes);
        let repo = match self.name.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => r,
            _ => self.name.as_str(),
        };
        let mut map = BTreeMap::new();
        for tag in tags {
            let id = self
                .runtime
                .block_on(self.docker.inspect_image(&format!("{repo}:{tag}")))
                .ok()
                .and_then(|i| i.id);
            // Another image: its id stands in for its digest, which only needs to differ.
            let digest = id.map(|id| {
                if id == self.id {
                    own.clone()
                } else {
                    id.parse().unwrap_or_else(|_| Digest::of(id.as_bytes()))
                }
            });
            map.insert(tag.clone(), digest);
        }
        Ok(TagMap::Known(map))
    }
}

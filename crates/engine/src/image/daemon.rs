//! `docker-daemon:NAME:TAG`: an image in the local Moby engine, through the Engine API
//! (`bollard`; `DOCKER_HOST` or the default socket).
//!
//! The engine exports images only as a `docker save` stream; it is written to the run's own
//! temporary directory and read as a docker archive, so one code path reads both.

use std::io::Write;
use std::path::Path;

use futures_util::StreamExt as _;

use super::docker_archive;
use super::store::{Store, StoreError};

pub fn open(name: &str, tmp: &Path) -> Result<Box<dyn Store>, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Source(format!("cannot start the engine client runtime: {e}")))?;
    let path = tmp.join("docker-daemon-export.tar");
    runtime.block_on(async {
        let docker = bollard::Docker::connect_with_defaults().map_err(|e| {
            StoreError::Source(format!(
                "cannot connect to the Moby engine (DOCKER_HOST): {e}"
            ))
        })?;
        docker.inspect_image(name).await.map_err(|e| {
            StoreError::Source(format!("image {name} is not in the Moby engine: {e}"))
        })?;
        let mut file = std::fs::File::create(&path).map_err(|source| StoreError::Io {
            context: format!("creating {}", path.display()),
            source,
        })?;
        let mut stream = docker.export_image(name);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                StoreError::Source(format!("exporting {name} from the engine: {e}"))
            })?;
            file.write_all(&chunk).map_err(|source| StoreError::Io {
                context: format!("writing {}", path.display()),
                source,
            })?;
        }
        Ok::<_, StoreError>(())
    })?;
    // The export holds exactly the one image asked for.
    docker_archive::open(&path, None)
}

//! Getting one platform's image into the engine under a name of this run
//! (`edgecert-ingest/<identifier>-<arch>:<run id>`), and out again. The archive is built from
//! what the scan already read (`archive.rs`); `docker load` verifies every layer against the
//! config's diff ids, so the engine runs exactly the bytes we judged.

use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{ImportImageOptions, RemoveImageOptions};
use edgecert_engine::facts::PlatformFacts;
use futures_util::StreamExt as _;

use crate::archive::{self, LayerBlob, LoadArchive};
use crate::errors::{is_not_found, message};

/// The start of every image name of ours in the engine.
pub const REPOSITORY_PREFIX: &str = "edgecert-ingest/";

/// The image's name in the engine: unique per run, recognisably ours.
pub fn image_tag(identifier: &str, pf: &PlatformFacts, run_id: &str) -> String {
    format!(
        "{REPOSITORY_PREFIX}{}-{}:{run_id}",
        repo_component(identifier),
        repo_component(&pf.platform.iotedge_name())
    )
}

/// A Docker repository path component: lower-case alphanumerics separated by single dashes.
fn repo_component(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let parts: Vec<&str> = mapped.split('-').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        "module".to_owned()
    } else {
        parts.join("-")
    }
}

/// The archive for `pf`, from its config bytes and the kept layer blobs.
pub fn archive_for(pf: &PlatformFacts, blobs: &Path, tag: String) -> Result<LoadArchive, String> {
    let unreadable = "the image could not be read completely, so it is not run (see EC101)";
    let config = pf.config.as_ref().ok_or(unreadable)?;
    if !pf.complete || config.raw.is_empty() {
        return Err(unreadable.to_owned());
    }
    let layers = pf
        .layers
        .iter()
        .map(|l| {
            let path = archive::kept_blob(blobs, l.digest.hex());
            if !path.is_file() {
                return Err(format!(
                    "layer {} was not kept by the scan, so the image cannot be loaded",
                    l.digest
                ));
            }
            Ok(LayerBlob {
                path,
                hex: l.digest.hex().to_owned(),
                uncompressed_bytes: l.uncompressed_bytes,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LoadArchive {
        config_hex: edgecert_engine::Digest::of(&config.raw).hex().to_owned(),
        config: config.raw.clone(),
        layers,
        tag,
    })
}

/// Streams the archive to `docker load` and checks the tag arrived.
pub async fn load(docker: &Docker, archive: LoadArchive) -> Result<(), String> {
    let tag = archive.tag.clone();
    let (rx, writer) = archive::stream(archive);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let options = ImportImageOptions {
        quiet: true,
        platform: None,
    };
    let mut answer = docker.import_image_stream(options, body, None);
    let mut failed = None;
    while let Some(item) = answer.next().await {
        if let Err(e) = item {
            failed = Some(message(&e));
            break;
        }
    }
    drop(answer);
    // The writer's own error, if any, says more than the engine's view of a broken upload.
    if let Ok(Err(e)) = writer.await {
        return Err(format!("cannot write the image archive: {e}"));
    }
    if let Some(e) = failed {
        return Err(format!("the engine did not load the image: {e}"));
    }
    docker
        .inspect_image(&tag)
        .await
        .map(|_| ())
        .map_err(|e| format!("the engine loaded the archive but has no image {tag}: {e}"))
}

/// Removes our tag (and so the image, unless something else still names it).
pub async fn remove(docker: &Docker, tag: &str) -> Option<String> {
    let options = RemoveImageOptions {
        force: false,
        noprune: false,
        platforms: None,
    };
    match docker.remove_image(tag, Some(options), None).await {
        Ok(_) => None,
        Err(e) if is_not_found(&e) => None,
        Err(e) => Some(format!("cannot remove image {tag}: {}", message(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_components_are_valid_docker_names() {
        assert_eq!(
            repo_component("contoso.tempfilter.standard"),
            "contoso-tempfilter-standard"
        );
        assert_eq!(repo_component("My__Odd..Name-"), "my-odd-name");
        assert_eq!(repo_component("..."), "module");
    }
}

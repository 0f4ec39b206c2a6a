//! Pushing a local OCI image layout to a marketplace's registry (`edgecert submit` staging a
//! local image): every blob once (a blob the registry has is skipped), monolithic uploads
//! streamed from the files, then the platform manifests by digest and the top manifest by tag
//! — the order registries require, so a tag never points at something incomplete. The same
//! API token the marketplace API takes is the registry's bearer token.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;

use super::client::{Client, error_chain};

/// One manifest or blob of the layout.
#[derive(Debug, Clone)]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
}

fn descriptor(v: &Value, at: &str) -> anyhow::Result<Descriptor> {
    let digest = v["digest"]
        .as_str()
        .ok_or_else(|| anyhow!("{at}: no digest"))?;
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| anyhow!("{at}: digest {digest:?} is not algorithm:hex"))?;
    if !matches!(alg, "sha256" | "sha512") || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{at}: digest {digest:?} is not sha256/sha512 hex");
    }
    Ok(Descriptor {
        media_type: v["mediaType"].as_str().unwrap_or_default().to_owned(),
        digest: digest.to_owned(),
        size: v["size"].as_u64().unwrap_or(0),
    })
}

/// The layout's file for `digest`.
fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    layout.join("blobs").join(alg).join(hex)
}

/// The top descriptor of `layout` named `reference` (its `org.opencontainers.image.ref.name`),
/// or the only one when no reference is given.
fn top(layout: &Path, reference: Option<&str>) -> anyhow::Result<Descriptor> {
    let path = layout.join("index.json");
    let text = edgecert_engine::input::read_text(&path, edgecert_engine::input::MAX_DOCUMENT)
        .with_context(|| format!("reading {}", path.display()))?;
    let index: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let manifests = index["manifests"]
        .as_array()
        .ok_or_else(|| anyhow!("{}: at $.manifests: missing", path.display()))?;
    let name = |m: &Value| {
        m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .map(str::to_owned)
    };
    let chosen = match reference {
        Some(r) => manifests.iter().position(|m| name(m).as_deref() == Some(r)),
        None if manifests.len() == 1 => Some(0),
        None => None,
    };
    let Some(i) = chosen else {
        let names: Vec<String> = manifests.iter().filter_map(name).collect();
        bail!(
            "{}: no image {} (names: {})",
            path.display(),
            reference.map_or("given and more than one there".to_owned(), |r| format!(
                "{r:?}"
            )),
            names.join(", ")
        );
    };
    descriptor(
        &manifests[i],
        &format!("{}: at $.manifests[{i}]", path.display()),
    )
}

/// Pushes the image `reference` of `layout` to `repository:tag` on `client`'s registry;
/// returns the top digest.
pub async fn push_layout(
    client: &Client,
    layout: &Path,
    reference: Option<&str>,
    repository: &str,
    tag: &str,
) -> anyhow::Result<String> {
    let root = top(layout, reference)?;
    let mut manifests: Vec<(Descriptor, Vec<u8>)> = Vec::new();
    let mut blobs: Vec<Descriptor> = Vec::new();
    let mut seen = HashSet::new();
    collect(layout, &root, &mut manifests, &mut blobs, &mut seen)?;
    for b in &blobs {
        push_blob(client, layout, repository, b).await?;
    }
    // Children first (collect put them before their parent), the top by tag last.
    let last = manifests.len() - 1;
    for (i, (d, bytes)) in manifests.iter().enumerate() {
        let reference = if i == last { tag } else { d.digest.as_str() };
        let what = format!("pushing manifest {} to {repository}:{reference}", d.digest);
        client
            .text(
                &what,
                client
                    .request(
                        reqwest::Method::PUT,
                        &format!("/v2/{repository}/manifests/{reference}"),
                    )
                    .header("Content-Type", &d.media_type)
                    .body(bytes.clone()),
            )
            .await?;
    }
    Ok(root.digest)
}

/// Walks a manifest: its children (index) or config and layers (image), children before it.
fn collect(
    layout: &Path,
    d: &Descriptor,
    manifests: &mut Vec<(Descriptor, Vec<u8>)>,
    blobs: &mut Vec<Descriptor>,
    seen: &mut HashSet<String>,
) -> anyhow::Result<()> {
    if !seen.insert(d.digest.clone()) {
        return Ok(());
    }
    let path = blob_path(layout, &d.digest);
    let bytes = edgecert_engine::input::read_text(&path, edgecert_engine::input::MAX_DOCUMENT)
        .with_context(|| format!("reading manifest {}", path.display()))?
        .into_bytes();
    let v: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("manifest {}: not JSON", d.digest))?;
    let mut d = d.clone();
    if d.media_type.is_empty() {
        d.media_type = v["mediaType"].as_str().unwrap_or_default().to_owned();
    }
    if let Some(children) = v["manifests"].as_array() {
        for (i, c) in children.iter().enumerate() {
            let child = descriptor(c, &format!("manifest {}: at $.manifests[{i}]", d.digest))?;
            collect(layout, &child, manifests, blobs, seen)?;
        }
    } else {
        let config = descriptor(&v["config"], &format!("manifest {}: at $.config", d.digest))?;
        let mut parts = vec![config];
        for (i, l) in v["layers"].as_array().into_iter().flatten().enumerate() {
            parts.push(descriptor(
                l,
                &format!("manifest {}: at $.layers[{i}]", d.digest),
            )?);
        }
        for p in parts {
            if seen.insert(p.digest.clone()) {
                blobs.push(p);
            }
        }
    }
    manifests.push((d, bytes));
    Ok(())
}

/// One blob: skipped when the registry has it, else one monolithic upload streamed from
/// the file.
async fn push_blob(
    client: &Client,
    layout: &Path,
    repository: &str,
    b: &Descriptor,
) -> anyhow::Result<()> {
    let head = client
        .request(
            reqwest::Method::HEAD,
            &format!("/v2/{repository}/blobs/{}", b.digest),
        )
        .send()
        .await
        .map_err(|e| anyhow!("checking blob {}: {}", b.digest, error_chain(&e)))?;
    if head.status().is_success() {
        return Ok(());
    }
    let path = blob_path(layout, &b.digest);
    let file = tokio::fs::File::open(&path)
        .await
        .with_context(|| format!("reading blob {}", path.display()))?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(b.size);
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
    client
        .text(
            &format!("pushing blob {} ({size} bytes) to {repository}", b.digest),
            client
                .request(
                    reqwest::Method::POST,
                    &format!("/v2/{repository}/blobs/uploads/?digest={}", b.digest),
                )
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", size)
                .body(body),
        )
        .await?;
    Ok(())
}

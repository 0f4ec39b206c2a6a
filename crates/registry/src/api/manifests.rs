//! Manifest endpoints (GET/HEAD/PUT/DELETE by tag or digest), tag listing with `n`/`last`
//! pagination and `Link`, and the referrers API. Manifests are stored as blobs (content
//! addressed, verified) and described in the metadata with what they refer to.
//!
//! A manifest is stored and served byte for byte as pushed, with the media type it was pushed
//! with: clients send `Accept` lists covering what they understand, and a registry that
//! converted formats would change digests. Referrer descriptors carry `mediaType`, `digest`,
//! `size`, `artifactType` and the manifest's `annotations`, as the spec asks.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{ApiError, Code};
use super::{MAX_MANIFEST, Registry, location, route};
use crate::digest::{Algorithm, Digest};
use crate::meta::NewManifest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::ManifestInvalid, message)
}

fn digest_field(v: &Value, what: &str) -> Result<Digest, ApiError> {
    v["digest"]
        .as_str()
        .ok_or_else(|| invalid(format!("{what} has no digest")))?
        .parse()
        .map_err(|e: crate::digest::DigestError| invalid(format!("{what}: {e}")))
}

/// What a manifest says about itself and refers to.
struct Parsed {
    blobs: Vec<Digest>,
    children: Vec<Digest>,
    subject: Option<Digest>,
    artifact_type: Option<String>,
    /// The `annotations` object, as JSON.
    annotations: Option<String>,
}

fn parse(media_type: &str, bytes: &[u8]) -> Result<Parsed, ApiError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
    if v["schemaVersion"] != 2 {
        return Err(invalid("schemaVersion must be 2"));
    }
    if let Some(declared) = v["mediaType"].as_str()
        && declared != media_type
    {
        return Err(invalid(format!(
            "mediaType {declared:?} does not match Content-Type {media_type:?}"
        )));
    }
    let subject = match v.get("subject") {
        Some(s) if !s.is_null() => Some(digest_field(s, "subject")?),
        _ => None,
    };
    let mut blobs = Vec::new();
    let mut children = Vec::new();
    let mut artifact_type = v["artifactType"].as_str().map(str::to_owned);
    match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = &v["config"];
            blobs.push(digest_field(config, "config")?);
            if artifact_type.is_none() {
                artifact_type = config["mediaType"].as_str().map(str::to_owned);
            }
            for (i, l) in v["layers"].as_array().into_iter().flatten().enumerate() {
                blobs.push(digest_field(l, &format!("layers[{i}]"))?);
            }
        }
        OCI_INDEX | DOCKER_LIST => {
            for (i, m) in v["manifests"].as_array().into_iter().flatten().enumerate() {
                children.push(digest_field(m, &format!("manifests[{i}]"))?);
            }
        }
        other => {
            return Err(
                invalid(format!("unsupported manifest media type {other:?}"))
                    .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            );
        }
    }
    let annotations = v
        .get("annotations")
        .filter(|a| a.is_object())
        .map(Value::to_string);
    Ok(Parsed {
        blobs,
        children,
        subject,
        artifact_type,
        annotations,
    })
}

/// Where a reference points: a digest as is, a tag through the metadata.
async fn resolve(reg: &Registry, name: &str, reference: &str) -> Result<Digest, ApiError> {
    if reference.contains(':') {
        return reference.parse().map_err(|e: crate::digest::DigestError| {
            ApiError::new(Code::DigestInvalid, e.to_string())
        });
    }
    if !route::valid_tag(reference) {
        return Err(invalid(format!("invalid tag {reference:?}")));
    }
    reg.meta.tag(name, reference).await?.ok_or_else(|| {
        ApiError::new(
            Code::ManifestUnknown,
            format!("{name}:{reference} is not a known tag"),
        )
    })
}

impl Registry {
    /// Stores a manifest in `name` and, with `tag`, points the tag at it: the one code path
    /// for client pushes and the pipeline's writes. Blobs and child manifests must already be
    /// in the repository; exact tags obey the access policy's immutability.
    pub async fn put_manifest_bytes(
        &self,
        name: &str,
        media_type: &str,
        bytes: &[u8],
        reference: Option<&str>,
    ) -> Result<(Digest, Option<Digest>), ApiError> {
        if bytes.len() > MAX_MANIFEST {
            return Err(invalid(format!("manifest over {MAX_MANIFEST} bytes"))
                .with_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        let Parsed {
            blobs,
            children,
            subject,
            artifact_type,
            annotations,
        } = parse(media_type, bytes)?;
        let (algorithm, tag) = match reference {
            Some(r) if r.contains(':') => {
                let want: Digest = r.parse().map_err(|e: crate::digest::DigestError| {
                    ApiError::new(Code::DigestInvalid, e.to_string())
                })?;
                (want.algorithm(), None)
            }
            Some(t) if !route::valid_tag(t) => return Err(invalid(format!("invalid tag {t:?}"))),
            Some(t) => (Algorithm::Sha256, Some(t)),
            None => (Algorithm::Sha256, None),
        };
        let digest = Digest::of(algorithm, bytes);
        if let Some(r) = reference.filter(|r| r.contains(':'))
            && r != digest.to_string()
        {
            return Err(ApiError::new(
                Code::DigestInvalid,
                format!("manifest hashes to {digest}, not {r}"),
            ));
        }
        for b in &blobs {
            if self.meta.linked_blob(name, b).await?.is_none() {
                return Err(ApiError::new(
                    Code::ManifestBlobUnknown,
                    format!("blob {b} is not in {name}: push it first"),
                ));
            }
        }
        for c in &children {
            if self.meta.manifest(name, c).await?.is_none() {
                return Err(ApiError::new(
                    Code::ManifestUnknown,
                    format!("manifest {c} is not in {name}: push it first"),
                ));
            }
        }
        self.store
            .put(&digest, Some(bytes.len() as u64), bytes)
            .await?;
        let refs: Vec<Digest> = blobs.into_iter().chain(children).collect();
        self.meta
            .put_manifest(
                name,
                &NewManifest {
                    digest: &digest,
                    media_type,
                    size: bytes.len() as u64,
                    subject: subject.as_ref(),
                    artifact_type: artifact_type.as_deref(),
                    annotations: annotations.as_deref(),
                    refs: &refs,
                },
            )
            .await?;
        self.manifests.forget(name);
        if let Some(tag) = tag {
            let frozen = Registry::exact_tags_immutable(name);
            let set = self.meta.set_tag(name, tag, &digest, frozen).await;
            self.manifests.forget(name);
            set?;
        }
        Ok((digest, subject))
    }
}

pub(super) async fn put(
    reg: &Registry,
    name: &str,
    reference: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let media_type = super::header_str(&req, &header::CONTENT_TYPE)
        .map(|t| t.split(';').next().unwrap_or(t).trim().to_owned())
        .ok_or_else(|| invalid("a manifest PUT needs its media type as Content-Type"))?;
    let bytes = axum::body::to_bytes(req.into_body(), MAX_MANIFEST)
        .await
        .map_err(|_| {
            invalid(format!("manifest over {MAX_MANIFEST} bytes"))
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        })?;
    let (digest, subject) = reg
        .put_manifest_bytes(name, &media_type, &bytes, Some(reference))
        .await?;
    let mut r = StatusCode::CREATED.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        location(&format!("/v2/{name}/manifests/{digest}")),
    );
    h.insert("Docker-Content-Digest", location(&digest.to_string()));
    if let Some(s) = subject {
        h.insert("OCI-Subject", location(&s.to_string()));
    }
    Ok(r)
}

pub(super) async fn get(
    reg: &Registry,
    name: &str,
    reference: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let cached = match reg.manifests.get(name, reference) {
        Some(c) => c,
        None => {
            let digest = resolve(reg, name, reference).await?;
            let unknown = || {
                ApiError::new(
                    Code::ManifestUnknown,
                    format!("manifest {digest} is not in {name}"),
                )
            };
            let row = reg
                .meta
                .manifest(name, &digest)
                .await?
                .ok_or_else(unknown)?;
            let bytes = reg
                .store
                .read_all(&digest, MAX_MANIFEST as u64)
                .await?
                .ok_or_else(unknown)?;
            let fixed = reference.contains(':')
                || (Registry::exact_tags_immutable(name)
                    && crate::meta::is_exact_version(reference));
            let ttl = if fixed {
                super::cache::LONG
            } else {
                super::cache::SHORT
            };
            reg.manifests.put(
                name,
                reference,
                digest.clone(),
                row.media_type.clone(),
                bytes.clone(),
                ttl,
            );
            super::cache::Cached::new(digest, row.media_type, bytes)
        }
    };
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, cached.media_type.as_str())
        .header(header::CONTENT_LENGTH, cached.bytes.len())
        .header("Docker-Content-Digest", cached.digest.to_string());
    if req.method() == Method::HEAD {
        return Ok(builder.body(Body::empty()).expect("valid response"));
    }
    if !reference.contains(':') {
        reg.pulls.record(name, reference);
    }
    Ok(builder
        .body(Body::from(cached.bytes))
        .expect("valid response"))
}

pub(super) async fn delete(
    reg: &Registry,
    name: &str,
    reference: &str,
) -> Result<Response, ApiError> {
    if reference.contains(':') {
        let d = resolve(reg, name, reference).await?;
        if !reg.meta.delete_manifest(name, &d).await? {
            return Err(ApiError::new(
                Code::ManifestUnknown,
                format!("manifest {d} is not in {name}"),
            ));
        }
    } else if !reg.meta.delete_tag(name, reference).await? {
        return Err(ApiError::new(
            Code::ManifestUnknown,
            format!("{name}:{reference} is not a known tag"),
        ));
    }
    reg.manifests.forget(name);
    Ok(StatusCode::ACCEPTED.into_response())
}

fn query(req: &Request) -> Vec<(String, String)> {
    req.uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn tags(reg: &Registry, name: &str, req: Request) -> Result<Response, ApiError> {
    let q = query(&req);
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let n = match get("n") {
        Some(n) => Some(n.parse::<u32>().map_err(|_| {
            ApiError::new(Code::Unsupported, format!("n={n:?} is not a count"))
                .with_status(StatusCode::BAD_REQUEST)
        })?),
        None => None,
    };
    let last = get("last");
    if !reg.meta.repository_exists(name).await? {
        return Err(ApiError::new(
            Code::NameUnknown,
            format!("repository {name} is not known"),
        ));
    }
    let mut tags = reg
        .meta
        .tags(name, last.as_deref(), n.map(|n| n.saturating_add(1)))
        .await?;
    let more = n.is_some_and(|n| tags.len() > n as usize);
    if let Some(n) = n {
        tags.truncate(n as usize);
    }
    let mut r = axum::Json(serde_json::json!({"name": name, "tags": tags})).into_response();
    if more && let (Some(n), Some(last)) = (n, tags.last()) {
        let link = format!("</v2/{name}/tags/list?n={n}&last={last}>; rel=\"next\"");
        r.headers_mut().insert(header::LINK, location(&link));
    }
    Ok(r)
}

pub(super) async fn referrers(
    reg: &Registry,
    name: &str,
    d: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let subject: Digest = d.parse().map_err(|e: crate::digest::DigestError| {
        ApiError::new(Code::DigestInvalid, e.to_string())
    })?;
    let filter = query(&req)
        .into_iter()
        .find(|(k, _)| k == "artifactType")
        .map(|(_, v)| v);
    let rows = reg.meta.referrers(name, &subject).await?;
    let manifests: Vec<Value> = rows
        .into_iter()
        .filter(|r| filter.is_none() || r.artifact_type == filter)
        .map(|r| {
            let mut v = serde_json::json!({
                "mediaType": r.media_type,
                "digest": r.digest.to_string(),
                "size": r.size,
            });
            if let Some(t) = r.artifact_type {
                v["artifactType"] = Value::String(t);
            }
            if let Some(a) = r
                .annotations
                .and_then(|a| serde_json::from_str::<Value>(&a).ok())
            {
                v["annotations"] = a;
            }
            v
        })
        .collect();
    let body =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let mut r = (StatusCode::OK, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OCI_INDEX));
    if filter.is_some() {
        r.headers_mut().insert(
            "OCI-Filters-Applied",
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(r)
}

impl Registry {
    /// Copies the manifest `reference` (tag or digest) of repository `from` into `to` under
    /// `tag`, with everything it refers to: an index with its platform manifests, each with
    /// its config and layers. Blobs are linked, not copied (they are stored once), and
    /// manifests are stored byte for byte, so every digest is preserved. The pipeline's step
    /// from staging to preview and from preview to a public repository; `to`'s tag rules
    /// apply (an exact version tag never moves). Returns the digest.
    pub async fn promote(
        &self,
        from: &str,
        reference: &str,
        to: &str,
        tag: &str,
    ) -> Result<Digest, ApiError> {
        let d = resolve(self, from, reference).await?;
        self.promote_digest(from, &d, to, Some(tag)).await?;
        Ok(d)
    }

    /// Moves the rolling `tag` of `repository` to the manifest `d` already stored there, if
    /// it still points at `expected` (compare-and-set; `false`: someone moved it first).
    pub async fn move_tag(
        &self,
        repository: &str,
        tag: &str,
        d: &Digest,
        expected: Option<&Digest>,
    ) -> Result<bool, ApiError> {
        if !route::valid_tag(tag) {
            return Err(invalid(format!("invalid tag {tag:?}")));
        }
        if Registry::exact_tags_immutable(repository) && crate::meta::is_exact_version(tag) {
            return Err(ApiError::new(
                Code::Denied,
                format!("{repository}:{tag} is an exact version tag: it never moves"),
            ));
        }
        if self.meta.manifest(repository, d).await?.is_none() {
            return Err(ApiError::new(
                Code::ManifestUnknown,
                format!("{repository}@{d} is unknown"),
            ));
        }
        let moved = self.meta.move_tag(repository, tag, d, expected).await;
        self.manifests.forget(repository);
        Ok(moved?)
    }

    fn promote_digest<'a>(
        &'a self,
        from: &'a str,
        d: &'a Digest,
        to: &'a str,
        tag: Option<&'a str>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>>
    {
        Box::pin(async move {
            let unknown = || ApiError::new(Code::ManifestUnknown, format!("{from}@{d} is unknown"));
            let row = self.meta.manifest(from, d).await?.ok_or_else(unknown)?;
            let bytes = self
                .store
                .read_all(d, MAX_MANIFEST as u64)
                .await?
                .ok_or_else(unknown)?;
            let parsed = parse(&row.media_type, &bytes)?;
            for child in &parsed.children {
                self.promote_digest(from, child, to, None).await?;
            }
            for b in &parsed.blobs {
                if self.meta.linked_blob(from, b).await?.is_none() {
                    return Err(ApiError::new(
                        Code::BlobUnknown,
                        format!("blob {b} is not in {from}"),
                    ));
                }
                self.link(to, b).await?;
            }
            // By digest first (whatever its algorithm), then the tag at that digest.
            self.put_manifest_bytes(to, &row.media_type, &bytes, Some(&d.to_string()))
                .await?;
            if let Some(tag) = tag {
                if !route::valid_tag(tag) {
                    return Err(invalid(format!("invalid tag {tag:?}")));
                }
                let frozen = Registry::exact_tags_immutable(to);
                let set = self.meta.set_tag(to, tag, d, frozen).await;
                self.manifests.forget(to);
                set?;
            }
            Ok(())
        })
    }

    /// Makes blob `d`, already stored, servable from `name` (the pipeline's copy between
    /// repositories: blobs are stored once).
    pub async fn link(&self, name: &str, d: &Digest) -> Result<(), ApiError> {
        let size =
            self.store.stat(d).await?.ok_or_else(|| {
                ApiError::new(Code::BlobUnknown, format!("blob {d} is not stored"))
            })?;
        self.meta.link_blob(name, d, size).await?;
        Ok(())
    }
}

impl Registry {
    /// Writes the image `reference` (tag or digest) of `repository` as an OCI image layout in
    /// `dir` (created if missing): `oci-layout`, `index.json` naming the image by each of
    /// `ref_names` (one entry each, all the same digest), and
    /// every manifest and blob it refers to under `blobs/<algorithm>/<hex>`, each byte for
    /// byte. The pipeline's hand-over to the certification engine, which reads layouts like
    /// any other source. Returns the image's digest.
    pub async fn export_layout(
        &self,
        repository: &str,
        reference: &str,
        dir: &std::path::Path,
        ref_names: &[String],
    ) -> Result<Digest, ApiError> {
        let d = resolve(self, repository, reference).await?;
        let row = self.meta.manifest(repository, &d).await?.ok_or_else(|| {
            ApiError::new(
                Code::ManifestUnknown,
                format!("{repository}@{d} is unknown"),
            )
        })?;
        let io = |e: std::io::Error| {
            ApiError::new(Code::Internal, format!("writing {}: {e}", dir.display()))
        };
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let mut seen = std::collections::HashSet::new();
        let size = self.export_digest(repository, &d, dir, &mut seen).await?;
        let entries: Vec<serde_json::Value> = ref_names
            .iter()
            .map(|name| {
                serde_json::json!({
                    "mediaType": row.media_type,
                    "digest": d.to_string(),
                    "size": size,
                    "annotations": {"org.opencontainers.image.ref.name": name},
                })
            })
            .collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        });
        tokio::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
            .await
            .map_err(io)?;
        tokio::fs::write(dir.join("index.json"), index.to_string())
            .await
            .map_err(io)?;
        Ok(d)
    }

    /// One manifest of an export and what it refers to; returns its size.
    fn export_digest<'a>(
        &'a self,
        repository: &'a str,
        d: &'a Digest,
        dir: &'a std::path::Path,
        seen: &'a mut std::collections::HashSet<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, ApiError>> + Send + 'a>>
    {
        Box::pin(async move {
            let unknown = || {
                ApiError::new(
                    Code::ManifestUnknown,
                    format!("{repository}@{d} is unknown"),
                )
            };
            let row = self
                .meta
                .manifest(repository, d)
                .await?
                .ok_or_else(unknown)?;
            let bytes = self
                .store
                .read_all(d, MAX_MANIFEST as u64)
                .await?
                .ok_or_else(unknown)?;
            let parsed = parse(&row.media_type, &bytes)?;
            for child in &parsed.children {
                self.export_digest(repository, child, dir, seen).await?;
            }
            for b in &parsed.blobs {
                if !seen.insert(b.to_string()) {
                    continue;
                }
                if self.meta.linked_blob(repository, b).await?.is_none() {
                    return Err(ApiError::new(
                        Code::BlobUnknown,
                        format!("blob {b} is not in {repository}"),
                    ));
                }
                self.export_blob(b, dir).await?;
            }
            write_blob_file(dir, d, &bytes).await?;
            Ok(bytes.len() as u64)
        })
    }

    /// Streams blob `b` from the store to `dir/blobs/<algorithm>/<hex>`.
    async fn export_blob(&self, b: &Digest, dir: &std::path::Path) -> Result<(), ApiError> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let gone = || ApiError::new(Code::BlobUnknown, format!("blob {b} is not stored"));
        let size = self.store.stat(b).await?.ok_or_else(gone)?;
        let mut stream = self.store.read(b, 0, size).await?.ok_or_else(gone)?;
        let path = blob_path(dir, b);
        let io = |e: std::io::Error| {
            ApiError::new(Code::Internal, format!("writing {}: {e}", path.display()))
        };
        tokio::fs::create_dir_all(path.parent().unwrap_or(dir))
            .await
            .map_err(io)?;
        let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::new(
                    Code::Internal,
                    format!("reading blob {b} from the store: {e}"),
                )
            })?;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(())
    }
}

fn blob_path(dir: &std::path::Path, d: &Digest) -> std::path::PathBuf {
    dir.join("blobs").join(d.algorithm().as_str()).join(d.hex())
}

async fn write_blob_file(dir: &std::path::Path, d: &Digest, bytes: &[u8]) -> Result<(), ApiError> {
    let path = blob_path(dir, d);
    let io = |e: std::io::Error| {
        ApiError::new(Code::Internal, format!("writing {}: {e}", path.display()))
    };
    tokio::fs::create_dir_all(path.parent().unwrap_or(dir))
        .await
        .map_err(io)?;
    tokio::fs::write(&path, bytes).await.map_err(io)
}

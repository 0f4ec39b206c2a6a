//! Blob endpoints: GET/HEAD (with `Range`), DELETE, and uploads — monolithic POST, POST then
//! PUT, chunked PATCH with `Content-Range` (a chunk that does not start at the current offset
//! is 416 with the offset in `Range`), streamed PATCH, status, cancel, and cross-repository
//! mount. A mount names the repository it comes `from`; without `from` (OCI 1.1's automatic
//! content discovery) the registry answers with an upload session, as the spec allows: a
//! digest alone must not open another publisher's staging or preview content.

use std::io;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt as _;

use tokio_util::io::StreamReader;

use super::error::{ApiError, Code};
use super::{Registry, header_str, location};
use crate::digest::Digest;
use crate::store::UploadId;

fn parse_digest(s: &str) -> Result<Digest, ApiError> {
    s.parse()
        .map_err(|e: crate::digest::DigestError| ApiError::new(Code::DigestInvalid, e.to_string()))
}

fn body_reader(req: Request) -> impl tokio::io::AsyncRead + Unpin {
    StreamReader::new(req.into_body().into_data_stream().map_err(io::Error::other))
}

fn query_param(req: &Request, key: &str) -> Option<String> {
    let q = req.uri().query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn digest_header(d: &Digest) -> HeaderValue {
    HeaderValue::from_str(&d.to_string()).expect("digests are header-safe")
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` against a blob of `len` bytes: the inclusive range.
fn byte_range(spec: &str, len: u64) -> Option<(u64, u64)> {
    let spec = spec.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (a, "") => (a.parse().ok()?, len - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

pub(super) async fn get(
    reg: &Registry,
    name: &str,
    d: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let d = parse_digest(d)?;
    let unknown = || ApiError::new(Code::BlobUnknown, format!("blob {d} is not in {name}"));
    if reg.meta.linked_blob(name, &d).await?.is_none() {
        return Err(unknown());
    }
    let Some(len) = reg.store.stat(&d).await? else {
        return Err(unknown());
    };
    let head = req.method() == Method::HEAD;
    let range = header_str(&req, &header::RANGE).map(str::to_owned);
    let mut builder = Response::builder()
        .header("Docker-Content-Digest", digest_header(&d))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes");
    let (status, start, count) = match range {
        Some(spec) => match byte_range(&spec, len) {
            Some((a, b)) => {
                builder = builder.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"));
                (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
            }
            None => {
                return Ok(Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                    .body(Body::empty())
                    .expect("static response"));
            }
        },
        None => (StatusCode::OK, 0, len),
    };
    builder = builder.status(status).header(header::CONTENT_LENGTH, count);
    if head {
        return Ok(builder.body(Body::empty()).expect("valid response"));
    }
    let stream = reg
        .store
        .read(&d, start, count)
        .await?
        .ok_or_else(unknown)?;
    Ok(builder
        .body(Body::from_stream(stream))
        .expect("valid response"))
}

pub(super) async fn delete(reg: &Registry, name: &str, d: &str) -> Result<Response, ApiError> {
    let d = parse_digest(d)?;
    if !reg.meta.unlink_blob(name, &d).await? {
        return Err(ApiError::new(
            Code::BlobUnknown,
            format!("blob {d} is not in {name}"),
        ));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

fn created(name: &str, d: &Digest) -> Response {
    let mut r = StatusCode::CREATED.into_response();
    r.headers_mut()
        .insert(header::LOCATION, location(&format!("/v2/{name}/blobs/{d}")));
    r.headers_mut()
        .insert("Docker-Content-Digest", digest_header(d));
    r
}

fn session(name: &str, id: &UploadId, size: u64, status: StatusCode) -> Response {
    let mut r = status.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        location(&format!("/v2/{name}/blobs/uploads/{}", id.as_str())),
    );
    h.insert(
        header::RANGE,
        location(&format!("0-{}", size.saturating_sub(1))),
    );
    h.insert("Docker-Upload-UUID", location(id.as_str()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

pub(super) async fn start(reg: &Registry, name: &str, req: Request) -> Result<Response, ApiError> {
    if let Some(mount) = query_param(&req, "mount") {
        let d = parse_digest(&mount)?;
        let from = query_param(&req, "from");
        let size = match &from {
            Some(from) if super::route::valid_name(from) => reg.meta.linked_blob(from, &d).await?,
            _ => None,
        };
        if let Some(size) = size
            && reg.store.stat(&d).await?.is_some()
        {
            reg.meta.link_blob(name, &d, size).await?;
            return Ok(created(name, &d));
        }
        // Not mountable: an ordinary upload session instead, as the spec says.
    }
    if let Some(d) = query_param(&req, "digest") {
        let d = parse_digest(&d)?;
        let size = reg.store.put(&d, None, body_reader(req)).await?;
        reg.meta.link_blob(name, &d, size).await?;
        return Ok(created(name, &d));
    }
    let id = reg.store.start_upload().await?;
    reg.meta.add_upload(id.as_str(), name).await?;
    Ok(session(name, &id, 0, StatusCode::ACCEPTED))
}

/// The session `id` of repository `name`.
async fn own_session(reg: &Registry, name: &str, id: &str) -> Result<UploadId, ApiError> {
    let unknown = || ApiError::new(Code::BlobUploadUnknown, format!("upload {id} is unknown"));
    let id = UploadId::parse(id).ok_or_else(unknown)?;
    match reg.meta.upload_repository(id.as_str()).await? {
        Some(repo) if repo == name => Ok(id),
        _ => Err(unknown()),
    }
}

/// `Content-Range: <start>-<end>` (the spec's form, no unit): the start offset.
fn content_range_start(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(v) = header_str(req, &header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let v = v.trim().trim_start_matches("bytes ");
    let start = v
        .split_once('-')
        .and_then(|(a, _)| a.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                Code::BlobUploadInvalid,
                format!("invalid Content-Range {v:?}"),
            )
            .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
        })?;
    Ok(Some(start))
}

pub(super) async fn patch(
    reg: &Registry,
    name: &str,
    id: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let id = own_session(reg, name, id).await?;
    let offset = content_range_start(&req)?;
    let size = reg.store.append(&id, offset, body_reader(req)).await?;
    Ok(session(name, &id, size, StatusCode::ACCEPTED))
}

pub(super) async fn finish(
    reg: &Registry,
    name: &str,
    id: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let id = own_session(reg, name, id).await?;
    let d = query_param(&req, "digest").ok_or_else(|| {
        ApiError::new(
            Code::DigestInvalid,
            "the closing PUT of an upload needs ?digest=",
        )
    })?;
    let d = parse_digest(&d)?;
    let offset = content_range_start(&req)?;
    reg.store.append(&id, offset, body_reader(req)).await?;
    let size = reg.store.finish(&id, &d).await;
    reg.meta.remove_upload(id.as_str()).await?;
    let size = size?;
    reg.meta.link_blob(name, &d, size).await?;
    Ok(created(name, &d))
}

pub(super) async fn status(reg: &Registry, name: &str, id: &str) -> Result<Response, ApiError> {
    let id = own_session(reg, name, id).await?;
    let size = reg.store.upload_size(&id).await?.ok_or_else(|| {
        ApiError::new(
            Code::BlobUploadUnknown,
            format!("upload {} is unknown", id.as_str()),
        )
    })?;
    Ok(session(name, &id, size, StatusCode::NO_CONTENT))
}

pub(super) async fn cancel(reg: &Registry, name: &str, id: &str) -> Result<Response, ApiError> {
    let id = own_session(reg, name, id).await?;
    reg.store.cancel(&id).await?;
    reg.meta.remove_upload(id.as_str()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges() {
        assert_eq!(byte_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(byte_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("bytes=9-0", 100), None);
        assert_eq!(byte_range("bytes=0-1,3-4", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }
}

//! The `Store` trait: where manifests and blobs come from, whatever the transport.
//!
//! A store only fetches bytes. It does not parse manifests, verify digests or walk layers;
//! `resolve` and `layer` do that once for every transport, so an OCI layout, a docker archive
//! and a registry give the same facts for the same image.

use std::io::Read;

use crate::digest::Digest;

/// Hard cap for manifest, index and config blobs (EC101: manifests over 4 MiB are hostile).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The blob or manifest is not there: the image is broken (a finding, not our failure).
    #[error("{what} {digest} is missing from the image")]
    Missing { what: &'static str, digest: String },
    /// Over the size cap; the bytes were not all read.
    #[error("{what} {digest} is larger than {max} bytes")]
    TooLarge {
        what: &'static str,
        digest: String,
        max: u64,
    },
    /// The source is there but what it holds is not a sound image (a broken `index.json`):
    /// the partner's problem, an EC101 finding.
    #[error("{0}")]
    Malformed(String),
    /// The source itself cannot be used: not found, unreachable, bad credentials.
    #[error("{0}")]
    Source(String),
    /// A file of a layout or the archive itself is a FIFO, a device, a socket or a directory:
    /// reading it could block forever or never end, so it is refused before the first read.
    #[error("{path} is not a regular file (it is a {kind})")]
    NotRegular { path: String, kind: &'static str },
    /// The I/O error is part of the message, not a chained source (it would print twice).
    #[error("{context}: {error}")]
    Io {
        context: String,
        error: std::io::Error,
    },
}

/// What the source reference points at: the top manifest or index, as bytes.
#[derive(Debug, Clone)]
pub struct Root {
    pub bytes: Vec<u8>,
    /// Media type the source declared for it (descriptor or Content-Type), if any.
    pub media_type: Option<String>,
    /// Digest the source claims for it (an index.json descriptor); `None` when the bytes are
    /// the only truth (a registry tag, a synthesised legacy docker-archive manifest).
    pub expected_digest: Option<Digest>,
    /// Declared size, with `expected_digest`.
    pub expected_size: Option<u64>,
}

// Tag resolution lives with the other facts; the transports produce it.
pub use crate::facts::TagMap;

pub trait Store: Send + Sync {
    /// The top manifest or index the reference names.
    fn root(&self) -> Result<Root, StoreError>;

    /// A manifest or index by digest, at most `max` bytes.
    fn manifest(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError>;

    /// A small blob (image config) by digest, at most `max` bytes.
    fn blob_bytes(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        self.open_blob(digest)?
            .take(max + 1)
            .read_to_end(&mut out)
            .map_err(|source| StoreError::Io {
                context: format!("reading blob {digest}"),
                error: source,
            })?;
        if out.len() as u64 > max {
            return Err(StoreError::TooLarge {
                what: "blob",
                digest: digest.to_string(),
                max,
            });
        }
        Ok(out)
    }

    /// A streaming reader of a blob's raw (possibly compressed) bytes, not yet verified.
    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, StoreError>;

    /// Which digest each of `tags` names in this source.
    fn tags(&self, tags: &[String]) -> Result<TagMap, StoreError>;
}

/// Reads at most `max` bytes of `reader`, failing with `TooLarge` past that.
pub(crate) fn read_capped(
    mut reader: impl Read,
    what: &'static str,
    digest: &str,
    max: u64,
) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    (&mut reader)
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|source| StoreError::Io {
            context: format!("reading {what} {digest}"),
            error: source,
        })?;
    if out.len() as u64 > max {
        return Err(StoreError::TooLarge {
            what,
            digest: digest.to_owned(),
            max,
        });
    }
    Ok(out)
}

/// The error and every cause under it, `": "`-joined, repeats dropped (reqwest's "error
/// sending request for url (…)" alone hides whether the connection was refused, the name did
/// not resolve or TLS failed).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

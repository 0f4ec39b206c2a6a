//! What the streaming pass established about one layer: its entries (with the analyzers' facts
//! per file), sizes, problems. Written by `image::layer::read_layer`, read by `merged` and the
//! checks.

use super::Problem;
use super::file::FileFact;
use crate::digest::Digest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(String),
    /// Hardlink to another (normalised) path of the image.
    Hardlink(String),
    /// `.wh.<name>`: deletes this path from lower layers.
    Whiteout,
    /// `.wh..wh..opq`: this directory hides its lower-layer contents.
    Opaque,
    Other,
}

#[derive(Debug, Clone)]
pub struct FsEntry {
    /// Normalised, no leading `/`. For whiteouts, the path deleted; for opaque markers, the dir.
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    pub facts: Vec<FileFact>,
}

#[derive(Debug, Clone)]
pub struct LayerFacts {
    pub digest: Digest,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub entries: Vec<FsEntry>,
    pub problems: Vec<Problem>,
    /// Harmless oddities worth a line of information in EC101 (standard device nodes).
    pub notes: Vec<Problem>,
    /// Read to the end, digest and size verified.
    pub complete: bool,
}

//! The one streaming pass over a layer blob: count and hash the raw bytes (digest and size are
//! verified at the end), detect the compression from magic bytes, decompress (gzip via zlib-rs,
//! zstd), walk the tar entries, apply the hostile-path rules and hand each regular file to the
//! analyzers. Memory is bounded by buffers, whatever the layer size: file contents are never
//! collected, only what analyzers keep.
//!
//! Bombs are stopped while decompressing: the decompressed size is capped (policy, default
//! 8 GiB) and so is its ratio to the compressed bytes consumed so far (default 1000:1).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::Digest as _;

use super::hostile::{self, PathIssue};
use super::resolve::LayerRef;
use super::store::{Store, StoreError};
use crate::analyze::{Analyzer, FileFact, FileMeta, FileScan};
use crate::cancel::Cancel;
use crate::digest::Digest;
use crate::facts::Problem;
use crate::location::Location;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_uncompressed: u64,
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_uncompressed: 8 << 30,
            max_ratio: 1000,
        }
    }
}

/// Reports bytes read, for progress bars. Called from worker threads.
pub trait Progress: Send + Sync {
    fn layer_started(&self, _digest: &Digest, _size: u64) {}
    fn advanced(&self, _bytes: u64) {}
    fn layer_finished(&self, _digest: &Digest) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

pub use crate::facts::layer::{EntryKind, FsEntry, LayerFacts};

/// The character devices every container has, at their standard numbers: what `docker
/// import` of a debootstrap tree puts in a layer. Harmless, because the runtime mounts a fresh
/// `/dev` over the image's; any other device node (or these names with other numbers) is
/// hostile.
const STANDARD_DEVICES: &[(&str, u32, u32)] = &[
    ("dev/null", 1, 3),
    ("dev/zero", 1, 5),
    ("dev/full", 1, 7),
    ("dev/random", 1, 8),
    ("dev/urandom", 1, 9),
    ("dev/tty", 5, 0),
    ("dev/console", 5, 1),
    ("dev/ptmx", 5, 2),
];

fn standard_device(path: &str, header: &tar::Header) -> bool {
    let major = header.device_major().ok().flatten();
    let minor = header.device_minor().ok().flatten();
    STANDARD_DEVICES
        .iter()
        .any(|&(p, ma, mi)| p == path && major == Some(ma) && minor == Some(mi))
}

/// Reads one layer. Everything wrong with the layer's bytes is a `Problem` located in the
/// layer (EC101); an
/// `Err` means the bytes could not be had — the source's reader failed (network drop, a 5xx
/// mid-blob, an unreadable file) or keeping a copy failed (full disk) — so nothing can be
/// said about the layer and the run cannot give a verdict (exit 2). Once `cancel` fires,
/// the next read fails and the layer ends incomplete.
pub fn read_layer(
    store: &dyn Store,
    layer: &LayerRef,
    analyzers: &[Box<dyn Analyzer>],
    limits: Limits,
    progress: &dyn Progress,
    keep: Option<&Path>,
    cancel: &Cancel,
) -> Result<LayerFacts, StoreError> {
    let mut facts = LayerFacts {
        digest: layer.digest.clone(),
        compressed_bytes: 0,
        uncompressed_bytes: 0,
        entries: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        complete: false,
    };
    if let Err(why) = cancel.check() {
        facts.problems.push(layer_problem(&layer.digest, why, None));
        return Ok(facts);
    }
    let raw = match store.open_blob(&layer.digest) {
        Ok(r) => r,
        Err(e @ StoreError::NotRegular { .. }) => {
            // A blob the source would not hand out (a FIFO in a layout) is our failure.
            return Err(StoreError::Source(e.to_string()));
        }
        Err(StoreError::Missing { .. }) => {
            facts.problems.push(layer_problem(
                &layer.digest,
                "layer blob is missing from the image".to_owned(),
                None,
            ));
            return Ok(facts);
        }
        Err(e @ (StoreError::Malformed(_) | StoreError::TooLarge { .. })) => {
            facts.problems.push(layer_problem(
                &layer.digest,
                format!("cannot read layer: {e}"),
                None,
            ));
            return Ok(facts);
        }
        Err(e) => return Err(source_failure(&layer.digest, e.to_string())),
    };
    progress.layer_started(&layer.digest, layer.size);
    // With `keep`, the raw bytes are also written (tee) to `<keep>/<hex>.partial`, renamed to
    // `<keep>/<hex>` once verified: the ingestion test loads images from these, so a registry
    // image is downloaded once.
    let kept = keep.map(|dir| dir.join(format!("{}.partial", layer.digest.hex())));
    let tee = match kept.as_ref().map(std::fs::File::create).transpose() {
        Ok(f) => f,
        Err(e) => {
            return Err(source_failure(
                &layer.digest,
                format!("cannot keep a copy of the layer: {e}"),
            ));
        }
    };
    let consumed = Arc::new(AtomicU64::new(0));
    // One byte past the declared size is enough to know it lies; never read an endless stream.
    let hashing = Hashing {
        inner: raw.take(layer.size.saturating_add(1)),
        hasher: sha2::Sha256::new(),
        consumed: consumed.clone(),
        progress,
        tee,
        failed: None,
        cancel,
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, hashing);
    let magic = match buffered.fill_buf() {
        Ok(b) => b
            .get(..4)
            .map(|m| [m[0], m[1], m[2], m[3]])
            .unwrap_or_default(),
        Err(e) => {
            if let Some(why) = buffered.get_ref().failed.clone() {
                return Err(source_failure(&layer.digest, why));
            }
            facts.problems.push(layer_problem(
                &layer.digest,
                format!("cannot read layer: {e}"),
                None,
            ));
            return Ok(facts);
        }
    };
    let decoder = match Decoder::new(buffered, magic) {
        Ok(d) => d,
        Err(e) => {
            facts.problems.push(layer_problem(
                &layer.digest,
                format!("cannot start decompression: {e}"),
                None,
            ));
            return Ok(facts);
        }
    };
    let headers_end = Arc::new(AtomicU64::new(MAX_TAR_HEADERS));
    let capped = Capped {
        inner: decoder,
        produced: 0,
        consumed,
        headers_end: headers_end.clone(),
        limits,
        tripped: None,
    };
    let mut archive = tar::Archive::new(capped);
    // Analyzers that already know this layer (a result cache) are not fed its files.
    let mut live: Vec<&dyn Analyzer> = Vec::new();
    let mut known: Vec<(String, Vec<FileFact>)> = Vec::new();
    for a in analyzers {
        match a.cached(layer.digest.as_str()) {
            Some(f) => known.extend(f),
            None => live.push(a.as_ref()),
        }
    }
    let mut produced: Produced = vec![Vec::new(); live.len()];
    let walked = walk(
        &mut archive,
        &headers_end,
        &layer.digest,
        &live,
        &mut produced,
        &mut facts,
    );
    headers_end.store(u64::MAX, Ordering::Relaxed);
    let mut capped = archive.into_inner();
    if walked.is_ok() {
        // The end-of-archive blocks may be followed by padding; drain so the digest covers all.
        if let Err(e) = io::copy(&mut capped, &mut io::sink()) {
            facts.problems.push(layer_problem(
                &layer.digest,
                decompress_message(&capped, &e),
                None,
            ));
        }
    } else if let Err(e) = walked {
        facts.problems.push(layer_problem(
            &layer.digest,
            decompress_message(&capped, &e),
            None,
        ));
    }
    facts.uncompressed_bytes = capped.produced;
    let tripped = capped.tripped.is_some();
    let decoded = facts
        .problems
        .iter()
        .all(|p| matches!(&p.location, Location::Layer { path: Some(_), .. }));
    let mut buffered = capped.inner.into_inner();
    if !tripped {
        // Whatever the decoder did not need (trailing garbage, or everything after a corrupt
        // or truncated spot) still counts for the size and digest, so a blob that does not
        // decompress is still held against its descriptor: a truncated layer says so.
        let _ = io::copy(&mut buffered, &mut io::sink());
        let hashing = buffered.into_inner();
        if let Some(why) = hashing.failed {
            remove_partial(kept.as_deref());
            return Err(source_failure(&layer.digest, why));
        }
        let count = hashing.consumed.load(Ordering::Relaxed);
        facts.compressed_bytes = count;
        let actual = Digest::from_sha256(hashing.hasher.finalize().into());
        let mut verified = true;
        if count != layer.size {
            facts.problems.push(layer_problem(
                &layer.digest,
                if count > layer.size {
                    format!(
                        "layer blob is larger than its descriptor's {} bytes",
                        layer.size
                    )
                } else {
                    format!(
                        "layer blob is {count} bytes, its descriptor says {}",
                        layer.size
                    )
                },
                None,
            ));
            verified = false;
        } else if actual != layer.digest {
            facts.problems.push(layer_problem(
                &layer.digest,
                format!("layer digest mismatch: content is {actual}"),
                None,
            ));
            verified = false;
        }
        facts.complete = decoded && verified;
    } else {
        if let Some(why) = buffered.get_ref().failed.clone() {
            remove_partial(kept.as_deref());
            return Err(source_failure(&layer.digest, why));
        }
        facts.compressed_bytes = buffered.get_ref().consumed.load(Ordering::Relaxed);
    }
    progress.layer_finished(&layer.digest);
    if facts.complete {
        for (a, f) in live.iter().zip(&produced) {
            a.remember(layer.digest.as_str(), f);
        }
    }
    if !known.is_empty() && !facts.complete {
        // Cached facts are about the layer the digest names; these bytes are not it (or were
        // not all read). Never let a cache entry vouch for them.
        facts.problems.push(layer_problem(
            &layer.digest,
            "cached malware scan results were not used: the layer was not verified".to_owned(),
            None,
        ));
    } else if !known.is_empty() {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, e) in facts.entries.iter().enumerate() {
            index.insert(e.path.as_str(), i);
        }
        let places: Vec<(usize, Vec<FileFact>)> = known
            .into_iter()
            .filter_map(|(path, f)| index.get(path.as_str()).map(|&i| (i, f)))
            .collect();
        for (i, f) in places {
            facts.entries[i].facts.extend(f);
        }
    }
    if let Some(partial) = kept {
        let done = facts.complete && std::fs::rename(&partial, partial.with_extension("")).is_ok();
        if !done {
            let _ = std::fs::remove_file(&partial);
        }
    }
    Ok(facts)
}

fn remove_partial(kept: Option<&Path>) {
    if let Some(partial) = kept {
        let _ = std::fs::remove_file(partial);
    }
}

/// A problem with the layer `digest` (at `path` inside it, when it is about an entry).
fn layer_problem(digest: &Digest, message: String, path: Option<&str>) -> Problem {
    Problem {
        message,
        location: Location::layer(digest, path),
        platform: None,
    }
}

fn source_failure(digest: &Digest, why: String) -> StoreError {
    StoreError::Source(format!("reading layer {digest}: {why}"))
}

fn decompress_message(capped: &Capped<impl Read>, e: &io::Error) -> String {
    match &capped.tripped {
        Some(why) => why.clone(),
        None => format!("layer does not decompress or is not a well-formed tar: {e}"),
    }
}

const CHUNK: usize = 128 * 1024;

/// Per analyzer (by position), the facts it produced: `(path, facts)`.
type Produced = Vec<Vec<(String, Vec<FileFact>)>>;

fn walk<R: Read>(
    archive: &mut tar::Archive<R>,
    headers_end: &AtomicU64,
    digest: &Digest,
    analyzers: &[&dyn Analyzer],
    produced: &mut Produced,
    facts: &mut LayerFacts,
) -> io::Result<()> {
    let mut symlinks_out: Vec<String> = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    for entry in archive.entries()? {
        let mut entry = entry?;
        // What the tar reader may read before handing out the next entry: the rest of this
        // entry's data, then headers. It buffers GNU long names and PAX records whole.
        let data_end = entry
            .raw_file_position()
            .saturating_add(entry.size().saturating_add(511) & !511);
        headers_end.store(data_end.saturating_add(MAX_TAR_HEADERS), Ordering::Relaxed);
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0);
        let size = entry.size();
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let hostile = |message: String| layer_problem(digest, message, Some(&raw_name));
        if raw_name.starts_with('/') {
            facts.problems.push(hostile("absolute entry name".into()));
        }
        let path = match hostile::normalise(&raw_name) {
            Ok(p) => p,
            Err(PathIssue::ClimbsOut) => {
                facts.problems.push(hostile(
                    "entry name climbs out of the root with `..`".into(),
                ));
                continue;
            }
            Err(_) => continue, // "./" itself: the root directory entry
        };
        if let Some(link) = hostile::ancestors(&path).find(|a| symlinks_out.iter().any(|s| s == a))
        {
            facts.problems.push(hostile(format!(
                "entry is written through symlink {link:?}, whose target climbs out of the root"
            )));
            continue;
        }
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if base == ".wh..wh..opq" {
            facts.entries.push(FsEntry {
                path: dir.to_owned(),
                kind: EntryKind::Opaque,
                mode,
                size: 0,
                facts: vec![],
            });
            continue;
        }
        if let Some(name) = base.strip_prefix(".wh.") {
            let deleted = if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            };
            facts.entries.push(FsEntry {
                path: deleted,
                kind: EntryKind::Whiteout,
                mode,
                size: 0,
                facts: vec![],
            });
            continue;
        }
        let link_target = || {
            entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let kind = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mut file_facts = Vec::new();
                for (i, f) in analyze(&mut entry, digest, &path, size, mode, analyzers, &mut buf)? {
                    produced[i].push((path.clone(), f.clone()));
                    file_facts.extend(f);
                }
                facts.entries.push(FsEntry {
                    path,
                    kind: EntryKind::File,
                    mode,
                    size,
                    facts: file_facts,
                });
                continue;
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => {
                let target = link_target();
                // A link to (below) a link that climbs out climbs out too: `a -> x`, `x -> ..`.
                let chained = hostile::symlink_target(&path, &target).is_some_and(|t| {
                    symlinks_out
                        .iter()
                        .any(|s| t == *s || hostile::ancestors(&t).any(|a| a == s))
                });
                if chained || hostile::symlink_escapes(&path, &target) {
                    symlinks_out.push(path.clone());
                }
                EntryKind::Symlink(target)
            }
            tar::EntryType::Link => {
                let target = link_target();
                match hostile::normalise(&target) {
                    Ok(t) => {
                        // link(2) follows symlinks in the target's directories.
                        let through = hostile::ancestors(&t)
                            .find(|a| symlinks_out.iter().any(|s| s == a))
                            .map(str::to_owned);
                        if let Some(link) = through {
                            facts.problems.push(hostile(format!(
                                "hardlink target {target:?} goes through symlink {link:?}, whose target climbs out of the root"
                            )));
                            continue;
                        }
                        EntryKind::Hardlink(t)
                    }
                    Err(_) => {
                        facts.problems.push(hostile(format!(
                            "hardlink target {target:?} climbs out of the root"
                        )));
                        continue;
                    }
                }
            }
            tar::EntryType::Char if standard_device(&path, header) => {
                facts.notes.push(layer_problem(
                    digest,
                    "standard device node (the runtime mounts its own /dev over it)".into(),
                    Some(&path),
                ));
                EntryKind::Other
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                facts.problems.push(hostile(format!(
                    "{} device node in a layer",
                    if kind == tar::EntryType::Char {
                        "character"
                    } else {
                        "block"
                    }
                )));
                continue;
            }
            _ => EntryKind::Other,
        };
        facts.entries.push(FsEntry {
            path,
            kind,
            mode,
            size,
            facts: vec![],
        });
    }
    Ok(())
}

fn analyze(
    entry: &mut impl Read,
    digest: &Digest,
    path: &str,
    size: u64,
    mode: u32,
    analyzers: &[&dyn Analyzer],
    buf: &mut [u8],
) -> io::Result<Vec<(usize, Vec<FileFact>)>> {
    let meta = FileMeta {
        layer: digest.as_str(),
        path,
        size,
        mode,
    };
    let mut active: Vec<(usize, Box<dyn FileScan>)> = analyzers
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.start(&meta).map(|s| (i, s)))
        .collect();
    let mut done: Vec<(usize, Box<dyn FileScan>)> = Vec::new();
    while !active.is_empty() {
        let n = entry.read(buf)?;
        if n == 0 {
            break;
        }
        let mut i = 0;
        while i < active.len() {
            if active[i].1.update(&buf[..n]) {
                i += 1;
            } else {
                done.push(active.swap_remove(i));
            }
        }
    }
    let mut out: Vec<(usize, Vec<FileFact>)> = done
        .into_iter()
        .chain(active)
        .map(|(i, s)| (i, s.finish()))
        .filter(|(_, f)| !f.is_empty())
        .collect();
    // Analyzer order, not completion order: the report must not depend on who finished first.
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
}

/// Raw bytes in: counted, hashed, reported. The first error of the source reader or of the
/// tee is kept in `failed`, so that once the decoder or the tar reader has turned it into "does
/// not decompress", the pass can still tell a transport failure from bad bytes.
struct Hashing<'p, R> {
    inner: R,
    hasher: sha2::Sha256,
    consumed: Arc<AtomicU64>,
    progress: &'p dyn Progress,
    tee: Option<std::fs::File>,
    failed: Option<String>,
    cancel: &'p Cancel,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Cancelling is not a transport failure: not recorded in `failed`.
        self.cancel.check_io()?;
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                if self.failed.is_none() {
                    self.failed = Some(super::store::error_chain(&e));
                }
                return Err(e);
            }
        };
        self.hasher.update(&buf[..n]);
        if let Some(tee) = &mut self.tee
            && let Err(e) = tee.write_all(&buf[..n])
        {
            if self.failed.is_none() {
                self.failed = Some(format!("cannot keep a copy of the layer: {e}"));
            }
            return Err(e);
        }
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        self.progress.advanced(n as u64);
        Ok(n)
    }
}

// One decoder per layer being read: its size is irrelevant, a box would only add a hop.
#[allow(clippy::large_enum_variant)]
enum Decoder<R: BufRead> {
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    Zstd(zstd::Decoder<'static, R>),
    Plain(R),
}

impl<R: BufRead> Decoder<R> {
    fn new(inner: R, magic: [u8; 4]) -> io::Result<Self> {
        Ok(if magic[..2] == [0x1f, 0x8b] {
            Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(inner))
        } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
            Decoder::Zstd(zstd::Decoder::with_buffer(inner)?)
        } else {
            Decoder::Plain(inner)
        })
    }

    fn into_inner(self) -> R {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
            Decoder::Plain(r) => r,
        }
    }
}

/// Raw bytes read ahead into the buffer but not yet taken by the decoder.
trait Unread {
    fn unread(&self) -> u64;
}

impl<R: Read> Unread for Decoder<BufReader<R>> {
    fn unread(&self) -> u64 {
        let buffered = match self {
            Decoder::Gzip(d) => d.get_ref(),
            Decoder::Zstd(d) => d.get_ref(),
            Decoder::Plain(r) => r,
        };
        buffered.buffer().len() as u64
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Plain(r) => r.read(buf),
        }
    }
}

/// Decompressed bytes out: stops bombs by total and by ratio, and tar headers (which the tar
/// reader holds in memory) by size.
struct Capped<R> {
    inner: R,
    produced: u64,
    consumed: Arc<AtomicU64>,
    /// Stream offset past which the current read is headers over `MAX_TAR_HEADERS`.
    headers_end: Arc<AtomicU64>,
    limits: Limits,
    tripped: Option<String>,
}

/// Tar headers allowed before one entry (GNU long name and link records, PAX records): paths
/// are at most 4 KiB on Linux, so this leaves room for any real xattrs.
const MAX_TAR_HEADERS: u64 = 1 << 20;

/// Ratios are only judged past this much output: tiny layers of zeros are not bombs.
const RATIO_GRACE: u64 = 16 << 20;

impl<R: Read + Unread> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = &self.tripped {
            return Err(io::Error::other(why.clone()));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        // Bytes read ahead into the 256 KiB buffer are not consumed yet: counting them would
        // let a 1000:1+ stream inflate 256 MiB past each refill before the ratio is judged.
        let consumed = self
            .consumed
            .load(Ordering::Relaxed)
            .saturating_sub(self.inner.unread())
            .max(1);
        let why = if self.produced > self.limits.max_uncompressed {
            Some(format!(
                "decompressed size exceeds the policy cap of {} bytes (decompression bomb?)",
                self.limits.max_uncompressed
            ))
        } else if self.produced > RATIO_GRACE && self.produced / consumed > self.limits.max_ratio {
            Some(format!(
                "decompression ratio exceeds {}:1 ({} bytes from {consumed}): decompression bomb",
                self.limits.max_ratio, self.produced
            ))
        } else if self.produced > self.headers_end.load(Ordering::Relaxed) {
            Some(format!(
                "tar headers of one entry exceed {MAX_TAR_HEADERS} bytes (huge GNU long name or PAX record)"
            ))
        } else {
            None
        };
        if let Some(why) = why {
            self.tripped = Some(why.clone());
            return Err(io::Error::other(why));
        }
        Ok(n)
    }
}

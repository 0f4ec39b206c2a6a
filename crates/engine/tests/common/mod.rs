//! Shared helpers for the engine's integration tests: build a real OCI image layout with
//! `edgecert_fixtures`, edit it on disk the way an attacker would (rewrite or truncate blobs,
//! hand-write manifests and `index.json`, stream huge layers without holding them in memory)
//! and read it back through the public engine API (`ImageSource` -> `scan` -> `evaluate`),
//! keeping the facts, the EC101 result and the time the read took.
//!
//! Deliberately panicking: these are test assertions, not a library.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edgecert_engine::analyze::default_analyzers;
use edgecert_engine::facts::ImageFacts;
use edgecert_engine::image::layer::{Limits, NoProgress};
use edgecert_engine::image::remote::RemoteOptions;
use edgecert_engine::image::scan::{ScanOptions, scan};
use edgecert_engine::image::source::ImageSource;
use edgecert_engine::offer::{Offer, template};
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{CheckResult, Finding, Status};
use edgecert_engine::{Certification, evaluate};
use edgecert_fixtures::media::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use edgecert_fixtures::{
    Arch, Compression, ImageSpec, Layer, PlatformImage, Written, busybox_available, busybox_layer,
    write_oci_layout,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// Every hostile input must be judged within this (debug build, 2 cores, shared machine).
pub const TIME_BOUND: Duration = Duration::from_secs(20);

/// A written layout plus the scratch space around it.
pub struct Image {
    /// `image/` is the layout; `run/` is the run's own temporary directory.
    pub root: TempDir,
    pub written: Written,
}

/// The lowest layer of every fixture: the real busybox rootfs when `scripts/setup.sh`
/// installed it, else a small stand-in so the hostile cases still run.
pub fn base_layer() -> Layer {
    if busybox_available() {
        busybox_layer(Arch::Amd64).unwrap()
    } else {
        eprintln!("busybox not installed: using a synthetic base layer");
        Layer::new()
            .dir("/bin", 0o755)
            .file("/bin/app", pseudo_random(256 * 1024, 7), 0o755)
            .file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
    }
}

/// `len` incompressible, deterministic bytes.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    edgecert_fixtures::rng::incompressible(len, seed)
}

/// An amd64 image whose layers are the base layer then `extra`, with index.json pointing
/// straight at its manifest (no image index), so tests can rewrite the manifest freely.
pub fn single(extra: Vec<Layer>, compression: Compression) -> Image {
    let mut platform = PlatformImage {
        arch: Arch::Amd64,
        layers: vec![base_layer()],
        config: Default::default(),
    };
    platform.config.cmd = Some(vec!["/bin/sh".into()]);
    platform.layers.extend(extra);
    let mut spec = ImageSpec::new(vec![platform]);
    spec.single_manifest = true;
    spec.compression = compression;
    image(&spec)
}

pub fn image(spec: &ImageSpec) -> Image {
    let root = tempfile::Builder::new()
        .prefix("edgecert-hostile-")
        .tempdir()
        .unwrap();
    fs::create_dir(root.path().join("run")).unwrap();
    let written = write_oci_layout(&root.path().join("image"), spec).unwrap();
    Image { root, written }
}

/// `sha256:<hex>` of bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `{mediaType, digest, size}` for `bytes`.
pub fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({ "mediaType": media_type, "digest": digest_of(bytes), "size": bytes.len() })
}

impl Image {
    pub fn layout(&self) -> PathBuf {
        self.root.path().join("image")
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.layout().join("blobs/sha256").join(hex)
    }

    pub fn read_blob(&self, digest: &str) -> Vec<u8> {
        fs::read(self.blob_path(digest)).unwrap()
    }

    pub fn read_json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.read_blob(digest)).unwrap()
    }

    /// Stores `bytes` under their digest; returns their descriptor.
    pub fn put_blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let desc = descriptor(media_type, bytes);
        fs::write(self.blob_path(desc["digest"].as_str().unwrap()), bytes).unwrap();
        desc
    }

    pub fn put_json(&self, media_type: &str, value: &Value) -> Value {
        self.put_blob(media_type, &serde_json::to_vec(value).unwrap())
    }

    /// Rewrites `index.json` to list exactly `root`.
    pub fn set_root(&self, root: Value) {
        let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [root] });
        fs::write(
            self.layout().join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    /// Digest of the image manifest index.json points at, or (behind an image index) of the
    /// first platform's as written.
    pub fn manifest_digest(&self) -> String {
        let index: Value =
            serde_json::from_slice(&fs::read(self.layout().join("index.json")).unwrap()).unwrap();
        let root = &index["manifests"][0];
        match root["mediaType"].as_str() {
            Some(OCI_MANIFEST | DOCKER_MANIFEST) => root["digest"].as_str().unwrap().to_owned(),
            _ => self.written.manifests[0].1.clone(),
        }
    }

    pub fn manifest(&self) -> Value {
        self.read_json(&self.manifest_digest())
    }

    /// Digest of the `i`-th layer of the first platform's manifest.
    pub fn layer_digest(&self, i: usize) -> String {
        self.manifest()["layers"][i]["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Stores `manifest` and points index.json straight at it; returns its digest.
    pub fn replace_manifest(&self, manifest: &Value) -> String {
        let desc = self.put_json(OCI_MANIFEST, manifest);
        let digest = desc["digest"].as_str().unwrap().to_owned();
        self.set_root(desc);
        digest
    }

    /// Writes a layer of one regular file `name` whose content is `chunk` repeated `repeats`
    /// times, streamed to disk (never held in memory): each repeat is its own gzip member or
    /// zstd frame, compressed once, so a 2 GiB file of zeros costs one 8 MiB compression.
    /// Appends it to the manifest (and its diff_id to the config) and repoints index.json.
    /// Returns the layer's descriptor.
    pub fn add_streamed_layer(
        &self,
        name: &str,
        chunk: &[u8],
        repeats: u64,
        compression: Compression,
    ) -> Value {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).unwrap();
        header.set_entry_type(tar::EntryType::Regular);
        self.add_streamed_entry(header, chunk, repeats, &[], compression)
    }

    /// Like `add_streamed_layer` for any entry `header` (its size is set here), followed by
    /// the raw tar bytes `after` (e.g. the entry a GNU long name record names).
    pub fn add_streamed_entry(
        &self,
        mut header: tar::Header,
        chunk: &[u8],
        repeats: u64,
        after: &[u8],
        compression: Compression,
    ) -> Value {
        assert_eq!(chunk.len() % 512, 0, "whole tar blocks keep the tar simple");
        assert_eq!(after.len() % 512, 0);
        header.set_size(chunk.len() as u64 * repeats);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        let end = [after, &[0u8; 1024]].concat();

        let mut diff = Sha256::new();
        diff.update(header.as_bytes());
        for _ in 0..repeats {
            diff.update(chunk);
        }
        diff.update(&end);
        let diff_id = format!("sha256:{}", hex::encode(diff.finalize()));

        let encode = |bytes: &[u8]| -> Vec<u8> {
            match compression {
                Compression::Gzip => {
                    let mut enc =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                    enc.write_all(bytes).unwrap();
                    enc.finish().unwrap()
                }
                Compression::Zstd => zstd::stream::encode_all(bytes, 19).unwrap(),
                Compression::None => bytes.to_vec(),
            }
        };
        let (head, body, tail) = (encode(header.as_bytes()), encode(chunk), encode(&end));
        let tmp = self.layout().join("blobs/sha256/partial");
        let mut out = HashingWriter {
            inner: io::BufWriter::new(fs::File::create(&tmp).unwrap()),
            hasher: Sha256::new(),
            count: 0,
        };
        out.write_all(&head).unwrap();
        for _ in 0..repeats {
            out.write_all(&body).unwrap();
        }
        out.write_all(&tail).unwrap();
        out.inner.flush().unwrap();
        let digest = format!("sha256:{}", hex::encode(out.hasher.finalize()));
        fs::rename(&tmp, self.blob_path(&digest)).unwrap();
        let media_type = match compression {
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
        };
        let layer = json!({ "mediaType": media_type, "digest": digest, "size": out.count });

        let mut manifest = self.manifest();
        let config_digest = manifest["config"]["digest"].as_str().unwrap().to_owned();
        let mut config = self.read_json(&config_digest);
        config["rootfs"]["diff_ids"]
            .as_array_mut()
            .unwrap()
            .push(json!(diff_id));
        let config_media = manifest["config"]["mediaType"].clone();
        manifest["config"] = self.put_json(config_media.as_str().unwrap(), &config);
        manifest["layers"]
            .as_array_mut()
            .unwrap()
            .push(layer.clone());
        self.replace_manifest(&manifest);
        layer
    }

    /// Every path under the scratch root (layout and run dir), to prove a scan wrote nothing.
    pub fn snapshot(&self) -> BTreeSet<PathBuf> {
        fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
            for e in fs::read_dir(dir).unwrap() {
                let path = e.unwrap().path();
                out.insert(path.clone());
                if path.is_dir() && !path.is_symlink() {
                    walk(&path, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(self.root.path(), &mut out);
        out
    }

    /// Scans with the built-in limits.
    pub fn scan(&self) -> Scan {
        self.scan_with(Limits::default())
    }

    /// Opens `oci:<layout>` through `ImageSource`, scans it with the default analyzers, runs
    /// every check; asserts no panic, the time bound and that nothing under the scratch root
    /// was created, deleted or resized.
    pub fn scan_with(&self, limits: Limits) -> Scan {
        let before = self.snapshot();
        let sizes = |set: &BTreeSet<PathBuf>| -> Vec<u64> {
            set.iter()
                .map(|p| fs::symlink_metadata(p).unwrap().len())
                .collect()
        };
        let before_sizes = sizes(&before);
        let source = ImageSource::parse(&format!("oci:{}", self.layout().display())).unwrap();
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let store = source
                .open(RemoteOptions::new(true), &self.root.path().join("run"))
                .expect("the layout's index.json is sound, so the source opens");
            let options = ScanOptions {
                limits,
                ..Default::default()
            };
            scan(
                &source.to_string(),
                store.as_ref(),
                &options,
                &default_analyzers(),
                &NoProgress,
            )
        }));
        let elapsed = started.elapsed();
        let facts = outcome
            .expect("the engine panicked on a hostile image")
            .expect("image problems are findings, never a source error");
        assert!(
            elapsed < TIME_BOUND,
            "scan took {elapsed:?}, bound {TIME_BOUND:?}"
        );
        let after = self.snapshot();
        assert_eq!(before, after, "the scan created or deleted files");
        assert_eq!(before_sizes, sizes(&after), "the scan changed files");
        let policy = Policy {
            limits,
            ..Policy::default()
        };
        let (report, _) = evaluate(&offer(), &facts, &policy, None, None);
        let ec101 = report
            .checks
            .into_iter()
            .find(|c| c.id == "EC101")
            .expect("EC101 runs on every image");
        Scan {
            facts,
            ec101,
            elapsed,
        }
    }
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub fn offer() -> Offer {
    Offer::parse(&template("hostile"), "offer.json").unwrap()
}

/// What one scan established.
pub struct Scan {
    pub facts: ImageFacts,
    pub ec101: CheckResult,
    pub elapsed: Duration,
}

impl Scan {
    fn dump(&self) -> String {
        self.ec101
            .findings
            .iter()
            .map(|f| format!("\n  {:?} at {:?}", f.message, f.location))
            .collect()
    }

    /// EC101 failed with the finding whose message contains `message` at exactly `location`.
    #[track_caller]
    pub fn finding(&self, message: &str, location: &str) -> &Finding {
        assert_eq!(self.ec101.status, Status::Fail, "EC101:{}", self.dump());
        self.ec101
            .findings
            .iter()
            .find(|f| {
                f.message.contains(message) && f.shown_location().as_deref() == Some(location)
            })
            .unwrap_or_else(|| {
                panic!(
                    "no EC101 finding {message:?} at {location:?}; findings:{}",
                    self.dump()
                )
            })
    }

    /// EC101 has exactly `n` findings.
    #[track_caller]
    pub fn count(&self, n: usize) {
        assert_eq!(self.ec101.findings.len(), n, "EC101:{}", self.dump());
    }

    /// No EC101 finding mentions `message`.
    #[track_caller]
    pub fn lacks(&self, message: &str) {
        assert!(
            !self
                .ec101
                .findings
                .iter()
                .any(|f| f.message.contains(message)),
            "unexpected {message:?}; EC101:{}",
            self.dump()
        );
    }

    #[track_caller]
    pub fn passes(&self) {
        assert_eq!(self.ec101.status, Status::Pass, "EC101:{}", self.dump());
    }

    /// The facts of the layer `digest`, which must have been read.
    pub fn layer(&self, digest: &str) -> &edgecert_engine::image::layer::LayerFacts {
        let d: edgecert_engine::Digest = digest.parse().unwrap();
        self.facts
            .layers
            .get(&d)
            .unwrap_or_else(|| panic!("layer {digest} was not read"))
    }
}

/// `layer <digest>: <path>`, the location of a finding about one entry of one layer.
pub fn at(digest: &str, path: &str) -> String {
    format!("layer {digest}: {path}")
}

/// A name unique to this process and call, for escape targets that must not appear.
pub fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "edgecert-escape-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Asserts none of `paths` exists (the places a naive extractor would have written to).
#[track_caller]
pub fn assert_absent(paths: &[PathBuf]) {
    for p in paths {
        assert!(
            fs::symlink_metadata(p).is_err(),
            "{} was written outside the tool's temporary directory",
            p.display()
        );
    }
}

/// Writes `spec` as an OCI layout and certifies it with `offer` and the built-in policy,
/// without the ingestion test: the report as `edgecert check --no-run` would make it.
pub fn certify_spec(spec: &ImageSpec, offer: &Offer) -> Certification {
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(&dir.path().join("image"), spec).unwrap();
    fs::create_dir(dir.path().join("run")).unwrap();
    let source =
        ImageSource::parse(&format!("oci:{}", dir.path().join("image").display())).unwrap();
    let store = source
        .open(RemoteOptions::new(true), &dir.path().join("run"))
        .unwrap();
    let facts = scan(
        "oci:fixture",
        store.as_ref(),
        &ScanOptions::default(),
        &default_analyzers(),
        &NoProgress,
    )
    .unwrap();
    let (report, inventory) = evaluate(offer, &facts, &Policy::default(), None, None);
    Certification {
        report,
        inventory,
        runtime: None,
    }
}

//! Seeded mutation fuzzing on stable Rust, so every CI run does some (`cargo fuzz` needs
//! nightly and runs outside CI; see `fuzz/`). A small sound image is damaged a few hundred
//! ways — flipped, overwritten, inserted, duplicated and truncated bytes — in the places an
//! attacker controls: a layer's tar stream (uncompressed, and gzip), the image manifest, the
//! config and an image index. Digests and sizes are then fixed up, so the damage reaches the
//! decompressors, the tar walker and the JSON parsers instead of being stopped at the digest
//! check. Every mutant goes through the public API (`ImageSource` → `scan` → `evaluate`, with
//! every analyzer) and must: not panic, finish within the time bound, write nothing (all
//! asserted by `Image::scan`), and have every EC101 finding located at a manifest, config or
//! layer. The seeds are fixed: a failure names its seed and reproduces.

mod common;

use common::*;
use edgecert_fixtures::media::{OCI_CONFIG, OCI_MANIFEST};
use edgecert_fixtures::{Arch, Compression, ImageSpec, Layer, PlatformImage};
use serde_json::Value;

use edgecert_fixtures::rng::Rng;

/// Bytes that matter to tar headers, JSON and paths.
const INTERESTING: &[u8] = b"\x00\xff\x7f\x80/.\\0 9\"{}[],:-x";

/// One to four random edits of `bytes`.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len());
        match rng.below(7) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => out[at] = rng.next_u64() as u8,
            3 => {
                let n = 1 + rng.below(64);
                let junk: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                out.splice(at..at, junk);
            }
            4 => {
                // A tar block (or any 512 bytes) repeated elsewhere.
                let from = rng.below(out.len());
                let block: Vec<u8> = out[from..(from + 512).min(out.len())].to_vec();
                out.splice(at..at, block);
            }
            5 => {
                let end = (at + 1 + rng.below(256)).min(out.len());
                out.drain(at..end);
            }
            _ => out.truncate(at.max(1)),
        }
        if out.is_empty() {
            out.push(0);
        }
    }
    out
}

/// Recomputes the checksum of every block that carries the ustar magic, so damaged headers
/// get past tar's checksum test and reach the walker's parsing of names, sizes and types.
fn fix_checksums(tar: &mut [u8]) {
    for block in tar.chunks_exact_mut(512) {
        if &block[257..262] != b"ustar" {
            continue;
        }
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut z, bytes).unwrap();
    z.finish().unwrap()
}

/// A one-platform image of one small layer (every entry kind the walker handles), with
/// index.json pointing straight at its manifest.
fn small(compression: Compression) -> Image {
    let layer = Layer::new()
        .dir("/app", 0o755)
        .file("/app/run.sh", "#!/bin/sh\nexec sleep 3600\n", 0o755)
        .file("/app/settings.json", r#"{"level":"info"}"#, 0o644)
        .file(format!("/app/{}/deep", "n".repeat(150)), "x", 0o644)
        .symlink("/app/current", "run.sh")
        .whiteout("/etc/old");
    let mut platform = PlatformImage {
        arch: Arch::Amd64,
        layers: vec![layer],
        config: Default::default(),
    };
    platform.config.cmd = Some(vec!["/app/run.sh".into()]);
    platform.config.env = vec!["LEVEL=info".into()];
    let mut spec = ImageSpec::new(vec![platform]);
    spec.single_manifest = true;
    spec.compression = compression;
    image(&spec)
}

/// Every EC101 finding says where.
#[track_caller]
fn located(s: &Scan, what: &str) {
    for f in &s.ec101.findings {
        let at = f.shown_location().unwrap_or_default();
        assert!(
            at.starts_with("manifest ")
                || at.starts_with("layer ")
                || at.starts_with("config ")
                || at.starts_with("index"),
            "{what}: finding {:?} at {at:?}",
            f.message
        );
    }
}

fn layer_mutants(compression: Compression, seeds: std::ops::Range<u64>) {
    let img = small(compression);
    img.scan().passes();
    let manifest = img.manifest();
    let layer = img.layer_digest(0);
    let original = img.read_blob(&layer);
    let media = manifest["layers"][0]["mediaType"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut incomplete = 0;
    let mut kinds = std::collections::BTreeSet::new();
    let tar = match compression {
        Compression::Gzip => gunzip(&original),
        _ => original.clone(),
    };
    for seed in seeds.clone() {
        let mut rng = Rng::new(seed);
        // Half the mutants are damaged tar streams with sound headers (checksums fixed up),
        // half are damaged as stored (a gzip mutant then mostly tests the inflater and CRC).
        let bytes = if seed % 2 == 0 {
            let mut t = mutate(&tar, &mut rng);
            fix_checksums(&mut t);
            match compression {
                Compression::Gzip => gzip(&t),
                _ => t,
            }
        } else {
            mutate(&original, &mut rng)
        };
        let mut m = manifest.clone();
        m["layers"][0] = img.put_blob(&media, &bytes);
        img.replace_manifest(&m);
        let s = img.scan();
        located(&s, &format!("{compression:?} layer, seed {seed}"));
        incomplete += usize::from(!s.facts.platforms.iter().all(|p| p.complete));
        kinds.extend(
            s.ec101
                .findings
                .iter()
                .map(|f| f.message.chars().take(110).collect::<String>()),
        );
    }
    eprintln!("{compression:?} layer mutants: {incomplete} incomplete; findings: {kinds:#?}");
    // The damage reached different places (inflater, tar headers, numeric fields, EOF), not
    // one early gate.
    assert!(kinds.len() >= 3, "{compression:?}: {kinds:#?}");
    // The damage was real: many mutants do not even read to the end.
    assert!(
        incomplete > 0,
        "no {compression:?} mutant of {seeds:?} was caught"
    );
}

#[test]
fn mutated_tar_streams() {
    layer_mutants(Compression::None, 0..300);
}

#[test]
fn mutated_gzip_layers() {
    layer_mutants(Compression::Gzip, 1000..1200);
}

#[test]
fn mutated_manifests_and_configs() {
    let img = small(Compression::Gzip);
    let manifest = img.manifest();
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_owned();
    let config = img.read_blob(&config_digest);
    let mut refused = 0;
    for seed in 2000..2200 {
        let mut rng = Rng::new(seed);
        // The manifest itself.
        let bytes = mutate(&manifest_bytes, &mut rng);
        let desc = img.put_blob(OCI_MANIFEST, &bytes);
        img.set_root(desc);
        let s = img.scan();
        located(&s, &format!("manifest, seed {seed}"));
        refused += usize::from(s.facts.platforms.is_empty());
        // The config, behind a sound manifest.
        let mut m = manifest.clone();
        m["config"] = img.put_blob(OCI_CONFIG, &mutate(&config, &mut rng));
        img.replace_manifest(&m);
        let s = img.scan();
        located(&s, &format!("config, seed {seed}"));
    }
    assert!(refused > 0, "no manifest mutant was refused");
}

#[test]
fn mutated_image_indexes() {
    let spec = ImageSpec::new(vec![
        PlatformImage {
            arch: Arch::Amd64,
            layers: vec![Layer::new().file("/a", "a", 0o644)],
            config: Default::default(),
        },
        PlatformImage {
            arch: Arch::Armhf,
            layers: vec![Layer::new().file("/b", "b", 0o644)],
            config: Default::default(),
        },
    ]);
    let img = image(&spec);
    let index: Value =
        serde_json::from_slice(&std::fs::read(img.layout().join("index.json")).unwrap()).unwrap();
    let root = &index["manifests"][0];
    let media = root["mediaType"].as_str().unwrap().to_owned();
    let original = img.read_blob(root["digest"].as_str().unwrap());
    for seed in 3000..3200 {
        let bytes = mutate(&original, &mut Rng::new(seed));
        let desc = img.put_blob(&media, &bytes);
        img.set_root(desc);
        let s = img.scan();
        located(&s, &format!("image index, seed {seed}"));
    }
}

//! Hostile images (spec/targets.md "Robustness", spec/checks.md EC101): each test builds a real
//! OCI layout with `edgecert_fixtures`, damages it on disk the way an attacker or a broken
//! upload would (`../` and absolute entry names, symlink and hardlink escapes, device nodes,
//! gzip and zstd bombs, huge GNU long name and PAX records, a 10 000-deep manifest, a 5 MiB
//! manifest, deep, repeated and self-referencing indexes, digest and size mismatches, truncated
//! layers, unknown media types) and reads it through the public engine API. Each must give a
//! specific EC101 finding located at the manifest or at `layer <digest>[: <path>]`, within a
//! time bound, without panicking, without following the hostile content, and without writing
//! anything anywhere (the scratch tree is unchanged and the places a naive extractor would
//! have written to do not exist). Two tests bound peak memory (VmHWM) while a bomb is read, and
//! a control test checks that sound images in every fixture dialect still pass.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use common::*;
use edgecert_engine::certify::{CertifyOptions, certify};
use edgecert_engine::image::layer::{Limits, NoProgress};
use edgecert_engine::image::remote::RemoteOptions;
use edgecert_engine::image::source::ImageSource;
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{Status, Verdict};
use edgecert_fixtures::media::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use edgecert_fixtures::{Arch, Compression, ImageSpec, Layer, ManifestFormat, PlatformImage};
use serde_json::{Value, json};

const MIB: u64 = 1 << 20;

#[test]
fn dot_dot_and_absolute_entry_names_are_findings_and_never_followed() {
    let up = unique("dotdot");
    let deep = unique("deep");
    let abs = unique("abs");
    let deep_name = format!("../../../../../../../../../../../../tmp/{deep}");
    let abs_name = format!("/tmp/{abs}");
    let img = single(
        vec![
            Layer::new()
                .raw(format!("../{up}"), b'0', "", "pwned\n")
                .raw(deep_name.as_str(), b'0', "", "pwned\n")
                .raw("usr/../../etc/cron.d/job", b'0', "", "* * * * * root id\n")
                .raw(abs_name.as_str(), b'0', "", "pwned\n")
                .raw("/etc/x", b'0', "", "x\n")
                .file("/etc/fine", "fine\n", 0o644),
        ],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let s = img.scan();

    let climbs = "entry name climbs out of the root with `..`";
    s.finding(climbs, &at(&layer, &format!("../{up}")));
    s.finding(climbs, &at(&layer, &deep_name));
    s.finding(climbs, &at(&layer, "usr/../../etc/cron.d/job"));
    s.finding("absolute entry name", &at(&layer, &abs_name));
    s.finding("absolute entry name", &at(&layer, "/etc/x"));
    s.count(5);

    // Climbing entries are dropped, absolute ones rooted at the image root.
    let facts = s.layer(&layer);
    let paths: Vec<&str> = facts.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, [format!("tmp/{abs}").as_str(), "etc/x", "etc/fine"]);
    let fs = &s.facts.platforms[0].fs;
    assert!(fs.get("etc/cron.d/job").is_none() && fs.get(&up).is_none());

    assert_absent(&[
        img.root.path().join(&up),
        img.layout().join(&up),
        img.root.path().parent().unwrap().join(&up),
        std::env::current_dir().unwrap().join("..").join(&up),
        PathBuf::from("/tmp").join(&deep),
        std::env::temp_dir().join(&deep),
        PathBuf::from("/tmp").join(&abs),
        std::env::temp_dir().join(&abs),
    ]);
}

#[test]
fn entry_written_through_an_escaping_symlink_in_the_same_layer() {
    let evil = unique("symlink");
    let img = single(
        vec![
            Layer::new()
                .symlink("/a", "../../..")
                .raw(format!("a/{evil}"), b'0', "", "pwned\n")
                .raw("a/etc/passwd", b'0', "", "root::0:0::/:/bin/sh\n")
                // Not escapes: a relative link that stays inside, an absolute one (container
                // semantics root it at the image root), and files written through them.
                .dir("/usr/lib", 0o755)
                .symlink("/usr/lib64", "lib")
                .file("/usr/lib64/ok", "ok\n", 0o644)
                .symlink("/var/run", "/run")
                .file("/var/run/ok", "ok\n", 0o644),
        ],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let s = img.scan();
    let through = "entry is written through symlink \"a\", whose target climbs out of the root";
    s.finding(through, &at(&layer, &format!("a/{evil}")));
    s.finding(through, &at(&layer, "a/etc/passwd"));
    s.count(2);

    let facts = s.layer(&layer);
    assert!(facts.entries.iter().all(|e| !e.path.starts_with("a/")));
    assert!(facts.entries.iter().any(|e| e.path == "usr/lib64/ok"));
    let base = img.layout();
    assert_absent(&[
        base.join(format!("../../../{evil}")),
        base.join(format!("../../{evil}")),
        base.join(format!("../{evil}")),
        std::env::current_dir()
            .unwrap()
            .join(format!("../../../{evil}")),
    ]);
}

#[test]
fn entry_written_through_an_escaping_symlink_of_a_lower_layer() {
    // Layer 1 plants `a -> ../../..`; layer 2 writes `a/<x>`. Each layer alone is harmless;
    // extracted in order into one directory, the second writes outside it.
    let evil = unique("lower-symlink");
    let img = single(
        vec![
            Layer::new()
                .symlink("/a", "../../..")
                .symlink("/b", "../.."),
            Layer::new()
                .raw(format!("a/{evil}"), b'0', "", "pwned\n")
                .whiteout("/b"),
            Layer::new().file("/b/ok", "ok\n", 0o644),
        ],
        Compression::Gzip,
    );
    let upper = img.layer_digest(2);
    let s = img.scan();
    s.finding(
        "entry is written through symlink \"a\" of a lower layer, whose target climbs out of the root",
        &at(&upper, &format!("a/{evil}")),
    );
    // `b` was whited out before `b/ok` was written: no finding for it.
    s.count(1);
}

#[test]
fn symlink_chain_and_hardlink_through_an_escaping_symlink() {
    let evil = unique("chain");
    let img = single(
        vec![
            Layer::new()
                // `x` climbs out; `a` and `d/b` stay inside lexically but resolve through `x`.
                .symlink("/x", "..")
                .symlink("/a", "x")
                .dir("/d", 0o755)
                .symlink("/d/b", "../x/sub")
                .raw(format!("a/{evil}"), b'0', "", "pwned\n")
                .raw("d/b/evil", b'0', "", "pwned\n")
                // A hardlink whose target path goes through the escaping link: `link(2)`
                // follows it and links a host file into the image.
                .raw("shadow", b'1', "x/etc/shadow", ""),
        ],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let s = img.scan();
    s.finding(
        "entry is written through symlink \"a\", whose target climbs out of the root",
        &at(&layer, &format!("a/{evil}")),
    );
    s.finding(
        "entry is written through symlink \"d/b\", whose target climbs out of the root",
        &at(&layer, "d/b/evil"),
    );
    s.finding(
        "hardlink target \"x/etc/shadow\" goes through symlink \"x\", whose target climbs out",
        &at(&layer, "shadow"),
    );
    s.count(3);
    assert_absent(&[img.layout().join(format!("../{evil}"))]);
}

#[test]
fn hardlink_whose_target_climbs_out() {
    let img = single(
        vec![
            Layer::new()
                .file("/etc/hostname", "box\n", 0o644)
                .raw("etc/shadow-copy", b'1', "../../../../etc/shadow", "")
                .raw("etc/passwd-copy", b'1', "etc/../../etc/passwd", "")
                // Legitimate: a hardlink to a file of the same layer.
                .hardlink("/etc/hostname2", "/etc/hostname"),
        ],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let s = img.scan();
    s.finding(
        "hardlink target \"../../../../etc/shadow\" climbs out of the root",
        &at(&layer, "etc/shadow-copy"),
    );
    s.finding(
        "hardlink target \"etc/../../etc/passwd\" climbs out of the root",
        &at(&layer, "etc/passwd-copy"),
    );
    s.count(2);
    let paths: Vec<&str> = s
        .layer(&layer)
        .entries
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(paths, ["etc/hostname", "etc/hostname2"]);
}

#[test]
fn device_nodes_are_findings() {
    let img = single(
        vec![
            Layer::new()
                .dir("/dev", 0o755)
                .char_device("/dev/mem", 1, 1)
                .raw("dev/sda", b'4', "", "")
                // A FIFO is not a device node.
                .fifo("/run/fifo"),
        ],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let s = img.scan();
    s.finding("character device node in a layer", &at(&layer, "dev/mem"));
    s.finding("block device node in a layer", &at(&layer, "dev/sda"));
    s.count(2);
    let fs = &s.facts.platforms[0].fs;
    assert!(fs.get("dev/mem").is_none() && fs.get("dev/sda").is_none());
}

/// 2 GiB of zeros: 8 MiB of zeros compressed once (~8 KiB, 1030:1, near deflate's maximum
/// of 1032:1) and written 256 times as gzip members; the blob is ~2 MiB.
fn gzip_bomb(img: &Image) -> String {
    let layer = img.add_streamed_layer("bomb/zeros", &vec![0; 8 << 20], 256, Compression::Gzip);
    assert!(layer["size"].as_u64().unwrap() < 3 * MIB, "{layer}");
    layer["digest"].as_str().unwrap().to_owned()
}

#[test]
fn gzip_bomb_is_stopped_by_the_ratio_cap() {
    let img = single(vec![], Compression::Gzip);
    let bomb = gzip_bomb(&img);
    let s = img.scan();
    let f = s.finding(
        "decompression ratio exceeds 1000:1",
        &format!("layer {bomb}"),
    );
    assert!(f.message.contains("decompression bomb"), "{}", f.message);
    s.count(1);
    let facts = s.layer(&bomb);
    assert!(!facts.complete);
    // Stopped soon after the 16 MiB grace, not after inflating the 2 GiB.
    assert!(
        facts.uncompressed_bytes < 64 * MIB,
        "inflated {} bytes before stopping",
        facts.uncompressed_bytes
    );
    assert!(!s.facts.platforms[0].complete);
}

#[test]
fn zstd_bomb_is_stopped_by_the_ratio_cap() {
    let img = single(vec![], Compression::Zstd);
    let layer = img.add_streamed_layer("bomb/zeros", &vec![0; 8 << 20], 256, Compression::Zstd);
    let bomb = layer["digest"].as_str().unwrap();
    assert!(layer["size"].as_u64().unwrap() < MIB, "{layer}");
    let s = img.scan();
    s.finding(
        "decompression ratio exceeds 1000:1",
        &format!("layer {bomb}"),
    );
    s.count(1);
    assert!(s.layer(bomb).uncompressed_bytes < 64 * MIB);
}

#[test]
fn decompressed_size_over_the_policy_cap() {
    // 96 MiB from a 16 KiB random block repeated: ~70:1, so only the size cap can trip.
    let block = pseudo_random(16 << 10, 3);
    let chunk: Vec<u8> = block.iter().copied().cycle().take(4 << 20).collect();
    let img = single(vec![], Compression::Gzip);
    let layer = img.add_streamed_layer("big/blob", &chunk, 24, Compression::Gzip);
    let big = layer["digest"].as_str().unwrap();
    let limits = Limits {
        max_uncompressed: 64 * MIB,
        ..Limits::default()
    };
    let s = img.scan_with(limits);
    s.finding(
        "decompressed size exceeds the policy cap of 67108864 bytes",
        &format!("layer {big}"),
    );
    s.count(1);
    let read = s.layer(big).uncompressed_bytes;
    assert!((64 * MIB..65 * MIB).contains(&read), "{read}");
}

fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

/// Runs `scan` and returns how much the peak RSS grew meanwhile, in MiB. The high-water mark
/// is reset first so building the fixture does not hide the scan's peak; where the kernel
/// refuses, the mark from before the scan is the (weaker) baseline.
fn peak_growth_mib(scan: impl FnOnce() -> Scan) -> (Scan, u64) {
    let reset = fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = if reset {
        status_kib("VmRSS:")
    } else {
        status_kib("VmHWM:")
    };
    let s = scan();
    let grown = status_kib("VmHWM:").saturating_sub(before) / 1024;
    eprintln!(
        "peak RSS grew {grown} MiB during a {:?} scan (high-water reset: {reset})",
        s.elapsed
    );
    (s, grown)
}

#[test]
fn memory_stays_bounded_while_a_bomb_is_inflated() {
    let img = single(vec![], Compression::Gzip);
    let bomb = gzip_bomb(&img);
    // Ratio cap off and a 1 GiB size cap: the engine really streams 1 GiB through the tar walk.
    let limits = Limits {
        max_uncompressed: 1 << 30,
        max_ratio: u64::MAX,
    };
    let (s, grown) = peak_growth_mib(|| img.scan_with(limits));
    s.finding(
        "decompressed size exceeds the policy cap of 1073741824 bytes",
        &format!("layer {bomb}"),
    );
    s.count(1);
    assert!(s.layer(&bomb).uncompressed_bytes > (1 << 30));
    assert!(grown < 200, "peak RSS grew {grown} MiB");
}

/// A GNU-format tar header of type `kind` with `name` written verbatim.
fn tar_header(name: &[u8], kind: u8) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_mode(0o644);
    h.set_cksum();
    h
}

#[test]
fn huge_long_name_and_pax_records_are_refused_in_bounded_memory() {
    // 512 MiB of ~70:1 data as a GNU long name record, and as a PAX record, each followed by
    // the entry it would describe: under the ratio and size caps, but a tar reader buffers
    // such records whole (without the header cap this scan peaked at ~3 GiB).
    let block = pseudo_random(16 << 10, 5);
    let chunk: Vec<u8> = block.iter().copied().cycle().take(4 << 20).collect();
    let victim = tar_header(b"victim", b'0');
    let img = single(vec![], Compression::Gzip);
    let long = img.add_streamed_entry(
        tar_header(b"././@LongLink", b'L'),
        &chunk,
        128,
        victim.as_bytes(),
        Compression::Gzip,
    );
    let pax = img.add_streamed_entry(
        tar_header(b"PaxHeaders.0/victim", b'x'),
        &chunk,
        128,
        victim.as_bytes(),
        Compression::Gzip,
    );
    let (s, grown) = peak_growth_mib(|| img.scan());
    for layer in [&long, &pax] {
        let d = layer["digest"].as_str().unwrap();
        s.finding(
            "tar headers of one entry exceed 1048576 bytes (huge GNU long name or PAX record)",
            &format!("layer {d}"),
        );
        assert!(s.layer(d).uncompressed_bytes < 8 * MIB);
    }
    s.count(2);
    assert!(grown < 200, "peak RSS grew {grown} MiB");
}

#[test]
fn layer_descriptor_sizes_that_lie() {
    let img = single(
        vec![Layer::new().file("/etc/motd", "hi\n", 0o644)],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let real = img.read_blob(&layer).len();
    let good = img.manifest();

    // u64::MAX: "read one byte past the declared size" must not overflow.
    let mut m = good.clone();
    m["layers"][1]["size"] = json!(u64::MAX);
    img.replace_manifest(&m);
    let s = img.scan();
    s.finding(
        &format!(
            "layer blob is {real} bytes, its descriptor says {}",
            u64::MAX
        ),
        &format!("layer {layer}"),
    );
    s.count(1);

    // Smaller than the blob: one byte past the declared size is read, no more.
    let mut m = good.clone();
    m["layers"][1]["size"] = json!(10);
    img.replace_manifest(&m);
    let s = img.scan();
    s.finding(
        "layer blob is larger than its descriptor's 10 bytes",
        &format!("layer {layer}"),
    );
    s.finding(
        "layer does not decompress or is not a well-formed tar",
        &format!("layer {layer}"),
    );
    s.count(2);
    assert_eq!(s.layer(&layer).compressed_bytes, 11);
}

fn nested(depth: usize) -> Vec<u8> {
    let mut s = String::with_capacity(depth * 6 + 1);
    for _ in 0..depth {
        s.push_str("{\"a\":");
    }
    s.push('1');
    for _ in 0..depth {
        s.push('}');
    }
    s.into_bytes()
}

#[test]
fn ten_thousand_deep_json_is_a_finding_not_a_stack_overflow() {
    let deep = nested(10_000);
    let img = single(vec![], Compression::Gzip);
    let mut manifest = img.manifest();

    // As the root manifest.
    let root = img.put_blob(OCI_MANIFEST, &deep);
    let root_digest = root["digest"].as_str().unwrap().to_owned();
    img.set_root(root);
    let s = img.scan();
    s.finding(
        "manifest is not valid JSON: recursion limit exceeded",
        &format!("manifest {root_digest}"),
    );
    s.count(1);
    assert!(s.facts.layers.is_empty());

    // As a platform manifest under an index, and as an image config.
    manifest["config"] = img.put_blob(OCI_CONFIG, &deep);
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_owned();
    let sound = img.put_json(OCI_MANIFEST, &manifest);
    let mut child = img.put_blob(OCI_MANIFEST, &deep);
    child["platform"] = json!({ "os": "linux", "architecture": "arm64" });
    let mut sound_entry = sound.clone();
    sound_entry["platform"] = json!({ "os": "linux", "architecture": "amd64" });
    let index = img.put_json(
        OCI_INDEX,
        &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [sound_entry, child] }),
    );
    img.set_root(index);
    let s = img.scan();
    s.finding(
        "manifest is not valid JSON: recursion limit exceeded",
        &format!("manifest {}", child["digest"].as_str().unwrap()),
    );
    s.finding(
        "image config does not parse",
        &format!("config {config_digest}"),
    );
    s.count(2);
}

#[test]
fn ten_thousand_deep_index_json_is_refused_cleanly() {
    // index.json is the layout's own root: when it is this broken the image is broken, an
    // EC101 finding (exit 1), while a directory without index.json is no image source (exit 2).
    let img = single(vec![], Compression::Gzip);
    let deep_list = format!(
        "{{\"manifests\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut huge = b"{\"manifests\": [], \"annotations\": {\"x\": \"".to_vec();
    huge.resize(5 << 20, b'x');
    huge.extend_from_slice(b"\"}}");
    for (bytes, says) in [
        (deep_list.into_bytes(), "index.json does not parse"),
        (nested(10_000), "index.json lists no images"),
        (huge, "is larger than 4194304 bytes"),
    ] {
        fs::write(img.layout().join("index.json"), bytes).unwrap();
        let s = img.scan();
        s.finding(says, "root manifest");
        s.count(1);
    }
    fs::remove_file(img.layout().join("index.json")).unwrap();
    let source = ImageSource::parse(&format!("oci:{}", img.layout().display())).unwrap();
    let err = match source.open(RemoteOptions::new(true), img.root.path()) {
        Ok(_) => panic!("a directory without index.json opened"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("no index.json"), "{err}");
}

/// A valid image manifest padded past 4 MiB with one huge annotation.
fn padded(manifest: &Value, bytes: usize) -> Vec<u8> {
    let mut m = manifest.clone();
    m["annotations"] = json!({ "pad": "x".repeat(bytes) });
    serde_json::to_vec(&m).unwrap()
}

#[test]
fn five_mib_manifests_and_configs_are_refused_at_the_4_mib_cap() {
    let img = single(vec![], Compression::Gzip);
    let manifest = img.manifest();
    let big = padded(&manifest, 5 << 20);
    assert!(big.len() > 5 << 20 && serde_json::from_slice::<Value>(&big).is_ok());
    let cap = "is larger than 4194304 bytes";

    // As the root.
    let root = img.put_blob(OCI_MANIFEST, &big);
    let root_digest = root["digest"].as_str().unwrap().to_owned();
    img.set_root(root);
    let s = img.scan();
    let f = s.finding(cap, "root manifest");
    assert!(f.message.contains(&root_digest), "{}", f.message);
    s.count(1);

    // Under an index, next to a sound platform whose config is 5 MiB.
    let mut config = img.read_json(manifest["config"]["digest"].as_str().unwrap());
    config["pad"] = json!("y".repeat(5 << 20));
    let mut with_big_config = manifest.clone();
    with_big_config["config"] = img.put_json(OCI_CONFIG, &config);
    let mut a = img.put_json(OCI_MANIFEST, &with_big_config);
    a["platform"] = json!({ "os": "linux", "architecture": "amd64" });
    let mut b = img.put_blob(OCI_MANIFEST, &big);
    b["platform"] = json!({ "os": "linux", "architecture": "arm64" });
    let index = img.put_json(
        OCI_INDEX,
        &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [a, b] }),
    );
    let index_digest = index["digest"].as_str().unwrap().to_owned();
    img.set_root(index);
    let s = img.scan();
    let f = s.finding(cap, &format!("manifest {index_digest}"));
    assert!(f.message.contains(b["digest"].as_str().unwrap()));
    s.finding(
        &format!(
            "cannot read config: blob {} {cap}",
            with_big_config["config"]["digest"].as_str().unwrap()
        ),
        &format!(
            "config {}",
            with_big_config["config"]["digest"].as_str().unwrap()
        ),
    );
    s.count(2);
}

#[test]
fn huge_manifest_is_refused_without_reading_it_all() {
    // A 64 GiB sparse file: reading it all would take minutes and all memory.
    let img = single(vec![], Compression::Gzip);
    let name = "sha256:".to_owned() + &"ab".repeat(32);
    let file = fs::File::create(img.blob_path(&name)).unwrap();
    use std::io::Write;
    (&file)
        .write_all(br#"{"schemaVersion":2,"annotations":{"pad":""#)
        .unwrap();
    file.set_len(64 << 30).unwrap();
    drop(file);
    img.set_root(json!({ "mediaType": OCI_MANIFEST, "digest": name, "size": 64u64 << 30 }));
    let started = Instant::now();
    let s = img.scan();
    s.finding("is larger than 4194304 bytes", "root manifest");
    s.count(1);
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

/// Wraps `child` in an index; returns the index's descriptor.
fn wrap(img: &Image, child: Value) -> Value {
    img.put_json(
        OCI_INDEX,
        &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child] }),
    )
}

#[test]
fn index_nesting_deeper_than_4() {
    let img = single(vec![], Compression::Gzip);
    let mut manifest = img.put_json(OCI_MANIFEST, &img.manifest());
    manifest["platform"] = json!({ "os": "linux", "architecture": "amd64" });

    // index -> index -> index -> index -> manifest: 4 levels, allowed.
    let innermost = wrap(&img, manifest);
    let mut top = innermost.clone();
    for _ in 0..3 {
        top = wrap(&img, top);
    }
    img.set_root(top.clone());
    let s = img.scan();
    s.passes();
    assert_eq!(s.facts.platforms.len(), 1);

    // One more level on top: the innermost index is now the fifth, refused where it is met;
    // the manifest below it is never read.
    let fifth = innermost["digest"].as_str().unwrap().to_owned();
    let top = wrap(&img, top);
    img.set_root(top);
    let s = img.scan();
    s.finding(
        "image index nesting deeper than 4",
        &format!("manifest {fifth}"),
    );
    s.count(1);
    assert!(s.facts.platforms.is_empty() && s.facts.layers.is_empty());
}

#[test]
fn repeated_and_self_referencing_indexes() {
    let img = single(vec![], Compression::Gzip);
    let mut manifest = img.put_json(OCI_MANIFEST, &img.manifest());
    let digest = manifest["digest"].as_str().unwrap().to_owned();
    manifest["platform"] = json!({ "os": "linux", "architecture": "amd64" });

    // The same manifest twice: read once, the repeat is a finding.
    let index = img.put_json(
        OCI_INDEX,
        &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [manifest, manifest] }),
    );
    let index_digest = index["digest"].as_str().unwrap().to_owned();
    img.set_root(index);
    let s = img.scan();
    s.finding(
        &format!("image index refers to {digest} again: cyclic or repeated reference"),
        &format!("manifest {index_digest}"),
    );
    s.count(1);
    assert_eq!(s.facts.platforms.len(), 1);

    // Content addressing makes a true cycle impossible except at the root, whose digest comes
    // from index.json: name a blob S, and make S an index listing S. Its content cannot hash
    // to S, and the walk must stop at the repeat, not loop.
    let s_name = "sha256:".to_owned() + &"5e".repeat(32);
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{ "mediaType": OCI_INDEX, "digest": s_name, "size": 200 }],
    }))
    .unwrap();
    fs::write(img.blob_path(&s_name), &body).unwrap();
    img.set_root(json!({ "mediaType": OCI_INDEX, "digest": s_name, "size": body.len() }));
    let s = img.scan();
    s.finding(
        &format!("root manifest digest mismatch: descriptor says {s_name}"),
        "root manifest",
    );
    let own = format!("manifest {}", digest_of(&body));
    s.finding(
        &format!("image index refers to {s_name} again: cyclic or repeated reference"),
        &own,
    );
    s.count(2);
    assert!(s.facts.platforms.is_empty());
}

#[test]
fn blob_whose_digest_does_not_match() {
    // A layer rewritten in place: same name, same size, still a valid gzip stream (only the
    // header's mtime changes), so only the digest can tell.
    let img = single(
        vec![Layer::new().file("/etc/motd", "hi\n", 0o644)],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let mut blob = img.read_blob(&layer);
    blob[4] ^= 0x5a;
    let actual = digest_of(&blob);
    fs::write(img.blob_path(&layer), &blob).unwrap();
    let s = img.scan();
    s.finding(
        &format!("layer digest mismatch: content is {actual}"),
        &format!("layer {layer}"),
    );
    s.count(1);
    assert!(!s.layer(&layer).complete);
    assert!(!s.facts.platforms[0].complete);

    // A config rewritten in place: the manifest is unsound, its layers are not read.
    let img = single(vec![], Compression::Gzip);
    let config = img.manifest()["config"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut config_bytes = img.read_blob(&config);
    config_bytes.extend_from_slice(b"\n");
    fs::write(img.blob_path(&config), &config_bytes).unwrap();
    let s = img.scan();
    s.finding(
        &format!(
            "digest mismatch: descriptor says {config}, content is {}",
            digest_of(&config_bytes)
        ),
        &format!("blob {config}"),
    );
    s.finding("size mismatch", &format!("blob {config}"));
    s.count(2);
    assert!(s.facts.layers.is_empty());
    assert!(s.facts.platforms[0].config.is_none());
}

#[test]
fn layer_blob_larger_than_its_descriptor() {
    // Bytes appended after the end of the tar: tar stops at its end blocks, the count does not.
    let img = single(
        vec![Layer::new().file("/etc/motd", "hi\n", 0o644)],
        Compression::None,
    );
    let layer = img.layer_digest(1);
    let size = img.read_blob(&layer).len();
    append(&img.blob_path(&layer), &[0u8; 4096]);
    let s = img.scan();
    s.finding(
        &format!("layer blob is larger than its descriptor's {size} bytes"),
        &format!("layer {layer}"),
    );
    s.count(1);
    assert!(!s.layer(&layer).complete);

    // After a gzip stream the extra bytes also break decompression; both are said.
    let img = single(
        vec![Layer::new().file("/etc/motd", "hi\n", 0o644)],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let size = img.read_blob(&layer).len();
    append(&img.blob_path(&layer), &[0u8; 4096]);
    let s = img.scan();
    s.finding(
        &format!("layer blob is larger than its descriptor's {size} bytes"),
        &format!("layer {layer}"),
    );
    s.finding(
        "layer does not decompress or is not a well-formed tar",
        &format!("layer {layer}"),
    );
    s.count(2);
}

fn append(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn truncated_layers() {
    // gzip cut in half, descriptor unchanged: the stream ends inside a file.
    let img = single(vec![], Compression::Gzip);
    let layer = img.layer_digest(0);
    let blob = img.read_blob(&layer);
    let half = blob.len() / 2;
    fs::write(img.blob_path(&layer), &blob[..half]).unwrap();
    let s = img.scan();
    s.finding(
        "layer does not decompress or is not a well-formed tar",
        &format!("layer {layer}"),
    );
    s.finding(
        &format!(
            "layer blob is {half} bytes, its descriptor says {}",
            blob.len()
        ),
        &format!("layer {layer}"),
    );
    s.count(2);
    assert!(!s.layer(&layer).complete && !s.facts.platforms[0].complete);

    // An uncompressed tar cut at an entry boundary looks like a shorter archive to tar: only
    // the byte count against the descriptor tells.
    let img = single(
        vec![Layer::new().file("/etc/a", vec![b'a'; 1024], 0o644).file(
            "/etc/b",
            vec![b'b'; 1024],
            0o644,
        )],
        Compression::None,
    );
    let layer = img.layer_digest(1);
    let blob = img.read_blob(&layer);
    let cut = 512 + 1024; // header and data of /etc/a
    fs::write(img.blob_path(&layer), &blob[..cut]).unwrap();
    let s = img.scan();
    s.finding(
        &format!(
            "layer blob is {cut} bytes, its descriptor says {}",
            blob.len()
        ),
        &format!("layer {layer}"),
    );
    s.count(1);
    assert!(!s.layer(&layer).complete);
}

#[test]
fn unknown_media_types() {
    let img = single(
        vec![Layer::new().file("/etc/motd", "hi\n", 0o644)],
        Compression::Gzip,
    );
    let good = img.manifest();

    let mut m = good.clone();
    m["layers"][1]["mediaType"] = json!("application/x-evil");
    let d = img.replace_manifest(&m);
    let s = img.scan();
    s.finding(
        "unknown layer media type \"application/x-evil\"",
        &format!("manifest {d}"),
    );
    s.count(1);
    // An unsound manifest is not followed: no layer of it is read.
    assert!(s.facts.layers.is_empty());

    let mut m = good.clone();
    m["mediaType"] = json!("application/x-evil");
    let d = img.replace_manifest(&m);
    let s = img.scan();
    s.finding(
        "unknown manifest media type \"application/x-evil\"",
        &format!("manifest {d}"),
    );
    s.count(1);
    assert!(s.facts.platforms.is_empty());

    let mut m = good.clone();
    m["config"]["mediaType"] = json!("application/x-evil");
    let d = img.replace_manifest(&m);
    let s = img.scan();
    s.finding(
        "unknown config media type \"application/x-evil\"",
        &format!("manifest {d}"),
    );
    s.count(1);
}

#[test]
fn certify_reports_a_hostile_image_as_a_blocking_ec101_failure() {
    let img = single(
        vec![Layer::new().raw("../../etc/cron.d/job", b'0', "", "* * * * * root id\n")],
        Compression::Gzip,
    );
    let layer = img.layer_digest(1);
    let options = CertifyOptions {
        image: ImageSource::parse(&format!("oci:{}", img.layout().display())).unwrap(),
        remote: RemoteOptions::new(true),
        policy: Policy::default(),
        published: None,
        threads: 0,
        malware: Default::default(),
        cancel: Default::default(),
    };
    let started = Instant::now();
    let report = certify(
        &offer(),
        &options,
        edgecert_engine::ingest::RunMode::NoRun,
        &NoProgress,
    )
    .unwrap()
    .report;
    assert!(started.elapsed() < TIME_BOUND);
    assert_eq!(report.verdict, Verdict::Fail);
    let ec101 = report.checks.iter().find(|c| c.id == "EC101").unwrap();
    assert_eq!(ec101.status, Status::Fail);
    assert!(
        ec101.findings.iter().any(|f| {
            f.message.contains("climbs out of the root")
                && f.shown_location() == Some(at(&layer, "../../etc/cron.d/job"))
                && f.help.is_some()
        }),
        "{:?}",
        ec101.findings
    );
}

#[test]
fn sound_images_pass() {
    // The control: the same helpers on unharmed images, in every dialect and compression the
    // fixtures write (Docker's uncompressed layer type included), give no EC101 finding.
    for (format, compression) in [
        (ManifestFormat::Oci, Compression::Gzip),
        (ManifestFormat::Oci, Compression::Zstd),
        (ManifestFormat::Oci, Compression::None),
        (ManifestFormat::Docker, Compression::Gzip),
        (ManifestFormat::Docker, Compression::None),
    ] {
        let mut spec = ImageSpec::new(vec![
            PlatformImage {
                arch: Arch::Amd64,
                layers: vec![base_layer()],
                config: Default::default(),
            },
            PlatformImage {
                arch: Arch::Arm64,
                // A 300-byte path: a GNU long name record is not a hostile header.
                layers: vec![Layer::new().file("/etc/motd", "hi\n", 0o644).file(
                    format!("/opt/{}/f", "d".repeat(300)),
                    "x",
                    0o644,
                )],
                config: Default::default(),
            },
        ]);
        spec.format = format;
        spec.compression = compression;
        let s = image(&spec).scan();
        s.passes();
        assert_eq!(s.facts.platforms.len(), 2, "{format:?} {compression:?}");
        assert!(s.facts.platforms.iter().all(|p| p.complete));
    }
}

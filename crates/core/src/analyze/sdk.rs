//! Azure IoT SDK fingerprints (EC702, EC106, EC701) and the module identifier search (EC701),
//! both per-file analyzers of the streaming pass.
//!
//! `SdkAnalyzer` decides most fingerprints from the path alone (spec `iotedge.md`, "Azure IoT
//! SDKs"): such a file gets a scan that finishes without wanting a byte. Only two kinds of files
//! are read: executables and shared objects (the C SDK's `iothubclient/1.` and
//! `DeviceClientType=` strings, both required, and only when the first bytes say ELF) and
//! `*.deps.json` (a `"Microsoft.Azure.Devices.Client/` entry). `IdentifierAnalyzer` looks for
//! the offer's `publisher.offer.plan` in every byte of every file; it is not a default analyzer
//! because its pattern comes from the offer (`certify` adds it).
//!
//! Neither decides which SDK a platform *uses*: facts are per layer file, and the checks judge
//! the merged filesystem, so a deleted SDK does not count.

use aho_corasick::AhoCorasick;

use super::{Analyzer, FileFact, FileMeta, FileScan};

/// SDK names as they appear in facts and reports.
pub const C: &str = "c";
pub const CSHARP: &str = "csharp";
pub const PYTHON_V2: &str = "python-v2";
pub const PYTHON_V1: &str = "python-v1";
pub const NODE: &str = "node";
pub const JAVA: &str = "java";

/// Human name of an SDK id.
pub fn sdk_title(sdk: &str) -> &str {
    match sdk {
        C => "C",
        CSHARP => "C#",
        PYTHON_V2 => "Python v2",
        PYTHON_V1 => "Python v1",
        NODE => "Node.js",
        JAVA => "Java",
        other => other,
    }
}

/// Streaming search for a fixed set of patterns across chunk boundaries: a match that starts in
/// the last `max_len - 1` bytes of one chunk is found in a small join with the next chunk's head.
struct Stream {
    ac: AhoCorasick,
    max_len: usize,
    tail: Vec<u8>,
    found: Vec<bool>,
}

impl Stream {
    fn new(ac: AhoCorasick, patterns: usize, max_len: usize) -> Stream {
        Stream {
            ac,
            max_len,
            tail: Vec::new(),
            found: vec![false; patterns],
        }
    }

    fn all_found(&self) -> bool {
        self.found.iter().all(|f| *f)
    }

    fn feed(&mut self, chunk: &[u8]) {
        let keep = self.max_len.saturating_sub(1);
        if !self.tail.is_empty() {
            let head = &chunk[..keep.min(chunk.len())];
            let mut join = Vec::with_capacity(self.tail.len() + head.len());
            join.extend_from_slice(&self.tail);
            join.extend_from_slice(head);
            for m in self.ac.find_overlapping_iter(&join) {
                if m.start() < self.tail.len() {
                    mark(&mut self.found, m.pattern().as_usize());
                }
            }
        }
        for m in self.ac.find_overlapping_iter(chunk) {
            mark(&mut self.found, m.pattern().as_usize());
        }
        if chunk.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.tail.extend_from_slice(chunk);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
    }
}

fn mark(found: &mut [bool], pattern: usize) {
    if let Some(f) = found.get_mut(pattern) {
        *f = true;
    }
}

fn build(patterns: &[&[u8]]) -> Option<(AhoCorasick, usize)> {
    let ac = AhoCorasick::new(patterns).ok()?;
    let max_len = patterns.iter().map(|p| p.len()).max().unwrap_or(1);
    Some((ac, max_len))
}

const C_STRINGS: [&[u8]; 2] = [b"iothubclient/1.", b"DeviceClientType="];
const CSHARP_DEPS: &[u8] = b"\"Microsoft.Azure.Devices.Client/";

/// Finds Azure IoT SDKs by path and, for candidate files, by content.
pub struct SdkAnalyzer {
    c_strings: AhoCorasick,
    deps: AhoCorasick,
}

impl Default for SdkAnalyzer {
    fn default() -> Self {
        SdkAnalyzer::new()
    }
}

impl SdkAnalyzer {
    pub fn new() -> SdkAnalyzer {
        SdkAnalyzer {
            c_strings: AhoCorasick::new(C_STRINGS).expect("two short literal patterns"),
            deps: AhoCorasick::new([CSHARP_DEPS]).expect("one short literal pattern"),
        }
    }
}

/// The SDK a path alone reveals.
pub fn sdk_by_path(path: &str) -> Option<&'static str> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let in_dir = |d: &str| dir == d || dir.ends_with(&format!("/{d}"));
    let parent = dir.rsplit('/').next().unwrap_or("");
    if name.starts_with("libiothub_client") && (name.ends_with(".a") || name.contains(".so")) {
        return Some(C);
    }
    if name == "Microsoft.Azure.Devices.Client.dll" {
        return Some(CSHARP);
    }
    let python_dist = |dist: &str| {
        parent.starts_with(dist)
            && (parent.ends_with(".dist-info") || parent.ends_with(".egg-info"))
            && (name == "METADATA" || name == "PKG-INFO")
    };
    if python_dist("azure_iot_device-")
        || (name == "__init__.py"
            && (in_dir("site-packages/azure/iot/device")
                || in_dir("dist-packages/azure/iot/device")))
    {
        return Some(PYTHON_V2);
    }
    if python_dist("azure_iothub_device_client-")
        || (name.starts_with("iothub_client") && name.contains(".so"))
    {
        return Some(PYTHON_V1);
    }
    if name == "package.json" && in_dir("node_modules/azure-iot-device") {
        return Some(NODE);
    }
    if (name.starts_with("iot-device-client-") && name.ends_with(".jar"))
        || ((name == "ModuleClient.class" || name == "DeviceClient.class")
            && in_dir("com/microsoft/azure/sdk/iot/device"))
    {
        return Some(JAVA);
    }
    None
}

impl Analyzer for SdkAnalyzer {
    fn name(&self) -> &'static str {
        "sdk"
    }

    fn start(&self, file: &FileMeta<'_>) -> Option<Box<dyn FileScan>> {
        if let Some(sdk) = sdk_by_path(file.path) {
            return Some(Box::new(Known(Some(sdk_fact(sdk, file.path)))));
        }
        let name = file.path.rsplit('/').next().unwrap_or(file.path);
        if name.ends_with(".deps.json") {
            return Some(Box::new(ContentScan {
                sdk: CSHARP,
                path: file.path.to_owned(),
                elf_only: false,
                head: Vec::new(),
                stream: Stream::new(self.deps.clone(), 1, CSHARP_DEPS.len()),
            }));
        }
        let candidate = file.size >= 64 && (file.mode & 0o111 != 0 || name.contains(".so"));
        candidate.then(|| {
            let max_len = C_STRINGS.iter().map(|p| p.len()).max().unwrap_or(1);
            Box::new(ContentScan {
                sdk: C,
                path: file.path.to_owned(),
                elf_only: true,
                head: Vec::new(),
                stream: Stream::new(self.c_strings.clone(), C_STRINGS.len(), max_len),
            }) as _
        })
    }
}

fn sdk_fact(sdk: &str, evidence: &str) -> FileFact {
    FileFact::Sdk {
        sdk: sdk.to_owned(),
        evidence: evidence.to_owned(),
    }
}

/// A path-decided fact: wants no bytes.
struct Known(Option<FileFact>);

impl FileScan for Known {
    fn update(&mut self, _chunk: &[u8]) -> bool {
        false
    }
    fn finish(self: Box<Self>) -> Vec<FileFact> {
        self.0.into_iter().collect()
    }
}

struct ContentScan {
    sdk: &'static str,
    path: String,
    /// Give up unless the file starts with the ELF magic.
    elf_only: bool,
    /// The first bytes, until the magic is decided.
    head: Vec<u8>,
    stream: Stream,
}

impl FileScan for ContentScan {
    fn update(&mut self, chunk: &[u8]) -> bool {
        if self.elf_only && self.head.len() < 4 {
            let take = (4 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if !b"\x7fELF".starts_with(&self.head) {
                return false;
            }
        }
        self.stream.feed(chunk);
        !self.stream.all_found()
    }

    fn finish(self: Box<Self>) -> Vec<FileFact> {
        let elf = !self.elf_only || self.head == b"\x7fELF";
        if elf && self.stream.all_found() {
            let evidence = match self.sdk {
                C => format!("{} (strings iothubclient/1., DeviceClientType=)", self.path),
                _ => format!("{} (Microsoft.Azure.Devices.Client)", self.path),
            };
            vec![sdk_fact(self.sdk, &evidence)]
        } else {
            Vec::new()
        }
    }
}

/// Finds one identifier string (the offer's `publisher.offer.plan`) in every file.
pub struct IdentifierAnalyzer {
    identifier: String,
    ac: Option<(AhoCorasick, usize)>,
}

impl IdentifierAnalyzer {
    pub fn new(identifier: &str) -> IdentifierAnalyzer {
        IdentifierAnalyzer {
            identifier: identifier.to_owned(),
            // One literal pattern: aho-corasick hands it to memchr's SIMD `memmem` searcher.
            ac: (!identifier.is_empty())
                .then(|| build(&[identifier.as_bytes()]))
                .flatten(),
        }
    }
}

impl Analyzer for IdentifierAnalyzer {
    fn name(&self) -> &'static str {
        "identifier"
    }

    fn start(&self, file: &FileMeta<'_>) -> Option<Box<dyn FileScan>> {
        let (ac, max_len) = self.ac.as_ref()?;
        (file.size >= *max_len as u64).then(|| {
            Box::new(IdentifierScan {
                identifier: self.identifier.clone(),
                stream: Stream::new(ac.clone(), 1, *max_len),
            }) as _
        })
    }
}

struct IdentifierScan {
    identifier: String,
    stream: Stream,
}

impl FileScan for IdentifierScan {
    fn update(&mut self, chunk: &[u8]) -> bool {
        self.stream.feed(chunk);
        !self.stream.all_found()
    }

    fn finish(self: Box<Self>) -> Vec<FileFact> {
        if self.stream.all_found() {
            vec![FileFact::Identifier {
                identifier: self.identifier,
            }]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(a: &dyn Analyzer, path: &str, mode: u32, data: &[u8], chunk: usize) -> Vec<FileFact> {
        let meta = FileMeta {
            layer: "sha256:0",
            path,
            size: data.len() as u64,
            mode,
        };
        let Some(mut s) = a.start(&meta) else {
            return Vec::new();
        };
        for c in data.chunks(chunk.max(1)) {
            if !s.update(c) {
                break;
            }
        }
        s.finish()
    }

    fn sdks(facts: &[FileFact]) -> Vec<String> {
        facts
            .iter()
            .filter_map(|f| match f {
                FileFact::Sdk { sdk, .. } => Some(sdk.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sdk_paths() {
        let cases = [
            ("usr/lib/libiothub_client.so.1", Some(C)),
            ("usr/lib/libiothub_client_mqtt_transport.a", Some(C)),
            ("app/Microsoft.Azure.Devices.Client.dll", Some(CSHARP)),
            (
                "usr/lib/python3/site-packages/azure/iot/device/__init__.py",
                Some(PYTHON_V2),
            ),
            (
                "usr/local/lib/python3.11/site-packages/azure_iot_device-2.12.0.dist-info/METADATA",
                Some(PYTHON_V2),
            ),
            (
                "usr/lib/python3/dist-packages/iothub_client.so",
                Some(PYTHON_V1),
            ),
            (
                "x/site-packages/azure_iothub_device_client-1.4.6.dist-info/METADATA",
                Some(PYTHON_V1),
            ),
            ("app/node_modules/azure-iot-device/package.json", Some(NODE)),
            ("app/lib/iot-device-client-1.34.0.jar", Some(JAVA)),
            (
                "app/classes/com/microsoft/azure/sdk/iot/device/ModuleClient.class",
                Some(JAVA),
            ),
            ("app/node_modules/azure-iot-device-mqtt/package.json", None),
            ("app/node_modules/azure-iot-device/lib/x.json", None),
            ("usr/lib/libiothub.so", None),
            ("etc/passwd", None),
        ];
        for (path, want) in cases {
            assert_eq!(sdk_by_path(path), want, "{path}");
        }
    }

    #[test]
    fn c_strings_need_elf_and_both_strings_across_chunks() {
        let a = SdkAnalyzer::new();
        let mut elf = b"\x7fELF".to_vec();
        elf.resize(100, 0);
        elf.extend_from_slice(b"xx iothubclient/1.2.3 yy DeviceClientType=zz");
        for chunk in [1, 3, 7, 16, 1000] {
            assert_eq!(
                sdks(&run(&a, "app/mod", 0o755, &elf, chunk)),
                ["c"],
                "{chunk}"
            );
        }
        let mut one = b"\x7fELF".to_vec();
        one.resize(100, 0);
        one.extend_from_slice(b"iothubclient/1.2.3");
        assert!(run(&a, "app/mod", 0o755, &one, 5).is_empty());
        let mut text = b"#!/bin/sh\n".to_vec();
        text.resize(100, b' ');
        text.extend_from_slice(b"iothubclient/1.2.3 DeviceClientType=");
        assert!(run(&a, "app/run.sh", 0o755, &text, 5).is_empty());
        // Not executable, not a shared object: never read.
        assert!(run(&a, "app/data.bin", 0o644, &elf, 5).is_empty());
    }

    #[test]
    fn deps_json() {
        let a = SdkAnalyzer::new();
        let deps = br#"{"libraries":{"Microsoft.Azure.Devices.Client/1.42.0":{"type":"package"}}}"#;
        for chunk in [1, 10, 4096] {
            assert_eq!(
                sdks(&run(&a, "app/Mod.deps.json", 0o644, deps, chunk)),
                ["csharp"]
            );
        }
        assert!(run(&a, "app/Mod.deps.json", 0o644, b"{}", 10).is_empty());
    }

    #[test]
    fn identifier_across_chunks_and_absent() {
        let a = IdentifierAnalyzer::new("contoso.tempfilter.standard");
        let mut data = vec![b'x'; 5000];
        data.extend_from_slice(b"contoso.tempfilter.standard");
        data.extend_from_slice(&[0; 100]);
        for chunk in [1, 2, 13, 4096, 100_000] {
            let f = run(&a, "app/main.py", 0o644, &data, chunk);
            assert_eq!(f.len(), 1, "{chunk}");
        }
        assert!(run(&a, "app/main.py", 0o644, b"contoso.tempfilter.basic", 4).is_empty());
        assert!(
            IdentifierAnalyzer::new("")
                .start(&FileMeta {
                    layer: "l",
                    path: "p",
                    size: 10,
                    mode: 0
                })
                .is_none()
        );
    }
}

/// Throughput of the scans against the secrets analyzer's, which already reads every byte:
/// `cargo test -p edgecert-engine --lib sdk_throughput -- --ignored --nocapture`.
#[cfg(test)]
mod throughput {
    use std::time::Instant;

    use super::*;

    fn mib_per_s(a: &dyn Analyzer, mode: u32, data: &[u8]) -> f64 {
        let meta = FileMeta {
            layer: "sha256:0",
            path: "usr/bin/tool",
            size: data.len() as u64,
            mode,
        };
        let started = Instant::now();
        if let Some(mut s) = a.start(&meta) {
            for c in data.chunks(64 * 1024) {
                if !s.update(c) {
                    break;
                }
            }
            s.finish();
        }
        data.len() as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64()
    }

    #[test]
    #[ignore = "a measurement, not a test"]
    fn sdk_throughput() {
        // Pseudo-random bytes with an ELF header: no identifier, no SDK strings.
        let mut data = b"\x7fELF".to_vec();
        let mut x: u32 = 1;
        data.extend((0..(128 << 20)).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        }));
        let id = IdentifierAnalyzer::new("contoso.tempfilter.standard");
        let sdk = SdkAnalyzer::new();
        let secrets = crate::analyze::secrets::SecretsAnalyzer;
        println!(
            "identifier {:.0} MiB/s, sdk (ELF) {:.0} MiB/s, secrets {:.0} MiB/s",
            mib_per_s(&id, 0o644, &data),
            mib_per_s(&sdk, 0o755, &data),
            mib_per_s(&secrets, 0o644, &data)
        );
    }
}

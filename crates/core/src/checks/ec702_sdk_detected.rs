//! # EC702 sdk-detected
//!
//! ## What it checks
//! Lists the Azure IoT SDKs found in each platform's merged filesystem — C, C#, Python v1/v2,
//! Node, Java — with the files that reveal them (`libiothub_client*.so`, the C SDK's
//! `iothubclient/1.` and `DeviceClientType=` strings in an ELF binary,
//! `Microsoft.Azure.Devices.Client.dll` or a `*.deps.json` entry, `azure/iot/device/` and
//! `azure_iot_device-*.dist-info`, `iothub_client.so`, `node_modules/azure-iot-device`,
//! `iot-device-client-*.jar`). Informational: it passes whether or not an SDK is found.
//!
//! ## Why it matters
//! A module built on an IoT SDK talks to edgeHub and can report its module identifier as
//! product info (EC701), which is how deployed instances are counted; it also needs default
//! twin and routes (EC106).
//!
//! ## Example
//! `linux/amd64: Node.js (app/node_modules/azure-iot-device/package.json)`.
//!
//! ## How to fix
//! Nothing to fix. If an SDK is listed that the module does not use, remove it from the image;
//! if one is missing, make sure its files are in the final image stage.

use std::collections::BTreeMap;

use super::{Check, Context, Outcome};
use crate::analyze::FileFact;
use crate::analyze::sdk::sdk_title;
use crate::facts::PlatformFacts;
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC702",
    name: "sdk-detected",
    title: "Azure IoT SDKs used by the module",
    area: Area::Telemetry,
    severity: Severity::Info,
    runtime: false,
    source: include_str!("ec702_sdk_detected.rs"),
    run,
};

/// Evidence paths listed per SDK; the count says how many there were.
const MAX_EVIDENCE: usize = 3;

/// SDK id -> evidence, in the platform's merged filesystem (deleted files do not count).
pub(super) fn platform_sdks(p: &PlatformFacts) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, node) in p.fs.iter() {
        for f in &node.facts {
            if let FileFact::Sdk { sdk, evidence } = f {
                out.entry(sdk.clone()).or_default().push(evidence.clone());
            }
        }
    }
    out
}

/// `Node.js (a, b and 2 more)`.
pub(super) fn describe(sdk: &str, evidence: &[String]) -> String {
    let mut shown = evidence
        .iter()
        .take(MAX_EVIDENCE)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if evidence.len() > MAX_EVIDENCE {
        shown.push_str(&format!(" and {} more", evidence.len() - MAX_EVIDENCE));
    }
    format!("{} ({shown})", sdk_title(sdk))
}

fn run(cx: &Context<'_>) -> Outcome {
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let mut findings = Vec::new();
    let mut summary = Vec::new();
    for p in &cx.image.platforms {
        let sdks = platform_sdks(p);
        if sdks.is_empty() {
            summary.push(format!("{}: none", p.platform));
            continue;
        }
        let names: Vec<&str> = sdks.keys().map(|s| sdk_title(s)).collect();
        summary.push(format!("{}: {}", p.platform, names.join(", ")));
        for (sdk, evidence) in &sdks {
            findings.push(Finding::new(describe(sdk, evidence)).on(&p.platform));
        }
    }
    let mut o = Outcome::pass(format!("Azure IoT SDKs: {}", summary.join("; ")));
    o.findings = findings;
    o
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::analyze::default_analyzers;
    use crate::analyze::sdk::IdentifierAnalyzer;
    use crate::checks::testing::*;
    use crate::facts::ImageFacts;
    use crate::finding::Status;
    use crate::image::files::DirFiles;
    use crate::image::layer::NoProgress;
    use crate::image::layout::Layout;
    use crate::image::scan::{ScanOptions, scan};
    use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage, busybox};

    /// Scans `spec` like `certify` does: default analyzers plus the identifier search.
    pub(crate) fn facts_with_identifier(spec: &ImageSpec, identifier: &str) -> ImageFacts {
        let dir = tempfile::tempdir().unwrap();
        edgecert_fixtures::write_oci_layout(dir.path(), spec).unwrap();
        let store = Layout::open(DirFiles::new(dir.path()).unwrap(), None).unwrap();
        let mut analyzers = default_analyzers();
        analyzers.push(Box::new(IdentifierAnalyzer::new(identifier)));
        scan(
            "oci:fixture",
            &store,
            &ScanOptions::default(),
            &analyzers,
            &NoProgress,
        )
        .unwrap()
    }

    /// A busybox binary with the C SDK's strings appended: an ELF that reveals the C SDK.
    pub(crate) fn c_sdk_binary() -> Vec<u8> {
        let mut b = busybox(Arch::Amd64).unwrap();
        b.extend_from_slice(b"\0iothubclient/1.2.3 (native; Linux; x86_64)\0DeviceClientType=\0");
        b
    }

    /// amd64 with the Node SDK and a C SDK binary; arm/v7 with the Python v2 SDK.
    pub(crate) fn sdk_spec() -> ImageSpec {
        let mut amd = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "3600"]).unwrap();
        amd.layers.push(
            Layer::new()
                .file(
                    "app/node_modules/azure-iot-device/package.json",
                    br#"{"name":"azure-iot-device","version":"1.18.3"}"#.to_vec(),
                    0o644,
                )
                .file("app/modbin", c_sdk_binary(), 0o755),
        );
        let mut arm = PlatformImage::busybox(Arch::Armhf, &["/bin/sleep", "3600"]).unwrap();
        arm.layers.push(Layer::new().file(
            "usr/local/lib/python3.11/site-packages/azure_iot_device-2.12.0.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: azure-iot-device\nVersion: 2.12.0\n".to_vec(),
            0o644,
        ));
        ImageSpec::new(vec![amd, arm])
    }

    #[test]
    fn lists_sdks_per_platform_with_evidence() {
        let o = check_with(&CHECK, &offer(&offer_json()), &facts(&sdk_spec()));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(o.summary.contains("linux/amd64: C, Node.js"), "{o:?}");
        assert!(o.summary.contains("linux/arm/v7: Python v2"), "{o:?}");
        let messages: Vec<&str> = o.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(
            messages[0].starts_with("C (app/modbin (strings"),
            "{messages:?}"
        );
        assert_eq!(
            messages[1],
            "Node.js (app/node_modules/azure-iot-device/package.json)"
        );
        assert!(messages[2].contains("azure_iot_device-2.12.0.dist-info/METADATA"));
    }

    #[test]
    fn no_sdk_and_deleted_sdk() {
        let o = check_with(&CHECK, &offer(&offer_json()), &facts(&good_spec()));
        assert_eq!(o.status, Status::Pass);
        assert!(o.findings.is_empty());
        assert!(o.summary.contains("linux/amd64: none"), "{o:?}");
        let mut spec = sdk_spec();
        for p in &mut spec.platforms {
            p.layers.push(
                Layer::new()
                    .whiteout("app/node_modules")
                    .whiteout("app/modbin")
                    .whiteout("usr/local/lib/python3.11"),
            );
        }
        let o = check_with(&CHECK, &offer(&offer_json()), &facts(&spec));
        assert!(o.findings.is_empty(), "{o:?}");
    }
}

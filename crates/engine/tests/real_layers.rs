//! EC806 and the SBOM on layers made of real packages (issue 8, items 1 and 19): Debian's
//! `libgnutls30` (amd64 and armhf) and `python3-pip` installed into layers the way dpkg does
//! (`edgecert_fixtures::packages`), the Node IoT SDK's `@azure/storage-blob` from npm, and an
//! Alpine package database. What everyone's images carry — a distribution's self-test keys,
//! an emulator's published key — is information; a key of the module's own still fails.
//!
//! The packages come from `scripts/setup.sh` (`$EDGECERT_DEBS_DIR`, `$EDGECERT_PACKAGES_DIR`).
//! Without them a test skips with a message, except under `EDGECERT_REQUIRE_SERVICES=1` (CI),
//! where it fails.
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::path::PathBuf;

use base64::Engine as _;
use edgecert_engine::offer::{Offer, template};
use edgecert_engine::report::{CheckResult, Report, Status};
use edgecert_fixtures::packages::{deb, deb_layer, npm_layer, package, wheel_layer};
use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage};

/// A real package, or `None` (skip) when setup has not downloaded it; fails in CI.
fn need(found: anyhow::Result<PathBuf>) -> Option<PathBuf> {
    edgecert_fixtures::services::needed(found.map_err(|e| format!("{e:#}")))
}

fn certify(spec: &ImageSpec) -> Report {
    certify_all(spec).report
}

/// The report with the inventory.
fn certify_all(spec: &ImageSpec) -> edgecert_engine::Certification {
    common::certify_spec(
        spec,
        &Offer::parse(&template("real"), "offer.json").unwrap(),
    )
}

fn check<'a>(r: &'a Report, id: &str) -> &'a CheckResult {
    r.checks.iter().find(|c| c.id == id).unwrap()
}

fn platform(arch: Arch, layers: Vec<Layer>) -> PlatformImage {
    let mut p = PlatformImage::busybox(arch, &["/bin/sleep", "3600"]).unwrap();
    p.layers.extend(layers);
    p
}

/// A private key nobody published: a PEM body of deterministic random bytes.
fn private_key(seed: u64) -> String {
    let der = common::pseudo_random(1190, seed);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// Findings that are information (no fix hint) vs blocking ones (with the fix hint).
fn split(c: &CheckResult) -> (Vec<String>, Vec<String>) {
    let (info, blocking): (Vec<_>, Vec<_>) = c.findings.iter().partition(|f| f.help.is_none());
    let text = |v: Vec<&edgecert_engine::report::Finding>| {
        v.iter()
            .map(|f| format!("{} @ {}", f.message, f.shown_location().unwrap_or_default()))
            .collect()
    };
    (text(info), text(blocking))
}

#[test]
fn gnutls_self_test_keys_in_debian_images_are_information() {
    let (Some(amd64), Some(armhf)) = (
        need(deb("libgnutls30", "amd64")),
        need(deb("libgnutls30", "armhf")),
    ) else {
        return;
    };
    let spec = ImageSpec::new(vec![
        platform(Arch::Amd64, vec![deb_layer(&[amd64]).unwrap()]),
        platform(Arch::Armhf, vec![deb_layer(&[armhf]).unwrap()]),
    ]);
    let report = certify(&spec);
    let ec806 = check(&report, "EC806");
    assert_eq!(ec806.status, Status::Pass, "{ec806:#?}");
    let (info, blocking) = split(ec806);
    assert!(blocking.is_empty(), "{blocking:#?}");
    // Ten self-test keys in each platform's libgnutls.so.30, each known by value.
    assert_eq!(info.len(), 20, "{info:#?}");
    for f in &info {
        assert!(
            f.contains("a published key (GnuTLS FIPS 140 self-test key)")
                && f.contains("libgnutls.so.30"),
            "{f}"
        );
    }
    assert!(
        ec806.summary.contains("20 published test key(s)"),
        "{}",
        ec806.summary
    );
}

#[test]
fn module_keys_still_fail_next_to_distribution_keys() {
    let Some(gnutls) = need(deb("libgnutls30", "amd64")) else {
        return;
    };
    let layer = deb_layer(std::slice::from_ref(&gnutls)).unwrap();
    // The real shared object, with a key nobody published appended: vendored into the app
    // (the module's own file: the unknown key fails) and into a system library directory
    // without a package owning it (a library the module did not write: information).
    let so = layer
        .entries
        .iter()
        .find_map(|e| match e {
            edgecert_fixtures::Entry::File { path, data, .. }
                if path.contains("libgnutls.so.30.") =>
            {
                Some(data.clone())
            }
            _ => None,
        })
        .expect("libgnutls.so.30 in the package");
    let mut vendored = so;
    vendored.extend_from_slice(private_key(11).as_bytes());
    // A distribution package's file that carries a key nobody published: owned by dpkg.
    let owned_key = private_key(12);
    let owned = Layer::new()
        .file("usr/share/doc/contoso-tests/test-key.pem", owned_key.clone(), 0o644)
        .file(
            "var/lib/dpkg/info/contoso-tests.list",
            "/.\n/usr\n/usr/share\n/usr/share/doc\n/usr/share/doc/contoso-tests\n/usr/share/doc/contoso-tests/test-key.pem\n",
            0o644,
        );
    let app = Layer::new()
        .file("app/certs/device.key", private_key(13), 0o600)
        .file("app/lib/libvendored.so.1", vendored.clone(), 0o755)
        .file(
            "usr/lib/x86_64-linux-gnu/libvendored.so.1",
            vendored.clone(),
            0o644,
        )
        .file("usr/src/app/lib/libvendored.so.1", vendored, 0o755)
        .file("app/lib/copy-of-distro-key.pem", owned_key, 0o644);
    let spec = ImageSpec::new(vec![platform(Arch::Amd64, vec![layer, owned, app])]);
    let report = certify(&spec);
    let ec806 = check(&report, "EC806");
    assert_eq!(ec806.status, Status::Fail, "{ec806:#?}");
    let (info, blocking) = split(ec806);
    // The module's own key file, the unknown key in the module's own shared libraries
    // (`/app`, and `/usr/src/app` as many Dockerfiles put it) and the copy of a package's key
    // outside the package: leaks.
    assert_eq!(blocking.len(), 4, "{blocking:#?}");
    for own in [
        "app/lib/libvendored.so.1",
        "usr/src/app/lib/libvendored.so.1",
    ] {
        assert!(
            blocking.iter().any(|f| f.ends_with(&format!(": {own}"))),
            "{own}: {blocking:#?}"
        );
    }
    assert!(
        blocking
            .iter()
            .any(|f| f.ends_with(": app/certs/device.key")),
        "{blocking:#?}"
    );
    assert!(
        blocking
            .iter()
            .any(|f| f.ends_with(": app/lib/copy-of-distro-key.pem")),
        "{blocking:#?}"
    );
    // Information: 10 GnuTLS keys in the package, 10 in each vendored copy (known by value),
    // the unknown key in the system library directory's copy, the key in the dpkg-owned file.
    assert!(
        info.iter().any(|f| f.contains("inside a shared library")
            && f.ends_with(": usr/lib/x86_64-linux-gnu/libvendored.so.1")),
        "{info:#?}"
    );
    assert!(
        info.iter()
            .any(|f| f.contains("in a file of the dpkg package contoso-tests")),
        "{info:#?}"
    );
    assert_eq!(info.len(), 42, "{info:#?}");
    assert!(
        ec806.summary.starts_with("4 embedded secret(s) found"),
        "{}",
        ec806.summary
    );
}

#[test]
fn storage_emulator_key_in_the_node_sdk_is_information() {
    let Some(tgz) = need(package("azure-storage-blob-12.8.0")) else {
        return;
    };
    let node = npm_layer(&tgz, "app/node_modules", "@azure/storage-blob").unwrap();
    let spec = ImageSpec::new(vec![platform(Arch::Amd64, vec![node])]);
    let report = certify(&spec);
    let ec806 = check(&report, "EC806");
    assert_eq!(ec806.status, Status::Pass, "{ec806:#?}");
    let (info, blocking) = split(ec806);
    assert!(blocking.is_empty(), "{blocking:#?}");
    assert!(!info.is_empty());
    for f in &info {
        assert!(
            f.contains("Azure Storage emulator (Azurite) account key"),
            "{f}"
        );
        assert!(f.contains("app/node_modules/@azure/storage-blob/"), "{f}");
    }
    // A storage account key nobody published, in the module's own file, fails.
    let other = "DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=";
    let key = base64::engine::general_purpose::STANDARD.encode(common::pseudo_random(64, 5));
    let app = Layer::new().file("app/config.env", format!("STORAGE={other}{key}\n"), 0o644);
    let spec = ImageSpec::new(vec![platform(Arch::Amd64, vec![app])]);
    let ec806 = check(&certify(&spec), "EC806").clone();
    assert_eq!(ec806.status, Status::Fail, "{ec806:#?}");
}

#[test]
fn python_image_from_debian_packages_has_no_false_findings_nor_double_counts() {
    let Some(pip) = need(deb("python3-pip", "all")) else {
        return;
    };
    let spec = ImageSpec::new(vec![platform(
        Arch::Amd64,
        vec![deb_layer(&[pip]).unwrap()],
    )]);
    let all = certify_all(&spec);
    let report = &all.report;
    let ec806 = check(report, "EC806");
    assert_eq!(ec806.status, Status::Pass, "{ec806:#?}");
    let inv = all.inventory.as_ref().unwrap();
    let purls: Vec<&str> = inv
        .components
        .iter()
        .filter_map(|c| c.purl.as_deref())
        .collect();
    assert!(
        purls
            .iter()
            .any(|p| p.starts_with("pkg:deb/debian/python3-pip@")),
        "{purls:#?}"
    );
    // Debian's pip installs pip-23.0.1.dist-info: the deb component, not a second PyPI one.
    assert!(
        !purls.iter().any(|p| p.starts_with("pkg:pypi/pip")),
        "{purls:#?}"
    );
    // A pip installed by the module (not in any package database) is counted.
    let own = Layer::new().file(
        "usr/local/lib/python3.11/dist-packages/pip-24.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: pip\nVersion: 24.0\n",
        0o644,
    );
    let spec = ImageSpec::new(vec![platform(
        Arch::Amd64,
        vec![
            deb_layer(&[deb("python3-pip", "all").unwrap()]).unwrap(),
            own,
        ],
    )]);
    let all = certify_all(&spec);
    let inv = all.inventory.as_ref().unwrap();
    let pypi: Vec<&str> = inv
        .components
        .iter()
        .filter_map(|c| c.purl.as_deref())
        .filter(|p| p.starts_with("pkg:pypi/"))
        .collect();
    assert_eq!(pypi, ["pkg:pypi/pip@24.0"]);
}

#[test]
fn keys_in_files_of_alpine_packages_are_information() {
    let key = private_key(21);
    let db =
        "C:Q1abc=\nP:contoso-ca-tests\nV:1.0-r0\nA:x86_64\nF:usr/share/contoso\nR:test.pem\n\n";
    let alpine = Layer::new()
        .file("lib/apk/db/installed", db, 0o644)
        .file("usr/share/contoso/test.pem", key.clone(), 0o644)
        .file("srv/app/key.pem", key, 0o600);
    let spec = ImageSpec::new(vec![platform(Arch::Amd64, vec![alpine])]);
    let ec806 = check(&certify(&spec), "EC806").clone();
    assert_eq!(ec806.status, Status::Fail, "{ec806:#?}");
    let (info, blocking) = split(&ec806);
    assert_eq!(info.len(), 1, "{info:#?}");
    assert!(
        info[0].contains("in a file of the apk package contoso-ca-tests"),
        "{info:#?}"
    );
    assert_eq!(blocking.len(), 1, "{blocking:#?}");
    assert!(blocking[0].ends_with(": srv/app/key.pem"), "{blocking:#?}");
}

#[test]
fn python_iot_sdk_wheel_has_no_false_findings_and_is_detected() {
    let (Some(pip), Some(whl)) = (
        need(deb("python3-pip", "all")),
        need(package("azure_iot_device-2.14.0-")),
    ) else {
        return;
    };
    let sdk = wheel_layer(&whl, "usr/local/lib/python3.11/dist-packages").unwrap();
    let spec = ImageSpec::new(vec![platform(
        Arch::Amd64,
        vec![deb_layer(&[pip]).unwrap(), sdk],
    )]);
    let all = certify_all(&spec);
    let report = &all.report;
    let ec806 = check(report, "EC806");
    assert_eq!(ec806.status, Status::Pass, "{ec806:#?}");
    assert!(split(ec806).1.is_empty());
    let ec702 = check(report, "EC702");
    assert!(
        ec702.summary.contains("linux/amd64: Python v2"),
        "{ec702:#?}"
    );
    let inv = all.inventory.as_ref().unwrap();
    assert!(
        inv.components
            .iter()
            .any(|c| c.purl.as_deref() == Some("pkg:pypi/azure-iot-device@2.14.0")),
        "{:#?}",
        inv.components
            .iter()
            .map(|c| &c.bom_ref)
            .collect::<Vec<_>>()
    );
}

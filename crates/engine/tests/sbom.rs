//! The component inventory end to end: real fixture images (dpkg status and status.d, apk db,
//! Python dist-info and egg-info, node_modules, jars built here with the `zip` crate, a .NET
//! deps.json, a real Go binary from this machine when there is one) are scanned through the
//! public API, and the CycloneDX 1.5 output is compared component by component and validated
//! against the official schema (`scripts/setup.sh` fetches it; `EDGECERT_CYCLONEDX_SCHEMA_DIR`).
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::path::Path;

use edgecert_engine::Certification;
use edgecert_engine::offer::{Offer, template};
use edgecert_engine::report::{Report, Status};
use edgecert_engine::sbom::cyclonedx;
use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage};
use serde_json::Value;

const STATUS: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
";

const APK: &str = "\
C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
L:MIT
o:musl

C:Q1def=
P:busybox
V:1.36.1-r5
A:x86_64
L:GPL-2.0-only
";

const DEPS_JSON: &str = r#"{
  "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0"},
  "targets": {".NETCoreApp,Version=v8.0": {}},
  "libraries": {
    "Contoso.Module/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
    "Microsoft.Azure.Devices.Client/1.42.0": {"type": "package", "serviceable": true},
    "Newtonsoft.Json/13.0.3": {"type": "package", "serviceable": true}
  }
}"#;

use edgecert_fixtures::zip_archive as jar;

/// The Go binary used as test input: Debian's docker-registry (installed by setup.sh).
fn go_binary() -> Option<Vec<u8>> {
    let path = Path::new("/usr/bin/docker-registry");
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("skipping the Go part: {} is not installed", path.display());
            None
        }
    }
}

fn app_layer(go: Option<&[u8]>) -> Layer {
    let guava = jar(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nBundle-SymbolicName: com.google.guava\r\n\r\n"),
        ("com/google/common/Base.class", &[0xca, 0xfe, 0xba, 0xbe]),
        (
            "META-INF/maven/com.google.guava/guava/pom.properties",
            b"#Created by Apache Maven\nartifactId=guava\ngroupId=com.google.guava\nversion=32.1.2-jre\n",
        ),
    ]);
    let plain = jar(&[(
        "META-INF/MANIFEST.MF",
        b"Manifest-Version: 1.0\nImplementation-Title: plain-lib\nImplementation-Version: 0.9\nImplementation-Vendor-Id: org.contoso\n",
    )]);
    let mut layer = Layer::new()
        .file("/usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\nVERSION_ID=\"12\"\n", 0o644)
        .symlink("/etc/os-release", "../usr/lib/os-release")
        .file("/var/lib/dpkg/status", STATUS, 0o644)
        .file("/var/lib/dpkg/status.d/libssl3", "Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n", 0o644)
        .file("/var/lib/dpkg/status.d/libssl3.md5sums", "0123  usr/lib/libssl.so.3\n", 0o644)
        .file("/lib/apk/db/installed", APK, 0o644)
        .file(
            "/usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nName: body\n",
            0o644,
        )
        .file(
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n",
            0o644,
        )
        .file(
            "/usr/lib/python3.11/site-packages/old-1.0.dist-info/METADATA",
            "Name: old\nVersion: 1.0\n",
            0o644,
        )
        .file("/app/node_modules/express/package.json", r#"{"name":"express","version":"4.19.2","license":"MIT"}"#, 0o644)
        .file("/app/node_modules/@types/node/package.json", r#"{"name":"@types/node","version":"20.11.5"}"#, 0o644)
        .file("/app/node_modules/express/node_modules/debug/package.json", r#"{"name":"debug","version":"2.6.9"}"#, 0o644)
        .file("/app/node_modules/express/test/fixtures/package.json", r#"{"name":"fixture","version":"0.0.0"}"#, 0o644)
        .file("/app/node_modules/express/lib/package.json", r#"{"type":"commonjs"}"#, 0o644)
        .file("/opt/app/lib/guava-32.1.2-jre.jar", guava, 0o644)
        .file("/opt/app/lib/plain.jar", plain, 0o644)
        .file("/opt/app/app.jar", jar(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n")]), 0o644)
        .file("/app/bin/Contoso.Module.deps.json", DEPS_JSON, 0o644);
    if let Some(go) = go {
        layer = layer.file("/usr/local/bin/registry", go.to_vec(), 0o755);
    }
    layer
}

fn platform(arch: Arch, go: Option<&[u8]>) -> PlatformImage {
    let mut p = PlatformImage::busybox(arch, &["/bin/sleep", "3600"]).unwrap();
    p.layers.push(app_layer(go));
    // A later layer deletes one Python package: it is not installed.
    p.layers
        .push(Layer::new().whiteout("/usr/lib/python3.11/site-packages/old-1.0.dist-info"));
    p
}

fn offer() -> Offer {
    Offer::parse(&template("sbom"), "offer.json").unwrap()
}

fn certify(spec: &ImageSpec) -> Certification {
    common::certify_spec(spec, &offer())
}

fn bom(c: &Certification) -> Value {
    let inv = c.inventory.as_ref().expect("an inventory");
    serde_json::from_str(&cyclonedx::render(inv)).unwrap()
}

fn properties(c: &Value, name: &str) -> Vec<String> {
    c["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap().to_owned())
        .collect()
}

fn go_components() -> Vec<&'static str> {
    vec![
        "pkg:golang/github.com/docker/distribution/cmd/registry",
        "pkg:golang/stdlib@1.19.8",
    ]
}

#[test]
fn inventory_of_every_ecosystem_as_cyclonedx() {
    let go = go_binary();
    let spec = ImageSpec::new(vec![
        platform(Arch::Amd64, go.as_deref()),
        platform(Arch::Armhf, go.as_deref()),
    ]);
    let report = certify(&spec);
    let bom = bom(&report);
    let components = bom["components"].as_array().unwrap();
    let refs: Vec<&str> = components
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let mut want = vec![
        "edgecert:maven:app",
        "pkg:apk/debian/busybox@1.36.1-r5?arch=x86_64",
        "pkg:apk/debian/musl@1.2.4-r2?arch=x86_64",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64",
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64",
        "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64",
        "pkg:maven/com.google.guava/guava@32.1.2-jre",
        "pkg:maven/org.contoso/plain-lib@0.9",
        "pkg:npm/%40types/node@20.11.5",
        "pkg:npm/debug@2.6.9",
        "pkg:npm/express@4.19.2",
        "pkg:nuget/Microsoft.Azure.Devices.Client@1.42.0",
        "pkg:nuget/Newtonsoft.Json@13.0.3",
        "pkg:pypi/requests@2.31.0",
        "pkg:pypi/six@1.16.0",
    ];
    if go.is_some() {
        want.extend(go_components());
    }
    want.sort();
    assert_eq!(refs, want);
    assert_eq!(report.report.sbom.as_ref().unwrap().components, want.len());

    // Same layer on both platforms: one component, two platform properties, its locations.
    let by_ref = |r: &str| components.iter().find(|c| c["bom-ref"] == r).unwrap();
    let guava = by_ref("pkg:maven/com.google.guava/guava@32.1.2-jre");
    assert_eq!(
        properties(guava, "edgecert:platform"),
        ["linux/amd64", "linux/arm/v7"]
    );
    assert_eq!(
        properties(guava, "edgecert:location"),
        ["/opt/app/lib/guava-32.1.2-jre.jar!/META-INF/maven/com.google.guava/guava/pom.properties"]
    );
    assert_eq!(guava["group"], "com.google.guava");
    assert_eq!(guava["name"], "guava");
    let types = by_ref("pkg:npm/%40types/node@20.11.5");
    assert_eq!(
        (&types["group"], &types["name"]),
        (&"@types".into(), &"node".into())
    );
    let express = by_ref("pkg:npm/express@4.19.2");
    assert_eq!(express["licenses"][0]["license"]["name"], "MIT");
    // A jar whose manifest names no group has no purl; its name is the file's.
    let app = by_ref("edgecert:maven:app");
    assert!(
        app.get("purl").is_none() && app.get("version").is_none(),
        "{app}"
    );
    assert_eq!(
        properties(app, "edgecert:location"),
        ["/opt/app/app.jar!/META-INF/MANIFEST.MF"]
    );
    let plain = by_ref("pkg:maven/org.contoso/plain-lib@0.9");
    assert_eq!(
        (&plain["group"], &plain["name"]),
        (&"org.contoso".into(), &"plain-lib".into())
    );
    if go.is_some() {
        let registry = by_ref(go_components()[0]);
        assert_eq!(
            properties(registry, "edgecert:location"),
            ["/usr/local/bin/registry"]
        );
        assert!(registry.get("version").is_none());
    }

    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(
        bom["metadata"]["component"]["version"],
        spec_digest(&report.report)
    );
    validate(&bom);

    // EC903: the init template names a notice URL.
    let ec903 = report
        .report
        .checks
        .iter()
        .find(|c| c.id == "EC903")
        .unwrap();
    assert_eq!(ec903.status, Status::Pass, "{ec903:?}");
    assert!(
        ec903
            .summary
            .starts_with(&format!("{} third-party component(s) (", want.len()))
    );
}

fn spec_digest(report: &Report) -> String {
    report.image.as_ref().unwrap().digest.clone().unwrap()
}

#[test]
fn same_image_same_sbom() {
    let spec = ImageSpec::new(vec![platform(Arch::Amd64, None)]);
    let (a, b) = (certify(&spec), certify(&spec));
    let render = |c: &Certification| cyclonedx::render(c.inventory.as_ref().unwrap());
    assert_eq!(render(&a), render(&b));
    let other = certify(&ImageSpec::new(vec![platform(Arch::Arm64, None)]));
    assert_ne!(bom(&a)["serialNumber"], bom(&other)["serialNumber"]);
    validate(&bom(&a));
}

#[test]
fn an_image_without_components_has_an_empty_sbom() {
    let spec = ImageSpec::new(vec![
        PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "1"]).unwrap(),
    ]);
    let all = certify(&spec);
    let report = &all.report;
    assert_eq!(report.sbom.as_ref().unwrap().components, 0);
    let json = edgecert_engine::report::json::render(report);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sbom"], serde_json::json!({ "components": 0 }));
    validate(&bom(&all));
}

#[test]
fn the_schema_check_has_teeth() {
    let spec = ImageSpec::new(vec![platform(Arch::Amd64, None)]);
    let mut bad = bom(&certify(&spec));
    bad["components"][0]["type"] = "gadget".into();
    bad["serialNumber"] = "not-a-uuid".into();
    if let Some(errors) = schema_errors(&bad) {
        assert_eq!(errors.len(), 2, "{errors:#?}");
    }
}

fn validate(bom: &Value) {
    if let Some(errors) = schema_errors(bom) {
        assert!(
            errors.is_empty(),
            "CycloneDX 1.5 schema errors: {errors:#?}"
        );
    }
}

/// Errors against the official CycloneDX 1.5 JSON schema, its SPDX and JSF schemas registered
/// under the URIs its `$ref`s resolve to; `None` when the schemas are not installed.
fn schema_errors(bom: &Value) -> Option<Vec<String>> {
    let Some(dir) = std::env::var_os("EDGECERT_CYCLONEDX_SCHEMA_DIR").map(std::path::PathBuf::from)
    else {
        edgecert_fixtures::services::available(
            "the CycloneDX schemas (EDGECERT_CYCLONEDX_SCHEMA_DIR; scripts/setup.sh fetches them)",
            false,
        );
        return None;
    };
    let load = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", dir.join(name).display()));
        serde_json::from_str(&text).unwrap()
    };
    let base = "http://cyclonedx.org/schema/";
    let registry = jsonschema::Registry::new()
        .add(
            format!("{base}spdx.SNAPSHOT.schema.json"),
            load("spdx.SNAPSHOT.schema.json"),
        )
        .unwrap()
        .add(
            format!("{base}jsf-0.82.SNAPSHOT.schema.json"),
            load("jsf-0.82.SNAPSHOT.schema.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&load("bom-1.5.SNAPSHOT.schema.json"))
        .unwrap();
    Some(
        validator
            .iter_errors(bom)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect(),
    )
}

//! `edgecert check --sbom FILE`: the real binary writes the image's CycloneDX 1.5 inventory next
//! to the report, atomically, the same bytes for the same image, and the report's `sbom`
//! summary counts the same components.

mod common;

use common::{example_spec, run};
use edgecert_fixtures::{Layer, write_oci_layout};
use serde_json::Value;

#[test]
fn check_writes_the_sbom() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = example_spec();
    for p in &mut spec.platforms {
        p.layers.push(
            Layer::new()
                .file(
                    "/var/lib/dpkg/status",
                    "Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a-0+deb12u1\n",
                    0o644,
                )
                .file(
                    "/app/node_modules/left-pad/package.json",
                    r#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
                    0o644,
                ),
        );
    }
    let layout = dir.path().join("image");
    write_oci_layout(&layout, &spec).unwrap();
    let module = dir.path().join("m");
    assert_eq!(run(&["init", module.to_str().unwrap()]).code, 0);
    let offer = module.join("offer.json");
    let sbom = dir.path().join("out/sbom.json");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let check = |sbom: &std::path::Path| {
        run(&[
            "check",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            &format!("oci:{}", layout.display()),
            "--no-run",
            "--format",
            "json",
            "--sbom",
            sbom.to_str().unwrap(),
        ])
    };
    let r = check(&sbom);
    assert!(matches!(r.code, 0 | 1 | 3), "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["sbom"], serde_json::json!({ "components": 2 }));
    let text = std::fs::read_to_string(&sbom).unwrap();
    let bom: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all",
            "pkg:npm/left-pad@1.3.0"
        ]
    );
    assert_eq!(
        bom["metadata"]["component"]["version"],
        report["image"]["digest"]
    );
    // Only the SBOM and nothing else (no temporary file) in its directory.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["sbom.json"]);
    // Same image, same bytes.
    let again = dir.path().join("out/again.json");
    check(&again);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
}

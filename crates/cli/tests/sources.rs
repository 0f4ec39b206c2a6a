//! One image, every transport: the same fixture image gives the same report through `oci:`,
//! `oci-archive:` (ours and skopeo's), and `docker://` (pushed with `skopeo copy --all` into
//! Debian's docker-registry on loopback) — digests included. A `docker-archive:` made with
//! `skopeo copy`, and the same archive loaded into dockerd and read back with
//! `docker-daemon:`, hold one platform and no registry manifest (skopeo stores the layers
//! uncompressed), so there the test asserts what must still agree: identical uncompressed
//! sizes and check results, except EC201, which sees one platform.

mod common;

use common::*;
use edgecert_fixtures::write_oci_archive;
use serde_json::Value;

fn check_json(offer: &str, image: &str, extra: &[&str]) -> (i32, String) {
    // The ingestion test is not what this file is about (and its timings differ run to run).
    let mut args = vec![
        "check", "--offer", offer, "--image", image, "--format", "json", "--no-run",
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert!(
        matches!(r.code, 0 | 1 | 3),
        "{image}: exit {}: {}",
        r.code,
        r.stderr
    );
    (r.code, r.stdout)
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn same_report_through_oci_layouts_and_a_registry() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let offer = offer.to_str().unwrap();
    let (code, oci) = check_json(offer, &format!("oci:{}", layout.display()), &[]);
    assert_eq!(
        code, 3,
        "everything passes but the ingestion test, not run: {oci}"
    );
    let reference = normalized(&oci);
    assert!(
        reference["image"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    let archive = dir.path().join("image.tar");
    write_oci_archive(&archive, &example_spec()).unwrap();
    let (_, ours) = check_json(offer, &format!("oci-archive:{}", archive.display()), &[]);
    assert_eq!(
        normalized(&ours),
        reference,
        "oci-archive (fixture builder)"
    );

    if !available("skopeo", have_command("skopeo")) {
        return;
    }
    let skopeo_archive = dir.path().join("skopeo.tar");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            "--all",
            &format!("oci:{}:1.0.0", layout.display()),
            &format!("oci-archive:{}:1.0.0", skopeo_archive.display()),
        ],
    );
    let (_, theirs) = check_json(
        offer,
        &format!("oci-archive:{}:1.0.0", skopeo_archive.display()),
        &[],
    );
    let mut theirs = normalized(&theirs);
    // skopeo's archive names only the tag it copied, so the rolling tags are absent there.
    let ec602 = theirs["checks"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["id"] == "EC602")
        .unwrap();
    assert_eq!(ec602["status"], "error", "{ec602}");
    assert!(
        ec602["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tag 1.0 is not in the image source")
    );
    *ec602 = reference["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC602")
        .unwrap()
        .clone();
    theirs["verdict"] = reference["verdict"].clone();
    assert_eq!(theirs, reference, "oci-archive (skopeo copy --all)");

    let Some(registry) = test_registry() else {
        return;
    };
    let repo = format!("{registry}/contoso/tempfilter-{}", std::process::id());
    for tag in ["1.0.0", "1.0", "latest"] {
        sh(
            "skopeo",
            &[
                "copy",
                "-q",
                "--all",
                "--dest-tls-verify=false",
                &format!("oci:{}:{tag}", layout.display()),
                &format!("docker://{repo}:{tag}"),
            ],
        );
    }
    let (_, remote) = check_json(
        offer,
        &format!("docker://{repo}:1.0.0"),
        &["--tls-verify=false"],
    );
    assert_eq!(
        normalized(&remote),
        reference,
        "docker:// (distribution registry)"
    );

    // EC603 against the registry itself: the exact tag is published with the same digest.
    let (code, published) = check_json(
        offer,
        &format!("oci:{}", layout.display()),
        &[
            "--tls-verify=false",
            "--published",
            &format!("docker://{repo}"),
        ],
    );
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(&published).unwrap();
    let ec603 = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC603")
        .unwrap();
    assert_eq!(
        (ec603["status"].as_str(), ec603["summary"].as_str()),
        (Some("pass"), Some("new: [], unchanged: [1.0.0]"))
    );
}

#[test]
fn docker_archive_and_docker_daemon_agree_with_the_oci_layout() {
    if !available("skopeo", have_command("skopeo")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let offer = offer.to_str().unwrap();
    let (_, oci) = check_json(offer, &format!("oci:{}", layout.display()), &[]);
    let oci: Value = serde_json::from_str(&oci).unwrap();
    let name = format!("contoso/tempfilter-{}", std::process::id());
    let archive = dir.path().join("docker.tar");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            "--override-arch",
            "amd64",
            &format!("oci:{}:1.0.0", layout.display()),
            &format!("docker-archive:{}:{name}:1.0.0", archive.display()),
            "--additional-tag",
            &format!("{name}:1.0"),
            "--additional-tag",
            &format!("{name}:latest"),
        ],
    );
    let (code, da) = check_json(offer, &format!("docker-archive:{}", archive.display()), &[]);
    assert_eq!(code, 1, "one platform fails EC201");
    let da: Value = serde_json::from_str(&da).unwrap();
    let expected: Vec<(String, String)> = statuses(&oci)
        .into_iter()
        .map(|(id, s)| {
            if id == "EC201" {
                (id, "fail".to_owned())
            } else {
                (id, s)
            }
        })
        .collect();
    assert_eq!(statuses(&da), expected);
    assert_eq!(da["image"]["platforms"][0]["platform"], "linux/amd64");
    assert_eq!(
        da["image"]["platforms"][0]["uncompressedBytes"],
        oci["image"]["platforms"][0]["uncompressedBytes"]
    );

    let engine_up = have_command("docker")
        && std::process::Command::new("docker")
            .arg("info")
            .output()
            .is_ok_and(|o| o.status.success());
    if !available("dockerd", engine_up) {
        return;
    }
    sh("docker", &["load", "-q", "-i", archive.to_str().unwrap()]);
    let (code, daemon) = check_json(offer, &format!("docker-daemon:{name}:1.0.0"), &[]);
    let _ = std::process::Command::new("docker")
        .args([
            "rmi",
            "-f",
            &format!("{name}:1.0.0"),
            &format!("{name}:1.0"),
            &format!("{name}:latest"),
        ])
        .output();
    assert_eq!(code, 1);
    let daemon: Value = serde_json::from_str(&daemon).unwrap();
    assert_eq!(statuses(&daemon), statuses(&da));
    assert_eq!(
        daemon["image"]["platforms"][0]["uncompressedBytes"],
        da["image"]["platforms"][0]["uncompressedBytes"]
    );
}

//! Snapshot tests of what users read, byte for byte (run time and temporary paths aside): the
//! report in every format (human, JSON, SARIF, JUnit) for the example module and for a module
//! that fails many checks, `route test` diagnostics, and deployment manifests. Issue 9
//! restructures the engine under these; a change to any output shows up here as a diff, to be
//! accepted on purpose (`cargo insta review`, or `INSTA_UPDATE=always` and reading the diff).

mod common;

use std::path::{Path, PathBuf};

use common::{edit_offer, example_spec_on, run};
use edgecert_fixtures::{Arch, Layer, write_oci_layout};
use serde_json::json;

/// `text` with each `(path, placeholder)` replaced and the run time zeroed.
fn normalize(text: &str, paths: &[(&Path, &str)]) -> String {
    let mut out = text.to_owned();
    for (path, placeholder) in paths {
        out = out.replace(&path.display().to_string(), placeholder);
    }
    out.lines()
        .map(|line| {
            if let Some(i) = line.find("\"durationMs\": ") {
                format!("{}\"durationMs\": 0{}", &line[..i], trailing_comma(line))
            } else if line.starts_with("verdict ") && line.ends_with(" ms)") {
                let cut = line.rfind(" (").unwrap_or(line.len());
                format!("{} (… ms)", &line[..cut])
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn trailing_comma(line: &str) -> &'static str {
    if line.trim_end().ends_with(',') {
        ","
    } else {
        ""
    }
}

/// `check --no-run` in every format: the outputs, normalized, with the exit code.
fn reports(offer: &Path, image: &str, paths: &[(&Path, &str)]) -> Vec<(&'static str, String)> {
    ["human", "json", "sarif", "junit"]
        .into_iter()
        .map(|format| {
            let r = run(&[
                "check",
                "--offer",
                offer.to_str().unwrap(),
                "--image",
                image,
                "--no-run",
                "--format",
                format,
            ]);
            assert!(r.stderr.is_empty(), "{format}: {}", r.stderr);
            let body = normalize(&r.stdout, paths);
            (format, format!("exit {}\n{body}", r.code))
        })
        .collect()
}

/// The quick start's example module, written as `scripts/quickstart.sh` writes it into
/// `./example` (the image, `edgecert init`, linux/arm64 added to the platforms), here into
/// `dir`, which outputs then name `[ROOT]/example`.
fn example(dir: &Path) -> (PathBuf, String) {
    let spec = edgecert_fixtures::example::example_module().unwrap();
    write_oci_layout(&dir.join("image"), &spec).unwrap();
    let module = dir.join("tempfilter");
    let r = run(&["init", module.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let offer = module.join("offer.json");
    edit_offer(&offer, |v| {
        v["image"]["platforms"]
            .as_array_mut()
            .unwrap()
            .push(json!("linux/arm64"));
    });
    (offer, format!("oci:{}", dir.join("image").display()))
}

#[test]
fn the_example_modules_report_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().canonicalize().unwrap();
    let (offer, image) = example(&dir_path);
    for (format, text) in reports(&offer, &image, &[(&dir_path, "[ROOT]/example")]) {
        insta::assert_snapshot!(format!("example_{format}"), text);
    }
}

/// The example module gone wrong in many ways at once: root user, an embedded private key, a
/// privileged container on the host network, an undocumented setting, an invalid route, a
/// listing without support.
#[test]
fn a_failing_modules_report_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().canonicalize().unwrap();
    let mut spec = example_spec_on(&[Arch::Amd64, Arch::Armhf]);
    for p in &mut spec.platforms {
        p.config.user = None;
        p.layers.push(
            Layer::new().file(
                "app/certs/device.key",
                concat!(
                    "-----BEGIN RSA PRIVATE KEY-----\n",
                    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n",
                    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n",
                    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n",
                    "-----END RSA PRIVATE KEY-----\n"
                )
                .as_bytes()
                .to_vec(),
                0o600,
            ),
        );
    }
    let image = dir_path.join("image");
    write_oci_layout(&image, &spec).unwrap();
    let (example_offer, _) = example(&dir_path.join("example"));
    let offer = dir_path.join("offer.json");
    std::fs::copy(example_offer, &offer).unwrap();
    edit_offer(&offer, |v| {
        v["defaults"]["createOptions"] = json!({
            "HostConfig": { "Privileged": true, "NetworkMode": "host" }
        });
        v["defaults"]["env"]["API_TOKEN"] = json!("q8Zt2WmXv4Lr9KpB7sDf");
        v["defaults"]["routes"]["broken"] =
            json!("FROM /messages/modules/tempfilter/outputs/* WHERE temp >> 5 INTO $upstream");
        v["documentation"]["routes"]["broken"] = json!("Hot readings");
        v["support"] = json!([]);
    });
    let image_arg = format!("oci:{}", image.display());
    for (format, text) in reports(&offer, &image_arg, &[(&dir_path, "[TMP]")]) {
        insta::assert_snapshot!(format!("failing_{format}"), text);
    }
}

#[test]
fn route_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let message = dir.path().join("message.json");
    std::fs::write(
        &message,
        json!({
            "source": "/messages/modules/tempfilter/outputs/output1",
            "properties": {"alert": "true"},
            "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
            "body": {"temperature": 31}
        })
        .to_string(),
    )
    .unwrap();
    let mut out = String::new();
    for route in [
        "FROM /messages/modules/tempfilter/outputs/* WHERE $body.temperature > 30 INTO $upstream",
        "FROM /messages/modules/tempfilter/outputs/* WHERE alert = 'false' INTO $upstream",
        "FROM /messages/* WHERE temp >> 5 INTO $upstream",
        "FROM /messages/* WHERE (a = 1 INTO $upstream",
        "SELECT * FROM /messages/* INTO $upstream",
        "FROM /messages/* INTO BrokeredEndpoint(\"/modules/other/inputs/in1\"",
    ] {
        let r = run(&[
            "route",
            "test",
            "--route",
            route,
            "--message",
            message.to_str().unwrap(),
        ]);
        out.push_str(&format!(
            "$ route test {route:?}\nexit {}\n{}{}\n",
            r.code, r.stdout, r.stderr
        ));
    }
    insta::assert_snapshot!("routes", out);
}

#[test]
fn deployment_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, _) = example(dir.path());
    let offer = offer.to_str().unwrap();
    for (name, extra) in [
        ("manifest", &[][..]),
        ("manifest_layered", &["--layered"][..]),
        (
            "manifest_marketplace",
            &["--registry", "marketplace.example", "--tag", "1.0.0"][..],
        ),
    ] {
        let mut args = vec!["manifest", "--offer", offer];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        insta::assert_snapshot!(name, r.stdout);
    }
}

//! Registry and transport faults (issue 8, items 5, 6, 7 and 15): what the engine makes of a
//! registry that answers 500, 401 or a real 404, drops the connection mid-blob, is not there,
//! or speaks plain HTTP to a TLS client; and of a full disk while layer blobs are kept. Only a
//! real 404 / `*_UNKNOWN` is the image's problem (EC101); everything else is an `Err` (exit 2)
//! carrying its cause. The registry is `faulty_registry`, a real HTTP server on loopback
//! serving a fixture image.

mod common;
mod faulty_registry;

use edgecert_engine::analyze::default_analyzers;
use edgecert_engine::facts::ImageFacts;
use edgecert_engine::image::files::DirFiles;
use edgecert_engine::image::layer::NoProgress;
use edgecert_engine::image::layout::Layout;
use edgecert_engine::image::remote::{Remote, RemoteOptions};
use edgecert_engine::image::scan::{ScanOptions, scan};
use edgecert_engine::image::store::{Store, StoreError, TagMap};
use edgecert_fixtures::{Arch, ImageSpec, PlatformImage};
use faulty_registry::{Fault, Registry, closed_port, serve};

fn plain_http() -> RemoteOptions {
    RemoteOptions::new(false)
}

/// A two-platform image (an index, so child manifests are fetched by digest), tag 1.0.0.
fn image() -> common::Image {
    let platform = |arch| PlatformImage {
        arch,
        layers: vec![common::base_layer()],
        config: Default::default(),
    };
    common::image(&ImageSpec::new(vec![
        platform(Arch::Amd64),
        platform(Arch::Arm64),
    ]))
}

fn scan_remote(reference: &str) -> Result<ImageFacts, StoreError> {
    let store = Remote::open(reference, plain_http())?;
    scan(
        reference,
        &store,
        &ScanOptions::default(),
        &default_analyzers(),
        &NoProgress,
    )
}

fn source_error(r: Result<ImageFacts, StoreError>) -> String {
    match r {
        Err(StoreError::Source(m)) => m,
        Err(other) => panic!("expected a source error, got {other:?}"),
        Ok(facts) => panic!("expected a source error, got facts: {:?}", facts.problems),
    }
}

fn serve_with(img: &common::Image, faults: Vec<(String, Fault)>) -> Registry {
    serve(&img.layout(), faults)
}

#[test]
fn registry_500_on_a_manifest_whose_url_contains_404_is_a_tool_error_not_missing() {
    let img = image();
    let child = img.written.manifests[0].1.clone();
    let reg = serve_with(
        &img,
        vec![(child.clone(), Fault::Status(500, "internal error".into()))],
    );
    // "404" in the repository name: the URL of every request contains it.
    let m = source_error(scan_remote(&format!("{}/contoso/app404:1.0.0", reg.host)));
    assert!(m.contains("500") && m.contains("internal error"), "{m}");
}

#[test]
fn registry_404_on_a_layer_is_a_missing_layer_finding() {
    let img = image();
    let layer = img.layer_digest(0);
    let reg = serve_with(&img, vec![(layer, Fault::blob_unknown())]);
    let facts = scan_remote(&format!("{}/contoso/app:1.0.0", reg.host)).unwrap();
    assert!(
        facts
            .problems
            .iter()
            .any(|p| p.message == "layer blob is missing from the image"),
        "{:?}",
        facts.problems
    );
}

#[test]
fn registry_500_on_a_layer_blob_is_a_tool_error_not_ec101() {
    let img = image();
    let layer = img.layer_digest(0);
    let reg = serve_with(&img, vec![(layer, Fault::Status(503, "try later".into()))]);
    let m = source_error(scan_remote(&format!("{}/contoso/app:1.0.0", reg.host)));
    assert!(m.contains("503") && m.contains("try later"), "{m}");
}

#[test]
fn connection_dropped_mid_layer_is_a_tool_error_not_ec101() {
    let img = image();
    let layer = img.layer_digest(0);
    let reg = serve_with(&img, vec![(layer.clone(), Fault::Truncate(10_000))]);
    let m = source_error(scan_remote(&format!("{}/contoso/app:1.0.0", reg.host)));
    assert!(m.contains(&format!("reading layer {layer}")), "{m}");
    assert!(!m.contains("does not decompress"), "{m}");
}

#[test]
fn full_disk_while_keeping_layer_blobs_is_a_tool_error() {
    let img = image();
    let keep = img.root.path().join("run/blobs");
    std::fs::create_dir_all(&keep).unwrap();
    let layer = img.layer_digest(0);
    let hex = layer.strip_prefix("sha256:").unwrap();
    // Writes to /dev/full fail with ENOSPC, as on a full disk.
    std::os::unix::fs::symlink("/dev/full", keep.join(format!("{hex}.partial"))).unwrap();
    let store = Layout::open(DirFiles::new(&img.layout()).unwrap(), None).unwrap();
    let options = ScanOptions {
        keep_blobs: Some(keep),
        ..Default::default()
    };
    let r = scan("oci:x", &store, &options, &default_analyzers(), &NoProgress);
    let m = source_error(r);
    assert!(
        m.contains(&format!("reading layer {layer}")) && m.contains("No space left on device"),
        "{m}"
    );
}

#[test]
fn published_tag_lookup_failures_are_errors_not_absent_tags() {
    let img = image();
    let tags = ["1.0.0".to_owned(), "9.9.9".to_owned()];
    // A real registry: a present tag has a digest, an unknown one (404) is absent.
    let reg = serve_with(&img, vec![]);
    let map = Remote::open(&format!("{}/contoso/app", reg.host), plain_http())
        .unwrap()
        .tags(&tags)
        .unwrap();
    let TagMap::Known(map) = map else {
        panic!("{map:?}")
    };
    assert_eq!(
        map["1.0.0"].as_ref().unwrap().to_string(),
        img.written.top_digest
    );
    assert_eq!(map["9.9.9"], None);
    // 401 and 500: not "absent".
    for (fault, needle) in [
        (Fault::Status(401, String::new()), "not authorized"),
        (Fault::Status(500, "boom".into()), "500"),
    ] {
        let reg = serve_with(&img, vec![("/manifests/9.9.9".into(), fault)]);
        let r = Remote::open(&format!("{}/contoso/app", reg.host), plain_http())
            .unwrap()
            .tags(&tags);
        match r {
            Err(StoreError::Source(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    // Nothing listening: not "absent" either.
    let r = Remote::open(
        &format!("127.0.0.1:{}/contoso/app", closed_port()),
        plain_http(),
    )
    .unwrap()
    .tags(&tags);
    assert!(matches!(r, Err(StoreError::Source(_))), "{r:?}");
}

#[test]
fn connection_refused_names_the_cause_not_only_the_url() {
    let reference = format!("127.0.0.1:{}/contoso/app:1.0.0", closed_port());
    let m = source_error(scan_remote(&reference));
    assert!(m.contains("error sending request"), "{m}");
    assert!(m.to_lowercase().contains("connection refused"), "{m}");
}

#[test]
fn tls_to_a_plain_http_registry_hints_tls_verify_false() {
    let img = image();
    let reg = serve_with(&img, vec![]);
    let store = Remote::open(
        &format!("{}/contoso/app:1.0.0", reg.host),
        RemoteOptions::new(true),
    )
    .unwrap();
    let m = match store.root() {
        Err(StoreError::Source(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(m.contains("--tls-verify=false"), "{m}");
}

#[test]
fn invalid_registry_host_is_a_clear_error_not_clone_request_builder() {
    let m = match Remote::open("127.0.0.1:99999/contoso/app:1.0.0", plain_http()) {
        Err(StoreError::Source(m)) => m,
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("opened"),
    };
    assert!(
        m.contains("invalid registry host \"127.0.0.1:99999\""),
        "{m}"
    );
    assert!(!m.contains("clone request builder"), "{m}");
}

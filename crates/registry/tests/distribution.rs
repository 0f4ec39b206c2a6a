//! The `/v2/` router served on loopback and driven by real clients: skopeo copies a
//! multi-arch image from the fixture builder in and out with every digest preserved, and curl
//! walks the spec's endpoints for the status codes, headers and error codes clients rely on.
//! Metadata on SQLite here (the backend-independent layer is `tests/meta.rs`).
//!
//! Without skopeo or curl a test skips with a message, except under
//! `EDGECERT_REQUIRE_SERVICES=1` (CI), where it fails. Deliberately panicking: test assertions.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage, write_oci_layout};
use edgecert_registry::api::{Namespaces, Registry};
use edgecert_registry::digest::{Algorithm, Digest};
use edgecert_registry::meta::Meta;
use edgecert_registry::store::FsStore;

struct Server {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let root = dir.path().to_owned();
    let addr = rt.block_on(async move {
        let store = FsStore::open(root.join("blobs")).await.unwrap();
        let url = format!("sqlite://{}?mode=rwc", root.join("meta.db").display());
        let meta = Meta::connect(&url).await.unwrap();
        let app = Registry::new(store, meta, Namespaces).router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    Server {
        addr,
        _dir: dir,
        _rt: rt,
    }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("EDGECERT_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "{tool} is required (EDGECERT_REQUIRE_SERVICES=1): run scripts/setup.sh"
        );
        eprintln!("SKIP: {tool} is not installed; run scripts/setup.sh");
    }
    ok
}

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `curl` a request: (status, headers lower-cased, body).
fn curl(method: &str, url: &str, extra: &[&str]) -> (u16, String, String) {
    let mut args = vec![
        "-s",
        "-S",
        "-X",
        method,
        "-D",
        "-",
        "-o",
        "/dev/stderr",
        url,
    ];
    if method == "HEAD" {
        args = vec!["-s", "-S", "-I", "-o", "/dev/null", "-D", "-", url];
    }
    args.extend_from_slice(extra);
    let out = Command::new("curl").args(&args).output().unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        head,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn image() -> ImageSpec {
    let platforms = [Arch::Amd64, Arch::Armhf, Arch::Arm64]
        .into_iter()
        .map(|a| {
            let mut p = PlatformImage::busybox(a, &["/bin/sleep", "3600"]).unwrap();
            p.layers
                .push(Layer::new().file("app/run.sh", "#!/bin/sh\nexec sleep 3600\n", 0o755));
            p
        })
        .collect();
    let mut spec = ImageSpec::new(platforms);
    spec.tags = vec!["1.0.0".into()];
    spec
}

fn blob_names(layout: &Path) -> BTreeSet<String> {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn index_digest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

#[test]
fn skopeo_copies_a_multi_arch_image_in_and_out_with_identical_digests() {
    if !have("skopeo") {
        return;
    }
    let server = serve();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_oci_layout(&src, &image()).unwrap();
    let dest = format!("docker://{}/staging/contoso/tempfilter:1.0.0", server.addr);
    let (ok, out) = run(
        "skopeo",
        &[
            "copy",
            "-q",
            "--all",
            "--dest-tls-verify=false",
            &format!("oci:{}:1.0.0", src.display()),
            &dest,
        ],
    );
    assert!(ok, "push: {out}");
    let back = dir.path().join("back");
    let (ok, out) = run(
        "skopeo",
        &[
            "copy",
            "-q",
            "--all",
            "--src-tls-verify=false",
            &dest,
            &format!("oci:{}:1.0.0", back.display()),
        ],
    );
    assert!(ok, "pull: {out}");
    assert_eq!(index_digest(&back), index_digest(&src));
    assert_eq!(blob_names(&back), blob_names(&src));
    // skopeo's own view of the tag list.
    let (ok, out) = run(
        "skopeo",
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{}/staging/contoso/tempfilter", server.addr),
        ],
    );
    assert!(ok && out.contains("\"1.0.0\""), "{out}");
    // Clients never write public repositories: those are the go-live step's.
    let public = format!("docker://{}/contoso.tempfilter.standard:1.0.0", server.addr);
    let (ok, out) = run(
        "skopeo",
        &[
            "copy",
            "-q",
            "--all",
            "--dest-tls-verify=false",
            &format!("oci:{}:1.0.0", src.display()),
            &public,
        ],
    );
    assert!(!ok && out.to_lowercase().contains("denied"), "{out}");
}

#[test]
fn endpoints_status_codes_headers_and_error_codes() {
    if !have("curl") {
        return;
    }
    let server = serve();
    let base = format!("http://{}/v2", server.addr);
    let repo = format!("{base}/staging/contoso/filter");

    let (status, head, _) = curl("GET", &format!("{base}/"), &[]);
    assert_eq!(status, 200);
    assert!(
        head.contains("docker-distribution-api-version: registry/2.0"),
        "{head}"
    );

    // An invalid digest is 400 DIGEST_INVALID (distribution 2.8 answers 500).
    let (status, _, body) = curl("GET", &format!("{repo}/blobs/sha256:xyz"), &[]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"DIGEST_INVALID\""), "{body}");
    let unknown = Digest::of(Algorithm::Sha256, b"nothing");
    let (status, _, body) = curl("GET", &format!("{repo}/blobs/{unknown}"), &[]);
    assert_eq!(status, 404);
    assert!(body.contains("\"BLOB_UNKNOWN\""), "{body}");
    let (status, _, body) = curl("GET", &format!("{base}/Staging/x/manifests/latest"), &[]);
    assert_eq!(status, 400);
    assert!(body.contains("\"NAME_INVALID\""), "{body}");

    // Monolithic upload (POST ?digest=), sha512 too.
    for alg in [Algorithm::Sha256, Algorithm::Sha512] {
        let data = format!("hello {alg:?}");
        let d = Digest::of(alg, data.as_bytes());
        let (status, head, body) = curl(
            "POST",
            &format!("{repo}/blobs/uploads/?digest={d}"),
            &[
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
                &data,
            ],
        );
        assert_eq!(status, 201, "{body}");
        assert!(
            head.contains(&format!("docker-content-digest: {d}")),
            "{head}"
        );
        let (status, head, _) = curl("HEAD", &format!("{repo}/blobs/{d}"), &[]);
        assert_eq!(status, 200);
        assert!(
            head.contains(&format!("content-length: {}", data.len())),
            "{head}"
        );
    }

    // Chunked upload: POST, PATCH with Content-Range, an out-of-order chunk (416 with the
    // offset), status, the closing PUT.
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let d = Digest::of(Algorithm::Sha256, &data);
    let dir = tempfile::tempdir().unwrap();
    let part = |a: usize, b: usize| {
        let p = dir.path().join(format!("{a}-{b}"));
        std::fs::write(&p, &data[a..b]).unwrap();
        format!("@{}", p.display())
    };
    let (status, head, _) = curl("POST", &format!("{repo}/blobs/uploads/"), &[]);
    assert_eq!(status, 202, "{head}");
    let loc = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .trim()
        .to_owned();
    let session = format!("http://{}{loc}", server.addr);
    let (status, head, _) = curl(
        "PATCH",
        &session,
        &[
            "-H",
            "Content-Range: 0-59999",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &part(0, 60_000),
        ],
    );
    assert_eq!(status, 202);
    assert!(head.contains("range: 0-59999"), "{head}");
    let (status, head, body) = curl(
        "PATCH",
        &session,
        &[
            "-H",
            "Content-Range: 70000-99999",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &part(70_000, 100_000),
        ],
    );
    assert_eq!(status, 416, "{body}");
    assert!(head.contains("range: 0-59999"), "{head}");
    let (status, head, _) = curl("GET", &session, &[]);
    assert_eq!(status, 204);
    assert!(head.contains("range: 0-59999"), "{head}");
    let (status, _, body) = curl(
        "PUT",
        &format!("{session}?digest={d}"),
        &[
            "-H",
            "Content-Range: 60000-99999",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &part(60_000, 100_000),
        ],
    );
    assert_eq!(status, 201, "{body}");
    // Ranged reads.
    let (status, head, body) = curl(
        "GET",
        &format!("{repo}/blobs/{d}"),
        &["-H", "Range: bytes=10-19"],
    );
    assert_eq!(status, 206);
    assert!(head.contains("content-range: bytes 10-19/100000"), "{head}");
    assert_eq!(body.as_bytes(), &data[10..20]);
    let (status, _, _) = curl(
        "GET",
        &format!("{repo}/blobs/{d}"),
        &["-H", "Range: bytes=200000-"],
    );
    assert_eq!(status, 416);

    // Cross-repository mount from a repository that has the blob; from one that has not, a
    // session instead.
    let other = format!("{base}/staging/contoso/other");
    let (status, _, _) = curl(
        "POST",
        &format!("{other}/blobs/uploads/?mount={d}&from=staging/contoso/filter"),
        &[],
    );
    assert_eq!(status, 201);
    let (status, _, _) = curl(
        "POST",
        &format!("{other}/blobs/uploads/?mount={unknown}&from=staging/contoso/filter"),
        &[],
    );
    assert_eq!(status, 202);

    // A manifest naming a blob the repository lacks: MANIFEST_BLOB_UNKNOWN.
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": unknown.to_string(), "size": 7},
        "layers": []
    })
    .to_string();
    let (status, _, body) = curl(
        "PUT",
        &format!("{repo}/manifests/1.0.0"),
        &[
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data-binary",
            &manifest,
        ],
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"MANIFEST_BLOB_UNKNOWN\""), "{body}");

    // Tags: three manifests, paginated with Link.
    let config = Digest::of(Algorithm::Sha256, b"hello Sha256");
    for (i, tag) in ["1.0.0", "1.0", "latest"].iter().enumerate() {
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 12},
            "layers": [],
            "annotations": {"n": i.to_string()}
        })
        .to_string();
        let (status, head, body) = curl(
            "PUT",
            &format!("{repo}/manifests/{tag}"),
            &[
                "-H",
                "Content-Type: application/vnd.oci.image.manifest.v1+json",
                "--data-binary",
                &m,
            ],
        );
        assert_eq!(status, 201, "{body}");
        assert!(head.contains("docker-content-digest: sha256:"), "{head}");
    }
    let (status, head, body) = curl("GET", &format!("{repo}/tags/list?n=2"), &[]);
    assert_eq!(status, 200);
    assert!(body.contains(r#""tags":["1.0","1.0.0"]"#), "{body}");
    assert!(
        head.contains("link: </v2/staging/contoso/filter/tags/list?n=2&last=1.0.0>; rel=\"next\""),
        "{head}"
    );
    let (_, head, body) = curl("GET", &format!("{repo}/tags/list?n=2&last=1.0.0"), &[]);
    assert!(body.contains(r#""tags":["latest"]"#), "{body}");
    assert!(!head.contains("link:"), "{head}");
    let (status, _, body) = curl(
        "GET",
        &format!("{base}/staging/contoso/nothing/tags/list"),
        &[],
    );
    assert_eq!(status, 404);
    assert!(body.contains("\"NAME_UNKNOWN\""), "{body}");
    let (status, _, body) = curl("GET", &format!("{repo}/manifests/2.0.0"), &[]);
    assert_eq!(status, 404);
    assert!(body.contains("\"MANIFEST_UNKNOWN\""), "{body}");
}

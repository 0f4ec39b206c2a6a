//! The `/v2/` router served on loopback and driven by real clients: skopeo copies a
//! multi-arch image from the fixture builder in and out with every digest preserved, and curl
//! walks the spec's endpoints for the status codes, headers and error codes clients rely on.
//! Each runs on the embedded backends (SQLite, a directory) and on the scale-out ones
//! (PostgreSQL, an S3-compatible server).
//!
//! Without skopeo or curl a test skips with a message, except under
//! `EDGECERT_REQUIRE_SERVICES=1` (CI), where it fails. Deliberately panicking: test assertions.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use common::Backends;
use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage, write_oci_layout};
use edgecert_registry::api::Registry;
use edgecert_registry::auth;
use edgecert_registry::digest::{Algorithm, Digest};

struct Server {
    addr: SocketAddr,
    /// `contoso`'s API token (publisher `contoso`, its first member of the same name).
    contoso: String,
    /// A member of another publisher.
    fabrikam: String,
    reg: Registry,
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

/// The registry on `which` backends, on a loopback port; `None` when a backend's service is
/// missing (and not required).
fn serve(which: Backends) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let root = dir.path().to_owned();
    let (addr, contoso, fabrikam, reg) = rt.block_on(async move {
        let (meta, store) = common::open(which, &root).await?;
        let contoso = auth::create_publisher(&meta, "contoso").await.unwrap();
        let fabrikam = auth::create_publisher(&meta, "fabrikam").await.unwrap();
        let reg = Registry::new(store, meta);
        let app = reg.clone().router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Some((addr, contoso, fabrikam, reg))
    })?;
    Some(Server {
        addr,
        contoso,
        fabrikam,
        reg,
        _dir: dir,
        rt,
    })
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    edgecert_fixtures::services::available(&format!("{tool} (installed by scripts/setup.sh)"), ok)
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
    skopeo_copies(Backends::Embedded);
}

#[test]
fn skopeo_copies_through_postgres_and_s3() {
    skopeo_copies(Backends::ScaleOut);
}

fn skopeo_copies(which: Backends) {
    if !have("skopeo") {
        return;
    }
    let Some(server) = serve(which) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_oci_layout(&src, &image()).unwrap();
    let oci = format!("oci:{}:1.0.0", src.display());
    let dest = format!("docker://{}/staging/contoso/tempfilter:1.0.0", server.addr);
    let creds = format!("contoso:{}", server.contoso);
    let copy = |extra: &[&str], from: &str, to: &str| {
        let mut args = vec![
            "copy",
            "-q",
            "--all",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ];
        args.extend_from_slice(extra);
        args.extend([from, to]);
        run("skopeo", &args)
    };
    // Anonymous and another publisher's member cannot push to contoso's staging.
    let (ok, out) = copy(&[], &oci, &dest);
    assert!(
        !ok && out.to_lowercase().contains("unauthorized"),
        "anonymous push: {out}"
    );
    let other = format!("fabrikam:{}", server.fabrikam);
    let (ok, out) = copy(&["--dest-creds", &other], &oci, &dest);
    assert!(!ok && forbidden(&out), "cross-publisher push: {out}");
    let (ok, out) = copy(&["--dest-creds", &creds], &oci, &dest);
    assert!(ok, "push: {out}");
    let back = dir.path().join("back");
    let (ok, out) = copy(
        &["--src-creds", &creds],
        &dest,
        &format!("oci:{}:1.0.0", back.display()),
    );
    assert!(ok, "pull: {out}");
    assert_eq!(index_digest(&back), index_digest(&src));
    assert_eq!(blob_names(&back), blob_names(&src));
    // Staging is not public.
    let (ok, out) = run("skopeo", &["inspect", "--raw", "--tls-verify=false", &dest]);
    assert!(!ok, "anonymous read of staging: {out}");
    // skopeo's own view of the tag list.
    let repo = format!("docker://{}/staging/contoso/tempfilter", server.addr);
    let (ok, out) = run(
        "skopeo",
        &["list-tags", "--tls-verify=false", "--creds", &creds, &repo],
    );
    assert!(ok && out.contains("\"1.0.0\""), "{out}");
    // Clients never write public repositories: those are the go-live step's.
    let public = format!("docker://{}/contoso.tempfilter.standard:1.0.0", server.addr);
    let (ok, out) = copy(&["--dest-creds", &creds], &oci, &public);
    assert!(!ok && forbidden(&out), "{out}");
    // The go-live step through the library API: what was pushed to staging is promoted (blobs
    // linked, manifests put, tag last). Then anyone pulls it, and the exact tag never moves.
    let promoted = server.rt.block_on(async {
        let unknown = server
            .reg
            .promote(
                "staging/contoso/tempfilter",
                "9.9.9",
                "contoso.tempfilter.standard",
                "1.0.0",
            )
            .await
            .unwrap_err();
        assert_eq!(unknown.code.as_str(), "MANIFEST_UNKNOWN");
        server
            .reg
            .promote(
                "staging/contoso/tempfilter",
                "1.0.0",
                "contoso.tempfilter.standard",
                "1.0.0",
            )
            .await
            .unwrap()
    });
    assert_eq!(promoted.to_string(), index_digest(&src));
    let out_public = dir.path().join("public");
    let (ok, out) = copy(&[], &public, &format!("oci:{}:1.0.0", out_public.display()));
    assert!(ok, "anonymous pull of a public module: {out}");
    assert_eq!(index_digest(&out_public), index_digest(&src));
    // That pull was counted (a GET of the manifest by tag; the platform manifests fetched by
    // digest are not pulls), and the count is in the database once flushed.
    let counts = server.rt.block_on(async {
        server.reg.pulls.flush(&server.reg.meta).await.unwrap();
        let repo = "contoso.tempfilter.standard";
        if which == Backends::Embedded {
            // Reopened: the counts are in the file.
            let reopened = common::sqlite(server._dir.path()).await;
            reopened.pulls(repo).await.unwrap()
        } else {
            server.reg.meta.pulls(repo).await.unwrap()
        }
    });
    let today = edgecert_registry::pulls::utc_day(std::time::SystemTime::now());
    assert_eq!(counts, [("1.0.0".to_owned(), today, 1)]);
    let e = server.rt.block_on(async {
        server
            .reg
            .put_manifest_bytes(
                "contoso.tempfilter.standard",
                "application/vnd.oci.image.manifest.v1+json",
                other_manifest(&src).as_bytes(),
                Some("1.0.0"),
            )
            .await
            .unwrap_err()
    });
    assert!(e.message.contains("never changes"), "{e:?}");
}

/// skopeo's words for a 403: `DENIED` from a body, or the status of a HEAD (which has none).
fn forbidden(out: &str) -> bool {
    out.to_lowercase().contains("denied") || out.contains("403 (Forbidden)")
}

fn blob(layout: &Path, d: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:")),
    )
    .unwrap()
}

/// A manifest of the layout's first platform with an annotation added: another digest.
fn other_manifest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&blob(layout, &index_digest(layout))).unwrap();
    let first = index["manifests"][0]["digest"].as_str().unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(&blob(layout, first)).unwrap();
    m["annotations"] = serde_json::json!({"changed": "yes"});
    m.to_string()
}

#[test]
fn endpoints_status_codes_headers_and_error_codes() {
    endpoints(Backends::Embedded);
}

#[test]
fn endpoints_status_codes_headers_and_error_codes_on_postgres_and_s3() {
    endpoints(Backends::ScaleOut);
}

/// Every endpoint of the spec's four workflows (pull, push, content discovery, content
/// management), from the spec text.
fn endpoints(which: Backends) {
    if !have("curl") {
        return;
    }
    let Some(server) = serve(which) else {
        return;
    };
    let base = format!("http://{}/v2", server.addr);
    let repo = format!("{base}/staging/contoso/filter");

    let user = format!("contoso:{}", server.contoso);
    let curl = |method: &str, url: &str, extra: &[&str]| {
        let mut args = vec!["-u", user.as_str()];
        args.extend_from_slice(extra);
        curl(method, url, &args)
    };

    // Without credentials: the Bearer challenge; the token endpoint checks Basic credentials.
    let (status, head, _) = self::curl("GET", &format!("{base}/"), &[]);
    assert_eq!(status, 401);
    let realm = format!(
        "www-authenticate: bearer realm=\"http://{}/v2/token\",service=\"edgecert\"",
        server.addr
    );
    assert!(head.contains(&realm), "{head}");
    let (status, _, body) = self::curl("GET", &format!("{base}/token"), &[]);
    assert_eq!(status, 200);
    assert!(body.contains("\"token\":\"anonymous\""), "{body}");
    let (status, _, _) = self::curl(
        "GET",
        &format!("{base}/token"),
        &["-u", "contoso:ect_wrong"],
    );
    assert_eq!(status, 401);
    let (status, _, body) = curl("GET", &format!("{base}/token"), &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&server.contoso), "{body}");
    let bearer = format!("Authorization: Bearer {}", server.contoso);
    let (status, _, _) = self::curl("GET", &format!("{base}/"), &["-H", &bearer]);
    assert_eq!(status, 200);
    let (status, head, _) = curl("GET", &format!("{base}/"), &[]);
    assert_eq!(status, 200);
    assert!(
        head.contains("docker-distribution-api-version: registry/2.0"),
        "{head}"
    );
    // Anonymous writes are challenged with the repository's scope; reads of staging too.
    let (status, head, body) = self::curl("POST", &format!("{repo}/blobs/uploads/"), &[]);
    assert_eq!(status, 401, "{body}");
    assert!(
        head.contains("scope=\"repository:staging/contoso/filter:pull,push\""),
        "{head}"
    );
    assert!(body.contains("\"UNAUTHORIZED\""), "{body}");
    let fabrikam = format!("fabrikam:{}", server.fabrikam);
    let (status, _, body) = self::curl(
        "POST",
        &format!("{repo}/blobs/uploads/"),
        &["-u", &fabrikam],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("\"DENIED\""), "{body}");

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

    // Content discovery: an artifact whose subject is 1.0.0's manifest. The push answers with
    // OCI-Subject; the referrers list carries its artifactType and annotations and filters on
    // artifactType; the fallback tag schema (`sha256-<hex>` naming an index) works as a tag.
    let (_, head, first) = curl("GET", &format!("{repo}/manifests/1.0.0"), &[]);
    let subject = Digest::of(Algorithm::Sha256, first.as_bytes());
    assert!(
        head.contains(&format!("docker-content-digest: {subject}")),
        "{head}"
    );
    let sbom_type = "application/vnd.cyclonedx+json";
    let artifact = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": sbom_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config.to_string(), "size": 12},
        "layers": [],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject.to_string(), "size": first.len()},
        "annotations": {"org.opencontainers.image.created": "2026-12-07T00:00:00Z"}
    })
    .to_string();
    let artifact_d = Digest::of(Algorithm::Sha256, artifact.as_bytes());
    let (status, head, body) = curl(
        "PUT",
        &format!("{repo}/manifests/{artifact_d}"),
        &[
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data-binary",
            &artifact,
        ],
    );
    assert_eq!(status, 201, "{body}");
    assert!(head.contains(&format!("oci-subject: {subject}")), "{head}");
    let (status, head, body) = curl("GET", &format!("{repo}/referrers/{subject}"), &[]);
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("content-type: application/vnd.oci.image.index.v1+json"),
        "{head}"
    );
    let index: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{body}");
    let desc = &index["manifests"][0];
    assert_eq!(desc["digest"], artifact_d.to_string());
    assert_eq!(desc["size"], artifact.len());
    assert_eq!(desc["artifactType"], sbom_type);
    assert_eq!(
        desc["annotations"]["org.opencontainers.image.created"],
        "2026-12-07T00:00:00Z"
    );
    let (_, head, body) = curl(
        "GET",
        &format!("{repo}/referrers/{subject}?artifactType=application/spdx%2Bjson"),
        &[],
    );
    assert!(head.contains("oci-filters-applied: artifacttype"), "{head}");
    assert!(body.contains(r#""manifests":[]"#), "{body}");
    let (_, _, body) = curl(
        "GET",
        &format!("{repo}/referrers/{subject}?artifactType=application/vnd.cyclonedx%2Bjson"),
        &[],
    );
    assert!(body.contains(&artifact_d.to_string()), "{body}");
    let (status, _, body) = curl("GET", &format!("{repo}/referrers/{unknown}"), &[]);
    assert_eq!(status, 200);
    assert!(body.contains(r#""manifests":[]"#), "{body}");
    let (status, _, body) = curl("GET", &format!("{repo}/referrers/sha256:nothex"), &[]);
    assert_eq!(status, 400);
    assert!(body.contains("\"DIGEST_INVALID\""), "{body}");
    let fallback = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [desc]
    })
    .to_string();
    let fallback_tag = format!("sha256-{}", subject.hex());
    let (status, _, body) = curl(
        "PUT",
        &format!("{repo}/manifests/{fallback_tag}"),
        &[
            "-H",
            "Content-Type: application/vnd.oci.image.index.v1+json",
            "--data-binary",
            &fallback,
        ],
    );
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = curl("GET", &format!("{repo}/manifests/{fallback_tag}"), &[]);
    assert_eq!((status, body.as_str()), (200, fallback.as_str()));

    // Content management: deleting a tag leaves the manifest; deleting the manifest by digest
    // makes it unknown; deleting again is MANIFEST_UNKNOWN.
    let (status, _, _) = curl("DELETE", &format!("{repo}/manifests/latest"), &[]);
    assert_eq!(status, 202);
    let (status, _, _) = curl("GET", &format!("{repo}/manifests/latest"), &[]);
    assert_eq!(status, 404);
    let (status, _, _) = curl("DELETE", &format!("{repo}/manifests/{artifact_d}"), &[]);
    assert_eq!(status, 202);
    let (status, _, body) = curl("GET", &format!("{repo}/manifests/{artifact_d}"), &[]);
    assert_eq!(status, 404);
    assert!(body.contains("\"MANIFEST_UNKNOWN\""), "{body}");
    let (status, _, body) = curl("DELETE", &format!("{repo}/manifests/{artifact_d}"), &[]);
    assert_eq!(status, 404);
    assert!(body.contains("\"MANIFEST_UNKNOWN\""), "{body}");
    let (_, _, body) = curl("GET", &format!("{repo}/referrers/{subject}"), &[]);
    assert!(body.contains(r#""manifests":[]"#), "{body}");
}

#[test]
fn thirty_two_concurrent_writes_of_one_exact_tag_exactly_one_wins() {
    race(Backends::Embedded);
}

#[test]
fn thirty_two_concurrent_writes_of_one_exact_tag_exactly_one_wins_on_postgres_and_s3() {
    race(Backends::ScaleOut);
}

/// 32 writers put 32 different manifests under the same exact tag of a public repository at
/// once, through the registry's one write path: one wins, the 31 others get DENIED, and the
/// tag then points at the winner, over HTTP too.
fn race(which: Backends) {
    let Some(server) = serve(which) else {
        return;
    };
    let repo = "contoso.race.standard";
    let reg = server.reg.clone();
    let (winners, denied) = server.rt.block_on(async move {
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        let cd = Digest::of(Algorithm::Sha256, config);
        reg.store.put(&cd, None, &config[..]).await.unwrap();
        reg.link(repo, &cd).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..32 {
            let reg = reg.clone();
            let m = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
                "layers": [],
                "annotations": {"writer": i.to_string()}
            })
            .to_string();
            tasks.push(tokio::spawn(async move {
                let r = reg
                    .put_manifest_bytes(
                        repo,
                        "application/vnd.oci.image.manifest.v1+json",
                        m.as_bytes(),
                        Some("3.0.0"),
                    )
                    .await;
                (Digest::of(Algorithm::Sha256, m.as_bytes()), r)
            }));
        }
        let (mut winners, mut denied) = (Vec::new(), 0);
        for t in tasks {
            match t.await.unwrap() {
                (d, Ok(_)) => winners.push(d),
                (_, Err(e)) => {
                    assert_eq!(e.code.as_str(), "DENIED", "{}", e.message);
                    denied += 1;
                }
            }
        }
        (winners, denied)
    });
    assert_eq!((winners.len(), denied), (1, 31), "{winners:?}");
    let (status, head, _) = curl(
        "HEAD",
        &format!("http://{}/v2/{repo}/manifests/3.0.0", server.addr),
        &[],
    );
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains(&format!("docker-content-digest: {}", winners[0])),
        "{head}"
    );
}

#[test]
fn promote_keeps_a_sha512_manifest_digest() {
    let Some(server) = serve(Backends::Embedded) else {
        return;
    };
    let reg = server.reg.clone();
    server.rt.block_on(async move {
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        let cd = Digest::of(Algorithm::Sha512, config);
        reg.store.put(&cd, None, &config[..]).await.unwrap();
        reg.link("staging/contoso/five12", &cd).await.unwrap();
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
            "layers": []
        })
        .to_string();
        let md = Digest::of(Algorithm::Sha512, m.as_bytes());
        reg.put_manifest_bytes(
            "staging/contoso/five12",
            "application/vnd.oci.image.manifest.v1+json",
            m.as_bytes(),
            Some(&md.to_string()),
        )
        .await
        .unwrap();
        let promoted = reg
            .promote(
                "staging/contoso/five12",
                &md.to_string(),
                "contoso.five12.standard",
                "1.0.0",
            )
            .await
            .unwrap();
        assert_eq!(promoted, md);
        let tagged = reg.meta.tag("contoso.five12.standard", "1.0.0").await.unwrap();
        assert_eq!(tagged, Some(md.clone()));
        // A tag that is not a valid tag is refused.
        let e = reg
            .promote(
                "staging/contoso/five12",
                &md.to_string(),
                "contoso.five12.standard",
                "bad tag",
            )
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "MANIFEST_INVALID", "{}", e.message);
    });
}

//! The marketplace end to end, on real parts: `edgecert serve` (SQLite + a blob directory)
//! with its in-process pipeline worker and the Moby engine, the fixture builder's multi-arch
//! module, and the real docker client. A publisher submits with `edgecert submit --wait` from
//! an `oci:` layout, a reviewer approves with `edgecert review`, the publisher pulls the
//! preview (anonymous clients cannot), signs off with `edgecert publish`, and anyone pulls and
//! runs the live module and finds it in the catalog. Also: a second version moves the rolling
//! tags forward and leaves the first exact tag alone; EICAR in a lower layer fails; a rejection
//! carries its reason; a withdrawal; and the stored report is the one `edgecert check
//! --format json` writes for the same image, offer and policy.
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    Serve, available, docker, edit_offer, example_spec_on, have_command, normalized, run,
    serve_with,
};
use edgecert_fixtures::{Arch, ImageSpec, Layer, write_oci_layout};
use serde_json::{Value, json};

const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// The API through curl: (status, JSON body or Null).
fn api(
    addr: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "-w", "\n%{http_code}"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(b) = body {
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data",
            &b.to_string(),
        ]);
    }
    let out = cmd.arg(format!("http://{addr}{path}")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        status.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// `edgecert` with the server and a token in the environment.
fn client(addr: &str, token: &str, args: &[&str]) -> common::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args(args)
        .env("EDGECERT_SERVER", format!("http://{addr}"))
        .env("EDGECERT_TOKEN", token)
        .output()
        .unwrap();
    common::Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn token(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["admin", "--data", data.to_str().unwrap()];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_owned()
}

/// Waits until the submission is in `state` (panics on a final state that is not it).
fn wait_for(addr: &str, token: &str, id: &str, state: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, s) = api(
            addr,
            Some(token),
            "GET",
            &format!("/api/v1/submissions/{id}"),
            None,
        );
        assert_eq!(status, 200, "{s}");
        if s["state"] == state {
            return s;
        }
        assert!(
            !["failed", "incomplete", "rejected", "withdrawn", "live"]
                .contains(&s["state"].as_str().unwrap_or("")),
            "waiting for {state}: {s}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "still {s} after 240 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `edgecert submit` without `--wait`: the new submission's id.
fn submit(addr: &str, token: &str, offer: &Path, image: &str) -> String {
    let r = client(
        addr,
        token,
        &[
            "submit",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            image,
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    submission_id(&r.stderr)
}

/// The submission id `submit` printed on stderr.
fn submission_id(stderr: &str) -> String {
    stderr
        .split("submission ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no submission id in {stderr}"))
        .trim_end_matches(':')
        .to_owned()
}

/// The example module with `tags`, its script saying `marker` (so each version differs), for
/// linux/amd64, linux/arm/v7 and linux/arm64 (the ingestion test runs all three).
fn module(
    dir: &Path,
    name: &str,
    tags: &[&str],
    marker: &str,
    extra: Option<Layer>,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut spec: ImageSpec = example_spec_on(&[Arch::Amd64, Arch::Armhf, Arch::Arm64]);
    for p in &mut spec.platforms {
        p.layers
            .push(Layer::new().file("app/VERSION", marker.as_bytes().to_vec(), 0o644));
        if let Some(l) = &extra {
            p.layers.insert(1, l.clone());
        }
    }
    spec.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    let layout = dir.join(format!("{name}-image"));
    write_oci_layout(&layout, &spec).unwrap();
    let module = dir.join(name);
    let r = run(&["init", module.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let offer = module.join("offer.json");
    edit_offer(&offer, |o| {
        o["offer"] = json!("tempfilter");
        o["image"]["tags"] = json!(tags);
        o["image"]["defaultTag"] = json!(tags[1]);
        o["image"]["platforms"] = json!(["linux/amd64", "linux/arm/v7", "linux/arm64"]);
    });
    (offer, layout)
}

/// `cat /app/VERSION` in `image`, pulled anew by an anonymous docker client (config `anon`).
fn version_in(anon: &Path, image: &str) -> (bool, String) {
    docker(
        anon,
        &[
            "run",
            "--rm",
            "--pull",
            "always",
            "--entrypoint",
            "/bin/busybox",
            image,
            "cat",
            "/app/VERSION",
        ],
        None,
    )
}

fn services() -> bool {
    available("curl", have_command("curl"))
        && available(
            "docker (Moby)",
            have_command("docker")
                && Command::new("docker")
                    .arg("info")
                    .output()
                    .is_ok_and(|o| o.status.success()),
        )
}

#[test]
fn a_module_goes_from_submission_to_the_catalog() {
    if !services() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let publisher = token(&data, &["create-publisher", "contoso"]);
    let reviewer = token(&data, &["create-reviewer", "rita"]);
    let server: Serve = serve_with(&data, &[], &[("EDGECERT_RUN_WINDOW", "3")]);
    let addr = server.addr.clone();
    let (offer, layout) = module(dir.path(), "v1", &["1.0.3", "1.0", "latest"], "1.0.3", None);
    let image = format!("oci:{}:1.0.3", layout.display());

    // Submit and wait: certified, in review, the report on stdout, exit 0.
    let r = client(
        &addr,
        &publisher,
        &[
            "submit",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            &image,
            "--wait",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}\n{}", r.stdout, r.stderr, server.logs());
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["verdict"], "pass", "{}", r.stdout);
    assert!(
        report["ingestion"]["engine"]
            .as_str()
            .unwrap_or("")
            .contains("Moby"),
        "{}",
        r.stdout
    );
    let first = submission_id(&r.stderr);
    let s = wait_for(&addr, &reviewer, &first, "in-review");
    assert_eq!(s["version"], "1.0.3");
    // The publisher cannot review its own submission; the reviewer sees it in the queue.
    assert_eq!(
        client(&addr, &publisher, &["review", "approve", &first]).code,
        2
    );
    let queue = client(&addr, &reviewer, &["review", "list"]);
    assert!(queue.stdout.contains(&first), "{}", queue.stdout);
    let approve = client(&addr, &reviewer, &["review", "approve", &first]);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    wait_for(&addr, &reviewer, &first, "preview");

    // The preview: the publisher pulls it, an anonymous client cannot.
    let anon = dir.path().join("docker-anon");
    let preview = format!("{addr}/preview/contoso.tempfilter.standard:1.0.3");
    let (ok, text) = docker(&anon, &["pull", &preview], None);
    assert!(!ok, "anonymous preview pull: {text}");
    let mine = dir.path().join("docker-contoso");
    let (ok, text) = docker(
        &mine,
        &["login", &addr, "-u", "contoso", "--password-stdin"],
        Some(&publisher),
    );
    assert!(ok, "{text}");
    let (ok, text) = docker(&mine, &["pull", &preview], None);
    assert!(ok, "publisher's preview pull: {text}");

    // Go live; anyone pulls the rolling tag and it runs through Moby.
    let r = client(&addr, &publisher, &["publish", &first]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("live"), "{}", r.stdout);
    let public = format!("{addr}/contoso.tempfilter.standard:1.0");
    let (ok, text) = docker(&anon, &["pull", &public], None);
    assert!(ok, "anonymous pull of the live module: {text}");
    let (ok, text) = docker(
        &anon,
        &[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/busybox",
            &public,
            "cat",
            "/app/VERSION",
        ],
        None,
    );
    assert!(ok && text.contains("1.0.3"), "{text}");
    let (status, catalog) = api(&addr, None, "GET", "/api/v1/catalog", None);
    assert_eq!(status, 200);
    let item = &catalog["items"][0];
    assert_eq!(
        item["identifier"], "contoso.tempfilter.standard",
        "{catalog}"
    );
    assert_eq!(item["tags"], json!(["1.0", "1.0.3", "latest"]), "{catalog}");
    // Search (any case, name/summary/identifier/publisher) and the sub-category filter.
    let category = item["subCategory"].as_str().unwrap().to_owned();
    assert!(!category.is_empty(), "{catalog}");
    let found = |query: &str| {
        let (status, list) = api(
            &addr,
            None,
            "GET",
            &format!("/api/v1/catalog?{query}"),
            None,
        );
        assert_eq!(status, 200, "{list}");
        list["items"].as_array().unwrap().len()
    };
    assert_eq!(found("q=TEMPFILTER"), 1);
    assert_eq!(found("q=contoso"), 1);
    assert_eq!(found("q=no-such-module"), 0);
    assert_eq!(
        found(&format!("subCategory={}", category.replace(' ', "%20"))),
        1
    );
    assert_eq!(found("subCategory=NoSuchCategory"), 0);
    assert_eq!(found("q=tempfilter&subCategory=NoSuchCategory"), 0);
    assert_eq!(
        item["platforms"],
        json!(["linux/amd64", "linux/arm/v7", "linux/arm64"]),
        "{catalog}"
    );
    let (status, manifest) = api(
        &addr,
        None,
        "GET",
        "/api/v1/catalog/contoso.tempfilter.standard/deployment?tag=1.0",
        None,
    );
    assert_eq!(status, 200, "{manifest}");
    let modules = &manifest["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"];
    let img = modules.as_object().unwrap().values().next().unwrap()["settings"]["image"].clone();
    assert_eq!(img, json!(public), "{manifest}");

    // A second version: 1.0 and latest move forward, 1.0.3 stays where it was.
    let (offer2, layout2) = module(dir.path(), "v2", &["1.0.4", "1.0", "latest"], "1.0.4", None);
    edit_offer(&offer2, |o| {
        o["defaults"]["env"]["TEMP_UNIT"] = json!("kelvin");
    });
    let image2 = format!("oci:{}:1.0.4", layout2.display());
    let r = client(
        &addr,
        &publisher,
        &[
            "submit",
            "--offer",
            offer2.to_str().unwrap(),
            "--image",
            &image2,
            "--wait",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let second = submission_id(&r.stderr);
    assert_eq!(
        client(&addr, &reviewer, &["review", "approve", &second]).code,
        0
    );
    wait_for(&addr, &publisher, &second, "preview");
    assert_eq!(client(&addr, &publisher, &["publish", &second]).code, 0);
    let (_, detail) = api(
        &addr,
        None,
        "GET",
        "/api/v1/catalog/contoso.tempfilter.standard",
        None,
    );
    let version_of = |tag: &str| {
        detail["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tag"] == tag)
            .map(|t| t["version"].clone())
    };
    assert_eq!(version_of("1.0.3"), Some(json!("1.0.3")), "{detail}");
    assert_eq!(version_of("1.0.4"), Some(json!("1.0.4")), "{detail}");
    assert_eq!(version_of("1.0"), Some(json!("1.0.4")), "{detail}");
    assert_eq!(version_of("latest"), Some(json!("1.0.4")), "{detail}");
    assert_eq!(detail["version"], "1.0.4");
    // Each tag's deployment carries the defaults of the version it names.
    let env_of = |tag: &str| {
        let (status, manifest) = api(
            &addr,
            None,
            "GET",
            &format!("/api/v1/catalog/contoso.tempfilter.standard/deployment?tag={tag}"),
            None,
        );
        assert_eq!(status, 200, "{manifest}");
        let modules = &manifest["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"];
        modules.as_object().unwrap().values().next().unwrap()["env"].clone()
    };
    assert_eq!(env_of("1.0")["TEMP_UNIT"]["value"], "kelvin");
    assert!(
        env_of("1.0.3").get("TEMP_UNIT").is_none(),
        "{}",
        env_of("1.0.3")
    );
    let (ok, text) = version_in(&anon, &public);
    assert!(ok && text.contains("1.0.4"), "{text}");

    // EICAR in a lower layer: failed, with the EC807 finding; exit 1.
    let eicar = Layer::new().file("opt/tools/eicar.com", EICAR.to_vec(), 0o644);
    let (offer3, layout3) = module(
        dir.path(),
        "v3",
        &["1.0.5", "1.0", "latest"],
        "1.0.5",
        Some(eicar),
    );
    let image3 = format!("oci:{}:1.0.5", layout3.display());
    let r = client(
        &addr,
        &publisher,
        &[
            "submit",
            "--offer",
            offer3.to_str().unwrap(),
            "--image",
            &image3,
            "--wait",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let ec807 = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC807")
        .unwrap();
    assert_eq!(ec807["status"], "fail", "{ec807}");
    assert!(ec807.to_string().contains("eicar.com"), "{ec807}");
    let failed = submission_id(&r.stderr);
    let s = wait_for(&addr, &publisher, &failed, "failed");
    assert!(s["reason"].as_str().unwrap_or("").contains("EC807"), "{s}");

    // A rejection needs a reason, and the publisher sees it.
    let (offer4, layout4) = module(dir.path(), "v4", &["1.0.6", "1.0", "latest"], "1.0.6", None);
    let image4 = format!("oci:{}:1.0.6", layout4.display());
    let r = client(
        &addr,
        &publisher,
        &[
            "submit",
            "--offer",
            offer4.to_str().unwrap(),
            "--image",
            &image4,
            "--wait",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rejected = submission_id(&r.stderr);
    let (status, _) = api(
        &addr,
        Some(&reviewer),
        "POST",
        &format!("/api/v1/submissions/{rejected}/reject"),
        Some(&json!({})),
    );
    assert_eq!(status, 400);
    let r = client(
        &addr,
        &reviewer,
        &[
            "review",
            "reject",
            &rejected,
            "--reason",
            "not a real IoT Edge use case",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, s) = api(
        &addr,
        Some(&publisher),
        "GET",
        &format!("/api/v1/submissions/{rejected}"),
        None,
    );
    assert_eq!(
        (s["state"].clone(), s["reason"].clone()),
        (json!("rejected"), json!("not a real IoT Edge use case"))
    );

    // Withdrawn before review: it never reaches the queue.
    let withdrawn = submit(&addr, &publisher, &offer4, &image4);
    let (status, s) = api(
        &addr,
        Some(&publisher),
        "POST",
        &format!("/api/v1/submissions/{withdrawn}/withdraw"),
        None,
    );
    assert_eq!(
        (status, s["state"].clone()),
        (200, json!("withdrawn")),
        "{s}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let (_, s) = api(
        &addr,
        Some(&publisher),
        "GET",
        &format!("/api/v1/submissions/{withdrawn}"),
        None,
    );
    assert_eq!(s["state"], "withdrawn", "{s}");
    let (_, queue) = api(&addr, Some(&reviewer), "GET", "/api/v1/review", None);
    assert_eq!(queue["items"], json!([]), "{queue}");
}

/// The stored report is what `edgecert check --format json` writes for the same image, offer
/// and policy (`durationMs` and the image's source name aside: the pipeline names the image
/// as submitted). Static pass only: an ingestion test's measurements differ run to run.
#[test]
fn the_stored_report_is_the_check_report() {
    if !available("curl", have_command("curl")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let publisher = token(&data, &["create-publisher", "contoso"]);
    let server = serve_with(&data, &["--no-run", "--tls-verify=false"], &[]);
    let (offer, layout) = module(dir.path(), "m", &["1.0.3", "1.0", "latest"], "1.0.3", None);
    let image = format!("oci:{}:1.0.3", layout.display());
    let r = client(
        &server.addr,
        &publisher,
        &[
            "submit",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            &image,
            "--wait",
            "--format",
            "json",
        ],
    );
    // Without the ingestion test a pass is incomplete, exactly as `check --no-run` says.
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let id = submission_id(&r.stderr);
    let out = Command::new("curl")
        .args(["-sS", "-H", &format!("Authorization: Bearer {publisher}")])
        .arg(format!(
            "http://{}/api/v1/submissions/{id}/report",
            server.addr
        ))
        .output()
        .unwrap();
    let stored = String::from_utf8(out.stdout).unwrap();
    let check = run(&[
        "check",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
        "--no-run",
        "--format",
        "json",
    ]);
    assert_eq!(check.code, 3, "{}", check.stderr);
    assert_eq!(normalized(&stored), normalized(&check.stdout));
    // And byte for byte once those two fields are the same.
    let mut a: Value = serde_json::from_str(&stored).unwrap();
    a["durationMs"] = json!(0);
    a["image"]["source"] = json!("x");
    let mut b: Value = serde_json::from_str(&check.stdout).unwrap();
    b["durationMs"] = json!(0);
    b["image"]["source"] = json!("x");
    assert_eq!(
        serde_json::to_string_pretty(&a).unwrap(),
        serde_json::to_string_pretty(&b).unwrap()
    );
    assert_eq!(
        stored, r.stdout,
        "submit --format json prints the stored report"
    );

    // From another registry (Debian's docker-registry): fetched by the marketplace itself,
    // every digest kept, the same report.
    let Some(registry) = common::test_registry() else {
        return;
    };
    if !available("skopeo", have_command("skopeo")) {
        return;
    }
    let remote = format!("{registry}/contoso/tempfilter-{}:1.0.3", std::process::id());
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--all",
            "--dest-tls-verify=false",
            &image,
            &format!("docker://{remote}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = client(
        &server.addr,
        &publisher,
        &[
            "submit",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            &format!("docker://{remote}"),
            "--wait",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 3, "{}\n{}\n{}", r.stdout, r.stderr, server.logs());
    let id = submission_id(&r.stderr);
    let (_, s) = api(
        &server.addr,
        Some(&publisher),
        "GET",
        &format!("/api/v1/submissions/{id}"),
        None,
    );
    let top: Value =
        serde_json::from_str(&std::fs::read_to_string(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(s["digest"], top["manifests"][0]["digest"], "{s}");
    assert_eq!(s["source"], format!("docker://{remote}"));
    assert_eq!(
        normalized(&r.stdout),
        normalized(&check.stdout),
        "the same image, the same report"
    );
    // The same source for both: byte for byte, `durationMs` alone aside (the report names
    // the image as submitted, which here is what `check` was given too). The rolling tags are
    // pushed as well: the marketplace certifies every listed tag as this one image (go-live
    // writes them all from its digest), `check` reads them from the registry.
    for tag in ["1.0", "latest"] {
        let to = format!("docker://{}:{tag}", remote.rsplit_once(':').unwrap().0);
        let out = Command::new("skopeo")
            .args(["copy", "--all", "--dest-tls-verify=false", &image, &to])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let check = run(&[
        "check",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &format!("docker://{remote}"),
        "--tls-verify=false",
        "--no-run",
        "--format",
        "json",
    ]);
    assert_eq!(check.code, 3, "{}", check.stderr);
    let zero_duration = |text: &str| {
        let mut v: Value = serde_json::from_str(text).unwrap();
        v["durationMs"] = json!(0);
        serde_json::to_string_pretty(&v).unwrap()
    };
    assert_eq!(zero_duration(&r.stdout), zero_duration(&check.stdout));
    // A staged image that is not there: incomplete, with the reason.
    let r = client(
        &server.addr,
        &publisher,
        &[
            "submit",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            "staging/contoso/none:1.0.3",
            "--wait",
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is incomplete: staging/contoso/none:1.0.3"),
        "{}",
        r.stderr
    );
}

/// A process we start and may kill -9: `edgecert worker` or a second `serve`.
struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(args: &[&str], env: &[(String, String)], log: &Path) -> Proc {
    let file = std::fs::File::create(log).unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_edgecert"))
            .arg("worker")
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stderr(file)
            .spawn()
            .unwrap(),
    )
}

/// How many times the submission's certification started (the event the certify step
/// writes each time it runs).
fn certify_runs(addr: &str, token: &str, id: &str) -> usize {
    let (_, events) = api(
        addr,
        Some(token),
        "GET",
        &format!("/api/v1/submissions/{id}/events"),
        None,
    );
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "progress" && e["data"] == "certify: reading every layer")
        .count()
}

/// Scale-out: PostgreSQL + S3-compatible storage, one `serve` that runs no jobs and two
/// `edgecert worker` processes: six submissions, each certified exactly once, all in review;
/// then the rest of the way on the same parts: two approved, previewed and published (the
/// newer first: the older must not move the rolling tags back), pulled anonymously by Moby
/// from S3-backed storage and run, listed in the catalog.
#[test]
fn two_workers_over_postgres_and_s3_certify_each_submission_once() {
    if !services() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(database) = rt.block_on(edgecert_registry::test_support::fresh_postgres()) else {
        return;
    };
    let Ok(endpoint) = std::env::var("EDGECERT_TEST_S3_ENDPOINT") else {
        edgecert_registry::test_support::missing("EDGECERT_TEST_S3_ENDPOINT");
        return;
    };
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} (scripts/setup.sh)"));
    let blobs = format!(
        "s3://{}/{}",
        var("EDGECERT_TEST_S3_BUCKET"),
        edgecert_registry::test_support::short_id()
    );
    let env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL".into(), endpoint),
        (
            "AWS_ACCESS_KEY_ID".into(),
            var("EDGECERT_TEST_S3_ACCESS_KEY"),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            var("EDGECERT_TEST_S3_SECRET_KEY"),
        ),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("EDGECERT_RUN_WINDOW".into(), "3".into()),
    ];
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let r = run(&[
        "admin",
        "--database",
        &database,
        "create-publisher",
        "contoso",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let publisher = r.stdout.trim().to_owned();
    let r = run(&["admin", "--database", &database, "create-reviewer", "rita"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reviewer = r.stdout.trim().to_owned();
    let server = serve_with(
        &data,
        &["--database", &database, "--blobs", &blobs, "--workers", "0"],
        &env_refs,
    );
    let shared = ["--database", database.as_str(), "--blobs", blobs.as_str()];
    let _w1 = worker(&shared, &env, &dir.path().join("w1.log"));
    let _w2 = worker(&shared, &env, &dir.path().join("w2.log"));
    let mut ids = Vec::new();
    for i in 0..6 {
        let version = format!("2.0.{i}");
        let (offer, layout) = module(
            dir.path(),
            &format!("s{i}"),
            &[&version, "2.0", "latest"],
            &version,
            None,
        );
        let image = format!("oci:{}:{version}", layout.display());
        ids.push(submit(&server.addr, &publisher, &offer, &image));
    }
    for id in &ids {
        let s = wait_for(&server.addr, &publisher, id, "in-review");
        assert_eq!(s["verdict"], "pass", "{s}");
        assert_eq!(
            certify_runs(&server.addr, &publisher, id),
            1,
            "{id} certified more than once"
        );
    }
    let logs = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
    for n in ["w1.log", "w2.log"] {
        assert!(!logs(n).contains("panicked"), "{}", logs(n));
        // Both took part (each polls twice a second; a certification takes seconds).
        assert!(logs(n).contains("step=\"certify\""), "{n}: {}", logs(n));
    }
    let addr = server.addr.clone();
    for id in [&ids[5], &ids[0]] {
        let r = client(&addr, &reviewer, &["review", "approve", id]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        wait_for(&addr, &publisher, id, "preview");
        let r = client(&addr, &publisher, &["publish", id]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
    let anon = dir.path().join("docker-anon");
    let public = format!("{addr}/contoso.tempfilter.standard:2.0");
    let (ok, text) = version_in(&anon, &public);
    assert!(ok && text.contains("2.0.5"), "{text}");
    let (ok, text) = docker(
        &anon,
        &["pull", &format!("{addr}/contoso.tempfilter.standard:2.0.0")],
        None,
    );
    assert!(ok, "the older exact tag: {text}");
    let (status, detail) = api(
        &addr,
        None,
        "GET",
        "/api/v1/catalog/contoso.tempfilter.standard",
        None,
    );
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["version"], "2.0.5", "{detail}");
}

/// `kill -9` of the process certifying a submission: after a restart, once the dead
/// process's lease runs out, the job is resumed and the submission reaches review — once.
#[test]
fn a_serve_killed_while_certifying_resumes_after_restart() {
    if !services() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let publisher = token(&data, &["create-publisher", "contoso"]);
    let args = ["--lease", "3"];
    let env = [("EDGECERT_RUN_WINDOW", "6")];
    let mut first = serve_with(&data, &args, &env);
    let (offer, layout) = module(dir.path(), "k", &["3.0.0", "3.0", "latest"], "3.0.0", None);
    let image = format!("oci:{}:3.0.0", layout.display());
    let id = submit(&first.addr, &publisher, &offer, &image);
    wait_for(&first.addr, &publisher, &id, "certifying");
    // Into the ingestion test, then SIGKILL: no clean-up, no lease released.
    std::thread::sleep(Duration::from_secs(2));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let second = serve_with(&data, &args, &env);
    let s = wait_for(&second.addr, &publisher, &id, "in-review");
    assert_eq!(s["verdict"], "pass", "{s}");
    assert_eq!(
        certify_runs(&second.addr, &publisher, &id),
        2,
        "resumed once"
    );
    let (_, offer_now) = api(
        &second.addr,
        Some(&publisher),
        "GET",
        "/api/v1/offers/contoso.tempfilter.standard",
        None,
    );
    assert_eq!(
        offer_now["submissions"].as_array().unwrap().len(),
        1,
        "{offer_now}"
    );
}

/// The submission's timeline (`kind`, `data`) as the API gives it.
fn timeline(addr: &str, token: &str, id: &str) -> Vec<(String, String)> {
    let (status, events) = api(
        addr,
        Some(token),
        "GET",
        &format!("/api/v1/submissions/{id}/events"),
        None,
    );
    assert_eq!(status, 200, "{events}");
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_owned(),
                e["data"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Waits until the step has stopped at the fault-injection `point` (`EDGECERT_FAULT_PAUSE`).
fn wait_for_pause(addr: &str, token: &str, id: &str, point: &str) {
    let started = Instant::now();
    while !timeline(addr, token, id)
        .iter()
        .any(|(k, d)| k == "fault-pause" && d == point)
    {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "never paused at {point}: {:?}",
            timeline(addr, token, id)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every blob file in the blob directory holds exactly the bytes its name is the digest of.
fn no_partial_blobs(blobs: &Path) -> usize {
    use sha2::Digest as _;
    let mut checked = 0;
    let root = blobs.join("sha256");
    for prefix in std::fs::read_dir(&root).unwrap().flatten() {
        for blob in std::fs::read_dir(prefix.path()).unwrap().flatten() {
            let name = blob.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(blob.path()).unwrap();
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&bytes)),
                name,
                "a blob whose bytes are not its digest: {}",
                blob.path().display()
            );
            checked += 1;
        }
    }
    checked
}

/// `kill -9` of `serve` at the other two places a pipeline step can be cut: after ingest
/// copied the image but before it recorded the copy, and during go-live between the exact
/// tag and the rolling tags. After the restarts the submission reaches the state it would
/// have reached, each transition once; every tag of the live repository names an image whose
/// every manifest and blob is there (`edgecert check` reads them all: EC101 passes); and every
/// blob stored is whole.
#[test]
fn kill_9_while_ingesting_and_going_live_loses_nothing() {
    if !services() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let publisher = token(&data, &["create-publisher", "contoso"]);
    let reviewer = token(&data, &["create-reviewer", "rita"]);
    let args = ["--lease", "3"];
    let window = ("EDGECERT_RUN_WINDOW", "3");
    let (offer, layout) = module(dir.path(), "f", &["4.0.0", "4.0", "latest"], "4.0.0", None);

    // Cut 1: ingest copied the image into content/<submission>, then the process died.
    let mut first = serve_with(
        &data,
        &args,
        &[window, ("EDGECERT_FAULT_PAUSE", "ingest-copied:600")],
    );
    let image = format!("oci:{}:4.0.0", layout.display());
    let id = submit(&first.addr, &publisher, &offer, &image);
    wait_for_pause(&first.addr, &publisher, &id, "ingest-copied");
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // Cut 2: go-live wrote the exact tag, then the process died.
    let mut second = serve_with(
        &data,
        &args,
        &[window, ("EDGECERT_FAULT_PAUSE", "go-live-exact-tag:600")],
    );
    let s = wait_for(&second.addr, &publisher, &id, "in-review");
    assert_eq!(s["verdict"], "pass", "{s}");
    assert_eq!(certify_runs(&second.addr, &publisher, &id), 1);
    let approve = client(&second.addr, &reviewer, &["review", "approve", &id]);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    wait_for(&second.addr, &publisher, &id, "preview");
    let (status, body) = api(
        &second.addr,
        Some(&publisher),
        "POST",
        &format!("/api/v1/submissions/{id}/go-live"),
        None,
    );
    assert!((200..300).contains(&status), "{status} {body}");
    wait_for_pause(&second.addr, &publisher, &id, "go-live-exact-tag");
    second.child.kill().unwrap();
    second.child.wait().unwrap();

    // After the last restart: live, once; every tag whole; every blob whole.
    let third = serve_with(&data, &args, &[window]);
    let addr = third.addr.clone();
    wait_for(&addr, &publisher, &id, "live");
    let states: Vec<String> = timeline(&addr, &publisher, &id)
        .into_iter()
        .filter(|(k, _)| k == "state")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        states,
        [
            "queued",
            "ingesting",
            "certifying",
            "in-review",
            "approved",
            "preview",
            "live"
        ],
        "each transition once"
    );
    let repository = "contoso.tempfilter.standard";
    let (status, tags) = api(
        &addr,
        None,
        "GET",
        &format!("/v2/{repository}/tags/list"),
        None,
    );
    assert_eq!(status, 200, "{tags}");
    let mut tags: Vec<String> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    assert_eq!(tags, ["4.0", "4.0.0", "latest"]);
    for tag in &tags {
        let r = run(&[
            "check",
            "--no-run",
            "--format",
            "json",
            "--tls-verify=false",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            &format!("docker://{addr}/{repository}:{tag}"),
        ]);
        // 3: incomplete (--no-run); 2 would be an image that cannot be read.
        assert!(
            matches!(r.code, 0 | 1 | 3),
            "{tag}: {} {}",
            r.code,
            r.stderr
        );
        let report: Value = serde_json::from_str(&r.stdout).unwrap();
        let ec101 = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "EC101")
            .unwrap();
        assert_eq!(ec101["status"], "pass", "{tag}: {ec101}");
    }
    assert!(no_partial_blobs(&data.join("blobs/blobs")) > 0);
}

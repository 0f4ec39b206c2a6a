//! `edgecert serve` and `edgecert admin` as an operator and a partner use them, with the real
//! docker client through the Moby engine: an admin makes a publisher (its token on stdout),
//! the publisher logs in with `docker login`, pushes an image to its staging repository and
//! pulls it back with the same digest; a wrong token, anonymous pulls of staging and pushes to
//! a public repository are refused; SIGTERM stops the server.
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{available, docker, have_command, run, serve};
use edgecert_fixtures::{Arch, PlatformImage, write_docker_archive};

#[test]
fn admin_prints_tokens_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let r = run(&["admin", "--data", d, "create-publisher", "contoso"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = r.stdout.trim();
    assert!(
        token.starts_with("ect_") && token.len() == 68 && r.stdout.lines().count() == 1,
        "{r:?}",
        r = r.stdout
    );
    let again = run(&["admin", "--data", d, "create-publisher", "contoso"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let member = run(&["admin", "--data", d, "add-member", "nobody", "ann"]);
    assert_eq!(member.code, 2);
    assert!(
        member
            .stderr
            .contains("publisher \"nobody\" does not exist"),
        "{}",
        member.stderr
    );
    let bad = run(&["admin", "--data", d, "create-reviewer", "Rita"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("invalid account"), "{}", bad.stderr);
    for args in [
        ["add-member", "contoso", "ann"],
        ["create-reviewer", "rita", ""],
        ["create-admin", "root", ""],
    ] {
        let args: Vec<&str> = args.iter().copied().filter(|a| !a.is_empty()).collect();
        let mut full = vec!["admin", "--data", d];
        full.extend(args);
        let r = run(&full);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.trim().starts_with("ect_"));
    }
    // The database keeps no token.
    let db = std::fs::read(data.join("edgecert.db")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));
}

#[test]
fn docker_login_push_and_pull_through_moby() {
    let engine = have_command("docker")
        && Command::new("docker")
            .arg("info")
            .output()
            .is_ok_and(|o| o.status.success());
    if !available("the Moby engine (dockerd)", engine) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = run(&[
        "admin",
        "--data",
        data.to_str().unwrap(),
        "create-publisher",
        "contoso",
    ])
    .stdout
    .trim()
    .to_owned();
    let server = serve(&data);
    let health = Command::new("curl")
        .args(["-fsS", &format!("http://{}/healthz", server.addr)])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&health.stdout), "ok\n");

    let config = dir.path().join("docker-config");
    std::fs::create_dir(&config).unwrap();
    let (ok, out) = docker(
        &config,
        &["login", &server.addr, "-u", "contoso", "--password-stdin"],
        Some("ect_wrong"),
    );
    assert!(!ok, "a wrong token logs in: {out}");
    let (ok, out) = docker(
        &config,
        &["login", &server.addr, "-u", "contoso", "--password-stdin"],
        Some(&token),
    );
    assert!(ok && out.contains("Login Succeeded"), "{out}");

    // A real image, loaded into the engine, pushed to staging, removed, pulled back.
    let tag = format!(
        "{}/staging/contoso/tempfilter:1.0.{}",
        server.addr,
        std::process::id()
    );
    let archive = dir.path().join("image.tar");
    let image = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "3600"]).unwrap();
    write_docker_archive(&archive, &image, std::slice::from_ref(&tag), false).unwrap();
    let (ok, out) = docker(&config, &["load", "-i", archive.to_str().unwrap()], None);
    assert!(ok, "{out}");
    let (ok, out) = docker(&config, &["push", &tag], None);
    assert!(ok, "push: {out}");
    let pushed = out
        .split("digest: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in {out}"))
        .to_owned();
    let (ok, out) = docker(&config, &["rmi", &tag], None);
    assert!(ok, "{out}");
    let (ok, out) = docker(&config, &["pull", &tag], None);
    assert!(ok && out.contains(&pushed), "pull: {out}");
    // A two-platform image: each platform pushed by the engine, the manifest list made and
    // pushed by `docker manifest`, pulled back for arm/v7 by the list's tag.
    let multi = format!(
        "{}/staging/contoso/tempfilter:2.0.{}",
        server.addr,
        std::process::id()
    );
    let mut platform_tags = Vec::new();
    for arch in [Arch::Amd64, Arch::Armhf] {
        let t = format!("{multi}-{}", arch.dir_name());
        let archive = dir.path().join(format!("{}.tar", arch.dir_name()));
        let image = PlatformImage::busybox(arch, &["/bin/sleep", "3600"]).unwrap();
        write_docker_archive(&archive, &image, std::slice::from_ref(&t), false).unwrap();
        let (ok, out) = docker(&config, &["load", "-i", archive.to_str().unwrap()], None);
        assert!(ok, "{out}");
        let (ok, out) = docker(&config, &["push", &t], None);
        assert!(ok, "push {t}: {out}");
        platform_tags.push(t);
    }
    let mut create = vec!["manifest", "create", "--insecure", multi.as_str()];
    create.extend(platform_tags.iter().map(String::as_str));
    let (ok, out) = docker(&config, &create, None);
    assert!(ok, "docker manifest create: {out}");
    let (ok, out) = docker(&config, &["manifest", "push", "--insecure", &multi], None);
    assert!(ok, "docker manifest push: {out}");
    let list = out
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in {out}"))
        .to_owned();
    for t in &platform_tags {
        let (ok, out) = docker(&config, &["rmi", t], None);
        assert!(ok, "{out}");
    }
    let (ok, out) = docker(
        &config,
        &["pull", "--platform", "linux/arm/v7", &multi],
        None,
    );
    assert!(ok && out.contains(&list), "pull of the list: {out}");
    let (ok, out) = docker(
        &config,
        &["image", "inspect", "-f", "{{.Architecture}}", &multi],
        None,
    );
    assert!(ok && out.trim() == "arm", "{out}");
    let (ok, out) = docker(&config, &["rmi", &multi], None);
    assert!(ok, "{out}");

    // Clients never push public repositories.
    let public = format!(
        "{}/contoso.tempfilter.standard:1.0.{}",
        server.addr,
        std::process::id()
    );
    let (ok, out) = docker(&config, &["tag", &tag, &public], None);
    assert!(ok, "{out}");
    let (ok, out) = docker(&config, &["push", &public], None);
    assert!(!ok && out.to_lowercase().contains("denied"), "{out}");
    // Without credentials, staging is not readable.
    let (ok, out) = docker(&config, &["logout", &server.addr], None);
    assert!(ok, "{out}");
    let (ok, out) = docker(&config, &["rmi", &tag, &public], None);
    assert!(ok, "{out}");
    let (ok, out) = docker(&config, &["pull", &tag], None);
    assert!(!ok, "anonymous pull of staging: {out}");

    // SIGTERM: a graceful, prompt exit 0.
    let mut server = server;
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

/// `curl` with the publisher's credentials: (status, headers lower-cased).
fn curl_head(user: &str, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-S", "-o", "/dev/null", "-D", "-", "-u", user])
        .args(args)
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&out.stdout).to_lowercase();
    // The final response's head (after any `100 continue`).
    let head = all
        .rfind("http/")
        .map_or(all.as_str(), |i| &all[i..])
        .to_owned();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head)
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {head}"))
        .trim()
}

/// Issue 11: `kill -9` of `serve` in the middle of a 200 MiB chunked upload. After a restart
/// the session is still there at the offset the server had, nothing of it is visible as a
/// blob, and the upload completes to the right digest.
#[test]
fn kill_9_mid_chunked_upload_resumes_after_restart() {
    if !available("curl", have_command("curl")) {
        return;
    }
    use sha2::Digest as _;
    const MIB: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let token = run(&[
        "admin",
        "--data",
        data_dir.to_str().unwrap(),
        "create-publisher",
        "contoso",
    ])
    .stdout
    .trim()
    .to_owned();
    let user = format!("contoso:{token}");
    // 200 MiB of incompressible bytes, in two halves on disk.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let data: Vec<u8> = (0..200 * MIB)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&data)));
    let first = dir.path().join("first");
    std::fs::write(&first, &data[..100 * MIB]).unwrap();
    let second = dir.path().join("second");
    std::fs::write(&second, &data[100 * MIB..]).unwrap();

    let mut server = serve(&data_dir);
    let base = format!("http://{}/v2/staging/contoso/big", server.addr);
    let (status, head) = curl_head(&user, &["-X", "POST", &format!("{base}/blobs/uploads/")]);
    assert_eq!(status, 202, "{head}");
    let location = header(&head, "location").to_owned();
    // Each request has an id, in the response and in the server's log line for it.
    let id = header(&head, "x-request-id").to_owned();
    assert_eq!(id.len(), 32, "{head}");
    let logged = Instant::now();
    while !server.logs().contains(&format!("request_id={id}")) {
        assert!(
            logged.elapsed() < Duration::from_secs(10),
            "request {id} not logged:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, head) = curl_head(
        &user,
        &[
            "-X",
            "PATCH",
            "-H",
            &format!("Content-Range: 0-{}", 100 * MIB - 1),
            "-T",
            first.to_str().unwrap(),
            &format!("http://{}{location}", server.addr),
        ],
    );
    assert_eq!(status, 202, "{head}");
    // The second half, slowly; the server dies with SIGKILL a second into it.
    let slow = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--limit-rate",
            "20M",
            "-u",
            &user,
            "-X",
            "PATCH",
        ])
        .args([
            "-H",
            &format!("Content-Range: {}-{}", 100 * MIB, 200 * MIB - 1),
        ])
        .args([
            "-T",
            second.to_str().unwrap(),
            &format!("http://{}{location}", server.addr),
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(slow);

    // Restarted: the session knows its offset; the blob is not visible.
    let server = serve(&data_dir);
    let session = format!("http://{}{location}", server.addr);
    let base = format!("http://{}/v2/staging/contoso/big", server.addr);
    let (status, _) = curl_head(&user, &["-I", &format!("{base}/blobs/{digest}")]);
    assert_eq!(status, 404, "a partial upload is visible as a blob");
    let (status, head) = curl_head(&user, &[&session]);
    assert_eq!(status, 204, "{head}");
    let range = header(&head, "range").to_owned();
    let have: usize = range.split('-').nth(1).unwrap().parse::<usize>().unwrap() + 1;
    assert!(
        (100 * MIB..200 * MIB).contains(&have),
        "offset {have} after the kill"
    );
    // The client resumes from there and finishes.
    let rest = dir.path().join("rest");
    std::fs::write(&rest, &data[have..]).unwrap();
    let (status, head) = curl_head(
        &user,
        &[
            "-X",
            "PATCH",
            "-H",
            &format!("Content-Range: {have}-{}", 200 * MIB - 1),
            "-T",
            rest.to_str().unwrap(),
            &session,
        ],
    );
    assert_eq!(status, 202, "{head}");
    let (status, head) = curl_head(&user, &["-X", "PUT", &format!("{session}?digest={digest}")]);
    assert_eq!(status, 201, "{head}");
    let out = Command::new("curl")
        .args(["-s", "-S", "-u", &user, &format!("{base}/blobs/{digest}")])
        .output()
        .unwrap();
    assert_eq!(out.stdout.len(), 200 * MIB);
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))),
        digest
    );

    // Another upload abandoned by a killed server; a collection afterwards removes its parts
    // and nothing else: the finished blob stays, linked and readable.
    let (status, head) = curl_head(&user, &["-X", "POST", &format!("{base}/blobs/uploads/")]);
    assert_eq!(status, 202, "{head}");
    let abandoned = header(&head, "location").to_owned();
    let (status, head) = curl_head(
        &user,
        &[
            "-X",
            "PATCH",
            "-T",
            first.to_str().unwrap(),
            &format!("http://{}{abandoned}", server.addr),
        ],
    );
    assert_eq!(status, 202, "{head}");
    drop(server);
    let uploads = data_dir.join("blobs/uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 1);
    let gc = run(&[
        "admin",
        "--data",
        data_dir.to_str().unwrap(),
        "gc",
        "--grace",
        "0",
    ]);
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert_eq!(gc.stdout, "", "blobs removed: {}", gc.stdout);
    assert!(
        gc.stderr
            .contains("0 blob(s) and 1 upload(s) removed, 1 blob(s) kept"),
        "{}",
        gc.stderr
    );
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);
    let server = serve(&data_dir);
    let base = format!("http://{}/v2/staging/contoso/big", server.addr);
    let (status, head) = curl_head(&user, &["-I", &format!("{base}/blobs/{digest}")]);
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "content-length"), (200 * MIB).to_string());
}

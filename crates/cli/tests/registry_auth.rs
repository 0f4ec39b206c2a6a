//! `docker://` with basic auth read from docker's `config.json`: a private Debian
//! docker-registry with an htpasswd file, started by the test on a free loopback port.
//! Without credentials the run stops with exit 2 and says where credentials are read from.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_registry(dir: &Path, port: u16) -> Registry {
    let htpasswd = sh("htpasswd", &["-Bbn", "alice", "s3cret"]);
    std::fs::write(dir.join("htpasswd"), htpasswd).unwrap();
    let config = format!(
        "version: 0.1\nlog: {{ level: error }}\nstorage:\n  filesystem: {{ rootdirectory: {root} }}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: edgecert-test\n    path: {pw}\n",
        root = dir.join("data").display(),
        pw = dir.join("htpasswd").display()
    );
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let child = Command::new("docker-registry")
        .args(["serve", dir.join("config.yml").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "docker-registry did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Registry(child)
}

#[test]
fn basic_auth_from_docker_config() {
    let tools = ["docker-registry", "htpasswd", "skopeo"]
        .iter()
        .all(|t| have_command(t));
    if !available("docker-registry, htpasswd and skopeo", tools) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _registry = start_registry(dir.path(), port);
    let (offer, layout) = example(dir.path());
    let host = format!("127.0.0.1:{port}");
    for tag in ["1.0.0", "1.0", "latest"] {
        sh(
            "skopeo",
            &[
                "copy",
                "-q",
                "--all",
                "--dest-tls-verify=false",
                "--dest-creds",
                "alice:s3cret",
                &format!("oci:{}:{tag}", layout.display()),
                &format!("docker://{host}/contoso/tempfilter:{tag}"),
            ],
        );
    }
    let image = format!("docker://{host}/contoso/tempfilter:1.0.0");
    let args = [
        "check",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
        "--tls-verify=false",
        "--format",
        "json",
        // A pulled image really runs too (layers kept from the one download), briefly.
        "--run-window",
        "3",
    ];

    let no_creds = dir.path().join("empty-docker-config");
    std::fs::create_dir_all(&no_creds).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args(args)
        .env("DOCKER_CONFIG", &no_creds)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not authorized") && stderr.contains("config.json"),
        "{stderr}"
    );

    let creds = dir.path().join("docker-config");
    std::fs::create_dir_all(&creds).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    std::fs::write(
        creds.join("config.json"),
        format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args(args)
        .env("DOCKER_CONFIG", &creds)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["verdict"], "pass");
}

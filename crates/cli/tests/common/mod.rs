//! Shared helpers of the CLI tests: run the real binary, build example modules with the
//! fixture builder, and find the services (skopeo, Debian's docker-registry, dockerd) that
//! `scripts/test.sh` starts. Where a service is missing, a test skips with a message, except
//! under `EDGECERT_REQUIRE_SERVICES=1` (set by the test script and so in CI), where it fails.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage, write_oci_layout};
use serde_json::Value;

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs `edgecert` with `args`.
pub fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args(args)
        .output()
        .expect("edgecert runs");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

pub const SCRIPT: &str = "#!/bin/sh\ntrap 'exit 0' TERM\nwhile true; do sleep 1; done\n";

/// The example module: busybox for linux/amd64 and linux/arm/v7 running a script as nobody.
pub fn example_spec() -> ImageSpec {
    example_spec_on(&[Arch::Amd64, Arch::Armhf])
}

/// The example module for `arches`.
pub fn example_spec_on(arches: &[Arch]) -> ImageSpec {
    let platforms = arches
        .iter()
        .map(|&arch| {
            let mut p = PlatformImage::busybox(arch, &[]).unwrap();
            p.layers
                .push(Layer::new().file("app/run.sh", SCRIPT.as_bytes().to_vec(), 0o755));
            p.config.entrypoint = Some(vec!["/app/run.sh".into()]);
            p.config.user = Some("nobody".into());
            p
        })
        .collect();
    let mut spec = ImageSpec::new(platforms);
    spec.tags = vec!["1.0.0".into(), "1.0".into(), "latest".into()];
    spec
}

/// Writes the example image as an OCI layout and an offer (`edgecert init`) for it.
pub fn example(dir: &Path) -> (PathBuf, PathBuf) {
    let layout = dir.join("image");
    write_oci_layout(&layout, &example_spec()).unwrap();
    let module = dir.join("tempfilter");
    let r = run(&["init", module.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (module.join("offer.json"), layout)
}

/// Edits an offer file in place.
pub fn edit_offer(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// The report JSON without what legitimately differs between runs and sources.
pub fn normalized(json: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["durationMs"] = Value::Null;
    v["image"]["source"] = Value::Null;
    v
}

/// Whether a tool or service the test needs is there (`edgecert_fixtures::services`: fails
/// when services are required).
pub fn available(what: &str, ok: bool) -> bool {
    edgecert_fixtures::services::available(
        &format!("{what} (scripts/setup.sh installs and starts it)"),
        ok,
    )
}

pub fn have_command(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The loopback registry `scripts/setup.sh` starts (Debian's docker-registry), if up.
pub fn test_registry() -> Option<String> {
    let addr = std::env::var("EDGECERT_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5055".into());
    let up = std::net::TcpStream::connect(&addr).is_ok();
    available(&format!("docker-registry at {addr}"), up).then_some(addr)
}

pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How one bounded run of `edgecert` ended.
pub struct Bounded {
    pub stdout: String,
    pub stderr: String,
    /// The exit code; `None` when it was killed by a signal (a crash: SIGSEGV, SIGABRT).
    pub code: Option<i32>,
    /// It did not end within the limit and was killed.
    pub timed_out: bool,
    pub elapsed: std::time::Duration,
}

impl Bounded {
    /// Panics unless it ended in time with a code the CLI contract allows (0–3, 130, 143) and
    /// without panic text on stderr.
    pub fn assert_sane(&self, what: &str) {
        assert!(
            !self.timed_out,
            "{what}: still running after {:?}; killed\nstderr: {}",
            self.elapsed, self.stderr
        );
        assert!(
            matches!(self.code, Some(0..=3 | 130 | 143)),
            "{what}: exit {:?} is not in the contract (0-3, 130, 143)\nstderr: {}",
            self.code,
            self.stderr
        );
        for text in ["panicked at", "RUST_BACKTRACE", "overflowed its stack"] {
            assert!(
                !self.stderr.contains(text),
                "{what}: {text:?} on stderr:\n{}",
                self.stderr
            );
        }
    }
}

/// Starts `edgecert` with `args` (stdin closed, output captured), with `env` added.
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    use std::process::Stdio;
    Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("edgecert starts")
}

/// Waits for `child` at most `limit` (killing it then), collecting its output.
pub fn finish(mut child: std::process::Child, limit: std::time::Duration) -> Bounded {
    use std::io::Read;
    let started = std::time::Instant::now();
    // Drain both pipes while waiting: a full pipe would block the child and fake a hang.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    Bounded {
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
        code: status.code(),
        timed_out,
        elapsed,
    }
}

/// `run`, bounded: killed after `limit`.
pub fn run_within(args: &[&str], env: &[(&str, &str)], limit: std::time::Duration) -> Bounded {
    finish(spawn(args, env), limit)
}

/// The example module with one more layer of `mib` MiB of incompressible bytes (uncompressed
/// tar, shared by both platforms): a static pass that takes seconds, to interrupt midway.
pub fn big_example(dir: &Path, mib: usize) -> (PathBuf, PathBuf) {
    let mut spec = example_spec();
    let mut layer = Layer::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for f in 0..mib {
        let mut data = Vec::with_capacity(1 << 20);
        while data.len() < 1 << 20 {
            // xorshift64: cheap bytes no compressor or analyzer shortcut can skip.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        layer = layer.file(format!("data/blob{f:04}.bin"), data, 0o644);
    }
    for p in &mut spec.platforms {
        p.layers.push(layer.clone());
    }
    spec.compression = edgecert_fixtures::Compression::None;
    let layout = dir.join("image");
    write_oci_layout(&layout, &spec).unwrap();
    let module = dir.join("tempfilter");
    let r = run(&["init", module.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (module.join("offer.json"), layout)
}

/// Makes a FIFO at `path` (replacing what is there).
pub fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    sh("mkfifo", &[path.to_str().unwrap()]);
}

pub struct Serve {
    pub child: std::process::Child,
    pub addr: String,
    /// What the server logged on stderr so far.
    logs: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }
}

/// `edgecert serve --data DATA` on a free loopback port.
pub fn serve(data: &std::path::Path) -> Serve {
    serve_with(data, &[], &[])
}

/// `edgecert serve --data DATA ARGS…` with `env`, on a free loopback port.
pub fn serve_with(data: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every line is kept (and the pipe drained, so logging never blocks the server); the
    // first names the address.
    let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (first, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let kept = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = first.send(line.clone());
            let mut all = kept.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    // The line that names the address (others, such as database notices, may come first).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let addr = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("serve named no address:\n{}", logs.lock().unwrap()));
        if let Some(addr) = line
            .split("serving the registry at http://")
            .nth(1)
            .and_then(|r| r.split("/v2/").next())
        {
            break addr.to_owned();
        }
    };
    Serve { child, addr, logs }
}

/// The docker client with its own config directory (credentials).
pub fn docker(config: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

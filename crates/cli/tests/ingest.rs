//! `edgecert check` and the ingestion test, through the real binary: Ctrl-C in the middle of
//! the run leaves nothing of ours in the engine, and without an engine the verdict is
//! `incomplete` (exit 3) with a finding that says how to get one.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn engine_up() -> bool {
    let up = std::os::unix::net::UnixStream::connect("/var/run/docker.sock").is_ok()
        && have_command("docker");
    available("dockerd (and the docker CLI)", up)
}

fn docker(args: &[&str]) -> String {
    sh("docker", args).trim().to_owned()
}

/// `azure-iot-edge` networks edgecert created that no container uses.
fn idle_networks_of_ours() -> Vec<String> {
    let ids = docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        "name=azure-iot-edge",
        "--filter",
        "label=edgecert.run",
    ]);
    ids.lines()
        .filter(|id| docker(&["network", "inspect", "-f", "{{len .Containers}}", id]) == "0")
        .map(str::to_owned)
        .collect()
}

/// `edgecert check` of the OCI layout `layout` with a run window of `window` seconds, JSON out.
fn check_json(offer: &Path, layout: &Path, window: u32) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgecert"));
    c.args(["check", "--offer", offer.to_str().unwrap()])
        .args(["--image", &format!("oci:{}", layout.display())])
        .args(["--run-window", &window.to_string(), "--format", "json"]);
    c
}

/// The example module under a name of its own, and `edgecert check` started on it with a long
/// window, returned once both platforms' containers (amd64 and arm/v7) are running: the
/// middle of the ingestion test.
fn started_midway(dir: &Path, prefix: &str) -> (String, Child) {
    let (offer, layout) = example(dir);
    let name = format!("{prefix}-{}", std::process::id());
    edit_offer(&offer, |v| {
        v["offer"] = name.clone().into();
        v["defaults"]["moduleName"] = name.clone().into();
    });
    let mut child = check_json(&offer, &layout, 120)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let running = || {
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("name={name}"),
            "--filter",
            "status=running",
        ])
        .lines()
        .count()
    };
    // On a fresh machine the static pass before the run (first malware-rule compile, clamd
    // warming up) and the image load share two cores with other engine tests: allow time, but
    // stop at once, with what edgecert said, if it ended before its containers ran.
    let start = Instant::now();
    while running() != 2 {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "edgecert ended ({status}) before the module's containers ran:\n{}\n{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "timed out waiting for the module's containers to run"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (name, child)
}

fn containers_named(name: &str) -> String {
    docker(&["ps", "-a", "-q", "--filter", &format!("name={name}")])
}

fn images_of(name: &str) -> String {
    docker(&["images", "-q", &format!("edgecert-ingest/contoso-{name}-*")])
}

/// What the run of the containers named `name` has outside the engine: the workload API
/// stand-in's sockets (bound into the containers, in the run's scratch directory) and the
/// edgeHub stand-in's sockets in the private run directory.
struct StandinFiles {
    workload: Vec<std::path::PathBuf>,
    scratch: Vec<std::path::PathBuf>,
    edgehub: Vec<std::path::PathBuf>,
}

fn standin_files(name: &str) -> StandinFiles {
    let ids = containers_named(name);
    let mut files = StandinFiles {
        workload: Vec::new(),
        scratch: Vec::new(),
        edgehub: Vec::new(),
    };
    for id in ids.lines() {
        let mounts = docker(&["inspect", "-f", "{{range .Mounts}}{{.Source}}\n{{end}}", id]);
        for source in mounts.lines().filter(|m| m.contains("workload")) {
            let socket = std::path::PathBuf::from(source);
            // <scratch>/ingest-<x>/workload-<platform>.sock
            let scratch = socket.parent().unwrap().parent().unwrap().to_owned();
            files.workload.push(socket);
            files.scratch.push(scratch);
        }
        let run = docker(&[
            "inspect",
            "-f",
            "{{index .Config.Labels \"edgecert.run\"}}",
            id,
        ]);
        let runs = std::env::temp_dir().join("edgecert-runs");
        for entry in std::fs::read_dir(&runs).unwrap().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(&format!("gw-{run}-"))
                && edgecert_runtime::gateway::SOCKET_SUFFIXES
                    .iter()
                    .any(|suffix| file.ends_with(suffix))
            {
                files.edgehub.push(entry.path());
            }
        }
    }
    files.scratch.dedup();
    files.edgehub.sort();
    files.edgehub.dedup();
    files
}

fn assert_gone(files: &StandinFiles) {
    for path in files.scratch.iter().chain(&files.edgehub) {
        assert!(!path.exists(), "{} outlived its run", path.display());
    }
}

#[test]
fn sigint_midway_leaves_nothing_in_the_engine() {
    if !engine_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (name, mut child) = started_midway(dir.path(), "cli-sigint");
    let standins = standin_files(&name);
    assert_eq!(standins.workload.len(), 2, "a workload socket per platform");
    // Three per platform: MQTT, AMQP and WebSockets (the tests run as root, which may listen
    // on 443).
    assert_eq!(
        standins.edgehub.len(),
        6,
        "an edgeHub socket per service (MQTT, AMQP, WebSockets) and platform"
    );
    let pid = child.id().to_string();
    sh("kill", &["-INT", &pid]);
    let start = Instant::now();
    let out = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "edgecert did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = {
        use std::io::Read;
        let mut s = String::new();
        child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
        s
    };
    assert_eq!(out.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert_eq!(containers_named(&name), "", "containers left");
    assert_eq!(images_of(&name), "", "images left");
    assert_gone(&standins);
    // Other runs may be using the shared network right now; an idle one of ours is a leak.
    // (One that another run is about to use can look idle for a moment: look twice.)
    if !idle_networks_of_ours().is_empty() {
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(
            idle_networks_of_ours(),
            Vec::<String>::new(),
            "network left"
        );
    }
}

#[test]
fn the_next_run_sweeps_what_a_killed_run_left() {
    if !engine_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (name, mut child) = started_midway(dir.path(), "cli-sigkill");
    let standins = standin_files(&name);
    assert_eq!(standins.workload.len(), 2, "a workload socket per platform");
    // Three per platform: MQTT, AMQP and WebSockets (the tests run as root, which may listen
    // on 443).
    assert_eq!(
        standins.edgehub.len(),
        6,
        "an edgeHub socket per service (MQTT, AMQP, WebSockets) and platform"
    );
    // SIGKILL: no handler runs, nothing is cleaned up.
    child.kill().unwrap();
    child.wait().unwrap();
    for path in standins.workload.iter().chain(&standins.edgehub) {
        assert!(
            path.exists(),
            "{} is left by the killed run",
            path.display()
        );
    }
    assert_eq!(
        containers_named(&name).lines().count(),
        2,
        "the killed run's containers"
    );
    assert_ne!(images_of(&name), "", "the killed run's images");

    // The same module again: its name is taken by the dead run's container, which the new run
    // removes at once instead of waiting for it (it would wait over a minute, then give up).
    // The paths `example` wrote.
    let (offer, layout) = (
        dir.path().join("tempfilter/offer.json"),
        dir.path().join("image"),
    );
    let started = Instant::now();
    let out = check_json(&offer, &layout, 2).output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("container(s)") && stderr.contains("died without cleaning up"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let ec401 = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC401")
        .unwrap();
    assert_eq!(ec401["status"], "pass", "{ec401}");
    assert!(took < Duration::from_secs(45), "took {took:?}");
    assert_eq!(containers_named(&name), "", "containers left");
    assert_eq!(images_of(&name), "", "images left");
    // The killed run's scratch directory (kept blobs, workload sockets) and its edgeHub
    // sockets went with the sweep of the next run.
    assert_gone(&standins);
}

#[test]
fn without_an_engine_the_verdict_is_incomplete_and_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let out = check_json(&offer, &layout, 30)
        .env("DOCKER_HOST", "unix:///nonexistent")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["verdict"], "incomplete");
    let ec401 = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC401")
        .unwrap();
    assert_eq!(ec401["status"], "error");
    let message = ec401["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("unix:///nonexistent"), "{message}");
    assert!(message.contains("scripts/setup.sh"), "{message}");
    assert!(message.contains("DOCKER_HOST"), "{message}");
    for id in ["EC302", "EC402", "EC403"] {
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert_eq!(c["status"], "error", "{id}");
    }
}

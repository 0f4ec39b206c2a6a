//! The ingestion test on the real Moby engine `scripts/setup.sh` starts, with real multi-arch
//! busybox images from the fixture builder, through `certify` exactly as the CLI calls it:
//! healthy, crashing, crashing only on arm/v7 (qemu), ignoring SIGTERM, over its memory
//! limit, and privileged. Windows are a few seconds; names carry the process id so parallel
//! tests and other people's runs on the same engine do not collide. After every run nothing
//! of ours may be left in the engine.
//!
//! Without dockerd the tests skip with a message, except under `EDGECERT_REQUIRE_SERVICES=1`
//! (the test script, CI), where they fail.

mod common;

use std::process::Command;

use common::engine_up;
use edgecert_engine::image::layer::NoProgress;
use edgecert_engine::image::remote::RemoteOptions;
use edgecert_engine::image::source::ImageSource;
use edgecert_engine::ingest::RunMode;
use edgecert_engine::offer::{Offer, template};
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{Report, Status, Verdict};
use edgecert_engine::{CertifyOptions, certify};
use edgecert_fixtures::{
    Arch, Compression, ImageSpec, Layer, PlatformImage, write_docker_archive, write_oci_layout,
};
use edgecert_runtime::{MobyIngest, Mode};
use serde_json::{Value, json};

const WINDOW: u64 = 3;

/// A long-running module that stops on SIGTERM.
const HEALTHY: &str = "trap 'exit 0' TERM\necho started\nwhile true; do sleep 1; done\n";

/// A busybox image for amd64 and arm/v7 whose entrypoint is `/app/run.sh` with the given
/// script per platform, run as nobody, tagged like the `init` template's offer.
fn spec(amd64: &str, arm: &str) -> ImageSpec {
    let platforms = [(Arch::Amd64, amd64), (Arch::Armhf, arm)]
        .into_iter()
        .map(|(arch, script)| {
            let mut p = PlatformImage::busybox(arch, &[]).unwrap();
            let script = format!("#!/bin/sh\n{script}");
            p.layers
                .push(Layer::new().file("app/run.sh", script.into_bytes(), 0o755));
            p.config.entrypoint = Some(vec!["/app/run.sh".into()]);
            p.config.user = Some("nobody".into());
            p
        })
        .collect();
    let mut spec = ImageSpec::new(platforms);
    spec.tags = vec!["1.0.0".into(), "1.0".into(), "latest".into()];
    spec
}

/// A module name unique to this test and process (also the offer id, so the image name too).
fn unique(what: &str) -> String {
    format!("rt-{what}-{}", std::process::id())
}

/// Certifies `spec` with the `init` offer for `name`, edited by `edit`, on the engine.
fn check(name: &str, spec: &ImageSpec, edit: impl FnOnce(&mut Value)) -> Report {
    check_with(name, spec, edit, MobyIngest::new())
}

fn check_with(
    name: &str,
    spec: &ImageSpec,
    edit: impl FnOnce(&mut Value),
    ingest: MobyIngest,
) -> Report {
    check_window(name, spec, edit, ingest, WINDOW)
}

fn check_window(
    name: &str,
    spec: &ImageSpec,
    edit: impl FnOnce(&mut Value),
    ingest: MobyIngest,
    window: u64,
) -> Report {
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), spec).unwrap();
    let mut v: Value = serde_json::from_str(&template(name)).unwrap();
    edit(&mut v);
    let offer = Offer::parse(&v.to_string(), "offer.json").unwrap();
    let policy = Policy {
        run_window_secs: window,
        ..Policy::default()
    };
    let options = CertifyOptions {
        image: ImageSource::parse(&format!("oci:{}", dir.path().display())).unwrap(),
        remote: RemoteOptions::new(true),
        policy,
        published: None,
        threads: 1,
        malware: Default::default(),
        cancel: Default::default(),
    };
    let report = certify(&offer, &options, RunMode::Run(&ingest), &NoProgress)
        .unwrap()
        .report;
    assert!(ingest.warnings().is_empty(), "{:?}", ingest.warnings());
    assert_nothing_left(name);
    report
}

fn result<'a>(r: &'a Report, id: &str) -> &'a edgecert_engine::report::CheckResult {
    r.checks.iter().find(|c| c.id == id).unwrap()
}

fn status(r: &Report, id: &str) -> Status {
    result(r, id).status
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// No container of ours named after the module and no image named after the offer remain.
fn assert_nothing_left(name: &str) {
    if Command::new("docker").arg("version").output().is_err() {
        return;
    }
    let containers = docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("name={name}"),
        "--filter",
        "label=edgecert.run",
    ]);
    assert_eq!(containers, "", "containers of {name} left");
    let images = docker(&["images", "-q", &format!("edgecert-ingest/contoso-{name}-*")]);
    assert_eq!(images, "", "images of {name} left");
}

fn all_pass(r: &Report) {
    for id in ["EC302", "EC401", "EC402", "EC403"] {
        let c = result(r, id);
        assert_eq!(c.status, Status::Pass, "{id}: {c:?}");
    }
}

#[test]
fn healthy_module_passes_on_amd64_and_arm_v7() {
    if !engine_up() {
        return;
    }
    let name = unique("healthy");
    let r = check(&name, &spec(HEALTHY, HEALTHY), |_| {});
    all_pass(&r);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.checks);
    let ingestion = r.ingestion.as_ref().unwrap();
    assert!(ingestion.engine.as_deref().unwrap().starts_with("Moby "));
    assert_eq!(ingestion.mode, "parallel");
    assert!(result(&r, "EC302").summary.contains("(limit 512.0 MiB)"));
    assert!(result(&r, "EC401").summary.contains("linux/arm/v7"));
}

/// The runtime's stand-ins are there for the module as IoT Edge's are: the workload socket is
/// usable by a non-root user (`nobody` here), the gateway host name is in the container's
/// `/etc/hosts` and port 8883 there answers. (Busybox has no MQTT client and its static
/// `wget` crashes resolving names; what the edgeHub stand-in records is tested with MQTT
/// clients in `edgehub.rs` and with the SDK modules.)
#[test]
fn the_module_reaches_the_workload_socket_and_the_edgehub_port() {
    if !engine_up() {
        return;
    }
    let script = "trap 'exit 0' TERM\n\
        [ -S /var/run/iotedge/workload.sock ] && [ -w /var/run/iotedge/workload.sock ] || { echo 'workload socket not usable'; exit 3; }\n\
        ip=$(awk -v gw=\"$IOTEDGE_GATEWAYHOSTNAME\" '$2 == gw {print $1}' /etc/hosts)\n\
        [ -n \"$ip\" ] || { echo \"no $IOTEDGE_GATEWAYHOSTNAME in /etc/hosts\"; exit 4; }\n\
        nc -w 2 \"$ip\" 8883 </dev/null || { echo \"nothing on $ip:8883\"; exit 5; }\n\
        echo started\nwhile true; do sleep 1; done\n";
    let name = unique("standins");
    let r = check(&name, &spec(script, script), |_| {});
    all_pass(&r);
}

#[test]
fn crash_after_a_second_fails_ec402_with_its_log_tail() {
    if !engine_up() {
        return;
    }
    let crash = "echo starting\nsleep 1\necho 'fatal: no config' >&2\nexit 3\n";
    // zstd layers, which Moby 20.10 cannot load itself: the archive carries them decompressed.
    let mut image = spec(crash, crash);
    image.compression = Compression::Zstd;
    let r = check(&unique("crash"), &image, |_| {});
    assert_eq!(status(&r, "EC401"), Status::Pass);
    let c = result(&r, "EC402");
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert_eq!(c.findings.len(), 2, "{c:?}");
    for f in &c.findings {
        assert!(f.message.starts_with("exited with code 3"), "{f:?}");
        assert!(f.message.contains("OOM-killed: no"), "{f:?}");
        assert!(
            f.message.contains("\n    starting\n    fatal: no config"),
            "{f:?}"
        );
    }
    assert_eq!(status(&r, "EC403"), Status::Skip);
    assert_eq!(r.verdict, Verdict::Fail);
}

#[test]
fn crash_only_on_arm_v7_is_found_on_arm_v7() {
    if !engine_up() {
        return;
    }
    let crash = "echo 'illegal instruction in libfoo' >&2\nexit 132\n";
    let r = check(&unique("armcrash"), &spec(HEALTHY, crash), |_| {});
    let c = result(&r, "EC402");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.findings.len(), 1, "{c:?}");
    assert_eq!(c.findings[0].platform.as_deref(), Some("linux/arm/v7"));
    assert!(c.findings[0].message.contains("exit code 132"), "{c:?}");
    assert!(c.findings[0].message.contains("illegal instruction"));
    let stop = result(&r, "EC403");
    assert_eq!(stop.status, Status::Pass, "{stop:?}");
    assert!(stop.summary.contains("linux/amd64"), "{stop:?}");
}

#[test]
fn ignoring_sigterm_fails_ec403_but_the_verdict_passes() {
    if !engine_up() {
        return;
    }
    let stubborn = "while true; do sleep 1; done\n";
    let r = check(&unique("stubborn"), &spec(stubborn, stubborn), |_| {});
    let c = result(&r, "EC403");
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert_eq!(c.findings.len(), 2);
    assert!(c.findings[0].message.contains("10 s after SIGTERM"));
    assert_eq!(status(&r, "EC402"), Status::Pass);
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "EC403 is a warning: {:#?}",
        r.checks
    );
}

#[test]
fn allocating_over_the_memory_limit_fails_ec302() {
    if !engine_up() {
        return;
    }
    // The shell keeps a command substitution's output in its own memory: 64 MB of "y\n" in a
    // shell variable, under a 32 MiB limit (swap included).
    let hog = "echo allocating\nx=$(yes | head -c 67108864)\necho survived\nsleep 3600\n";
    let r = check(&unique("hog"), &spec(hog, hog), |v| {
        v["device"] = json!({"minMemoryMiB": 32});
    });
    let c = result(&r, "EC302");
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(
        c.findings.iter().any(|f| f
            .message
            .starts_with("OOM-killed under a memory limit of 32.0 MiB")),
        "{c:?}"
    );
    let stays = result(&r, "EC402");
    assert_eq!(stays.status, Status::Fail);
    assert!(
        stays.findings[0].message.contains("OOM-killed: yes"),
        "{stays:?}"
    );
}

#[test]
fn privileged_create_options_are_applied() {
    if !engine_up() {
        return;
    }
    // Only a privileged container gets /sys mounted read-write: the module checks for itself
    // and exits when it is not.
    let probe = "if /bin/busybox grep -q '^sysfs /sys sysfs rw' /proc/mounts; then\n\
                 echo privileged\nelse\necho 'not privileged' >&2\nexit 9\nfi\n";
    let script = format!("{probe}{HEALTHY}");
    let image = spec(&script, &script);
    let privileged = check(&unique("priv"), &image, |v| {
        v["defaults"]["createOptions"] = json!({"HostConfig": {"Privileged": true}});
    });
    all_pass(&privileged);
    assert_eq!(
        status(&privileged, "EC801"),
        Status::Fail,
        "the security check judges it"
    );
    // The same image without it exits: the probe really tells the difference.
    let plain = check_with(
        &unique("unpriv"),
        &image,
        |_| {},
        MobyIngest::new().with_mode(Mode::Sequential),
    );
    let c = result(&plain, "EC402");
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(c.findings[0].message.contains("not privileged"), "{c:?}");
    assert_eq!(plain.ingestion.as_ref().unwrap().mode, "sequential");
}

/// Not a test: the measurement behind the default mode. Run with
/// `cargo test -p edgecert-runtime --test ingest -- --ignored --nocapture`
/// (`EDGECERT_MEASURE_WINDOW=30` for the default window).
#[test]
#[ignore]
fn measure_sequential_and_parallel() {
    if !engine_up() {
        return;
    }
    let image = spec(HEALTHY, HEALTHY);
    let window = std::env::var("EDGECERT_MEASURE_WINDOW")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(WINDOW);
    for round in 0..2 {
        for mode in [Mode::Sequential, Mode::Parallel] {
            let name = unique(&format!("measure-{}-{round}", mode.as_str()));
            let ingest = MobyIngest::new().with_mode(mode);
            let r = check_window(&name, &image, |_| {}, ingest, window);
            all_pass(&r);
            let ms = r.ingestion.as_ref().unwrap().duration_ms;
            eprintln!(
                "{} round {round}: ingestion {ms} ms (window {window} s)",
                mode.as_str()
            );
        }
    }
}

#[test]
fn a_foreign_container_with_the_module_name_is_left_alone() {
    if !engine_up() {
        return;
    }
    let name = unique("clash");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("foreign.tar");
    let foreign = format!("{name}-foreign:1");
    let image = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "60"]).unwrap();
    write_docker_archive(&archive, &image, std::slice::from_ref(&foreign), false).unwrap();
    docker(&["load", "-q", "-i", archive.to_str().unwrap()]);
    docker(&["create", "--name", &name, &foreign]);
    let ingest = MobyIngest::new().with_mode(Mode::Sequential);
    let r = check_with(&name, &spec(HEALTHY, HEALTHY), |_| {}, ingest);
    let still = docker(&["inspect", "-f", "{{.Config.Image}}", &name]);
    docker(&["rm", "-f", &name]);
    docker(&["rmi", &foreign]);
    assert_eq!(still, foreign, "the foreign container must survive");
    let c = result(&r, "EC401");
    assert_eq!(c.status, Status::Error, "{c:?}");
    assert!(
        c.findings[0]
            .message
            .contains("already exists (not created by edgecert)"),
        "{c:?}"
    );
    assert_eq!(r.verdict, Verdict::Incomplete);
}

//! Test support for checks: offers from JSON edits of the `init` template, and image facts from
//! real fixture images (written by `edgecert-fixtures` as an OCI layout and read back through
//! the same scan the CLI uses).

use edgecert_fixtures::{Arch, ImageSpec, PlatformImage, write_oci_layout};
use serde_json::Value;

use std::sync::OnceLock;

use super::{Check, Context, Outcome};
use crate::analyze::default_analyzers;
use crate::facts::{ImageFacts, PlatformRun, RuntimeFacts};
use crate::image::files::DirFiles;
use crate::image::layer::NoProgress;
use crate::image::layout::Layout;
use crate::image::scan::{ScanOptions, scan};
use crate::offer::{Offer, template};
use crate::platform::Platform;
use crate::policy::Policy;

/// The `init` template as JSON, to edit in a test.
pub fn offer_json() -> Value {
    serde_json::from_str(&template("tempfilter")).unwrap()
}

pub fn offer(v: &Value) -> Offer {
    Offer::parse(&v.to_string(), "offer.json").unwrap()
}

/// Writes `spec` as an OCI layout and scans it, resolving `tags`.
pub fn facts_with_tags(spec: &ImageSpec, tags: &[&str]) -> ImageFacts {
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), spec).unwrap();
    let store = Layout::open(DirFiles::new(dir.path()).unwrap(), None).unwrap();
    let options = ScanOptions {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    scan(
        "oci:fixture",
        &store,
        &options,
        &default_analyzers(),
        &NoProgress,
    )
    .unwrap()
}

pub fn facts(spec: &ImageSpec) -> ImageFacts {
    facts_with_tags(spec, &[])
}

/// The usual good image: busybox for amd64 and arm/v7 running `sleep`.
pub fn good_spec() -> ImageSpec {
    ImageSpec::new(vec![
        PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "3600"]).unwrap(),
        PlatformImage::busybox(Arch::Armhf, &["/bin/sleep", "3600"]).unwrap(),
    ])
}

pub fn check_with(check: &Check, offer: &Offer, image: &ImageFacts) -> Outcome {
    let policy = Policy::default();
    (check.run)(&Context {
        offer,
        create_options: &crate::checks::create_options::load(offer),
        image,
        policy: &policy,
        published: None,
        runtime: None,
    })
}

/// Where each finding of `o` points, as the report shows it (findings without a location
/// left out).
pub fn locations(o: &Outcome) -> Vec<String> {
    o.findings
        .iter()
        .filter_map(|f| f.shown_location())
        .collect()
}

/// Runs an offer-only check on an offer edited by `edit`.
pub fn run_offer(check: &Check, edit: impl FnOnce(&mut Value)) -> Outcome {
    let mut v = offer_json();
    edit(&mut v);
    check_with(check, &offer(&v), &ImageFacts::default())
}

// The ingestion test's facts, for the runtime checks' tests.

pub fn amd64() -> Platform {
    Platform::new("linux", "amd64", None)
}

pub fn arm() -> Platform {
    Platform::new("linux", "arm", Some("v7"))
}

/// A run that went well: started, ran the window, stopped on SIGTERM.
pub fn healthy(platform: Platform) -> PlatformRun {
    PlatformRun {
        platform,
        error: None,
        created: true,
        create_error: None,
        started: true,
        states: vec!["created".into(), "running".into(), "exited".into()],
        running_at_end: true,
        exit_code: None,
        oom_killed: false,
        restart_count: 0,
        memory_limit_bytes: 512 << 20,
        peak_memory_bytes: Some(3 << 20),
        log_tail: vec!["listening".into()],
        stopped_on_sigterm: Some(true),
        stop_ms: Some(120),
        window_secs: 30,
        hub: None,
    }
}

pub fn runtime(platforms: Vec<PlatformRun>) -> RuntimeFacts {
    RuntimeFacts {
        engine: Some("Moby 20.10.24".into()),
        unavailable: None,
        platforms,
        mode: "parallel".into(),
        duration_ms: 31_000,
    }
}

fn image() -> &'static ImageFacts {
    static IMAGE: OnceLock<ImageFacts> = OnceLock::new();
    IMAGE.get_or_init(|| facts(&good_spec()))
}

/// Runs `check` on the good image with `runtime` (`None` = `--no-run`).
pub fn judge(check: &Check, runtime: Option<&RuntimeFacts>) -> Outcome {
    let offer = offer(&offer_json());
    (check.run)(&Context {
        offer: &offer,
        create_options: &crate::checks::create_options::load(&offer),
        image: image(),
        policy: &Policy::default(),
        published: None,
        runtime,
    })
}

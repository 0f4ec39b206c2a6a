//! # EC401 starts-with-defaults
//!
//! ## What it checks
//! In the ingestion test, each platform's container — created on a Moby engine the way the IoT
//! Edge runtime would (module name, `azure-iot-edge` network, the offer's env plus the
//! injected `IOTEDGE_*` variables, createOptions as given, the device's memory and CPU limits)
//! — is created and reaches `running`. Non-native platforms run under qemu-user emulation.
//!
//! ## Why it matters
//! A module must start with its default parameters out of the box on every supported
//! platform: customers deploy it with exactly these defaults, and a module that does not come
//! up cannot be certified.
//!
//! ## Example
//! `linux/arm/v7: the container could not be created: invalid mount config for type "bind":
//! bind source path does not exist: /etc/mymodule`.
//!
//! ## How to fix
//! Run the image with its defaults yourself (`docker run` with the createOptions, on each
//! platform: `--platform linux/arm/v7` under qemu) and fix what stops it: host paths that must
//! exist, a missing entrypoint or interpreter, binaries for the wrong architecture.

use super::{Check, Context, Outcome, UNREADABLE};
use crate::facts::PlatformRun;
use crate::platform::Platform;
use crate::report::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC401",
    name: "starts-with-defaults",
    title: "Each platform starts with the default settings",
    area: Area::Runtime,
    severity: Severity::Blocking,
    runtime: true,
    source: include_str!("ec401_starts_with_defaults.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let judged = judge(cx, |platform, r| {
        let why = r
            .create_error
            .as_deref()
            .unwrap_or("it never reached running");
        if !r.created {
            Judgement::Fail(
                Finding::new(format!("the container could not be created: {why}"))
                    .on(platform)
                    .help(CHECK.fix_hint()),
            )
        } else if !r.started {
            Judgement::Fail(
                Finding::new(format!(
                    "the container did not start: {why}{}",
                    log_tail(&r.log_tail)
                ))
                .on(platform)
                .help(CHECK.fix_hint()),
            )
        } else {
            Judgement::Pass(Some(platform.to_string()))
        }
    });
    match judged {
        Ok(j) => outcome(
            format!("running on {}", j.passed.join(", ")),
            j.fails,
            j.errors,
        ),
        Err(o) => o,
    }
}

/// One platform of the image with its run, or the error finding saying why there is none.
pub(super) type PlatformWithRun<'a> = (&'a Platform, Result<&'a PlatformRun, Finding>);

/// The platforms to judge, or the whole outcome when nothing can be judged (`--no-run`, no
/// engine, unreadable image). Shared by the runtime checks (EC302, EC401–EC404).
pub(super) fn runs<'a>(cx: &Context<'a>) -> Result<Vec<PlatformWithRun<'a>>, Outcome> {
    let Some(rt) = cx.runtime else {
        return Err(Outcome::skip("not run (--no-run)"));
    };
    if let Some(why) = &rt.unavailable {
        return Err(Outcome::error(
            "the ingestion test could not run",
            vec![Finding::new(why.clone())],
        ));
    }
    if cx.image.platforms.is_empty() {
        return Err(Outcome::skip(UNREADABLE));
    }
    Ok(cx
        .image
        .platforms
        .iter()
        .map(|pf| {
            let p = &pf.platform;
            let run = match rt.platform(p) {
                Some(r) => match &r.error {
                    None => Ok(r),
                    Some(e) => Err(Finding::new(format!("not run: {e}")).on(p)),
                },
                None => Err(Finding::new("not run by the ingestion test").on(p)),
            };
            (p, run)
        })
        .collect())
}

/// What one platform's run says for a check.
pub(super) enum Judgement {
    /// It holds; the text (if any) goes into the summary.
    Pass(Option<String>),
    Fail(Finding),
    /// It could not be judged for this platform.
    Error(Finding),
}

/// The per-platform results of a runtime check, gathered.
#[derive(Default)]
pub(super) struct Judged {
    pub passed: Vec<String>,
    pub fails: Vec<Finding>,
    pub errors: Vec<Finding>,
}

/// Judges every platform's run with `each`; `Err` is the whole outcome when nothing can be
/// judged (see `runs`). The loop every runtime check shares.
pub(super) fn judge(
    cx: &Context<'_>,
    mut each: impl FnMut(&Platform, &PlatformRun) -> Judgement,
) -> Result<Judged, Outcome> {
    let mut out = Judged::default();
    for (platform, run) in runs(cx)? {
        match run.map(|r| each(platform, r)) {
            Err(e) | Ok(Judgement::Error(e)) => out.errors.push(e),
            Ok(Judgement::Fail(f)) => out.fails.push(f),
            Ok(Judgement::Pass(note)) => out.passed.extend(note),
        }
    }
    Ok(out)
}

/// `fail` when anything failed (errors listed too), else `error` when a platform could not be
/// judged, else `pass` with `summary`.
pub(super) fn outcome(summary: String, fails: Vec<Finding>, errors: Vec<Finding>) -> Outcome {
    if !fails.is_empty() {
        let n = fails.len();
        let mut findings = fails;
        findings.extend(errors);
        Outcome::fail(
            format!("{n} platform{} failed", if n == 1 { "" } else { "s" }),
            findings,
        )
    } else if !errors.is_empty() {
        Outcome::error("the ingestion test could not judge every platform", errors)
    } else {
        Outcome::pass(summary)
    }
}

/// `; last N log lines:` and the lines, indented, or nothing when it printed nothing.
pub(super) fn log_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return "; it printed nothing".to_owned();
    }
    let mut s = format!("; last {} log lines:", lines.len());
    for l in lines {
        s.push_str("\n    ");
        s.push_str(l);
    }
    s
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::checks::testing::{facts, good_spec, offer, offer_json};
    use crate::facts::{ImageFacts, RuntimeFacts};
    use crate::policy::Policy;
    use crate::report::Status;

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

    #[test]
    fn pass_on_every_platform() {
        let rt = runtime(vec![healthy(amd64()), healthy(arm())]);
        let o = judge(&CHECK, Some(&rt));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.summary, "running on linux/amd64, linux/arm/v7");
    }

    #[test]
    fn not_created_or_not_started_fails_per_platform() {
        let mut arm_run = healthy(arm());
        arm_run.created = false;
        arm_run.started = false;
        arm_run.create_error = Some("bind source path does not exist: /etc/x".into());
        let rt = runtime(vec![healthy(amd64()), arm_run]);
        let o = judge(&CHECK, Some(&rt));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings.len(), 1);
        assert_eq!(o.findings[0].platform.as_deref(), Some("linux/arm/v7"));
        assert!(o.findings[0].message.contains("bind source path"), "{o:?}");

        let mut amd = healthy(amd64());
        amd.started = false;
        amd.create_error =
            Some("the entrypoint could not be executed: exec /a: exec format error".into());
        amd.log_tail = vec!["exec /a: exec format error".into()];
        let o = judge(&CHECK, Some(&runtime(vec![amd, healthy(arm())])));
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.contains("did not start"), "{o:?}");
    }

    #[test]
    fn no_run_skips_and_no_engine_or_platform_error_is_an_error() {
        let o = judge(&CHECK, None);
        assert_eq!(
            (o.status, o.summary.as_str()),
            (Status::Skip, "not run (--no-run)")
        );
        let mut rt = runtime(vec![]);
        rt.unavailable = Some("no Moby engine answered at unix:///nonexistent".into());
        let o = judge(&CHECK, Some(&rt));
        assert_eq!(o.status, Status::Error);
        assert!(o.findings[0].message.contains("unix:///nonexistent"));
        let mut arm_run = healthy(arm());
        arm_run.error = Some("no binfmt_misc handler".into());
        let o = judge(&CHECK, Some(&runtime(vec![healthy(amd64()), arm_run])));
        assert_eq!(
            o.status,
            Status::Error,
            "never pass when a platform did not run"
        );
        assert_eq!(o.findings[0].message, "not run: no binfmt_misc handler");
        let o = judge(&CHECK, Some(&runtime(vec![healthy(amd64())])));
        assert_eq!(o.status, Status::Error, "a platform missing from the run");
    }
}

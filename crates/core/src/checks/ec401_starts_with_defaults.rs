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

use super::ingestion::{Judgement, judge, log_tail, outcome};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{amd64, arm, healthy, judge, runtime};
    use crate::finding::Status;

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

//! # EC403 stops-gracefully
//!
//! ## What it checks
//! At the end of the ingestion test's window each running container is sent its stop signal
//! (SIGTERM unless the image or createOptions sets `StopSignal`, as `docker stop` does) and
//! must exit within 10 s. Platforms that were not running by then are not judged here (see
//! EC402).
//!
//! ## Why it matters
//! edgeAgent stops modules for every deployment update, restart and device shutdown. A module
//! that ignores SIGTERM is killed after the grace period: it loses unsent messages and state,
//! and every update of the device takes longer.
//!
//! ## Example
//! `linux/amd64: still running 10 s after SIGTERM; it was killed`.
//!
//! ## How to fix
//! Handle SIGTERM: flush, close connections and exit. A shell entrypoint runs as PID 1, which
//! has no default signal handlers: `trap 'exit 0' TERM`, or `exec` the real process so it
//! receives the signal, or run an init (`docker run --init`, tini).

use super::ingestion::{Judgement, judge, outcome};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC403",
    name: "stops-gracefully",
    title: "Each platform exits within 10 s of SIGTERM",
    area: Area::Runtime,
    severity: Severity::Warning,
    runtime: true,
    source: include_str!("ec403_stops_gracefully.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let judged = judge(cx, |platform, r| match r.stopped_on_sigterm {
        Some(true) => Judgement::Pass(Some(format!(
            "{platform} in {} ms",
            r.stop_ms.unwrap_or_default()
        ))),
        Some(false) => Judgement::Fail(
            Finding::new("still running 10 s after SIGTERM; it was killed")
                .on(platform)
                .help(CHECK.fix_hint()),
        ),
        None => Judgement::Pass(None),
    });
    let j = match judged {
        Ok(j) => j,
        Err(o) => return o,
    };
    if j.passed.is_empty() && j.fails.is_empty() && j.errors.is_empty() {
        return Outcome::skip(
            "nothing to stop: no platform was running at the end of the window (see EC402)",
        );
    }
    outcome(
        format!("stopped on SIGTERM: {}", j.passed.join(", ")),
        j.fails,
        j.errors,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{amd64, arm, healthy, judge, runtime};
    use crate::finding::Status;

    #[test]
    fn pass_fail_and_skip() {
        let rt = runtime(vec![healthy(amd64()), healthy(arm())]);
        let o = judge(&CHECK, Some(&rt));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(
            o.summary,
            "stopped on SIGTERM: linux/amd64 in 120 ms, linux/arm/v7 in 120 ms"
        );

        let mut stubborn = healthy(amd64());
        stubborn.stopped_on_sigterm = Some(false);
        stubborn.stop_ms = None;
        let o = judge(&CHECK, Some(&runtime(vec![stubborn, healthy(arm())])));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings[0].platform.as_deref(), Some("linux/amd64"));
        assert!(o.findings[0].help.as_deref().unwrap().contains("trap"));

        let mut gone = vec![healthy(amd64()), healthy(arm())];
        for r in &mut gone {
            r.running_at_end = false;
            r.stopped_on_sigterm = None;
        }
        let o = judge(&CHECK, Some(&runtime(gone)));
        assert_eq!(o.status, Status::Skip, "{o:?}");
        assert_eq!(judge(&CHECK, None).summary, "not run (--no-run)");
    }

    #[test]
    fn is_a_warning_by_default() {
        assert_eq!(CHECK.severity, Severity::Warning);
    }
}

//! # EC402 stays-running
//!
//! ## What it checks
//! In the ingestion test, each platform's container is still running at the end of the
//! observation window (30 s by default, `--run-window`): it did not exit, was not restarted
//! and was not OOM-killed. A failing platform's finding carries its exit code, the OOM flag
//! and the last 50 log lines.
//!
//! ## Why it matters
//! IoT Edge modules are long-running services. One that exits with its defaults crash-loops on
//! every device it is deployed to (edgeAgent restarts it with back-off), and customers see an
//! unhealthy deployment.
//!
//! ## Example
//! `linux/arm/v7: exited with code 1 during the 30 s window (OOM-killed: no, restarts: 0);
//! last 2 log lines: ... connection string missing`.
//!
//! ## How to fix
//! Read the log tail. Modules must start without anything a partner's customer has not been
//! told to provide: fall back to sane defaults, wait and retry for the IoT Edge hub rather than
//! exiting, and never exit while idle.

use super::ingestion::{Judgement, judge, log_tail, outcome};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC402",
    name: "stays-running",
    title: "Each platform is still running at the end of the window",
    area: Area::Runtime,
    severity: Severity::Blocking,
    runtime: true,
    source: include_str!("ec402_stays_running.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let mut window = 0;
    let judged = judge(cx, |platform, r| {
        window = window.max(r.window_secs);
        if !r.started {
            return Judgement::Fail(Finding::new("it never ran (see EC401)").on(platform));
        }
        // What the module did with the runtime's stand-ins, when it used them: evidence
        // that it works as a module, not only as a process.
        let hub = r.hub.as_ref().filter(|h| h.touched()).map(|h| h.summary());
        if r.running_at_end && r.restart_count == 0 && !r.oom_killed {
            return Judgement::Pass(hub.map(|h| format!("{platform}: {h}")));
        }
        let what = if r.oom_killed {
            "was OOM-killed".to_owned()
        } else if let Some(code) = r.exit_code.filter(|_| !r.running_at_end) {
            format!("exited with code {code}")
        } else if r.running_at_end {
            "was restarted".to_owned()
        } else {
            format!(
                "is not running ({})",
                r.states
                    .last()
                    .map(String::as_str)
                    .unwrap_or("unknown state")
            )
        };
        let exit = r
            .exit_code
            .map(|c| format!("exit code {c}, "))
            .unwrap_or_default();
        Judgement::Fail(
            Finding::new(format!(
                "{what} during the {} s window ({exit}OOM-killed: {}, restarts: {}){}{}",
                r.window_secs,
                if r.oom_killed { "yes" } else { "no" },
                r.restart_count,
                hub.map(|h| format!("; {h}")).unwrap_or_default(),
                log_tail(&r.log_tail)
            ))
            .on(platform)
            .help(CHECK.fix_hint()),
        )
    });
    match judged {
        Ok(j) => {
            let mut summary = format!("still running after {window} s on every platform");
            if !j.passed.is_empty() {
                summary.push_str(&format!(" — {}", j.passed.join("; ")));
            }
            outcome(summary, j.fails, j.errors)
        }
        Err(o) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{amd64, arm, healthy, judge, runtime};
    use crate::finding::Status;

    #[test]
    fn pass_when_running_at_the_end() {
        let rt = runtime(vec![healthy(amd64()), healthy(arm())]);
        let o = judge(&CHECK, Some(&rt));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.summary, "still running after 30 s on every platform");
    }

    #[test]
    fn what_the_module_did_with_the_stand_ins_is_in_the_summary_and_the_finding() {
        let mut amd = healthy(amd64());
        amd.hub = Some(crate::facts::HubFacts {
            connected_after_ms: Some(1400),
            client_type: Some("azure-iot-device-iothub-py/2.14.0(3.11;Linux;x86_64)c.t.s".into()),
            twin_reads: 1,
            outputs: [("output1".to_owned(), 12)].into(),
            workload_calls: vec!["GET /trust-bundle → 200".into()],
            ..Default::default()
        });
        let mut arm_run = healthy(arm());
        // Untouched stand-ins (a module without an SDK) add nothing.
        arm_run.hub = Some(crate::facts::HubFacts::default());
        let o = judge(&CHECK, Some(&runtime(vec![amd.clone(), arm_run])));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(
            o.summary,
            "still running after 30 s on every platform — linux/amd64: connected to edgeHub over \
             MQTT after 1.4 s as `azure-iot-device-iothub-py/2.14.0(3.11;Linux;x86_64)c.t.s`; \
             read its twin; sent 12 message(s) on `output1`; workload API: GET /trust-bundle → 200"
        );
        // A module that never connected and exited: said in its finding.
        amd.running_at_end = false;
        amd.exit_code = Some(1);
        amd.log_tail = Vec::new();
        amd.hub = Some(crate::facts::HubFacts {
            refused: vec!["the SAS token expired".into()],
            ..Default::default()
        });
        let o = judge(&CHECK, Some(&runtime(vec![amd])));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.findings[0]
                .message
                .contains("never connected to edgeHub; refused: the SAS token expired"),
            "{:?}",
            o.findings
        );
    }

    #[test]
    fn a_crash_fails_with_exit_code_oom_flag_and_log_tail() {
        let mut crashed = healthy(arm());
        crashed.running_at_end = false;
        crashed.exit_code = Some(3);
        crashed.stopped_on_sigterm = None;
        crashed.log_tail = vec!["starting".into(), "boom: no config".into()];
        let o = judge(&CHECK, Some(&runtime(vec![healthy(amd64()), crashed])));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings.len(), 1);
        let f = &o.findings[0];
        assert_eq!(f.platform.as_deref(), Some("linux/arm/v7"));
        assert_eq!(
            f.message,
            "exited with code 3 during the 30 s window (exit code 3, OOM-killed: no, \
             restarts: 0); last 2 log lines:\n    starting\n    boom: no config"
        );
    }

    #[test]
    fn oom_kills_and_restarts_fail() {
        let mut oom = healthy(amd64());
        oom.running_at_end = false;
        oom.oom_killed = true;
        oom.exit_code = Some(137);
        let mut restarted = healthy(arm());
        restarted.restart_count = 2;
        let o = judge(&CHECK, Some(&runtime(vec![oom, restarted])));
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.starts_with("was OOM-killed"), "{o:?}");
        assert!(o.findings[0].message.contains("OOM-killed: yes"));
        assert!(o.findings[1].message.starts_with("was restarted"), "{o:?}");
        assert!(o.findings[1].message.contains("restarts: 2"));
    }

    #[test]
    fn no_run_skips() {
        assert_eq!(judge(&CHECK, None).status, Status::Skip);
    }
}

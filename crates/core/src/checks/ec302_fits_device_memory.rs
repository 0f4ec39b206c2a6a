//! # EC302 fits-device-memory
//!
//! ## What it checks
//! In the ingestion test each platform runs under a memory limit of `device.minMemoryMiB`
//! when the offer declares it, else the device profile's memory (Raspberry Pi class: 512 MiB),
//! or a lower `HostConfig.Memory` from createOptions; swap is included (`MemorySwap` =
//! `Memory`). It must not be OOM-killed. The limit used and the peak memory seen are reported.
//!
//! ## Why it matters
//! Any device with the dimensions of a Raspberry Pi can be an IoT Edge device, and it runs the
//! IoT Edge runtime and other modules too. A module that needs more memory must say so in its
//! description so customers can size their devices.
//!
//! ## Example
//! `linux/amd64: OOM-killed under a memory limit of 512 MiB (peak seen 511.9 MiB)`.
//!
//! ## How to fix
//! Bound caches, buffers and heap sizes (for JVM and .NET modules set the heap limit from the
//! container limit), or declare `device.minMemoryMiB` in the offer.

use super::ingestion::{Judgement, judge, outcome};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC302",
    name: "fits-device-memory",
    title: "Each platform runs within the device memory budget",
    area: Area::Device,
    severity: Severity::Blocking,
    runtime: true,
    source: include_str!("ec302_fits_device_memory.rs"),
    run,
};

const MIB: f64 = 1024.0 * 1024.0;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB)
}

fn run(cx: &Context<'_>) -> Outcome {
    let mut limits: Vec<String> = Vec::new();
    let judged = judge(cx, |platform, r| {
        let limit = mib(r.memory_limit_bytes);
        if !limits.contains(&limit) {
            limits.push(limit.clone());
        }
        let peak = r.peak_memory_bytes.map(mib);
        if r.oom_killed {
            let seen = peak
                .map(|p| format!("peak seen {p}"))
                .unwrap_or_else(|| "killed before the first memory sample".to_owned());
            Judgement::Fail(
                Finding::new(format!(
                    "OOM-killed under a memory limit of {limit} ({seen})"
                ))
                .on(platform)
                .help(CHECK.fix_hint()),
            )
        } else if !r.started {
            Judgement::Error(Finding::new("not measured: it did not run (see EC401)").on(platform))
        } else {
            Judgement::Pass(Some(format!(
                "{platform} {}",
                peak.unwrap_or_else(|| "not measured".to_owned())
            )))
        }
    });
    match judged {
        Ok(j) => outcome(
            format!("peak {} (limit {})", j.passed.join(", "), limits.join(", ")),
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
    fn reports_limit_and_peak() {
        let rt = runtime(vec![healthy(amd64()), healthy(arm())]);
        let o = judge(&CHECK, Some(&rt));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(
            o.summary,
            "peak linux/amd64 3.0 MiB, linux/arm/v7 3.0 MiB (limit 512.0 MiB)"
        );
    }

    #[test]
    fn oom_kill_fails() {
        let mut oom = healthy(arm());
        oom.oom_killed = true;
        oom.running_at_end = false;
        oom.peak_memory_bytes = None;
        let o = judge(&CHECK, Some(&runtime(vec![healthy(amd64()), oom])));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].message,
            "OOM-killed under a memory limit of 512.0 MiB (killed before the first memory sample)"
        );
        assert_eq!(o.findings[0].platform.as_deref(), Some("linux/arm/v7"));
    }

    #[test]
    fn not_run_is_never_a_pass() {
        assert_eq!(judge(&CHECK, None).status, Status::Skip);
        let mut never = healthy(amd64());
        never.started = false;
        let o = judge(&CHECK, Some(&runtime(vec![never, healthy(arm())])));
        assert_eq!(o.status, Status::Error, "{o:?}");
    }
}

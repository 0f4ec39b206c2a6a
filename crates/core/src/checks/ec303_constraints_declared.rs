//! # EC303 constraints-declared
//!
//! ## What it checks
//! When the default createOptions asks for more than the device profile offers, the offer's
//! `device` section says so: host devices (`HostConfig.Devices`, `DeviceCgroupRules`) need
//! `device.notes`; a GPU (`DeviceRequests` for a GPU, or the `nvidia` runtime) needs
//! `device.gpu: true`; a memory limit above the profile (512 MiB by default) needs
//! `device.minMemoryMiB` at least that large; a CPU limit above the profile's cores needs
//! `device.minCpus` at least that many.
//!
//! ## Why it matters
//! Customers size devices from the listing. A module that only runs with a serial port, a GPU
//! or 2 GiB of memory must say so, or it fails on the Raspberry Pi class devices the
//! certification assumes.
//!
//! ## Example
//! `"HostConfig": {"Memory": 2147483648}` without `device.minMemoryMiB` gives
//! `HostConfig.Memory allows 2048 MiB, more than the profile's 512 MiB; declare device.minMemoryMiB`.
//!
//! ## How to fix
//! Add a `device` section to the offer: `notes` naming the devices the module needs, `gpu: true`,
//! `minMemoryMiB` and `minCpus` matching the limits in createOptions; or lower the limits.

use edgecert_edge::create_options::analysis::{self, DeviceKind};

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC303",
    name: "constraints-declared",
    title: "Device requirements in createOptions are declared in the offer",
    area: Area::Device,
    severity: Severity::Warning,
    runtime: false,
    source: include_str!("ec303_constraints_declared.rs"),
    run,
};

const MIB: u64 = 1024 * 1024;

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: nothing beyond the device profile") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let device = cx.offer.device.clone().unwrap_or_default();
    let notes = device
        .notes
        .as_deref()
        .is_some_and(|n| !n.trim().is_empty());
    let mut missing = Vec::new();
    let mut declared = Vec::new();
    let need = |message: String, path: &str| {
        Finding::new(message)
            .at(location(path))
            .help(CHECK.fix_hint())
    };
    let devices = analysis::devices(&c.body);
    if let Some(d) = devices
        .iter()
        .find(|d| d.kind != DeviceKind::Request || !d.gpu)
    {
        if notes {
            declared.push("host devices (device.notes)".to_owned());
        } else {
            missing.push(need(
                format!(
                    "createOptions asks for host devices ({}); declare them in device.notes",
                    d.description
                ),
                &d.path,
            ));
        }
    }
    if let Some(path) = analysis::gpu_request(&c.body) {
        if device.gpu == Some(true) {
            declared.push("a GPU (device.gpu)".to_owned());
        } else {
            missing.push(need(
                "createOptions asks for a GPU; declare device.gpu: true".into(),
                &path,
            ));
        }
    }
    let resources = analysis::resources(&c.body);
    if let Some((path, bytes)) = resources.memory {
        let mib = bytes.unsigned_abs().div_ceil(MIB);
        let budget = cx.policy.device.memory_mib;
        if mib > budget {
            match device.min_memory_mib {
                Some(m) if m >= mib => declared.push(format!("{mib} MiB of memory")),
                _ => missing.push(need(
                    format!(
                        "{path} allows {mib} MiB, more than the profile's {budget} MiB; declare device.minMemoryMiB"
                    ),
                    &path,
                )),
            }
        }
    }
    if let Some((path, cpus)) = resources.cpus {
        let budget = cx.policy.device.cpus;
        if cpus > budget {
            match device.min_cpus {
                Some(m) if m >= cpus => declared.push(format!("{cpus} CPUs")),
                _ => missing.push(need(
                    format!(
                        "{path} allows {cpus} CPUs, more than the profile's {budget}; declare device.minCpus"
                    ),
                    &path,
                )),
            }
        }
    }
    if !missing.is_empty() {
        return Outcome::fail(
            "createOptions needs more than the device profile and the offer does not declare it",
            missing,
        );
    }
    if declared.is_empty() {
        Outcome::pass("createOptions fits the device profile")
    } else {
        Outcome::pass(format!("declared: {}", declared.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::{Value, json};

    fn with(co: Value, device: Option<Value>) -> Outcome {
        run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = co;
            if let Some(d) = device {
                v["device"] = d;
            }
        })
    }

    #[test]
    fn nothing_to_declare() {
        assert_eq!(with(json!({}), None).status, Status::Pass);
        let o = with(
            json!({"HostConfig": {"Memory": 268435456, "NanoCpus": 1000000000}}),
            None,
        );
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.summary, "createOptions fits the device profile");
        assert_eq!(with(json!("{nope"), None).status, Status::Skip);
    }

    #[test]
    fn devices_need_notes() {
        let co = json!({"HostConfig": {"Devices": [{"PathOnHost": "/dev/ttyUSB0"}]}});
        let o = with(co.clone(), None);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.Devices[0]")
        );
        let o = with(co, Some(json!({"notes": "Needs a serial port"})));
        assert_eq!(o.status, Status::Pass, "{o:?}");
    }

    #[test]
    fn gpus_need_gpu_true() {
        let co = json!({"HostConfig": {"DeviceRequests": [{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}]}});
        assert_eq!(with(co.clone(), None).status, Status::Fail);
        assert_eq!(with(co, Some(json!({"gpu": true}))).status, Status::Pass);
        let o = with(
            json!({"HostConfig": {"Runtime": "nvidia"}}),
            Some(json!({"gpu": false})),
        );
        assert_eq!(o.status, Status::Fail);
    }

    #[test]
    fn memory_and_cpus_beyond_the_profile() {
        let co = json!({"HostConfig": {"Memory": 2147483648i64, "CpuQuota": 600000, "CpuPeriod": 100000}});
        let o = with(co.clone(), None);
        assert_eq!(o.findings.len(), 2, "{o:?}");
        assert!(
            o.findings[0]
                .message
                .contains("2048 MiB, more than the profile's 512 MiB")
        );
        assert!(o.findings[1].message.contains("6 CPUs"));
        let o = with(
            co.clone(),
            Some(json!({"minMemoryMiB": 1024, "minCpus": 6})),
        );
        assert_eq!(o.findings.len(), 1, "{o:?}");
        let o = with(co, Some(json!({"minMemoryMiB": 2048, "minCpus": 8})));
        assert_eq!(o.status, Status::Pass);
        assert!(o.summary.contains("2048 MiB"));
    }
}

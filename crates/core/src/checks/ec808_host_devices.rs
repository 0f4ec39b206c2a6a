//! # EC808 host-devices
//!
//! ## What it checks
//! When the default createOptions gives the module host devices (`HostConfig.Devices`,
//! `DeviceCgroupRules`, `DeviceRequests`), the offer declares them: GPU requests in
//! `device.gpu`, everything else in `device.notes`; or `privileges.justification` explains
//! them. Declared or justified devices ask for review; undeclared ones fail.
//!
//! ## Why it matters
//! A device node is a direct line to host hardware and its kernel driver. Customers must know
//! which hardware the module touches before they deploy it, and a reviewer must agree the
//! access is as narrow as it can be (a cgroup rule like `c *:* rwm` opens every device).
//!
//! ## Example
//! `"Devices": [{"PathOnHost": "/dev/ttyUSB0"}]` without `device.notes` gives
//! `createOptions maps host device /dev/ttyUSB0 -> /dev/ttyUSB0 (rwm), not declared in device.notes`.
//!
//! ## How to fix
//! Map only the device nodes the module uses, with the narrowest permissions (`rw` rather than
//! `rwm`), and name them in `device.notes` (or set `device.gpu: true` for GPUs), or explain the
//! access in `privileges.justification`.

use edgecert_edge::create_options::analysis::{self, DeviceKind};

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC808",
    name: "host-devices",
    title: "Host devices are declared or justified",
    area: Area::Security,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec808_host_devices.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: no host devices") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let devices = analysis::devices(&c.body);
    if devices.is_empty() {
        return Outcome::pass("no host devices");
    }
    let device = cx.offer.device.clone().unwrap_or_default();
    let notes = device
        .notes
        .as_deref()
        .is_some_and(|n| !n.trim().is_empty());
    let gpu = device.gpu == Some(true);
    let justified = cx.offer.justification();
    let mut undeclared = 0;
    let findings: Vec<Finding> = devices
        .iter()
        .map(|d| {
            let (what, declared, field) = match d.kind {
                DeviceKind::Device => ("maps host device", notes, "device.notes"),
                DeviceKind::CgroupRule => ("allows devices by cgroup rule", notes, "device.notes"),
                DeviceKind::Request if d.gpu => ("requests GPU", gpu, "device.gpu"),
                DeviceKind::Request => ("requests devices", notes, "device.notes"),
            };
            let status = if declared {
                format!("declared in {field}")
            } else if justified.is_some() {
                format!("not declared in {field}, justified")
            } else {
                undeclared += 1;
                format!("not declared in {field}")
            };
            Finding::new(format!("createOptions {what} {}, {status}", d.description))
                .at(location(&d.path))
                .help(CHECK.fix_hint())
        })
        .collect();
    let n = devices.len();
    if undeclared > 0 {
        Outcome::fail(
            format!(
                "{undeclared} of {n} host device request(s) are neither declared nor justified"
            ),
            findings,
        )
    } else {
        Outcome::review(
            format!("{n} host device request(s), declared or justified"),
            findings,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::{Value, json};

    fn with(co: Value, edit: impl FnOnce(&mut Value)) -> Outcome {
        run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = co;
            edit(v);
        })
    }

    #[test]
    fn undeclared_devices_fail() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let co = json!({"HostConfig": {
            "Devices": [{"PathOnHost": "/dev/ttyUSB0", "PathInContainer": "/dev/ttyUSB0", "CgroupPermissions": "rwm"}],
            "DeviceCgroupRules": ["c 189:* rmw"]
        }});
        let o = with(co.clone(), |_| {});
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].message,
            "createOptions maps host device /dev/ttyUSB0 -> /dev/ttyUSB0 (rwm), not declared in device.notes"
        );
        assert_eq!(
            o.findings[1].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.DeviceCgroupRules[0]")
        );
        let o = with(co.clone(), |v| {
            v["device"] = json!({"notes": "Modbus RTU over USB serial."})
        });
        assert_eq!(o.status, Status::Review);
        let o = with(co, |v| {
            v["privileges"] = json!({"justification": "Talks to the PLC."})
        });
        assert_eq!(o.status, Status::Review);
    }

    #[test]
    fn gpus_are_declared_with_device_gpu() {
        let co = json!({"HostConfig": {"DeviceRequests": [{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}]}});
        assert_eq!(with(co.clone(), |_| {}).status, Status::Fail);
        let o = with(co.clone(), |v| v["device"] = json!({"notes": "A GPU."}));
        assert_eq!(o.status, Status::Fail, "a GPU is declared with device.gpu");
        let o = with(co, |v| v["device"] = json!({"gpu": true}));
        assert_eq!(o.status, Status::Review);
        assert!(
            o.findings[0]
                .message
                .contains("requests GPU nvidia gpu x all, declared in device.gpu")
        );
    }
}

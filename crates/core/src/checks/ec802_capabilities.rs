//! # EC802 capabilities
//!
//! ## What it checks
//! `HostConfig.CapAdd` in the default createOptions adds none of `ALL`, `SYS_ADMIN`,
//! `SYS_MODULE`, `SYS_RAWIO`, `SYS_PTRACE`, `SYS_BOOT`, `NET_ADMIN`, `DAC_READ_SEARCH`, `BPF`,
//! `PERFMON`, `MAC_ADMIN` (in any spelling Docker accepts: `sys_admin`, `CAP_SYS_ADMIN`). With a
//! justification it asks for review instead of failing. Other added capabilities are listed.
//!
//! ## Why it matters
//! These capabilities let a process load kernel modules, read raw memory and devices, trace
//! other processes, reconfigure the host network or bypass file permissions: each is a path out
//! of the container. Some IoT Edge devices strip `CapAdd` entirely.
//!
//! ## Example
//! `"HostConfig": {"CapAdd": ["SYS_ADMIN"]}` gives `createOptions adds capability SYS_ADMIN` at
//! `defaults.createOptions.HostConfig.CapAdd[0]`.
//!
//! ## How to fix
//! Drop the capability and use the narrow one the module needs (`NET_RAW` for raw sockets,
//! `NET_BIND_SERVICE` for low ports, `SYS_TIME` for the clock), or explain in
//! `privileges.justification` why it is needed.

use edgecert_edge::create_options::analysis;

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC802",
    name: "capabilities",
    title: "No dangerous Linux capabilities are added",
    area: Area::Security,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec802_capabilities.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: no capabilities added") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let caps = analysis::added_capabilities(&c.body);
    let mut dangerous = Vec::new();
    let mut others = Vec::new();
    for cap in &caps {
        if cap.dangerous {
            dangerous.push(
                Finding::new(format!("createOptions adds capability {}", cap.name))
                    .at(location(&cap.path))
                    .help(CHECK.fix_hint()),
            );
        } else {
            others.push(
                Finding::new(format!("note: adds capability {}", cap.name)).at(location(&cap.path)),
            );
        }
    }
    let names: Vec<&str> = caps.iter().map(|c| c.name.as_str()).collect();
    if dangerous.is_empty() {
        let summary = if names.is_empty() {
            "no capabilities added".to_owned()
        } else {
            format!("adds {}", names.join(", "))
        };
        return Outcome::pass(summary).with(others);
    }
    dangerous.extend(others);
    match cx.offer.justification() {
        Some(j) => Outcome::review(
            format!("adds {}, justified: {j}", names.join(", ")),
            dangerous,
        ),
        None => Outcome::fail(
            format!("adds dangerous capabilities: {}", names.join(", ")),
            dangerous,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    fn caps(list: serde_json::Value, justified: bool) -> Outcome {
        run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = json!({"HostConfig": {"CapAdd": list}});
            if justified {
                v["privileges"] = json!({"justification": "Configures the cellular modem."});
            }
        })
    }

    #[test]
    fn pass_fail_review() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let o = caps(json!(["NET_RAW", "SYS_TIME"]), false);
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.summary, "adds NET_RAW, SYS_TIME");
        assert_eq!(o.findings.len(), 2, "other capabilities are listed");
        let o = caps(json!(["NET_RAW", "cap_net_admin"]), false);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].message,
            "createOptions adds capability NET_ADMIN"
        );
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.CapAdd[1]")
        );
        assert_eq!(caps(json!(["ALL"]), true).status, Status::Review);
        for c in [
            "SYS_ADMIN",
            "SYS_MODULE",
            "SYS_RAWIO",
            "SYS_PTRACE",
            "SYS_BOOT",
            "DAC_READ_SEARCH",
            "BPF",
            "PERFMON",
            "MAC_ADMIN",
        ] {
            assert_eq!(caps(json!([c]), false).status, Status::Fail, "{c}");
        }
    }
}

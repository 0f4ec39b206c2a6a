//! # EC803 host-namespaces
//!
//! ## What it checks
//! The default createOptions does not share a namespace with the host: `HostConfig.NetworkMode`,
//! `PidMode`, `IpcMode`, `UTSMode`, `UsernsMode` and `CgroupnsMode` are not `host` (compared in
//! any case). With a justification it asks for review instead of failing.
//!
//! ## Why it matters
//! Host networking exposes every host interface and port and bypasses the `azure-iot-edge`
//! network; the host PID namespace shows (and lets the module signal) every process on the
//! device; host IPC, UTS, user and cgroup namespaces remove further walls between the module and
//! the device.
//!
//! ## Example
//! `"HostConfig": {"NetworkMode": "host"}` gives `createOptions shares the host's network
//! namespace (NetworkMode: host)`.
//!
//! ## How to fix
//! Remove the `host` modes: publish the ports the module serves with `PortBindings`, talk to
//! other modules over the `azure-iot-edge` network. If the module truly needs a host namespace
//! (a DHCP or mDNS service), explain why in `privileges.justification`.

use edgecert_edge::create_options::analysis;

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC803",
    name: "host-namespaces",
    title: "No namespace is shared with the host",
    area: Area::Security,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec803_host_namespaces.rs"),
    run,
};

fn namespace(field: &str) -> &'static str {
    match field {
        "NetworkMode" => "network",
        "PidMode" => "PID",
        "IpcMode" => "IPC",
        "UTSMode" => "UTS",
        "UsernsMode" => "user",
        _ => "cgroup",
    }
}

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: no host namespaces") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let shared = analysis::host_namespaces(&c.body);
    if shared.is_empty() {
        return Outcome::pass("no host namespaces");
    }
    let fields: Vec<&str> = shared.iter().map(|n| n.field).collect();
    let findings = shared
        .iter()
        .map(|n| {
            Finding::new(format!(
                "createOptions shares the host's {} namespace ({}: {})",
                namespace(n.field),
                n.field,
                n.value
            ))
            .at(location(&n.path))
            .help(CHECK.fix_hint())
        })
        .collect();
    match cx.offer.justification() {
        Some(j) => Outcome::review(
            format!("host namespaces ({}), justified: {j}", fields.join(", ")),
            findings,
        ),
        None => Outcome::fail(
            format!("shares host namespaces: {}", fields.join(", ")),
            findings,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn pass_fail_review() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let host = json!({"HostConfig": {"NetworkMode": "host", "PidMode": "host", "IpcMode": "private"},
                          "NetworkingConfig": {"EndpointsConfig": {"host": {}}}});
        let o = run_offer(&CHECK, |v| v["defaults"]["createOptions"] = host.clone());
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.summary, "shares host namespaces: NetworkMode, PidMode");
        assert_eq!(
            o.findings[0].message,
            "createOptions shares the host's network namespace (NetworkMode: host)"
        );
        assert_eq!(
            o.findings[1].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.PidMode")
        );
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = host.clone();
            v["privileges"] = json!({"justification": "Answers mDNS queries on the LAN."});
        });
        assert_eq!(o.status, Status::Review);
        for field in ["UTSMode", "UsernsMode", "CgroupnsMode"] {
            let o = run_offer(&CHECK, |v| {
                v["defaults"]["createOptions"] = json!({"HostConfig": {field: "host"}})
            });
            assert_eq!(o.status, Status::Fail, "{field}");
        }
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = json!({"HostConfig": {"NetworkMode": "bridge"}})
        });
        assert_eq!(o.status, Status::Pass);
    }
}

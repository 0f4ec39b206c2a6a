//! # EC810 host-ports
//!
//! ## What it checks
//! Host port bindings (`HostConfig.PortBindings`) in the default createOptions. A host port
//! below 1024, a port edgeHub publishes in the standard deployment (443, 5671, 8883) or a host
//! port Docker cannot parse is a warning. Every bound port is listed, as is
//! `PublishAllPorts`.
//!
//! ## Why it matters
//! Every published port is reachable from the device's network. Ports below 1024 are the
//! well-known services customers are least likely to expect a module to take; edgeHub already
//! publishes 443, 5671 and 8883, so a module binding them does not start next to it.
//!
//! ## Example
//! `"PortBindings": {"80/tcp": [{"HostPort": "80"}]}` gives
//! `80/tcp is published on host port 80, below 1024`.
//!
//! ## How to fix
//! Publish only the ports customers must reach from outside the device, on host ports of 1024
//! or more that edgeHub does not use (modules reach each other over the `azure-iot-edge`
//! network without any binding), and document them.

use edgecert_edge::create_options::analysis::{self, EDGEHUB_PORTS, HostPort};

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC810",
    name: "host-ports",
    title: "Host port bindings avoid well-known and edgeHub ports",
    area: Area::Security,
    severity: Severity::Warning,
    runtime: false,
    source: include_str!("ec810_host_ports.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: no host ports") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let ports = analysis::host_ports(&c.body);
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    for p in &ports {
        let at = location(&p.path);
        let ip = p
            .host_ip
            .as_deref()
            .map(|ip| format!(" on {ip}"))
            .unwrap_or_default();
        let what = format!(
            "{} is published on host port {}{ip}",
            p.container_port, p.host_port
        );
        let warn = |why: String| Finding::new(why).at(at.clone()).help(CHECK.fix_hint());
        if let HostPort::Invalid(_) = p.host_port {
            warnings.push(warn(format!(
                "{what}, which is not a port or range: Docker refuses it"
            )));
            continue;
        }
        if p.host_port.lowest().is_some_and(|l| l < 1024) {
            warnings.push(warn(format!("{what}, below 1024")));
        }
        if let Some(hub) = EDGEHUB_PORTS.iter().find(|h| p.host_port.covers(**h)) {
            warnings.push(warn(format!(
                "{what}, which edgeHub publishes ({hub}) in the standard deployment"
            )));
        }
        notes.push(Finding::new(format!("note: {what}")).at(at.clone()));
    }
    if let Some(path) = analysis::publishes_all_ports(&c.body) {
        notes.push(
            Finding::new(
                "note: PublishAllPorts publishes every exposed port on a random host port",
            )
            .at(location(path)),
        );
    }
    let summary = if ports.is_empty() {
        "no host ports bound".to_owned()
    } else {
        let list: Vec<String> = ports
            .iter()
            .map(|p| format!("{} -> {}", p.container_port, p.host_port))
            .collect();
        format!("host ports: {}", list.join(", "))
    };
    if warnings.is_empty() {
        Outcome::pass(summary).with(notes)
    } else {
        warnings.extend(notes);
        Outcome::fail(summary, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    fn ports(bindings: serde_json::Value) -> Outcome {
        run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = json!({"HostConfig": {"PortBindings": bindings}})
        })
    }

    #[test]
    fn high_ports_are_listed() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let o = ports(json!({"8080/tcp": [{"HostPort": "8080"}], "9000/udp": [{}]}));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.summary,
            "host ports: 8080/tcp -> 8080, 9000/udp -> a random port"
        );
        assert_eq!(o.findings.len(), 2);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.PortBindings.8080/tcp[0]")
        );
    }

    #[test]
    fn low_edgehub_and_invalid_ports_warn() {
        let o = ports(json!({"80/tcp": [{"HostPort": "80", "HostIp": "0.0.0.0"}]}));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].message,
            "80/tcp is published on host port 80 on 0.0.0.0, below 1024"
        );
        let o = ports(json!({"8883/tcp": [{"HostPort": "8883"}]}));
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.contains("edgeHub publishes (8883)"));
        let o = ports(json!({"443/tcp": [{"HostPort": "400-500"}]}));
        assert_eq!(o.findings.iter().filter(|f| f.help.is_some()).count(), 2);
        let o = ports(json!({"9/tcp": [{"HostPort": "http"}]}));
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.contains("Docker refuses it"));
    }

    #[test]
    fn publish_all_ports_is_noted() {
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = json!({"HostConfig": {"PublishAllPorts": true}})
        });
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.findings.len(), 1);
    }
}

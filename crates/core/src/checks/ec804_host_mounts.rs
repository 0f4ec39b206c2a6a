//! # EC804 host-mounts
//!
//! ## What it checks
//! The default createOptions mounts no container engine socket (`docker.sock`,
//! `containerd.sock`, `podman.sock` anywhere, any `*.sock` under `/var/run` or `/run`, the
//! Windows `docker_engine` pipe) through `HostConfig.Binds` or `HostConfig.Mounts`: that fails
//! even with a justification. Sensitive host paths (`/`, `/etc`, `/proc`, `/sys`, `/dev`,
//! `/boot`, `/root`, `/home`, `/var/lib/docker`, `/var/lib/aziot`, `/var/run`, `/run`, anything
//! below them, or a directory containing one, such as `/var`) fail, or ask for review with a
//! justification. Other host paths are listed. Named volumes are not host paths.
//!
//! ## Why it matters
//! Access to the container engine's socket is root on the host: the module can start a
//! privileged container. Sensitive paths expose host configuration, identity keys
//! (`/var/lib/aziot`), other containers' data, kernel interfaces and devices.
//!
//! ## Example
//! `"Binds": ["/var/run/docker.sock:/var/run/docker.sock"]` gives
//! `createOptions mounts the container engine socket /var/run/docker.sock`.
//!
//! ## How to fix
//! Never mount an engine socket. Keep module data in a named volume (`"Binds":
//! ["mydata:/data"]`) or a dedicated host directory such as `/var/lib/<module>`; ask for single
//! devices with `HostConfig.Devices` instead of mounting `/dev`. If a sensitive path is truly
//! needed, mount the narrowest path read-only and explain why in `privileges.justification`.

use edgecert_edge::create_options::analysis::{self, HostPathKind, Relation};

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC804",
    name: "host-mounts",
    title: "No engine socket or sensitive host path is mounted",
    area: Area::Security,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec804_host_mounts.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: no host mounts") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let mounts = analysis::host_mounts(&c.body);
    let (mut sockets, mut sensitive, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for m in &mounts {
        let ro = if m.read_only { " read-only" } else { "" };
        let at = location(&m.path);
        match &m.kind {
            HostPathKind::EngineSocket => sockets.push(
                Finding::new(format!(
                    "createOptions mounts the container engine socket {}",
                    m.source
                ))
                .at(at)
                .help(CHECK.fix_hint()),
            ),
            HostPathKind::Sensitive { listed, relation } => {
                let how = match relation {
                    Relation::Itself => String::new(),
                    Relation::Below => format!(", which is below {listed}"),
                    Relation::Contains => format!(", which contains {listed}"),
                };
                sensitive.push(
                    Finding::new(format!(
                        "createOptions mounts the sensitive host path {}{ro}{how}",
                        m.source
                    ))
                    .at(at)
                    .help(CHECK.fix_hint()),
                );
            }
            HostPathKind::CustomerInput => notes.push(
                Finding::new(format!(
                    "needs customer input: host path {} mounted at {}",
                    m.source, m.target
                ))
                .at(at),
            ),
            HostPathKind::Other => notes.push(
                Finding::new(format!(
                    "note: mounts host path {} at {}{ro}",
                    m.source, m.target
                ))
                .at(at),
            ),
        }
    }
    if !sockets.is_empty() {
        sockets.extend(sensitive);
        sockets.extend(notes);
        return Outcome::fail(
            "mounts a container engine socket (root on the host; a justification does not help)",
            sockets,
        );
    }
    if !sensitive.is_empty() {
        let n = sensitive.len();
        sensitive.extend(notes);
        return match cx.offer.justification() {
            Some(j) => Outcome::review(
                format!("mounts {n} sensitive host path(s), justified: {j}"),
                sensitive,
            ),
            None => Outcome::fail(format!("mounts {n} sensitive host path(s)"), sensitive),
        };
    }
    let summary = if mounts.is_empty() {
        "no host paths mounted".to_owned()
    } else {
        format!("mounts {} host path(s), none sensitive", mounts.len())
    };
    Outcome::pass(summary).with(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::{Value, json};

    fn with(co: Value, justified: bool) -> Outcome {
        run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = co;
            if justified {
                v["privileges"] = json!({"justification": "Reads the host's CA bundle."});
            }
        })
    }

    #[test]
    fn engine_sockets_fail_even_when_justified() {
        for co in [
            json!({"HostConfig": {"Binds": ["/var/run/docker.sock:/var/run/docker.sock"]}}),
            json!({"HostConfig": {"Mounts": [{"Type": "bind", "Source": "/run/containerd/containerd.sock", "Target": "/c.sock"}]}}),
            json!({"HostConfig": {"Binds": ["/var/run/iotedge/mgmt.sock:/mgmt.sock:ro"]}}),
        ] {
            let o = with(co.clone(), true);
            assert_eq!(o.status, Status::Fail, "{co}");
            assert!(o.findings[0].message.contains("engine socket"));
        }
    }

    #[test]
    fn sensitive_paths_fail_or_review() {
        let co = json!({"HostConfig": {"Binds": ["/etc/ssl/certs:/certs:ro", "mydata:/data", "/var/lib/mymodule:/state"]}});
        let o = with(co.clone(), false);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].message,
            "createOptions mounts the sensitive host path /etc/ssl/certs read-only, which is below /etc"
        );
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.Binds[0]")
        );
        assert_eq!(
            o.findings[1].message,
            "note: mounts host path /var/lib/mymodule at /state"
        );
        assert_eq!(with(co, true).status, Status::Review);
        let o = with(json!({"HostConfig": {"Binds": ["/var:/hostvar"]}}), false);
        assert!(
            o.findings[0]
                .message
                .contains("which contains /var/lib/docker"),
            "{o:?}"
        );
    }

    #[test]
    fn other_paths_and_placeholders_pass() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let o = with(
            json!({"HostConfig": {"Binds": ["/data/avro:/avro", "<DATA_DIR>:/data", "vol:/v"]}}),
            false,
        );
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.summary, "mounts 2 host path(s), none sensitive");
        assert_eq!(
            o.findings[1].message,
            "needs customer input: host path <DATA_DIR> mounted at /data"
        );
    }
}

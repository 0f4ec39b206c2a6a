//! Least-privilege analysis of a parsed createOptions: what the EC8xx security checks and EC303
//! (device constraints) judge. Each helper returns plain data with the JSON path of what it
//! found, in document order (maps sorted by key), so the checks only decide severity.
//!
//! Host paths are compared after lexical cleaning (`//`, `.`, `..`, trailing `/`), as Docker
//! cleans bind sources. A mount is *sensitive* when its source is one of the listed host
//! paths, lies below one (`/etc/ssl` exposes the host's trust store, `/dev/ttyUSB0` is a
//! device, `/var/lib/aziot/keyd` holds identity keys), or contains one (`/var` contains
//! `/var/run` and `/var/lib/docker`); `/` itself counts only as itself. Read-only does not
//! make a sensitive mount harmless (reading keys is the harm), so it is reported, not excused.
//! Namespace modes are compared case-insensitively although Docker only honours lower-case
//! `host`: `"Host"` is either a mistake or a network named like the host mode, and a reviewer
//! should see both.
//!
//! Deliberately absent: severities, justification and device declarations (the checks own
//! those), and anything about the image.

mod devices;
mod mounts;
mod ports;

use bollard_stubs::models::{ContainerCreateBody, HostConfig, HostConfigCgroupnsModeEnum};
use serde_json::Value;

use super::de::join;

pub use devices::{DeviceKind, DeviceUse, Resources, devices, gpu_request, resources};
pub use mounts::{
    ENGINE_SOCKETS, HostMount, HostPathKind, Relation, SENSITIVE_HOST_PATHS, classify_host_path,
    clean_path, host_mounts,
};
pub use ports::{EDGEHUB_PORTS, HostPort, PortBindingInfo, host_ports, publishes_all_ports};

/// Capabilities that make escaping the container or controlling the host practical
/// (`checks.md` EC802). Names are normalised: upper case, without `CAP_`.
pub const DANGEROUS_CAPABILITIES: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_PTRACE",
    "SYS_BOOT",
    "NET_ADMIN",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
];

pub(super) fn host(b: &ContainerCreateBody) -> Option<&HostConfig> {
    b.host_config.as_ref()
}

/// `HostConfig.Privileged` when it is true.
pub fn privileged(b: &ContainerCreateBody) -> Option<&'static str> {
    (host(b)?.privileged == Some(true)).then_some("HostConfig.Privileged")
}

/// One entry of `HostConfig.CapAdd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub path: String,
    /// As written.
    pub written: String,
    /// Normalised: `SYS_ADMIN` for `cap_sys_admin`.
    pub name: String,
    pub dangerous: bool,
}

/// Docker accepts `sys_admin`, `SYS_ADMIN` and `CAP_SYS_ADMIN` alike.
pub fn normalize_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned()
}

pub fn added_capabilities(b: &ContainerCreateBody) -> Vec<Capability> {
    let Some(caps) = host(b).and_then(|h| h.cap_add.as_ref()) else {
        return Vec::new();
    };
    caps.iter()
        .enumerate()
        .map(|(i, c)| {
            let name = normalize_capability(c);
            Capability {
                path: format!("HostConfig.CapAdd[{i}]"),
                written: c.clone(),
                dangerous: DANGEROUS_CAPABILITIES.contains(&name.as_str()),
                name,
            }
        })
        .collect()
}

/// A namespace shared with the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostNamespace {
    pub path: String,
    /// `NetworkMode`, `PidMode`, `IpcMode`, `UTSMode`, `UsernsMode` or `CgroupnsMode`.
    pub field: &'static str,
    pub value: String,
}

pub fn host_namespaces(b: &ContainerCreateBody) -> Vec<HostNamespace> {
    let Some(h) = host(b) else {
        return Vec::new();
    };
    let modes: [(&'static str, Option<&str>); 5] = [
        ("NetworkMode", h.network_mode.as_deref()),
        ("PidMode", h.pid_mode.as_deref()),
        ("IpcMode", h.ipc_mode.as_deref()),
        ("UTSMode", h.uts_mode.as_deref()),
        ("UsernsMode", h.userns_mode.as_deref()),
    ];
    let mut out: Vec<HostNamespace> = modes
        .into_iter()
        .filter_map(|(field, v)| {
            let v = v?;
            v.trim()
                .eq_ignore_ascii_case("host")
                .then(|| HostNamespace {
                    path: format!("HostConfig.{field}"),
                    field,
                    value: v.to_owned(),
                })
        })
        .collect();
    if h.cgroupns_mode == Some(HostConfigCgroupnsModeEnum::HOST) {
        out.push(HostNamespace {
            path: "HostConfig.CgroupnsMode".into(),
            field: "CgroupnsMode",
            value: "host".into(),
        });
    }
    out
}

/// One `SecurityOpt` entry (or an emptied `MaskedPaths`/`ReadonlyPaths`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityOption {
    pub path: String,
    pub value: String,
    /// What it switches off, when it switches confinement off.
    pub disables: Option<&'static str>,
}

/// Docker accepts `key=value` and the legacy `key:value`.
fn split_option(opt: &str) -> (String, String) {
    let at = opt.find(['=', ':']).unwrap_or(opt.len());
    let key = opt[..at].trim().to_ascii_lowercase();
    let value = opt.get(at + 1..).unwrap_or("").trim().to_ascii_lowercase();
    (key, value)
}

pub fn security_options(b: &ContainerCreateBody) -> Vec<SecurityOption> {
    let mut out = Vec::new();
    let Some(h) = host(b) else {
        return out;
    };
    for (i, opt) in h.security_opt.iter().flatten().enumerate() {
        let (key, value) = split_option(opt);
        let disables = match (key.as_str(), value.as_str()) {
            ("seccomp", "unconfined") => Some("seccomp filtering"),
            ("apparmor", "unconfined") => Some("AppArmor confinement"),
            ("label", "disable") => Some("SELinux labelling"),
            ("label", v) if v.starts_with("type:spc_t") => Some("SELinux confinement (spc_t)"),
            ("systempaths", "unconfined") => Some("masking of /proc and /sys paths"),
            _ => None,
        };
        out.push(SecurityOption {
            path: format!("HostConfig.SecurityOpt[{i}]"),
            value: opt.clone(),
            disables,
        });
    }
    // An explicit empty list replaces Docker's defaults: the same as systempaths=unconfined.
    for (field, list) in [
        ("MaskedPaths", &h.masked_paths),
        ("ReadonlyPaths", &h.readonly_paths),
    ] {
        if list.as_ref().is_some_and(Vec::is_empty) {
            out.push(SecurityOption {
                path: format!("HostConfig.{field}"),
                value: format!("{field}: []"),
                disables: Some("masking of /proc and /sys paths"),
            });
        }
    }
    out
}

/// Labels under the prefix the runtime reserves for its own bookkeeping.
pub const RESERVED_LABEL_PREFIX: &str = "net.azure-devices.edge.";

/// `(path, label)` of every label under [`RESERVED_LABEL_PREFIX`], sorted.
pub fn reserved_labels(b: &ContainerCreateBody) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = b
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(RESERVED_LABEL_PREFIX))
        .map(|(k, _)| (join("Labels", k), k.clone()))
        .collect();
    out.sort();
    out
}

/// `(path, string)` of every string value in a createOptions object, in document order.
pub fn strings(json: &serde_json::Map<String, Value>) -> Vec<(String, &str)> {
    fn walk<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
        match v {
            Value::String(s) => out.push((path, s)),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{path}[{i}]"), out);
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    walk(item, join(&path, k), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in json {
        walk(v, k.clone(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(v: Value) -> ContainerCreateBody {
        crate::create_options::parse(&v).unwrap().unwrap().body
    }

    #[test]
    fn privileged_and_capabilities() {
        let b = body(
            json!({"HostConfig": {"Privileged": true, "CapAdd": ["cap_sys_admin", "NET_RAW", "ALL"]}}),
        );
        assert_eq!(privileged(&b), Some("HostConfig.Privileged"));
        let caps = added_capabilities(&b);
        assert_eq!(
            caps.iter()
                .map(|c| (c.name.as_str(), c.dangerous))
                .collect::<Vec<_>>(),
            [("SYS_ADMIN", true), ("NET_RAW", false), ("ALL", true)]
        );
        assert_eq!(caps[1].path, "HostConfig.CapAdd[1]");
        assert_eq!(
            privileged(&body(json!({"HostConfig": {"Privileged": false}}))),
            None
        );
        assert_eq!(privileged(&body(json!({"User": "1000"}))), None);
    }

    #[test]
    fn namespaces() {
        let b = body(json!({"HostConfig": {
            "NetworkMode": "host", "PidMode": "container:abc", "IpcMode": "Host",
            "UTSMode": "", "UsernsMode": "host", "CgroupnsMode": "host"
        }}));
        let fields: Vec<&str> = host_namespaces(&b).iter().map(|n| n.field).collect();
        assert_eq!(
            fields,
            ["NetworkMode", "IpcMode", "UsernsMode", "CgroupnsMode"]
        );
        assert!(
            host_namespaces(&body(
                json!({"HostConfig": {"NetworkMode": "bridge", "CgroupnsMode": "private"}})
            ))
            .is_empty()
        );
    }

    #[test]
    fn security_opts() {
        let b = body(json!({"HostConfig": {
            "SecurityOpt": ["seccomp=unconfined", "apparmor:unconfined", "label=disable",
                            "systempaths=unconfined", "no-new-privileges", "label=type:spc_t",
                            "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"],
            "MaskedPaths": []
        }}));
        let s = security_options(&b);
        let disabled: Vec<bool> = s.iter().map(|o| o.disables.is_some()).collect();
        assert_eq!(disabled, [true, true, true, true, false, true, false, true]);
        assert_eq!(s[7].path, "HostConfig.MaskedPaths");
    }

    #[test]
    fn labels_and_strings() {
        let c = crate::create_options::parse(&json!({
            "Labels": {"net.azure-devices.edge.owner": "me", "com.example": "x"},
            "Env": ["HOST=<MQTT_BROKER_HOST>"]
        }))
        .unwrap()
        .unwrap();
        assert_eq!(
            reserved_labels(&c.body),
            [(
                "Labels.net.azure-devices.edge.owner".to_owned(),
                "net.azure-devices.edge.owner".to_owned()
            )]
        );
        let s = strings(&c.json);
        assert_eq!(s[2], ("Env[0]".to_owned(), "HOST=<MQTT_BROKER_HOST>"));
    }
}

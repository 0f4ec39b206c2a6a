//! Host port bindings: what EC810 judges. Exposed ports without a binding are not host ports
//! and are left out; `PublishAllPorts` is reported as a flag, since the ports it picks are
//! only known at run time.

use bollard_stubs::models::ContainerCreateBody;

use super::host;
use crate::create_options::de::join;

/// Host ports edgeHub publishes in the standard deployment (AMQPS, MQTTS, HTTPS/WebSockets).
pub const EDGEHUB_PORTS: &[u16] = &[443, 5671, 8883];

/// The host side of a port binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPort {
    /// No or empty `HostPort` (or `0`): Docker picks a free port.
    Random,
    Port(u16),
    Range(u16, u16),
    /// Not a port or range: Docker refuses to create the container.
    Invalid(String),
}

impl HostPort {
    pub fn parse(s: Option<&str>) -> HostPort {
        let s = s.unwrap_or("").trim();
        let port = |p: &str| p.parse::<u16>().ok();
        if s.is_empty() || s == "0" {
            return HostPort::Random;
        }
        if let Some(p) = port(s) {
            return HostPort::Port(p);
        }
        match s.split_once('-').map(|(a, b)| (port(a), port(b))) {
            Some((Some(lo), Some(hi))) if lo <= hi && lo > 0 => HostPort::Range(lo, hi),
            _ => HostPort::Invalid(s.to_owned()),
        }
    }

    /// Lowest concrete port, when there is one.
    pub fn lowest(&self) -> Option<u16> {
        match self {
            HostPort::Port(p) => Some(*p),
            HostPort::Range(lo, _) => Some(*lo),
            _ => None,
        }
    }

    /// Whether this binding includes `port`.
    pub fn covers(&self, port: u16) -> bool {
        match self {
            HostPort::Port(p) => *p == port,
            HostPort::Range(lo, hi) => (*lo..=*hi).contains(&port),
            _ => false,
        }
    }
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostPort::Random => f.write_str("a random port"),
            HostPort::Port(p) => write!(f, "{p}"),
            HostPort::Range(lo, hi) => write!(f, "{lo}-{hi}"),
            HostPort::Invalid(s) => write!(f, "{s:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBindingInfo {
    /// `HostConfig.PortBindings.8080/tcp[0]`.
    pub path: String,
    /// `8080/tcp`.
    pub container_port: String,
    pub host_ip: Option<String>,
    pub host_port: HostPort,
}

/// Every host port binding, sorted by container port.
pub fn host_ports(b: &ContainerCreateBody) -> Vec<PortBindingInfo> {
    let Some(ports) = host(b).and_then(|h| h.port_bindings.as_ref()) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = ports.keys().collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        for (i, pb) in ports[key].iter().flatten().enumerate() {
            out.push(PortBindingInfo {
                path: format!("{}[{i}]", join("HostConfig.PortBindings", key)),
                container_port: key.clone(),
                host_ip: pb.host_ip.clone().filter(|s| !s.is_empty()),
                host_port: HostPort::parse(pb.host_port.as_deref()),
            });
        }
    }
    out
}

/// `HostConfig.PublishAllPorts` when true: every exposed port on a random host port.
pub fn publishes_all_ports(b: &ContainerCreateBody) -> Option<&'static str> {
    (host(b)?.publish_all_ports == Some(true)).then_some("HostConfig.PublishAllPorts")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(v: Value) -> ContainerCreateBody {
        crate::create_options::parse(&v).unwrap().unwrap().body
    }

    #[test]
    fn ports() {
        let b = body(json!({"HostConfig": {"PortBindings": {
            "8080/tcp": [{"HostPort": "8080"}],
            "443/tcp": [{"HostPort": "443", "HostIp": "127.0.0.1"}],
            "53/udp": [{"HostPort": ""}, {"HostPort": "5000-5010"}],
            "9/tcp": [{"HostPort": "http"}],
            "1/tcp": null
        }}, "ExposedPorts": {"8080/tcp": {}}}));
        let p = host_ports(&b);
        let got: Vec<(&str, String)> = p
            .iter()
            .map(|p| (p.path.as_str(), p.host_port.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("HostConfig.PortBindings.443/tcp[0]", "443".to_owned()),
                (
                    "HostConfig.PortBindings.53/udp[0]",
                    "a random port".to_owned()
                ),
                ("HostConfig.PortBindings.53/udp[1]", "5000-5010".to_owned()),
                ("HostConfig.PortBindings.8080/tcp[0]", "8080".to_owned()),
                ("HostConfig.PortBindings.9/tcp[0]", "\"http\"".to_owned()),
            ]
        );
        assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert!(HostPort::parse(Some("5000-5010")).covers(5005));
        assert_eq!(
            HostPort::parse(Some("10-5")),
            HostPort::Invalid("10-5".into())
        );
        assert_eq!(
            HostPort::parse(Some("70000")),
            HostPort::Invalid("70000".into())
        );
    }
}

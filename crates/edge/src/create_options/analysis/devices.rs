//! Host devices, GPUs and resource limits: what EC808 and EC303 judge. Whether the offer
//! declares them is the checks' business, not this module's.

use bollard_stubs::models::ContainerCreateBody;

use super::host;

/// How a module asks for host devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// `HostConfig.Devices[]`.
    Device,
    /// `HostConfig.DeviceCgroupRules[]`.
    CgroupRule,
    /// `HostConfig.DeviceRequests[]` (GPUs and other driver-managed devices).
    Request,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceUse {
    pub path: String,
    pub kind: DeviceKind,
    /// Human-readable: `/dev/ttyUSB0 -> /dev/ttyUSB0 (rwm)`, `c 189:* rmw`, `nvidia gpu x all`.
    pub description: String,
    /// A GPU request (capability `gpu` or driver `nvidia`).
    pub gpu: bool,
}

pub fn devices(b: &ContainerCreateBody) -> Vec<DeviceUse> {
    let mut out = Vec::new();
    let Some(h) = host(b) else {
        return out;
    };
    for (i, d) in h.devices.iter().flatten().enumerate() {
        let on_host = d.path_on_host.as_deref().unwrap_or("?");
        let inside = d.path_in_container.as_deref().unwrap_or(on_host);
        let perms = d.cgroup_permissions.as_deref().unwrap_or("rwm");
        out.push(DeviceUse {
            path: format!("HostConfig.Devices[{i}]"),
            kind: DeviceKind::Device,
            description: format!("{on_host} -> {inside} ({perms})"),
            gpu: false,
        });
    }
    for (i, rule) in h.device_cgroup_rules.iter().flatten().enumerate() {
        out.push(DeviceUse {
            path: format!("HostConfig.DeviceCgroupRules[{i}]"),
            kind: DeviceKind::CgroupRule,
            description: rule.clone(),
            gpu: false,
        });
    }
    for (i, r) in h.device_requests.iter().flatten().enumerate() {
        let caps: Vec<String> = r.capabilities.iter().flatten().flatten().cloned().collect();
        let driver = r.driver.clone().unwrap_or_default();
        let gpu = driver.eq_ignore_ascii_case("nvidia") || caps.iter().any(|c| c == "gpu");
        let count = match (r.count, r.device_ids.as_ref()) {
            (_, Some(ids)) if !ids.is_empty() => ids.join(","),
            (Some(-1), _) => "all".into(),
            (Some(n), _) => n.to_string(),
            (None, _) => "default".into(),
        };
        let what = if caps.is_empty() {
            "device".to_owned()
        } else {
            caps.join("+")
        };
        out.push(DeviceUse {
            path: format!("HostConfig.DeviceRequests[{i}]"),
            kind: DeviceKind::Request,
            description: format!(
                "{}{what} x {count}",
                if driver.is_empty() {
                    String::new()
                } else {
                    format!("{driver} ")
                }
            ),
            gpu,
        });
    }
    out
}

/// Where the module asks for a GPU: a GPU device request, or `Runtime: nvidia` (the NVIDIA
/// container runtime exposes GPUs without a device request).
pub fn gpu_request(b: &ContainerCreateBody) -> Option<String> {
    if let Some(d) = devices(b).into_iter().find(|d| d.gpu) {
        return Some(d.path);
    }
    host(b)?
        .runtime
        .as_deref()
        .filter(|r| r.to_ascii_lowercase().contains("nvidia"))
        .map(|_| "HostConfig.Runtime".to_owned())
}

/// Resource limits that say how big a device the module expects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// `(path, bytes)` of `HostConfig.Memory` when set above 0.
    pub memory: Option<(String, i64)>,
    /// `(path, cpus)` from `NanoCpus`, else `CpuQuota / CpuPeriod` (period default 100 ms).
    pub cpus: Option<(String, f64)>,
}

pub fn resources(b: &ContainerCreateBody) -> Resources {
    let Some(h) = host(b) else {
        return Resources::default();
    };
    let memory = h
        .memory
        .filter(|m| *m > 0)
        .map(|m| ("HostConfig.Memory".to_owned(), m));
    let cpus = match (h.nano_cpus, h.cpu_quota) {
        (Some(n), _) if n > 0 => Some(("HostConfig.NanoCpus".to_owned(), n as f64 / 1e9)),
        (_, Some(q)) if q > 0 => {
            let period = h.cpu_period.filter(|p| *p > 0).unwrap_or(100_000);
            Some(("HostConfig.CpuQuota".to_owned(), q as f64 / period as f64))
        }
        _ => None,
    };
    Resources { memory, cpus }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(v: Value) -> ContainerCreateBody {
        crate::create_options::parse(&v).unwrap().unwrap().body
    }

    #[test]
    fn devices_and_gpus() {
        let b = body(json!({"HostConfig": {
            "Devices": [{"PathOnHost": "/dev/ttyUSB0", "PathInContainer": "/dev/ttyUSB0", "CgroupPermissions": "rwm"}],
            "DeviceCgroupRules": ["c 189:* rmw"],
            "DeviceRequests": [{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}]
        }}));
        let d = devices(&b);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].description, "/dev/ttyUSB0 -> /dev/ttyUSB0 (rwm)");
        assert_eq!(d[1].kind, DeviceKind::CgroupRule);
        assert_eq!(d[2].description, "nvidia gpu x all");
        assert!(d[2].gpu);
        assert_eq!(
            gpu_request(&b).as_deref(),
            Some("HostConfig.DeviceRequests[0]")
        );
        let b = body(json!({"HostConfig": {"runtime": "nvidia"}}));
        assert_eq!(gpu_request(&b).as_deref(), Some("HostConfig.Runtime"));
        assert!(devices(&b).is_empty());
    }

    #[test]
    fn resource_limits() {
        let r = resources(&body(
            json!({"HostConfig": {"Memory": 1073741824, "NanoCpus": 1500000000}}),
        ));
        assert_eq!(r.memory, Some(("HostConfig.Memory".into(), 1 << 30)));
        assert_eq!(r.cpus, Some(("HostConfig.NanoCpus".into(), 1.5)));
        let r = resources(&body(
            json!({"HostConfig": {"CpuQuota": 50000, "CpuPeriod": 100000, "Memory": 0}}),
        ));
        assert_eq!(r.memory, None);
        assert_eq!(r.cpus, Some(("HostConfig.CpuQuota".into(), 0.5)));
        assert_eq!(resources(&body(json!({"User": "1"}))), Resources::default());
    }
}

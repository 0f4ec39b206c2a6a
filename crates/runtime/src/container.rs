//! The container the IoT Edge runtime would create for the module (`iotedge.md`, "How the
//! runtime starts a module"), as a Docker `ContainerCreate` body: the offer's createOptions as
//! given, the environment edgelet builds (`edgecert_edge::create_options::env`), the
//! `azure-iot-edge` network unless createOptions chooses networking, the workload socket bind,
//! restart policy `no` unless createOptions sets one, our labels, and the device profile as
//! limits (`checks.md` EC302: memory with swap included, CPUs).
//!
//! Pure: no engine calls. Deliberately absent: the agent's `net.azure-devices.edge.*` labels
//! — an edgeAgent running on the same machine treats containers with its owner label as its own
//! and would remove ours as unknown modules.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, RestartPolicy,
    RestartPolicyNameEnum,
};
use edgecert_edge::create_options::env;
use edgecert_engine::offer::Offer;
use edgecert_engine::policy::Policy;

pub const NETWORK: &str = "azure-iot-edge";
pub const WORKLOAD_SOCKET: &str = "/var/run/iotedge/workload.sock";
/// Our label: the run that created a container, image or network.
pub const RUN_LABEL: &str = "edgecert.run";
pub const PLATFORM_LABEL: &str = "edgecert.platform";

const MIB: i64 = 1024 * 1024;

/// What the offer and policy say about the container, before any platform or engine detail.
#[derive(Debug, Clone)]
pub struct Plan {
    pub module_name: String,
    /// createOptions as typed model; `Err` when it is not a JSON object at all (EC103).
    pub create: Result<ContainerCreateBody, String>,
    pub deployment_env: Vec<(String, String)>,
    /// `device.minMemoryMiB` or the profile's memory, as bytes.
    pub device_memory: i64,
    pub device_cpus: f64,
    /// The offer's default desired properties: what the edgeHub stand-in's twin holds.
    pub desired: serde_json::Value,
}

impl Plan {
    pub fn new(offer: &Offer, policy: &Policy) -> Plan {
        let defaults = offer.defaults();
        let module_name = defaults
            .module_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "edgecert-module".to_owned());
        // Parsed as the checks parse it (one reading of createOptions for the whole run).
        let create = match edgecert_engine::checks::create_options::load(offer) {
            // Well-formed parts only: EC103 reports the rest, and Docker would ignore unknown
            // fields anyway.
            Ok(Some(parsed)) => Ok(parsed.body),
            Ok(None) => Ok(ContainerCreateBody::default()),
            Err(e) => Err(format!("{e} (see EC103)")),
        };
        let deployment_env = defaults
            .env
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| (k.clone(), v.to_env_string()))
            .collect();
        let device = offer.device.as_ref();
        let memory_mib = device
            .and_then(|d| d.min_memory_mib)
            .unwrap_or(policy.device.memory_mib);
        Plan {
            module_name,
            create,
            deployment_env,
            device_memory: i64::try_from(memory_mib)
                .unwrap_or(i64::MAX / MIB)
                .saturating_mul(MIB),
            device_cpus: device
                .and_then(|d| d.min_cpus)
                .unwrap_or(policy.device.cpus),
            desired: serde_json::Value::Object(defaults.twin.clone().unwrap_or_default()),
        }
    }

    /// Whether the module joins `azure-iot-edge` (createOptions sets no networking).
    pub fn uses_default_network(&self) -> bool {
        let Ok(body) = &self.create else {
            return false;
        };
        let endpoints = body
            .networking_config
            .as_ref()
            .and_then(|n| n.endpoints_config.as_ref())
            .is_some_and(|e| !e.is_empty());
        let mode = body
            .host_config
            .as_ref()
            .and_then(|h| h.network_mode.as_deref())
            .is_some_and(|m| !m.is_empty());
        !endpoints && !mode
    }

    /// Why two copies of this container cannot run side by side, if they cannot: fixed host
    /// ports and the host network are claimed by the first copy.
    pub fn exclusive(&self) -> Option<&'static str> {
        let host = self.create.as_ref().ok()?.host_config.as_ref()?;
        if host.network_mode.as_deref() == Some("host") {
            return Some("createOptions uses the host network");
        }
        let fixed_port = host.port_bindings.as_ref().is_some_and(|ports| {
            ports.values().flatten().flatten().any(|b| {
                b.host_port
                    .as_deref()
                    .is_some_and(|p| !p.is_empty() && p != "0")
            })
        });
        fixed_port.then_some("createOptions binds fixed host ports")
    }

    /// The memory limit the container runs under: the device's, or a lower one createOptions
    /// asks for.
    pub fn memory_limit(&self) -> i64 {
        let asked = self
            .create
            .as_ref()
            .ok()
            .and_then(|b| b.host_config.as_ref())
            .and_then(|h| h.memory)
            .filter(|m| *m > 0);
        match asked {
            Some(m) if m < self.device_memory => m,
            _ => self.device_memory,
        }
    }
}

/// Where this container sits: names and paths of one platform's run.
#[derive(Debug, Clone)]
pub struct Placement<'a> {
    pub image: &'a str,
    pub run_id: &'a str,
    pub platform: &'a str,
    /// The workload socket file on the host.
    pub socket: &'a str,
    /// `IOTEDGE_GATEWAYHOSTNAME` and the address it resolves to (the edgeHub stand-in), when
    /// there is one.
    pub gateway: Option<(&'a str, &'a str)>,
    /// The id of the `azure-iot-edge` network to join, when the plan uses it.
    pub network: Option<&'a str>,
    /// The engine's CPU count (Docker refuses NanoCpus above it).
    pub ncpu: Option<i64>,
}

/// The `ContainerCreate` body for `plan` at `place`. `Err` when createOptions is unusable.
pub fn body(plan: &Plan, place: &Placement<'_>) -> Result<ContainerCreateBody, String> {
    let mut body = plan.create.clone()?;
    body.image = Some(place.image.to_owned());
    let mut runtime = env::RuntimeEnv::stand_in(&plan.module_name);
    if let Some((name, _)) = place.gateway {
        runtime.gateway_hostname = name.to_owned();
    }
    body.env = Some(env::merge(
        &plan.deployment_env,
        &runtime,
        body.env.as_deref().unwrap_or_default(),
    ));
    let labels = body.labels.get_or_insert_with(HashMap::new);
    labels.insert(RUN_LABEL.to_owned(), place.run_id.to_owned());
    labels.insert(PLATFORM_LABEL.to_owned(), place.platform.to_owned());

    let mut host = body.host_config.take().unwrap_or_default();
    host.binds
        .get_or_insert_with(Vec::new)
        .push(format!("{}:{WORKLOAD_SOCKET}", place.socket));
    if let Some((name, ip)) = place.gateway {
        host.extra_hosts
            .get_or_insert_with(Vec::new)
            .push(format!("{name}:{ip}"));
    }
    if host.restart_policy.as_ref().and_then(|r| r.name).is_none() {
        host.restart_policy = Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        });
    }
    let limit = plan.memory_limit();
    host.memory = Some(limit);
    host.memory_swap = Some(limit);
    host.nano_cpus = nano_cpus(plan.device_cpus, place.ncpu, &host);
    if let Some(network) = place.network {
        host.network_mode = Some(network.to_owned());
        let endpoint = EndpointSettings {
            // Other modules reach it by module name, whatever the container is called.
            aliases: Some(vec![plan.module_name.clone()]),
            ..Default::default()
        };
        body.networking_config = Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.to_owned(), endpoint)])),
        });
    }
    body.host_config = Some(host);
    Ok(body)
}

/// The CPU limit: the device's CPUs capped to the engine's, or a lower createOptions
/// `NanoCpus`; left alone when createOptions limits CPU by quota/period (Docker refuses both).
fn nano_cpus(device_cpus: f64, ncpu: Option<i64>, host: &HostConfig) -> Option<i64> {
    let by_quota = host.cpu_quota.is_some_and(|q| q > 0) || host.cpu_period.is_some_and(|p| p > 0);
    if by_quota {
        return host.nano_cpus;
    }
    let cpus = match ncpu {
        Some(n) if n > 0 => device_cpus.min(n as f64),
        _ => device_cpus,
    };
    let ours = (cpus * 1e9) as i64;
    if ours <= 0 {
        return host.nano_cpus;
    }
    match host.nano_cpus {
        Some(n) if n > 0 && n < ours => Some(n),
        _ => Some(ours),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offer(defaults: serde_json::Value, device: Option<serde_json::Value>) -> Offer {
        let mut v = json!({ "defaults": defaults });
        if let Some(d) = device {
            v["device"] = d;
        }
        Offer::parse(&v.to_string(), "offer.json").unwrap()
    }

    fn place<'a>(network: Option<&'a str>) -> Placement<'a> {
        Placement {
            image: "edgecert-ingest/x-amd64:r1",
            run_id: "r1",
            platform: "linux/amd64",
            socket: "/tmp/x/workload.sock",
            gateway: None,
            network,
            ncpu: Some(2),
        }
    }

    #[test]
    fn defaults_become_the_runtime_container() {
        let o = offer(
            json!({
                "moduleName": "tempfilter",
                "env": {"A": "env", "B": 3},
                "createOptions": "{\"Env\":[\"A=create\"],\"HostConfig\":{\"Privileged\":true}}"
            }),
            None,
        );
        let plan = Plan::new(&o, &Policy::default());
        assert!(plan.uses_default_network());
        let b = body(&plan, &place(Some("net-id"))).unwrap();
        let env = b.env.unwrap();
        assert!(env.contains(&"A=create".to_owned()), "{env:?}");
        assert!(env.contains(&"B=3".to_owned()));
        assert!(env.contains(&"IOTEDGE_MODULEID=tempfilter".to_owned()));
        assert!(env.contains(&format!("IOTEDGE_WORKLOADURI=unix://{WORKLOAD_SOCKET}")));
        assert!(env.contains(&"RuntimeLogLevel=info".to_owned()));
        let host = b.host_config.unwrap();
        assert_eq!(host.privileged, Some(true));
        assert_eq!(host.memory, Some(512 * MIB));
        assert_eq!(host.memory_swap, Some(512 * MIB));
        assert_eq!(host.nano_cpus, Some(2_000_000_000), "4 device CPUs, 2 here");
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::NO)
        );
        assert_eq!(
            host.binds.unwrap(),
            [format!("/tmp/x/workload.sock:{WORKLOAD_SOCKET}")]
        );
        assert_eq!(host.network_mode.as_deref(), Some("net-id"));
        let endpoint = &b.networking_config.unwrap().endpoints_config.unwrap()["net-id"];
        assert_eq!(
            endpoint.aliases.as_deref(),
            Some(&["tempfilter".to_owned()][..])
        );
        assert_eq!(b.labels.unwrap()[RUN_LABEL], "r1");
        assert_eq!(b.image.as_deref(), Some("edgecert-ingest/x-amd64:r1"));
    }

    #[test]
    fn device_and_create_options_limits() {
        let o = offer(
            json!({"createOptions": {"HostConfig": {"Memory": 104857600, "NanoCpus": 500000000}}}),
            Some(json!({"minMemoryMiB": 256, "minCpus": 1.5})),
        );
        let plan = Plan::new(&o, &Policy::default());
        assert_eq!(
            plan.memory_limit(),
            100 * MIB,
            "lower createOptions memory kept"
        );
        let host = body(&plan, &place(None)).unwrap().host_config.unwrap();
        assert_eq!(host.memory_swap, Some(100 * MIB));
        assert_eq!(host.nano_cpus, Some(500_000_000));
        let o = offer(
            json!({"createOptions": {"HostConfig": {"Memory": 2147483648_i64, "CpuQuota": 50000}}}),
            Some(json!({"minMemoryMiB": 256})),
        );
        let plan = Plan::new(&o, &Policy::default());
        assert_eq!(
            plan.memory_limit(),
            256 * MIB,
            "the device caps a higher ask"
        );
        let host = body(&plan, &place(None)).unwrap().host_config.unwrap();
        assert_eq!(host.nano_cpus, None, "quota given: no NanoCpus");
    }

    #[test]
    fn networking_and_exclusive_resources() {
        let o = offer(
            json!({"createOptions": {"HostConfig": {"NetworkMode": "host"}}}),
            None,
        );
        let plan = Plan::new(&o, &Policy::default());
        assert!(!plan.uses_default_network());
        assert_eq!(
            plan.exclusive(),
            Some("createOptions uses the host network")
        );
        let o = offer(
            json!({"createOptions": {"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}}}),
            None,
        );
        let plan = Plan::new(&o, &Policy::default());
        assert!(plan.uses_default_network());
        assert_eq!(
            plan.exclusive(),
            Some("createOptions binds fixed host ports")
        );
        let o = offer(
            json!({"createOptions": {"NetworkingConfig": {"EndpointsConfig": {"mine": {}}}}}),
            None,
        );
        assert!(!Plan::new(&o, &Policy::default()).uses_default_network());
        let o = offer(json!({"createOptions": "[1]"}), None);
        let plan = Plan::new(&o, &Policy::default());
        assert!(body(&plan, &place(None)).unwrap_err().contains("EC103"));
    }
}

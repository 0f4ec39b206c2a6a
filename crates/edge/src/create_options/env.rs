//! The container environment the IoT Edge runtime builds for a module (`iotedge.md`, "How the
//! runtime starts a module"): the deployment `env`, then the variables the runtime injects,
//! then `createOptions.Env` layered on top, last writer wins, as `NAME=value` strings sorted by
//! name. This order is our reading of the runtime *(inferred)*: createOptions wins on
//! duplicates; an injected `IOTEDGE_*` variable wins over a deployment `env` entry of the same
//! name (EC108 forbids those anyway).
//!
//! Deliberately not here: where identity values come from on a real device (the ingestion test
//! supplies stand-ins) and any validation of names (see `names`).

use std::collections::BTreeMap;

/// Values the runtime injects; on a device they come from the identity service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEnv {
    pub module_id: String,
    pub device_id: String,
    pub iothub_hostname: String,
    pub gateway_hostname: String,
    pub workload_uri: String,
    pub api_version: String,
    pub generation_id: String,
    /// `RuntimeLogLevel` used when the module sets none.
    pub log_level: String,
}

impl RuntimeEnv {
    /// Plausible stand-ins for a module named `module_id`, for the ingestion test.
    pub fn stand_in(module_id: &str) -> Self {
        RuntimeEnv {
            module_id: module_id.to_owned(),
            device_id: "edgecert-device".into(),
            iothub_hostname: "edgecert-hub.azure-devices.net".into(),
            gateway_hostname: "edgecert-device".into(),
            workload_uri: "unix:///var/run/iotedge/workload.sock".into(),
            api_version: "2019-01-30".into(),
            generation_id: "edgecert-generation".into(),
            log_level: "info".into(),
        }
    }

    /// The injected `IOTEDGE_*` variables (without `RuntimeLogLevel`).
    pub fn injected(&self) -> Vec<(&'static str, String)> {
        vec![
            ("IOTEDGE_MODULEID", self.module_id.clone()),
            ("IOTEDGE_DEVICEID", self.device_id.clone()),
            ("IOTEDGE_IOTHUBHOSTNAME", self.iothub_hostname.clone()),
            ("IOTEDGE_GATEWAYHOSTNAME", self.gateway_hostname.clone()),
            ("IOTEDGE_WORKLOADURI", self.workload_uri.clone()),
            ("IOTEDGE_APIVERSION", self.api_version.clone()),
            ("IOTEDGE_AUTHSCHEME", "sasToken".to_owned()),
            ("IOTEDGE_MODULEGENERATIONID", self.generation_id.clone()),
        ]
    }
}

/// Name of the log level variable the runtime adds when the module does not set it.
pub const RUNTIME_LOG_LEVEL: &str = "RuntimeLogLevel";

/// Splits a Docker `Env` entry: `NAME=value`; an entry without `=` is the name with an empty
/// value (how edgelet merges it).
pub fn split_entry(entry: &str) -> (&str, &str) {
    entry.split_once('=').unwrap_or((entry, ""))
}

/// The module's environment as `NAME=value`, sorted by name. `deployment_env` is the offer's
/// `defaults.env` (values already rendered as the container sees them), `create_env` the
/// createOptions `Env` list.
pub fn merge(
    deployment_env: &[(String, String)],
    runtime: &RuntimeEnv,
    create_env: &[String],
) -> Vec<String> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in deployment_env {
        env.insert(k.clone(), v.clone());
    }
    for (k, v) in runtime.injected() {
        env.insert(k.to_owned(), v);
    }
    let user_sets_level = env.contains_key(RUNTIME_LOG_LEVEL)
        || create_env
            .iter()
            .any(|e| split_entry(e).0 == RUNTIME_LOG_LEVEL);
    if !user_sets_level {
        env.insert(RUNTIME_LOG_LEVEL.to_owned(), runtime.log_level.clone());
    }
    for entry in create_env {
        let (k, v) = split_entry(entry);
        env.insert(k.to_owned(), v.to_owned());
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn layers_in_runtime_order() {
        let rt = RuntimeEnv::stand_in("tempfilter");
        let env = merge(
            &pairs(&[("LOG_LEVEL", "info"), ("A", "from-env")]),
            &rt,
            &["A=from-create".into(), "B".into(), "C=x=y".into()],
        );
        assert!(env.contains(&"A=from-create".to_owned()), "{env:?}");
        assert!(env.contains(&"B=".to_owned()));
        assert!(env.contains(&"C=x=y".to_owned()));
        assert!(env.contains(&"LOG_LEVEL=info".to_owned()));
        assert!(env.contains(&"IOTEDGE_MODULEID=tempfilter".to_owned()));
        assert!(env.contains(&"IOTEDGE_AUTHSCHEME=sasToken".to_owned()));
        assert!(env.contains(&"RuntimeLogLevel=info".to_owned()));
        let mut sorted = env.clone();
        sorted.sort();
        assert_eq!(sorted, env);
        assert_eq!(env.len(), 4 + 8 + 1);
    }

    #[test]
    fn injected_beats_env_and_create_options_beats_all() {
        let rt = RuntimeEnv::stand_in("m");
        let env = merge(
            &pairs(&[("IOTEDGE_MODULEID", "spoof"), ("RuntimeLogLevel", "debug")]),
            &rt,
            &[],
        );
        assert!(env.contains(&"IOTEDGE_MODULEID=m".to_owned()));
        assert!(env.contains(&"RuntimeLogLevel=debug".to_owned()));
        let env = merge(&[], &rt, &["IOTEDGE_MODULEID=other".into()]);
        assert!(env.contains(&"IOTEDGE_MODULEID=other".to_owned()));
        let env = merge(&[], &rt, &["RuntimeLogLevel=warning".into()]);
        assert_eq!(
            env.iter()
                .filter(|e| e.starts_with("RuntimeLogLevel="))
                .count(),
            1
        );
        assert!(env.contains(&"RuntimeLogLevel=warning".to_owned()));
    }
}

//! One platform's stand-ins for the IoT Edge runtime around the module's container: the
//! workload API on the socket bound at `/var/run/iotedge/workload.sock` ([`crate::workload`])
//! and edgeHub on ports 8883 (MQTT) and 5671 (AMQP) of the gateway host name ([`crate::edgehub`], reached through
//! [`crate::gateway`]), made for this run with their own CA and module key, and gone with it.
//!
//! The gateway host name is the run's own (`gw-<run>-<platform>`, also the name in edgeHub's
//! certificate and the SNI the SDKs send); the container resolves it to the `azure-iot-edge`
//! bridge's address on the host (`ExtraHosts`), where every run listens on 8883 together.
//! A module that sets its own networking in createOptions (host network, other networks) gets
//! the workload API only; its facts say why there was no edgeHub.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use edgecert_edge::create_options::env::RuntimeEnv;
use edgecert_engine::facts::HubFacts;
use serde_json::Value;

use crate::edgehub::EdgeHub;
use crate::gateway::{Gateway, Ports};
use crate::workload::{ModuleIdentity, RunCa, Workload};

/// The stand-ins of one platform's run; dropping them stops them.
pub struct Standins {
    workload: Workload,
    hub: Option<EdgeHub>,
    _gateway: Option<Gateway>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The workload socket on the host (bound into the container).
    pub socket: PathBuf,
    /// `IOTEDGE_GATEWAYHOSTNAME` and the address it resolves to in the container, when edgeHub
    /// is reachable.
    pub gateway: Option<(String, String)>,
    unavailable: Option<String>,
    /// What edgeHub could not serve (WebSockets without port 443).
    not_served: Vec<String>,
}

impl Standins {
    /// Starts the stand-ins for `module` on `platform` (`amd64`, `arm32v7`): the socket in
    /// `run_dir`, edgeHub on `bridge:8883` when the module joins the `azure-iot-edge` network
    /// whose gateway address is `bridge`. `desired`: the offer's default desired properties.
    pub async fn start(
        run_dir: &Path,
        run_id: &str,
        platform: &str,
        module: &str,
        desired: Value,
        bridge: Result<IpAddr, String>,
    ) -> Result<Standins, String> {
        let env = RuntimeEnv::stand_in(module);
        let identity = ModuleIdentity {
            hub: env.iothub_hostname.clone(),
            device: env.device_id.clone(),
            module: module.to_owned(),
            generation_id: env.generation_id.clone(),
        };
        let name = format!("gw-{run_id}-{platform}").to_ascii_lowercase();
        let ca = Arc::new(RunCa::new(&name).map_err(|e| format!("cannot make the run's CA: {e}"))?);
        let workload = Workload::new(identity.clone(), ca.clone())
            .map_err(|_| "cannot make the run's module key".to_owned())?;
        let socket = run_dir.join(format!("workload-{platform}.sock"));
        let listener = tokio::net::UnixListener::bind(&socket).map_err(|e| {
            format!(
                "cannot create the workload socket {}: {e}",
                socket.display()
            )
        })?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(workload.clone().serve(listener, async move {
            let _ = stopped.await;
        }));
        let mut standins = Standins {
            workload: workload.clone(),
            hub: None,
            _gateway: None,
            stop: Some(stop),
            socket,
            gateway: None,
            unavailable: None,
            not_served: Vec::new(),
        };
        let ip = match bridge {
            Ok(ip) => ip,
            Err(why) => {
                standins.unavailable = Some(why);
                return Ok(standins);
            }
        };
        let Some(dir) = crate::sweep::lock_dir() else {
            standins.unavailable =
                Some("no private run directory for the edgeHub stand-in's socket".into());
            return Ok(standins);
        };
        let hub = EdgeHub::new(identity, &name, workload.key(), &ca, desired)
            .map_err(|e| format!("cannot set up the edgeHub stand-in: {e}"))?;
        match Gateway::start(ip, Ports::EDGEHUB, &name, hub.clone(), &dir).await {
            Ok(g) => {
                standins.not_served = g.not_served.clone();
                standins._gateway = Some(g);
                standins.hub = Some(hub);
                standins.gateway = Some((name, ip.to_string()));
            }
            Err(e) => {
                let Ports { mqtt, amqp, .. } = Ports::EDGEHUB;
                standins.unavailable = Some(format!(
                    "cannot listen on {ip}:{mqtt} and {ip}:{amqp} for the module: {e}"
                ));
            }
        }
        Ok(standins)
    }

    /// What the module did with the stand-ins so far.
    pub fn facts(&self) -> HubFacts {
        let mut facts = HubFacts {
            unavailable: self.unavailable.clone(),
            not_served: self.not_served.clone(),
            workload_calls: self
                .workload
                .calls()
                .iter()
                .map(|c| format!("{} {} → {}", c.method, c.path, c.status))
                .collect(),
            ..HubFacts::default()
        };
        let Some(hub) = &self.hub else {
            return facts;
        };
        let seen = hub.observed();
        if let Some(c) = seen.connected() {
            facts.connected_after_ms = Some(u64::try_from(c.after.as_millis()).unwrap_or(u64::MAX));
            facts.protocol = Some(c.protocol.name().to_owned());
            facts.client_type = c.client_type.clone();
            facts.model_id = c.model_id.clone();
        }
        facts.refused = seen
            .connections
            .iter()
            .filter_map(|c| c.refused.clone())
            .collect();
        facts.tls_failures = seen.tls_failures;
        facts.twin_reads = seen.twin_reads;
        facts.desired_patches = seen.desired_patches;
        facts.reported_patches = seen.reported.len();
        facts.outputs = seen.outputs;
        facts.messages = seen.samples.into_values().flatten().collect();
        facts.protocol_errors = seen.protocol_errors;
        facts
    }
}

impl Drop for Standins {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

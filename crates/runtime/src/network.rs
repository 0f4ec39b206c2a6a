//! The `azure-iot-edge` bridge network modules join (`iotedge.md`). On an IoT Edge device it
//! already exists and is never touched; otherwise we create it with our run label and remove
//! it once no container is attached.
//!
//! Concurrent runs (parallel tests, two partners' CI jobs on one engine) share it: removal is
//! "any idle `azure-iot-edge` that edgecert created", so the last run out removes it, whoever
//! created it. Moby 20.10 allows two networks of one name (the API no longer has
//! `CheckDuplicate`) and then refuses to start containers on the "ambiguous" name, and it lets
//! a network go while a created container still waits to start on it. So runs on this host
//! take a file lock (`HostLock`) around ensure+create+start and around release; for runs on
//! other hosts sharing a remote engine, ensure keeps the oldest of duplicates and create
//! retries once if the network vanished.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{Network, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;

use crate::container::{NETWORK, RUN_LABEL};

async fn same_name(docker: &Docker) -> Result<Vec<Network>, String> {
    let filters = HashMap::from([("name".to_owned(), vec![NETWORK.to_owned()])]);
    let mut found: Vec<Network> = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(|e| format!("cannot list networks: {e}"))?
        .into_iter()
        // The name filter matches substrings.
        .filter(|n| n.name.as_deref() == Some(NETWORK))
        .collect();
    found.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    Ok(found)
}

fn ours(n: &Network) -> bool {
    n.labels.as_ref().is_some_and(|l| l.contains_key(RUN_LABEL))
}

/// The id of the `azure-iot-edge` network, created if missing.
pub async fn ensure(docker: &Docker, run_id: &str) -> Result<String, String> {
    if let Some(id) = same_name(docker).await?.first().and_then(|n| n.id.clone()) {
        return Ok(id);
    }
    let created = docker
        .create_network(NetworkCreateRequest {
            name: NETWORK.to_owned(),
            driver: Some("bridge".to_owned()),
            labels: Some(HashMap::from([(RUN_LABEL.to_owned(), run_id.to_owned())])),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot create the {NETWORK} network: {e}"))?;
    let all = same_name(docker).await?;
    let winner = all
        .first()
        .and_then(|n| n.id.clone())
        .unwrap_or_else(|| created.id.clone());
    if winner != created.id {
        let _ = docker.remove_network(&created.id).await;
    }
    Ok(winner)
}

/// Removes every idle `azure-iot-edge` network edgecert created. Best effort: a network still
/// in use by another run stays for that run to remove.
pub async fn release(docker: &Docker) -> Vec<String> {
    let _lock = HostLock::take(true).await;
    let mut problems = Vec::new();
    let found = match same_name(docker).await {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    for n in found.iter().filter(|n| ours(n)) {
        let Some(id) = n.id.as_deref() else { continue };
        let idle = docker
            .inspect_network(id, None)
            .await
            .is_ok_and(|i| i.containers.unwrap_or_default().is_empty());
        if idle && let Err(e) = docker.remove_network(id).await {
            let text = e.to_string();
            if !text.contains("active endpoints") && !text.contains("not found") {
                problems.push(format!("cannot remove the {NETWORK} network {id}: {text}"));
            }
        }
    }
    problems
}

/// An exclusive `flock` on `$TMPDIR/edgecert-azure-iot-edge.lock`, shared by every edgecert
/// process on this host; released when dropped. Best effort: without a usable lock file the
/// run goes on unlocked.
pub struct HostLock {
    _held: Option<std::fs::File>,
}

impl HostLock {
    /// Takes the lock when `needed`; waits for other runs' short critical sections.
    pub async fn take(needed: bool) -> HostLock {
        if !needed {
            return HostLock { _held: None };
        }
        let file = tokio::task::spawn_blocking(|| {
            let path = std::env::temp_dir().join("edgecert-azure-iot-edge.lock");
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .or_else(|_| std::fs::File::open(&path))
                .ok()?;
            file.lock().ok()?;
            Some(file)
        })
        .await
        .ok()
        .flatten();
        HostLock { _held: file }
    }
}

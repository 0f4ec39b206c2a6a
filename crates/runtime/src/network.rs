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

/// The host's address on network `id` (its IPAM gateway): where the module reaches the
/// stand-ins that listen on the host.
pub async fn gateway_ip(docker: &Docker, id: &str) -> Result<std::net::IpAddr, String> {
    let n = docker
        .inspect_network(id, None)
        .await
        .map_err(|e| format!("cannot inspect the {NETWORK} network: {e}"))?;
    n.ipam
        .and_then(|i| i.config)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.gateway.as_deref())
        .find_map(|g| g.parse().ok())
        .ok_or_else(|| format!("the {NETWORK} network has no gateway address"))
}

/// Removes every idle `azure-iot-edge` network edgecert created. Best effort: a network still
/// in use by another run stays for that run to remove.
pub async fn release(docker: &Docker) -> Vec<String> {
    let _lock = match HostLock::take(true).await {
        Ok(l) => l,
        Err(e) => return vec![format!("did not remove the {NETWORK} network: {e}")],
    };
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

/// An exclusive `flock` on `azure-iot-edge.lock` in the private run-lock directory
/// (`$TMPDIR/edgecert-runs`, 0700, ours: `sweep::lock_dir`), shared by this user's edgecert
/// processes on this host; released when dropped. It used to be a file directly in `/tmp`,
/// where another user could hold it forever or plant a symlink. The holder writes its pid into
/// the file, so a run that waits too long can say who holds it.
pub struct HostLock {
    _held: Option<std::fs::File>,
}

/// How long a run waits for the host lock: the critical sections are a network create and a
/// container create+start, seconds at most.
pub const HOST_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

impl HostLock {
    /// Takes the lock when `needed`, waiting at most `HOST_LOCK_WAIT` for other runs' short
    /// critical sections. `Err` names the lock file and its holder when it cannot be had; a
    /// run without a usable lock directory goes on unlocked (there is nothing to wait for).
    pub async fn take(needed: bool) -> Result<HostLock, String> {
        Self::take_within(needed, HOST_LOCK_WAIT).await
    }

    async fn take_within(needed: bool, wait: std::time::Duration) -> Result<HostLock, String> {
        if !needed {
            return Ok(HostLock { _held: None });
        }
        let Some(dir) = crate::sweep::lock_dir() else {
            return Ok(HostLock { _held: None });
        };
        let path = dir.join("azure-iot-edge.lock");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open the host lock {}: {e}", path.display()))?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock)
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok())
                        .map(|pid| format!("held by pid {pid}"))
                        .unwrap_or_else(|| "held by another edgecert run".to_owned());
                    return Err(format!(
                        "gave up after {} s waiting for the host lock {} ({holder})",
                        wait.as_secs(),
                        path.display()
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(format!("cannot lock {}: {e}", path.display()));
                }
            }
        }
        // Ours now: say so for whoever waits next.
        let _ = file.set_len(0);
        let _ = std::io::Write::write_all(&mut &file, std::process::id().to_string().as_bytes());
        Ok(HostLock { _held: Some(file) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lock_blocks_with_no_timeout() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let held = HostLock::take(true).await.expect("the lock");
            assert!(held._held.is_some(), "a private lock directory exists here");
            // flock is per open file description: a second open waits like another process.
            let started = std::time::Instant::now();
            let e = HostLock::take_within(true, std::time::Duration::from_millis(300))
                .await
                .err()
                .expect("a held lock times out");
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
            assert!(
                e.contains("azure-iot-edge.lock")
                    && e.contains(&format!("held by pid {}", std::process::id())),
                "{e}"
            );
            drop(held);
            assert!(
                HostLock::take_within(true, std::time::Duration::from_secs(5))
                    .await
                    .is_ok()
            );
        });
    }
}

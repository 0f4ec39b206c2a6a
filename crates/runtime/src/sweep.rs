//! Leftovers of runs that died without cleaning up (SIGKILL, an OOM-killed CI job, a power
//! cut). A run removes what it created on success, on error and on Ctrl-C, but a process that
//! is killed outright cannot; its container then holds the module's name and the next run of
//! the same module would have to wait for it and give up.
//!
//! Each run holds an exclusive `flock` on `$TMPDIR/edgecert-runs/<run id>.lock` for as long as
//! it lives; the kernel drops the lock when the process dies, however it dies, and a reused pid
//! cannot fake it. Before a run starts its platforms it sweeps: every container, image and
//! network carrying a run id whose lock file exists and can be locked belongs to a dead run on
//! this host and is removed. A run id without a lock file is left alone: a run on another host
//! sharing a remote engine, or one from before a reboot cleared `$TMPDIR` — edgecert never
//! removes what it cannot prove is an orphan of its own.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::PathBuf;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, ListImagesOptions, RemoveContainerOptions};

use crate::container::RUN_LABEL;
use crate::errors::{is_not_found, message};
use crate::load;

/// `$TMPDIR/edgecert-runs`, made private (0700) if missing. `None` unless it is a real
/// directory of ours that nobody else can write to (`private_dir::ensure`): in a shared
/// `/tmp`, another user could otherwise plant a symlink where a lock file will be created.
pub(crate) fn lock_dir() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join("edgecert-runs");
    edgecert_engine::private_dir::ensure(&dir).ok()?;
    Some(dir)
}

fn lock_path(run_id: &str) -> Option<PathBuf> {
    // Run ids are ours (hex), but labels and tags in the engine are anyone's: never let one
    // name a path outside the directory.
    if run_id.is_empty() || !run_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(lock_dir()?.join(format!("{run_id}.lock")))
}

/// This run is alive: held from before anything is created in the engine until after its
/// cleanup. The file goes when the holder is dropped.
pub struct RunLock {
    path: PathBuf,
    _file: File,
}

impl RunLock {
    /// `None` when the lock file cannot be made: the run goes on, but a sweeper cannot tell
    /// its leftovers from another host's, so they are never swept.
    pub fn hold(run_id: &str) -> Option<RunLock> {
        let path = lock_path(run_id)?;
        let file = File::create(&path).ok()?;
        file.lock().ok()?;
        Some(RunLock { path, _file: file })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether `run_id` is a run of this host that has died: its lock file exists and nobody holds
/// the lock.
fn dead(run_id: &str) -> bool {
    let Some(path) = lock_path(run_id) else {
        return false;
    };
    let Ok(file) = File::open(&path) else {
        return false;
    };
    file.try_lock().is_ok()
}

/// Removes the edgeHub stand-in sockets (`gw-<run>-<platform>.edgehub.sock`,
/// `….edgehub-amqp.sock`, `….edgehub-ws.sock`) of runs that
/// are not alive: a run holds its lock for as long as its stand-ins listen, so a socket whose
/// run's lock is free or gone was left by a killed process. Returns problems.
fn sweep_sockets() -> Vec<String> {
    let Some(dir) = lock_dir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(run) = crate::gateway::SOCKET_SUFFIXES
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .and_then(|n| n.strip_prefix("gw-"))
            .and_then(|n| n.split('-').next())
        else {
            continue;
        };
        let alive = lock_path(run)
            .and_then(|p| File::open(p).ok())
            .is_some_and(|f| f.try_lock().is_err());
        if !alive && let Err(err) = std::fs::remove_file(e.path()) {
            problems.push(format!("cannot remove {}: {err}", e.path().display()));
        }
    }
    problems
}

/// What a sweep found and did, for the user.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub runs: BTreeSet<String>,
    pub containers: usize,
    pub images: usize,
    pub problems: Vec<String>,
}

impl Swept {
    /// One line per run swept and per problem, for the run's warnings.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.runs.is_empty() {
            notes.push(format!(
                "removed {} container(s) and {} image(s) left by edgecert run(s) {} that died \
                 without cleaning up",
                self.containers,
                self.images,
                self.runs.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        notes.extend(self.problems.iter().cloned());
        notes
    }
}

/// Removes the containers and images of dead runs of this host. Networks follow once idle
/// (`network::release` at the end of every run).
pub async fn sweep(docker: &Docker) -> Swept {
    let mut swept = Swept::default();
    let filters = HashMap::from([("label".to_owned(), vec![RUN_LABEL.to_owned()])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await;
    match containers {
        Err(e) => swept
            .problems
            .push(format!("cannot list containers to sweep: {}", message(&e))),
        Ok(list) => {
            for c in list {
                let run = c.labels.as_ref().and_then(|l| l.get(RUN_LABEL));
                let (Some(run), Some(id)) = (run, c.id.as_deref()) else {
                    continue;
                };
                if !dead(run) {
                    continue;
                }
                let options = RemoveContainerOptions {
                    v: true,
                    force: true,
                    link: false,
                };
                match docker.remove_container(id, Some(options)).await {
                    Ok(()) => {
                        swept.containers += 1;
                        swept.runs.insert(run.clone());
                    }
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => swept.problems.push(format!(
                        "cannot remove container {id} of dead edgecert run {run}: {}",
                        message(&e)
                    )),
                }
            }
        }
    }
    let filters = HashMap::from([(
        "reference".to_owned(),
        vec![format!("{}*", load::REPOSITORY_PREFIX)],
    )]);
    let images = docker
        .list_images(Some(ListImagesOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .await;
    match images {
        Err(e) => swept
            .problems
            .push(format!("cannot list images to sweep: {}", message(&e))),
        Ok(list) => {
            let tags = list.into_iter().flat_map(|i| i.repo_tags);
            for tag in tags {
                let Some((repo, run)) = tag.rsplit_once(':') else {
                    continue;
                };
                if !repo.starts_with(load::REPOSITORY_PREFIX) || !dead(run) {
                    continue;
                }
                match load::remove(docker, &tag).await {
                    None => {
                        swept.images += 1;
                        swept.runs.insert(run.to_owned());
                    }
                    Some(problem) => swept.problems.push(problem),
                }
            }
        }
    }
    for run in &swept.runs {
        if let Some(path) = lock_path(run) {
            let _ = std::fs::remove_file(path);
        }
    }
    swept.problems.extend(sweep_sockets());
    swept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_run_is_alive_and_a_released_one_with_its_file_is_dead() {
        let run = format!("t{:x}", std::process::id());
        let held = RunLock::hold(&run).expect("lock file");
        assert!(!dead(&run), "a run whose lock is held is alive");
        // What a killed process leaves: the file, unlocked.
        let path = lock_path(&run).unwrap();
        drop(held);
        assert!(!dead(&run), "no file: not provably ours, so not dead");
        File::create(&path).unwrap();
        assert!(dead(&run));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn sockets_of_dead_runs_are_swept_and_live_ones_kept() {
        let dir = lock_dir().unwrap();
        let (live, dead_run) = (
            format!("s{:x}a", std::process::id()),
            format!("s{:x}b", std::process::id()),
        );
        let _held = RunLock::hold(&live).unwrap();
        let keep = dir.join(format!("gw-{live}-amd64.edgehub.sock"));
        let gone = dir.join(format!("gw-{dead_run}-arm32v7.edgehub.sock"));
        let gone_amqp = dir.join(format!("gw-{dead_run}-arm32v7.edgehub-ws.sock"));
        let _a = std::os::unix::net::UnixListener::bind(&keep).unwrap();
        let _b = std::os::unix::net::UnixListener::bind(&gone).unwrap();
        let _c = std::os::unix::net::UnixListener::bind(&gone_amqp).unwrap();
        assert!(sweep_sockets().is_empty());
        assert!(keep.exists(), "a live run's socket stays");
        assert!(!gone.exists(), "a dead run's socket goes");
        assert!(!gone_amqp.exists(), "a dead run's AMQP socket goes");
        std::fs::remove_file(keep).unwrap();
    }

    #[test]
    fn the_lock_directory_is_private() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = lock_dir().expect("a private lock directory");
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o022, 0, "{:o}", meta.mode());
    }

    #[test]
    fn labels_from_the_engine_never_name_paths() {
        assert_eq!(lock_path("../../etc/passwd"), None);
        assert_eq!(lock_path(""), None);
        assert!(!dead("../x"));
        assert!(lock_path("0a1b2c").is_some());
    }
}

//! Watching a started container: its state through the window (polled inspect: transitions,
//! exit code, OOM kill, restart count), its memory (the stats stream: cgroup v1's
//! `max_usage`, else the largest `usage` seen), the graceful stop (the container's stop
//! signal — SIGTERM unless the image or createOptions names another, as `docker stop` does —
//! then up to 10 s, then SIGKILL) and the last 50 log lines.
//!
//! It records; judging is for the checks (EC302, EC401–EC404).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum};
use bollard::query_parameters::{KillContainerOptions, LogsOptions, StatsOptions};
use edgecert_engine::facts::PlatformRun;
use futures_util::StreamExt as _;
use tokio::task::JoinHandle;

use crate::cancel::{Cancel, Sleep as _};
use crate::errors::message;

const POLL: Duration = Duration::from_millis(250);
const STOP_POLL: Duration = Duration::from_millis(100);
/// `checks.md` EC403: it must exit within 10 s of SIGTERM.
pub const GRACE: Duration = Duration::from_secs(10);
const LOG_LINES: usize = 50;

async fn inspect(docker: &Docker, id: &str) -> Result<ContainerInspectResponse, String> {
    docker
        .inspect_container(id, None)
        .await
        .map_err(|e| format!("the engine lost the container: {}", message(&e)))
}

fn status(i: &ContainerInspectResponse) -> Option<ContainerStateStatusEnum> {
    i.state.as_ref().and_then(|s| s.status)
}

fn is_running(i: &ContainerInspectResponse) -> bool {
    status(i) == Some(ContainerStateStatusEnum::RUNNING)
}

/// Adds what `i` shows to `run`; exit codes only while `window` (our own stop comes later).
fn record(run: &mut PlatformRun, i: &ContainerInspectResponse, window: bool) {
    let state = i.state.clone().unwrap_or_default();
    if let Some(s) = state
        .status
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
        && run.states.last() != Some(&s)
    {
        run.states.push(s);
    }
    run.oom_killed |= state.oom_killed.unwrap_or(false);
    run.restart_count = run.restart_count.max(i.restart_count.unwrap_or(0));
    if window && !is_running(i) && state.status != Some(ContainerStateStatusEnum::CREATED) {
        run.exit_code = state.exit_code;
    }
}

/// Polls the container until the window ends or it has exited for good.
pub async fn window(
    docker: &Docker,
    id: &str,
    run: &mut PlatformRun,
    length: Duration,
    restarts: bool,
    cancel: &Cancel,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let i = inspect(docker, id).await?;
        record(run, &i, true);
        let over = matches!(
            status(&i),
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        ) && !restarts;
        let left = length.saturating_sub(start.elapsed());
        if over || left.is_zero() {
            run.running_at_end = is_running(&i);
            return Ok(());
        }
        cancel.sleep(POLL.min(left)).await?;
    }
}

/// Sends the stop signal if it is still running, waits up to `GRACE`, then kills.
pub async fn stop(
    docker: &Docker,
    id: &str,
    run: &mut PlatformRun,
    cancel: &Cancel,
) -> Result<(), String> {
    let i = inspect(docker, id).await?;
    if !is_running(&i) {
        record(run, &i, false);
        return Ok(());
    }
    let signal = i
        .config
        .as_ref()
        .and_then(|c| c.stop_signal.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "SIGTERM".to_owned());
    let sent = Instant::now();
    let kill = |signal: String| KillContainerOptions { signal };
    // It may have exited on its own just now: the next inspect tells.
    let _ = docker.kill_container(id, Some(kill(signal))).await;
    let stopped = loop {
        let i = inspect(docker, id).await?;
        if !is_running(&i) {
            record(run, &i, false);
            break true;
        }
        if sent.elapsed() >= GRACE {
            break false;
        }
        cancel.sleep(STOP_POLL).await?;
    };
    run.stopped_on_sigterm = Some(stopped);
    if stopped {
        run.stop_ms = Some(sent.elapsed().as_millis() as u64);
    } else {
        let _ = docker
            .kill_container(id, Some(kill("SIGKILL".to_owned())))
            .await;
        for _ in 0..50 {
            let i = inspect(docker, id).await?;
            if !is_running(&i) {
                record(run, &i, false);
                break;
            }
            tokio::time::sleep(STOP_POLL).await;
        }
    }
    Ok(())
}

/// Memory watch: the peak (bytes) seen on the stats stream until aborted.
pub struct MemoryWatch {
    peak: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl MemoryWatch {
    pub fn start(docker: &Docker, id: &str) -> MemoryWatch {
        let peak = Arc::new(AtomicU64::new(0));
        let (docker, id, seen) = (docker.clone(), id.to_owned(), peak.clone());
        let task = tokio::spawn(async move {
            let options = StatsOptions {
                stream: true,
                one_shot: false,
            };
            let mut stats = docker.stats(&id, Some(options));
            while let Some(Ok(s)) = stats.next().await {
                if let Some(m) = s.memory_stats {
                    let v = m.max_usage.unwrap_or(0).max(m.usage.unwrap_or(0));
                    seen.fetch_max(v, Ordering::Relaxed);
                }
            }
        });
        MemoryWatch { peak, task }
    }

    /// Stops watching; `None` when no sample arrived (it ended before the first one).
    pub fn finish(self) -> Option<u64> {
        self.task.abort();
        Some(self.peak.load(Ordering::Relaxed)).filter(|p| *p > 0)
    }
}

/// The last 50 lines of stdout and stderr.
pub async fn log_tail(docker: &Docker, id: &str) -> Vec<String> {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: LOG_LINES.to_string(),
        ..Default::default()
    };
    let mut bytes = Vec::new();
    let mut logs = docker.logs(id, Some(options));
    let read = async {
        while let Some(Ok(out)) = logs.next().await {
            bytes.extend_from_slice(out.as_ref());
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect();
    lines[lines.len().saturating_sub(LOG_LINES)..].to_vec()
}

/// The runtime's report that the entrypoint could not be executed, when that is all the
/// container printed (runc 1.1: `exec /app: exec format error`; older:
/// `standard_init_linux.go:228: exec user process caused: ...`).
pub fn exec_failure(log: &[String]) -> Option<&str> {
    let [line] = log else { return None };
    let runc_11 = line.starts_with("exec ")
        && [
            ": exec format error",
            ": no such file or directory",
            ": permission denied",
        ]
        .iter()
        .any(|end| line.ends_with(end));
    (runc_11 || line.contains("exec user process caused")).then_some(line.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_are_recognised_only_alone() {
        let one = |s: &str| vec![s.to_owned()];
        assert!(exec_failure(&one("exec /bin/app: exec format error")).is_some());
        assert!(
            exec_failure(&one(
                "standard_init_linux.go:228: exec user process caused: no such file or directory"
            ))
            .is_some()
        );
        assert!(exec_failure(&one("exec went fine")).is_none());
        let two = vec![
            "starting".to_owned(),
            "exec /bin/app: exec format error".to_owned(),
        ];
        assert!(exec_failure(&two).is_none());
    }
}

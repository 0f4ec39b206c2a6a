//! One platform's ingestion test, start to finish: can the engine run it, load the image,
//! create the container as the runtime would, start it, watch it for the window, stop it,
//! keep the log tail — and always remove what was created, whatever happened.
//!
//! Two kinds of trouble are kept apart: what the module does (cannot be created, does not
//! start, exits, is OOM-killed) is recorded for the checks to judge; what stops us from
//! testing it (no emulation for the platform, the image does not load, a foreign container
//! holds the name, Ctrl-C) is the platform's `error`, and its checks say `error`, never `pass`.

use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, RestartPolicyNameEnum};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use edgecert_engine::facts::{PlatformFacts, PlatformRun};

use crate::binfmt::{self, Support};
use crate::cancel::{Cancel, Sleep as _};
use crate::container::{self, Placement, Plan, RUN_LABEL};
use crate::errors::{is_not_found, message, status};
use crate::standins::Standins;
use crate::{load, network, observe};
use edgecert_engine::moby::MobyEngine;

/// What every platform of one run shares.
pub struct RunContext<'a> {
    pub engine: &'a MobyEngine,
    pub plan: &'a Plan,
    pub run_id: &'a str,
    /// The offer's identifier (or a stand-in), for image names.
    pub identifier: &'a str,
    /// The run's directory on the host (workload sockets).
    pub dir: &'a Path,
    pub blobs: &'a Path,
    pub window: Duration,
    /// Platforms run side by side: container names get the platform suffix.
    pub parallel: bool,
    pub cancel: Cancel,
}

/// What exists in the engine (and on the host) because of this platform's run.
#[derive(Default)]
struct Created {
    image: Option<String>,
    container: Option<String>,
    /// The stand-ins, with the network they were set up for (`None`: no network of ours).
    standins: Option<(Option<String>, Standins)>,
}

/// Runs `pf`; the second value lists cleanup failures (for the user, not the checks).
pub async fn run(cx: &RunContext<'_>, pf: &PlatformFacts) -> (PlatformRun, Vec<String>) {
    let mut run = PlatformRun {
        platform: pf.platform.clone(),
        error: None,
        created: false,
        create_error: None,
        started: false,
        states: Vec::new(),
        running_at_end: false,
        exit_code: None,
        oom_killed: false,
        restart_count: 0,
        memory_limit_bytes: u64::try_from(cx.plan.memory_limit()).unwrap_or(0),
        peak_memory_bytes: None,
        log_tail: Vec::new(),
        stopped_on_sigterm: None,
        stop_ms: None,
        window_secs: cx.window.as_secs(),
        hub: None,
    };
    let mut created = Created::default();
    if let Err(e) = steps(cx, pf, &mut run, &mut created).await {
        run.error = Some(e);
    }
    run.hub = created.standins.as_ref().map(|(_, s)| s.facts());
    let problems = cleanup(cx, &created).await;
    // The stand-ins go with the run: listener, socket, CA and key.
    drop(created.standins.take());
    (run, problems)
}

fn container_name(cx: &RunContext<'_>, pf: &PlatformFacts) -> String {
    if cx.parallel {
        format!("{}-{}", cx.plan.module_name, pf.platform.iotedge_name())
    } else {
        cx.plan.module_name.clone()
    }
}

async fn steps(
    cx: &RunContext<'_>,
    pf: &PlatformFacts,
    run: &mut PlatformRun,
    created: &mut Created,
) -> Result<(), String> {
    let docker = &cx.engine.docker;
    let support = binfmt::support(&cx.engine.arch, &pf.platform, cx.engine.local);
    if let Support::Missing(why) = &support {
        return Err(why.clone());
    }
    let tag = load::image_tag(cx.identifier, pf, cx.run_id);
    let archive = load::archive_for(pf, cx.blobs, tag.clone())?;
    cx.cancel.check()?;
    created.image = Some(tag.clone());
    load::load(docker, archive).await?;
    cx.cancel.check()?;

    let name = container_name(cx, pf);
    let since = Instant::now();
    let (id, network_lock) = loop {
        name_is_free(cx, &name, since).await?;
        // Another edgecert run on this host must not remove or duplicate the network between
        // our create and our start (Moby attaches by name at start: a duplicate is "ambiguous").
        let lock = network::HostLock::take(cx.plan.uses_default_network()).await?;
        match create(cx, pf, &tag, &name, &mut created.standins).await? {
            Create::Created(id) => break (id, lock),
            Create::Refused(why) => {
                run.create_error = Some(why);
                return Ok(());
            }
            // A concurrent run took the name between our look and our create.
            Create::NameTaken(why) if since.elapsed() > patience(cx) => return Err(why),
            Create::NameTaken(_) => cx.cancel.sleep(Duration::from_millis(200)).await?,
        }
    };
    created.container = Some(id.clone());
    run.created = true;
    run.states.push("created".to_owned());
    cx.cancel.check()?;

    let start = docker.start_container(&id, None).await;
    drop(network_lock);
    if let Err(e) = start {
        run.create_error = Some(format!(
            "created, but the engine could not start it: {}",
            message(&e)
        ));
        return unverified_exec(&support, pf, run.create_error.as_deref());
    }
    run.started = true;
    run.states.push("running".to_owned());
    let memory = observe::MemoryWatch::start(docker, &id);
    let restarts = restart_policy(cx.plan) != RestartPolicyNameEnum::NO;
    let watched = observe::window(docker, &id, run, cx.window, restarts, &cx.cancel).await;
    let stopped = match watched {
        Ok(()) => observe::stop(docker, &id, run, &cx.cancel).await,
        Err(e) => Err(e),
    };
    run.peak_memory_bytes = memory.finish();
    stopped?;
    run.log_tail = observe::log_tail(docker, &id).await;
    if !run.running_at_end
        && let Some(line) = observe::exec_failure(&run.log_tail)
    {
        // The process never ran: it did not start, whatever Docker's state says.
        run.started = false;
        run.create_error = Some(format!("the entrypoint could not be executed: {line}"));
        return unverified_exec(&support, pf, Some(line));
    }
    Ok(())
}

/// An exec failure on a platform we could not verify the engine runs is our problem (error),
/// not the module's (fail).
fn unverified_exec(
    support: &Support,
    pf: &PlatformFacts,
    what: Option<&str>,
) -> Result<(), String> {
    let what = what.unwrap_or_default();
    if *support == Support::Unknown && what.contains("exec format error") {
        return Err(format!(
            "the engine could not execute {} binaries ({what}); it probably lacks qemu-user \
             emulation for this platform (binfmt_misc with the F flag: apt-get install \
             qemu-user-static binfmt-support)",
            pf.platform
        ));
    }
    Ok(())
}

fn restart_policy(plan: &Plan) -> RestartPolicyNameEnum {
    plan.create
        .as_ref()
        .ok()
        .and_then(|b| b.host_config.as_ref())
        .and_then(|h| h.restart_policy.as_ref())
        .and_then(|r| r.name)
        .filter(|n| *n != RestartPolicyNameEnum::EMPTY)
        .unwrap_or(RestartPolicyNameEnum::NO)
}

/// How long we wait for another edgecert run to release the container name: its window, its
/// grace period and a minute for loading and cleaning up.
fn patience(cx: &RunContext<'_>) -> Duration {
    cx.window + observe::GRACE + Duration::from_secs(60)
}

/// The module name must not belong to a container we did not create. One of another edgecert
/// run (the same module checked concurrently on this engine) is waited for: that run removes
/// it within its window and grace period.
async fn name_is_free(cx: &RunContext<'_>, name: &str, since: Instant) -> Result<(), String> {
    loop {
        let found = match cx.engine.docker.inspect_container(name, None).await {
            Err(e) if is_not_found(&e) => return Ok(()),
            // An invalid name is the module's problem; create says so.
            Err(e) if status(&e) == Some(400) => return Ok(()),
            Err(e) => return Err(format!("cannot look up container {name}: {}", message(&e))),
            Ok(found) => found,
        };
        let owner = found
            .config
            .and_then(|c| c.labels)
            .and_then(|l| l.get(RUN_LABEL).cloned());
        let whose = match owner {
            Some(_) if since.elapsed() < patience(cx) => {
                cx.cancel.sleep(Duration::from_millis(500)).await?;
                continue;
            }
            Some(run) => format!(
                "of edgecert run {run}, still there after {} s",
                patience(cx).as_secs()
            ),
            None => "not created by edgecert".to_owned(),
        };
        return Err(format!(
            "a container named {name} already exists ({whose}); edgecert removes only \
             containers it created: remove or rename it (docker rm -f {name}) and run again"
        ));
    }
}

enum Create {
    Created(String),
    /// The engine refuses the module's container (EC401 fails).
    Refused(String),
    NameTaken(String),
}

/// Creates the container; `Err` when something other than the module is in the way.
async fn create(
    cx: &RunContext<'_>,
    pf: &PlatformFacts,
    tag: &str,
    name: &str,
    standins: &mut Option<(Option<String>, Standins)>,
) -> Result<Create, String> {
    // A concurrent run may remove an idle network between our lookup and the create: retry once.
    for attempt in 0..2 {
        let network = if cx.plan.uses_default_network() {
            Some(network::ensure(&cx.engine.docker, cx.run_id).await?)
        } else {
            None
        };
        // The stand-ins listen on the network's gateway address: set up (again) for the
        // network the container joins. The host lock is held: it cannot go in between.
        if standins.as_ref().map(|(n, _)| n) != Some(&network) {
            *standins = None;
            let bridge = match (&network, cx.engine.local) {
                (Some(id), true) => network::gateway_ip(&cx.engine.docker, id).await,
                (Some(_), false) => Err(
                    "the engine is on another host: the module cannot reach a stand-in here"
                        .to_owned(),
                ),
                (None, _) => Err(
                    "createOptions sets the module's networking; the edgeHub stand-in is on the \
                     azure-iot-edge network"
                        .to_owned(),
                ),
            };
            let made = Standins::start(
                cx.dir,
                cx.run_id,
                &pf.platform.iotedge_name(),
                &cx.plan.module_name,
                cx.plan.desired.clone(),
                bridge,
            )
            .await?;
            *standins = Some((network.clone(), made));
        }
        let Some((_, ours)) = standins.as_ref() else {
            return Err("the runtime stand-ins were not set up".into());
        };
        let socket = ours.socket.to_string_lossy().into_owned();
        let gateway = ours
            .gateway
            .as_ref()
            .map(|(n, ip)| (n.as_str(), ip.as_str()));
        let platform = pf.platform.to_string();
        let place = Placement {
            image: tag,
            run_id: cx.run_id,
            platform: &platform,
            socket: &socket,
            gateway,
            network: network.as_deref(),
            ncpu: cx.engine.ncpu,
        };
        let body: ContainerCreateBody = match container::body(cx.plan, &place) {
            Ok(b) => b,
            Err(why) => return Ok(Create::Refused(why)),
        };
        let options = CreateContainerOptions {
            name: Some(name.to_owned()),
            platform,
        };
        match cx.engine.docker.create_container(Some(options), body).await {
            Ok(r) => return Ok(Create::Created(r.id)),
            Err(e) if status(&e) == Some(409) => {
                return Ok(Create::NameTaken(format!(
                    "a container named {name} appeared while we created ours: {}",
                    message(&e)
                )));
            }
            Err(e) if attempt == 0 && is_not_found(&e) && message(&e).contains("network") => {}
            Err(e) => return Ok(Create::Refused(message(&e))),
        }
    }
    Err(format!(
        "the {} network kept disappearing",
        container::NETWORK
    ))
}

async fn cleanup(cx: &RunContext<'_>, created: &Created) -> Vec<String> {
    let docker = &cx.engine.docker;
    let mut problems = Vec::new();
    if let Some(id) = &created.container {
        let options = RemoveContainerOptions {
            v: true,
            force: true,
            link: false,
        };
        match docker.remove_container(id, Some(options)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => problems.push(format!("cannot remove container {id}: {}", message(&e))),
        }
    }
    if let Some(tag) = &created.image {
        problems.extend(load::remove(docker, tag).await);
    }
    problems
}

//! `MobyIngest`: the `Ingest` implementation the front doors hand to `certify`. It owns the
//! run-wide parts — a private tokio runtime (the engine is sync), the engine connection, the
//! run id, the workload socket, sequential or parallel platforms, the network's release, and
//! the optional Ctrl-C/SIGTERM handler — and leaves each platform to `platform.rs`.
//!
//! Parallel by default (measured: the window dominates, so two platforms take about as long as
//! one), sequential when two copies of the container could not coexist (fixed host ports, host
//! network) or when `EDGECERT_RUN_MODE=sequential`.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use edgecert_engine::facts::{ImageFacts, PlatformRun, RuntimeFacts};
use edgecert_engine::ingest::Ingest;
use edgecert_engine::offer::Offer;
use edgecert_engine::policy::Policy;

use crate::cancel::{self, Cancel};
use crate::container::Plan;
use crate::network;
use crate::platform::{self, RunContext};
use crate::sweep::{self, RunLock};
use edgecert_engine::moby;

/// How the platforms of one image are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sequential,
    Parallel,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sequential => "sequential",
            Mode::Parallel => "parallel",
        }
    }

    /// `EDGECERT_RUN_MODE=sequential|parallel`, if set to one of those.
    pub fn from_env() -> Option<Mode> {
        match std::env::var("EDGECERT_RUN_MODE").ok()?.as_str() {
            "sequential" => Some(Mode::Sequential),
            "parallel" => Some(Mode::Parallel),
            _ => None,
        }
    }
}

/// The ingestion test on the Moby engine at `DOCKER_HOST` (or the default socket).
#[derive(Debug, Default)]
pub struct MobyIngest {
    mode: Option<Mode>,
    handle_signals: bool,
    cancel: Option<Cancel>,
    interrupted: Mutex<Option<&'static str>>,
    warnings: Mutex<Vec<String>>,
}

impl MobyIngest {
    /// Mode from `EDGECERT_RUN_MODE`, else chosen per offer; no signal handler.
    pub fn new() -> Self {
        MobyIngest {
            mode: Mode::from_env(),
            ..Default::default()
        }
    }

    /// Forces a mode (two copies that cannot coexist still run one after the other).
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Catch SIGINT/SIGTERM during the run: stop, clean up, then report `interrupted()`.
    /// For a CLI; a long-lived host process handles its own signals.
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.handle_signals = on;
        self
    }

    /// Stop (and clean up) when `cancel` fires: the run-wide cancellation of a caller that
    /// handles signals itself (`catch_signals`), shared with the static pass.
    pub fn with_cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// The signal (`SIGINT`, `SIGTERM`) that cut the last run short, if one did.
    pub fn interrupted(&self) -> Option<&'static str> {
        *self.interrupted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What could not be cleaned up (the user should know; the checks need not).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn choose(&self, plan: &Plan) -> Mode {
        if plan.exclusive().is_some() {
            return Mode::Sequential;
        }
        self.mode.unwrap_or(Mode::Parallel)
    }
}

impl Ingest for MobyIngest {
    fn ingest(
        &self,
        offer: &Offer,
        image: &ImageFacts,
        blobs: &Path,
        policy: &Policy,
    ) -> RuntimeFacts {
        let started = Instant::now();
        let plan = Plan::new(offer, policy);
        let mode = self.choose(&plan);
        let mut facts = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(self.run(offer, image, blobs, policy, &plan, mode)),
            Err(e) => RuntimeFacts {
                unavailable: Some(format!("cannot start the engine client runtime: {e}")),
                ..Default::default()
            },
        };
        facts.mode = mode.as_str().to_owned();
        facts.duration_ms = started.elapsed().as_millis() as u64;
        facts
    }
}

impl MobyIngest {
    async fn run(
        &self,
        offer: &Offer,
        image: &ImageFacts,
        blobs: &Path,
        policy: &Policy,
        plan: &Plan,
        mode: Mode,
    ) -> RuntimeFacts {
        let (trigger, mut cancel) = cancel::new();
        let _trigger = if let Some(given) = &self.cancel {
            cancel = given.clone();
            Some(trigger)
        } else if self.handle_signals {
            // Without a handler the run cannot clean up on Ctrl-C; say so but go on.
            if let Err(e) = cancel::on_signals(trigger) {
                self.warn(format!(
                    "cannot catch Ctrl-C during the ingestion test: {e}"
                ));
            }
            None
        } else {
            Some(trigger)
        };
        let engine = match moby::connect().await {
            Ok(e) => e,
            Err(u) => {
                return RuntimeFacts {
                    unavailable: Some(moby::unavailable(&u)),
                    ..Default::default()
                };
            }
        };
        let mut facts = RuntimeFacts {
            engine: Some(engine.description.clone()),
            ..Default::default()
        };
        // The run's own directory, next to the kept blobs (the certify run's temp dir).
        let parent = blobs.parent().unwrap_or(blobs);
        let dir = match tempfile::Builder::new()
            .prefix("ingest-")
            .tempdir_in(parent)
        {
            Ok(d) => d,
            Err(e) => {
                facts.unavailable = Some(format!("cannot create the run directory: {e}"));
                return facts;
            }
        };
        let run_id = run_id();
        // Alive from here until after cleanup; then the orphans of dead runs can go.
        let _alive = RunLock::hold(&run_id);
        sweep::sweep(&engine.docker)
            .await
            .notes()
            .into_iter()
            .for_each(|n| self.warn(n));
        let identifier = offer.identifier().unwrap_or_else(|| "module".to_owned());
        let cx = RunContext {
            engine: &engine,
            plan,
            run_id: &run_id,
            identifier: &identifier,
            dir: dir.path(),
            blobs,
            window: Duration::from_secs(policy.run_window_secs),
            parallel: mode == Mode::Parallel,
            cancel: cancel.clone(),
        };
        let results: Vec<(PlatformRun, Vec<String>)> = match mode {
            Mode::Parallel => {
                futures_util::future::join_all(
                    image.platforms.iter().map(|pf| platform::run(&cx, pf)),
                )
                .await
            }
            Mode::Sequential => {
                let mut all = Vec::new();
                for pf in &image.platforms {
                    all.push(platform::run(&cx, pf).await);
                }
                all
            }
        };
        for (run, problems) in results {
            facts.platforms.push(run);
            problems.into_iter().for_each(|p| self.warn(p));
        }
        if plan.uses_default_network() {
            network::release(&engine.docker)
                .await
                .into_iter()
                .for_each(|p| self.warn(p));
        }
        self.note_interrupt(&cancel);
        facts
    }

    fn warn(&self, w: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(w);
    }

    fn note_interrupt(&self, cancel: &Cancel) {
        if let Some(why) = cancel.reason() {
            *self.interrupted.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        }
    }
}

/// 12 hex digits from the clock, a per-process counter and the process id: unique enough per
/// engine, and a valid tag.
fn run_id() -> String {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:08x}{:04x}",
        (nanos as u32).wrapping_add(n.wrapping_mul(0x9e37_79b9)),
        std::process::id() as u16
    )
}

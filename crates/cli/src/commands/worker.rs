//! `edgecert worker`: runs the marketplace pipeline's jobs (ingest, certify, preview, go-live)
//! against the shared database and blob store, and nothing else — for scale-out, next to one
//! or more `serve` processes (each with its own Moby engine for the ingestion test). `serve`
//! runs the same workers in-process (`--workers`). Jobs are claimed with leases: a worker
//! killed mid-job loses nothing, another one resumes the job when its lease runs out.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use edgecert_engine::analyze::malware::MalwareOptions;
use edgecert_engine::policy::Policy;
use edgecert_marketplace::Market;
use edgecert_marketplace::pipeline::{Certification, Pipeline};
use edgecert_registry::api::Registry;

/// How the pipeline certifies: the flags `edgecert check` takes for the same things.
#[derive(Args, Debug, Clone)]
pub struct PipelineArgs {
    /// Policy file (TOML or JSON) every submission is certified against.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Skip the ingestion test (static checks only; such reports are `incomplete`).
    #[arg(long)]
    pub no_run: bool,
    /// Observation window of the ingestion test, in seconds (default: the policy's, 30).
    #[arg(long, value_name = "SECS", env = "EDGECERT_RUN_WINDOW")]
    pub run_window: Option<u64>,
    /// YARA rule file or directory, added to the built-in rules.
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// ClamAV through clamd: unix:/path/clamd.ctl or tcp:HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub clamd: Option<String>,
    /// SHA-256 blocklist: one hex digest per line.
    #[arg(long, value_name = "FILE")]
    pub blocklist: Option<PathBuf>,
    /// Seconds a claimed job stays this worker's without a renewal; a worker that dies loses
    /// its jobs to others after this long.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub lease: u64,
    /// SMTP server for notification e-mail: smtp://HOST:PORT (plain, e.g. a local relay),
    /// smtp://HOST:PORT?tls=required (STARTTLS) or smtps://HOST:PORT; user:password@ as usual.
    #[arg(
        long,
        value_name = "URL",
        env = "EDGECERT_SMTP",
        hide_env_values = true
    )]
    pub smtp: Option<String>,
    /// For docker:// submissions: `--tls-verify=false` fetches over plain http (loopback
    /// registries).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tls_verify: bool,
    /// Sender of notification e-mail.
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "edgecert <edgecert@localhost>"
    )]
    pub mail_from: String,
}

impl PipelineArgs {
    pub fn certification(&self) -> anyhow::Result<Certification> {
        let mut policy = match &self.policy {
            Some(p) => Policy::load(p)?,
            None => Policy::default(),
        };
        if let Some(w) = self.run_window {
            policy.run_window_secs = w;
        }
        Ok(Certification {
            policy,
            malware: MalwareOptions {
                rules: self.rules.clone(),
                clamd: self.clamd.clone(),
                blocklist: self.blocklist.clone(),
                cache: super::check::cache_dir(),
                ..Default::default()
            },
            run: !self.no_run,
            threads: 0,
            plain_http_sources: !self.tls_verify,
        })
    }

    /// `n` workers over `market` and `registry`, named after this host and process.
    pub fn pipelines(
        &self,
        market: &Market,
        registry: &Registry,
        n: usize,
    ) -> anyhow::Result<Vec<Pipeline>> {
        let certification = self.certification()?;
        let notifier = edgecert_marketplace::living::Notifier::new(
            self.smtp.clone().map(|url| (url, self.mail_from.clone())),
        );
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "worker".into());
        Ok((0..n)
            .map(|i| Pipeline {
                market: market.clone(),
                registry: registry.clone(),
                owner: format!("{host}-{}-{i}", std::process::id()),
                lease: Duration::from_secs(self.lease.max(3)),
                certification: certification.clone(),
                notifier: notifier.clone(),
            })
            .collect())
    }
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Directory of the embedded default (SQLite and blobs), as `serve --data`.
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data: PathBuf,
    /// Metadata database: sqlite://PATH or postgres://… (SQLite: one process only).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Blob store: file://DIR or s3://BUCKET/PREFIX, as `serve --blobs`.
    #[arg(long, value_name = "URL")]
    pub blobs: Option<String>,
    /// Jobs run at once by this process.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub workers: usize,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Log lines on stderr: human or json.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
    pub log_format: String,
}

pub fn run(args: WorkerArgs) -> anyhow::Result<u8> {
    super::serve::init_logs(&args.log_format)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the worker runtime")?;
    rt.block_on(async move {
        let url = super::serve::database_url(&args.data, args.database.as_deref())?;
        let meta = edgecert_registry::meta::Meta::connect(&url)
            .await
            .with_context(|| {
                format!(
                    "opening the metadata database {}",
                    super::serve::redact(&url)
                )
            })?;
        let store = super::serve::open_blobs(&args.data, args.blobs.as_deref()).await?;
        let registry = Registry::new(store, meta.clone());
        let market = Market::open(&meta)
            .await
            .context("opening the marketplace tables")?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = start(
            args.pipeline
                .pipelines(&market, &registry, args.workers.max(1))?,
            stopped,
        );
        tracing::info!(workers = workers.len(), "running pipeline jobs");
        wait_for_signal().await?;
        tracing::info!("stopping: finishing the jobs in hand");
        let _ = stop.send(true);
        for w in workers {
            let _ = w.await;
        }
        Ok(0)
    })
}

/// Spawns each pipeline's job loop.
pub fn start(
    pipelines: Vec<Pipeline>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    pipelines
        .into_iter()
        .map(|p| {
            let stop = stop.clone();
            tokio::spawn(async move { p.run(Duration::from_millis(500), stop).await })
        })
        .collect()
}

/// Ctrl-C or SIGTERM.
pub async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

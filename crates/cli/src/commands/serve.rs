//! `edgecert serve`: the marketplace registry (OCI Distribution 1.1 at `/v2/`) on one port,
//! with `/healthz`. The embedded default needs no service: SQLite metadata and a blob
//! directory under `--data` (default `./data`). SIGINT/SIGTERM stop it gracefully: the
//! listener closes, requests in flight finish, and an upload cut short stays resumable (its
//! session's bytes are on disk, synced).
//!
//! Blobs live in a directory (default) or S3-compatible object storage (`--blobs s3://…`);
//! a garbage collection runs every `--gc-interval` seconds.
//!
//! The marketplace API (`/api/v1`: offers, submissions, review, go-live, catalog) is served on
//! the same port, and `--workers` pipeline workers run in this process (0: none, leave the
//! jobs to `edgecert worker` processes).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use edgecert_registry::api::Registry;
use edgecert_registry::meta::Meta;
use edgecert_registry::store::BlobStore;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Directory of the embedded default: SQLite metadata and blobs.
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,
    /// Metadata database: sqlite://PATH or postgres://… (default: SQLite under --data).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Blob store: file://DIR (default: DIR/blobs under --data) or s3://BUCKET/PREFIX (endpoint
    /// and keys from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
    #[arg(long, value_name = "URL")]
    pub blobs: Option<String>,
    /// Seconds between garbage collections of unreferenced blobs and abandoned uploads
    /// (0: never; `edgecert admin gc` runs one on demand).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub gc_interval: u64,
    /// Only blobs and uploads untouched this long are collected.
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    pub gc_grace: u64,
    /// URL clients reach this server at, for the token realm (default: from each request).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Log lines on stderr: human-readable or one JSON object per line. Which events: the
    /// EDGECERT_LOG variable (tracing's filter syntax; default `info,sqlx=warn`).
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
    pub log_format: String,
    /// Pipeline workers in this process (0: jobs are left to `edgecert worker`).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub workers: usize,
    #[command(flatten)]
    pub pipeline: super::worker::PipelineArgs,
}

/// Logs to stderr, filtered by `EDGECERT_LOG`.
pub fn init_logs(format: &str) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("EDGECERT_LOG") {
        Ok(f) => EnvFilter::try_new(&f).with_context(|| format!("EDGECERT_LOG={f:?}"))?,
        // sqlx logs PostgreSQL's notices ("already exists, skipping") at info.
        Err(_) => EnvFilter::new("info,sqlx=warn"),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let set = if format == "json" {
        tracing::subscriber::set_global_default(logs.json().flatten_event(true).finish())
    } else {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        tracing::subscriber::set_global_default(logs.with_ansi(ansi).finish())
    };
    set.context("setting up logs")
}

/// The metadata database URL of `--data` / `--database`.
pub fn database_url(data: &std::path::Path, database: Option<&str>) -> anyhow::Result<String> {
    if let Some(url) = database {
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            bail!("--database {url:?}: expected sqlite://PATH or postgres://…");
        }
        return Ok(url.to_owned());
    }
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        data.join("edgecert.db").display()
    ))
}

/// The blob store of `--blobs` (default: `blobs` under `--data`).
pub async fn open_blobs(data: &std::path::Path, blobs: Option<&str>) -> anyhow::Result<BlobStore> {
    let url = match blobs {
        Some(url) => url.to_owned(),
        None => format!("file://{}", data.join("blobs").display()),
    };
    BlobStore::open(&url).await.map_err(anyhow::Error::msg)
}

pub fn run(args: ServeArgs) -> anyhow::Result<u8> {
    init_logs(&args.log_format)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the server runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    let url = database_url(&args.data, args.database.as_deref())?;
    let meta = Meta::connect(&url)
        .await
        .with_context(|| format!("opening the metadata database {}", redact(&url)))?;
    let store = open_blobs(&args.data, args.blobs.as_deref()).await?;
    let mut registry = Registry::new(store, meta.clone());
    registry.public_url = args.public_url.clone();
    let market = edgecert_marketplace::Market::open(&meta)
        .await
        .context("opening the marketplace tables")?;
    edgecert_web::session::migrate(&meta)
        .await
        .context("opening the web tables")?;
    // Offer findings in the API and the editor use the policy certification uses.
    let policy = args.pipeline.certification()?.policy;
    let app = registry
        .clone()
        .router()
        .merge(edgecert_marketplace::api::router(
            market.clone(),
            meta.clone(),
            args.public_url.as_deref(),
            policy.clone(),
        ))
        .merge(edgecert_web::router(
            market.clone(),
            meta.clone(),
            args.public_url.as_deref(),
            policy,
        ))
        .route("/healthz", axum::routing::get(|| async { "ok\n" }));
    let (stop_workers, stopped) = tokio::sync::watch::channel(false);
    let workers = super::worker::start(
        args.pipeline.pipelines(&market, &registry, args.workers)?,
        stopped,
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        address = %addr,
        data = %args.data.display(),
        "serving the registry at http://{addr}/v2/"
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
    };
    // Pull counts reach the database every few seconds, off the requests' path.
    let (pulls, meta) = (registry.pulls.clone(), registry.meta.clone());
    let flusher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            if let Err(e) = pulls.flush(&meta).await {
                tracing::warn!(error = %e, "pull counts not saved yet");
            }
        }
    });
    let collector = (args.gc_interval > 0).then(|| {
        let (registry, every) = (registry.clone(), args.gc_interval);
        let grace = std::time::Duration::from_secs(args.gc_grace);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(every)).await;
                match registry.collect_garbage(grace).await {
                    Ok(r) => tracing::info!(
                        blobs_removed = r.blobs_removed.len(),
                        uploads_removed = r.uploads_removed,
                        blobs_kept = r.blobs_kept,
                        "garbage collection"
                    ),
                    Err(e) => tracing::error!(error = %e.message, "garbage collection failed"),
                }
            }
        })
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving");
    flusher.abort();
    let _ = stop_workers.send(true);
    for w in workers {
        let _ = w.await;
    }
    if let Some(c) = collector {
        c.abort();
    }
    registry
        .pulls
        .flush(&registry.meta)
        .await
        .context("saving pull counts")?;
    result?;
    Ok(0)
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite:///x.db"), "sqlite:///x.db");
        assert!(database_url(std::path::Path::new("/tmp"), Some("mysql://x")).is_err());
    }
}

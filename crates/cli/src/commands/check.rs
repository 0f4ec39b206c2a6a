//! `edgecert check`: certify an offer and its image, render the report, exit 0/1/2/3.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use edgecert_engine::analyze::malware::MalwareOptions;
use edgecert_engine::image::layer::{NoProgress, Progress};
use edgecert_engine::image::remote::RemoteOptions;
use edgecert_engine::image::source::ImageSource;
use edgecert_engine::ingest::RunMode;
use edgecert_engine::offer::Offer;
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{Severity, json, junit, printable, sarif};
use edgecert_engine::{CertifyOptions, certify, default_image};
use edgecert_runtime::MobyIngest;

use crate::output::Target;
use crate::{human, output, progress, style};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The offer file.
    #[arg(long, value_name = "FILE")]
    offer: PathBuf,
    /// Image source: oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE,
    /// docker://HOST/REPO:TAG, docker-daemon:NAME:TAG. Default: the offer's
    /// image.repository:defaultTag from its registry.
    #[arg(long, value_name = "SOURCE")]
    image: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Skip the ingestion test on a Moby engine (the static checks still run).
    #[arg(long)]
    no_run: bool,
    /// Observation window of the ingestion test, in seconds (default 30).
    #[arg(long, value_name = "SECS", env = "EDGECERT_RUN_WINDOW")]
    run_window: Option<u64>,
    /// Policy file (TOML or JSON): severities, required platforms, budgets, limits.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Make a check blocking.
    #[arg(long, value_name = "ID")]
    deny: Vec<String>,
    /// Make a check a warning.
    #[arg(long, value_name = "ID")]
    warn: Vec<String>,
    /// Make a check informational (it still runs and is reported).
    #[arg(long, value_name = "ID")]
    allow: Vec<String>,
    /// Verify TLS for docker:// sources; `--tls-verify=false` uses plain http (loopback registries).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    tls_verify: bool,
    /// Where exact tags are already published, for EC603: docker://HOST/REPO.
    #[arg(long, value_name = "REPO")]
    published: Option<String>,
    /// YARA rule file or directory of `*.yar`/`*.yara` files, added to the built-in rules.
    #[arg(long, value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Scan every file with ClamAV too, through clamd: unix:/path/clamd.ctl or tcp:HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    clamd: Option<String>,
    /// SHA-256 blocklist: one hex digest per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    blocklist: Option<PathBuf>,
    /// Write the image's component inventory (SBOM) to FILE as CycloneDX 1.5 JSON.
    #[arg(long, value_name = "FILE")]
    sbom: Option<PathBuf>,
    /// Worker threads for reading layers, 1 to 256 (0, the default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_threads)]
    threads: usize,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Human,
    Json,
    Sarif,
    Junit,
}

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let offer = Offer::load(&args.offer)?;
    // Where the results go is judged before the run: a report that cannot be written, or that
    // would overwrite the offer or the SBOM, fails now rather than after a long scan.
    let report_to = args.output.as_deref().map(Target::prepare).transpose()?;
    let sbom_to = args.sbom.as_deref().map(Target::prepare).transpose()?;
    for (flag, target) in [("--output", &report_to), ("--sbom", &sbom_to)] {
        if let Some(t) = target
            && t.is(&args.offer)
        {
            bail!(
                "{flag} {} is the offer file {}: refusing to overwrite it",
                t.path().display(),
                args.offer.display()
            );
        }
    }
    if let (Some(r), Some(s)) = (&report_to, &sbom_to)
        && r.is(s.path())
    {
        bail!(
            "--output {} and --sbom {} are the same file",
            r.path().display(),
            s.path().display()
        );
    }
    let mut policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    for (ids, severity) in [
        (&args.deny, Severity::Blocking),
        (&args.warn, Severity::Warning),
        (&args.allow, Severity::Info),
    ] {
        for id in ids {
            policy
                .override_severity(&id.to_uppercase(), severity)
                .map_err(anyhow::Error::msg)?;
        }
    }
    if let Some(w) = args.run_window {
        policy.run_window_secs = w;
    }
    let image = match &args.image {
        Some(s) => ImageSource::parse(s)?,
        None => match default_image(&offer) {
            Some(i) => i,
            None => bail!(
                "no --image given and {} has no image.repository and image.defaultTag to pull",
                args.offer.display()
            ),
        },
    };
    if let Some(p) = &args.published
        && !p.starts_with("docker://")
    {
        bail!("--published wants docker://HOST/REPO, got {p:?}");
    }
    // Ctrl-C and SIGTERM, from here to the end of the run, static pass and ingestion test alike:
    // stop at the next layer read or wait, remove what the run made, exit 130 or 143.
    let (trigger, cancel) = edgecert_engine::cancel::new();
    edgecert_runtime::catch_signals(trigger).context("cannot catch Ctrl-C")?;
    let report_to = report_to.map(|t| t.with_cancel(cancel.clone()));
    let sbom_to = sbom_to.map(|t| t.with_cancel(cancel.clone()));
    let options = CertifyOptions {
        image,
        remote: RemoteOptions::new(args.tls_verify),
        policy,
        published: args.published.clone(),
        threads: args.threads,
        malware: MalwareOptions {
            rules: args.rules.clone(),
            clamd: args.clamd.clone(),
            blocklist: args.blocklist.clone(),
            cache: cache_dir(),
            ..Default::default()
        },
        cancel: cancel.clone(),
    };
    let bars = progress::Bars::new();
    let progress: &dyn Progress = match &bars {
        Some(b) => b,
        None => &NoProgress,
    };
    // The ingestion test on the Moby engine at DOCKER_HOST; on Ctrl-C it cleans up first.
    let ingest = MobyIngest::new().with_cancel(cancel.clone());
    let run = if args.no_run {
        RunMode::NoRun
    } else {
        RunMode::Run(&ingest)
    };
    let certified = certify(&offer, &options, run, progress);
    drop(bars);
    for w in ingest.warnings() {
        eprintln!("edgecert: warning: {}", printable(&w));
    }
    if let Some(signal) = cancel.reason() {
        let removed = if args.no_run {
            "its temporary files were removed"
        } else {
            "its temporary files and the ingestion test's containers and images were removed"
        };
        eprintln!("edgecert: interrupted by {signal}; {removed}");
        return Ok(if signal == "SIGTERM" { 143 } else { 130 });
    }
    let certification = certified.context("certification could not run")?;
    let report = certification.report;
    let text = match args.format {
        Format::Human => {
            let painter = if args.output.is_some() {
                style::Painter::plain()
            } else {
                style::Painter::for_stdout()
            };
            human::render(&report, &painter)
        }
        Format::Json => json::render(&report),
        Format::Sarif => {
            // Locations point into the offer as given; Offer::load read it a moment ago.
            let text = edgecert_engine::input::read_text(
                &args.offer,
                edgecert_engine::input::MAX_DOCUMENT,
            )
            .unwrap_or_default();
            let path = args.offer.to_string_lossy();
            sarif::render_with(
                &report,
                Some(sarif::OfferFile {
                    path: &path,
                    text: &text,
                }),
            )
        }
        Format::Junit => junit::render(&report),
    };
    if let Some(target) = &sbom_to {
        match certification.inventory.as_ref() {
            Some(inventory) => {
                let bom = edgecert_engine::sbom::cyclonedx::render(inventory);
                let written = target.write(&bom);
                if let Some(code) = interrupted(&cancel, "the SBOM was written") {
                    return Ok(code);
                }
                written?;
            }
            None => eprintln!(
                "edgecert: warning: no SBOM written to {}: the image could not be read",
                target.path().display()
            ),
        }
    }
    let written = output::write_to(report_to.as_ref(), &text);
    if let Some(code) = interrupted(&cancel, "the report was written") {
        return Ok(code);
    }
    written?;
    Ok(report.exit_code() as u8)
}

/// After a write that may have waited on a FIFO: the exit code (130/143) if a signal came.
fn interrupted(cancel: &edgecert_engine::cancel::Cancel, before: &str) -> Option<u8> {
    let signal = cancel.reason()?;
    eprintln!("edgecert: interrupted by {signal} before {before}");
    Some(if signal == "SIGTERM" { 143 } else { 130 })
}

/// Most worker threads `--threads` accepts: each reads a layer with its own buffers and
/// analyzer state, and more threads than layers or cores only cost memory (`--threads 100000`
/// once started 15,640 threads and ran for 21 minutes).
pub const MAX_THREADS: usize = 256;

fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of threads"))?;
    if n > MAX_THREADS {
        return Err(format!(
            "at most {MAX_THREADS} threads (0 = one per core), got {n}"
        ));
    }
    Ok(n)
}

/// Where malware scan results are cached between runs: `$EDGECERT_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/edgecert/malware`, else `~/.cache/edgecert/malware`. `EDGECERT_CACHE_DIR=`
/// (empty) turns the cache off. A directory others could write to (or a symlink, or not ours)
/// is not used: the run goes on without a cache and says why.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    let dir = if let Some(dir) = std::env::var_os("EDGECERT_CACHE_DIR") {
        if dir.is_empty() {
            return None;
        }
        PathBuf::from(dir).join("malware")
    } else {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        base.join("edgecert/malware")
    };
    match edgecert_engine::private_dir::ensure(&dir) {
        Ok(()) => Some(dir),
        Err(why) => {
            eprintln!(
                "edgecert: warning: malware scan results are not cached: {}",
                printable(&why)
            );
            None
        }
    }
}

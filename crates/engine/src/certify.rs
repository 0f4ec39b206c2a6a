//! A certification run: open the image source, read the image once, run every check, build the
//! report. This is the one entry point both front doors (CLI, marketplace worker) call, so the
//! same inputs and policy give byte-identical report JSON (timing aside).

use std::time::Instant;

use crate::analyze::default_analyzers;
use crate::analyze::malware::{MalwareAnalyzer, MalwareError, MalwareOptions};
use crate::analyze::sdk::IdentifierAnalyzer;
use crate::cancel::Cancel;
use crate::evaluate;
use crate::facts::RuntimeFacts;
use crate::image::layer::Progress;
use crate::image::remote::{Remote, RemoteOptions};
use crate::image::scan::{ScanOptions, scan};
use crate::image::source::ImageSource;
use crate::image::store::{Store, StoreError, TagMap};
use crate::ingest::RunMode;
use crate::offer::Offer;
use crate::policy::Policy;
use crate::report::Report;
use crate::sbom::Inventory;

#[derive(Debug, Clone)]
pub struct CertifyOptions {
    pub image: ImageSource,
    pub remote: RemoteOptions,
    pub policy: Policy,
    /// `--published docker://HOST/REPO`: where exact tags are already published (EC603).
    pub published: Option<String>,
    /// Worker threads for layer reading; 0 = one per core.
    pub threads: usize,
    /// Malware engines: operator rules, clamd, blocklist, archive limits (EC807).
    pub malware: MalwareOptions,
    /// Ctrl-C/SIGTERM: the run stops at the next layer read or wait and returns
    /// `CertifyError::Interrupted` after removing its temporary directory.
    pub cancel: Cancel,
}

/// Why a run could not produce a report (exit 2). Image problems are findings, not this.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error("image source {source_name}: {error}")]
    Source {
        source_name: String,
        error: StoreError,
    },
    /// Stopped by a signal (its name); everything the run made was removed.
    #[error("interrupted by {0}")]
    Interrupted(&'static str),
    #[error("cannot create a temporary directory: {0}")]
    Temp(std::io::Error),
    /// Not `#[from]`: that would chain the cause its message already holds.
    #[error("malware engines: {0}")]
    Malware(MalwareError),
}

/// What a certification run made: the report, and what the report summarizes, for the front
/// doors that show more (the CLI's `--sbom`, the marketplace's SBOM and container logs).
#[derive(Debug, Clone)]
pub struct Certification {
    pub report: Report,
    /// The image's component inventory (the SBOM), when the image could be read.
    pub inventory: Option<Inventory>,
    /// What the ingestion test observed per platform (container states, log tails, what the
    /// module did with the stand-ins), when it ran.
    pub runtime: Option<RuntimeFacts>,
}

pub fn certify(
    offer: &Offer,
    options: &CertifyOptions,
    run: RunMode<'_>,
    progress: &dyn Progress,
) -> Result<Certification, CertifyError> {
    let started = Instant::now();
    // Engines first: a rule file that does not compile or a clamd that does not answer stops
    // the run before any layer is read.
    let malware = MalwareAnalyzer::new(&options.malware).map_err(CertifyError::Malware)?;
    let engines = malware.engines();
    let mut analyzers = default_analyzers();
    analyzers.push(Box::new(malware));
    // EC701: the module identifier comes from the offer, so it is not a default analyzer.
    if let Some(identifier) = offer.identifier() {
        analyzers.push(Box::new(IdentifierAnalyzer::new(&identifier)));
    }
    // Also removes what runs killed with SIGKILL left in $TMPDIR (their kept blobs, the
    // stand-ins' sockets).
    let tmp = crate::scratch::Scratch::new().map_err(CertifyError::Temp)?;
    let source_name = options.image.to_string();
    let fail = |error| CertifyError::Source {
        source_name: source_name.clone(),
        error,
    };
    // Every registry request races the run's cancel: Ctrl-C ends a wait on a stalled registry.
    let remote = options.remote.clone().with_cancel(options.cancel.clone());
    let store = options
        .image
        .open(remote.clone(), tmp.path())
        .map_err(fail)?;
    let scan_options = ScanOptions {
        limits: options.policy.limits,
        threads: options.threads,
        tags: offer.tags().to_vec(),
        keep_blobs: matches!(run, RunMode::Run(_)).then(|| tmp.path().join("blobs")),
        cancel: options.cancel.clone(),
    };
    if let Some(dir) = &scan_options.keep_blobs {
        std::fs::create_dir_all(dir).map_err(CertifyError::Temp)?;
    }
    let facts = scan(
        &source_name,
        store.as_ref(),
        &scan_options,
        &analyzers,
        progress,
    )
    .map_err(fail);
    // Interrupted layers look broken: never judge them (`tmp` is removed on return).
    if let Some(why) = options.cancel.reason() {
        return Err(CertifyError::Interrupted(why));
    }
    let mut facts = facts?;
    facts.engines = engines;
    let published = match &options.published {
        None => None,
        Some(p) => {
            Some(published_tags(p, offer, remote).map_err(
                |error| match options.cancel.reason() {
                    Some(why) => CertifyError::Interrupted(why),
                    None => CertifyError::Source {
                        source_name: p.clone(),
                        error,
                    },
                },
            )?)
        }
    };
    let runtime = match run {
        RunMode::NoRun => None,
        RunMode::Run(ingest) => {
            let blobs = scan_options.keep_blobs.as_deref().unwrap_or(tmp.path());
            Some(ingest.ingest(offer, &facts, blobs, &options.policy))
        }
    };
    if let Some(why) = options.cancel.reason() {
        return Err(CertifyError::Interrupted(why));
    }
    let (mut report, inventory) = evaluate(
        offer,
        &facts,
        &options.policy,
        published.as_ref(),
        runtime.as_ref(),
    );
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(Certification {
        report,
        inventory,
        runtime,
    })
}

/// Digests of the offer's tags in the published repository. A tag the registry answers 404
/// for is absent (new); any other failure is an `Err` (exit 2) naming the cause: one answer
/// for "cannot look a tag up", whether one tag or the whole repository is unreachable, so an
/// unreadable tag never lets EC603 pass.
fn published_tags(
    reference: &str,
    offer: &Offer,
    remote: RemoteOptions,
) -> Result<TagMap, StoreError> {
    let repo = reference.strip_prefix("docker://").ok_or_else(|| {
        StoreError::Source(format!(
            "--published wants docker://HOST/REPO, got {reference:?}"
        ))
    })?;
    Remote::open(repo, remote)?.tags(offer.tags())
}

/// The default `--image`: the offer's `image.repository:defaultTag`, from its registry.
pub fn default_image(offer: &Offer) -> Option<ImageSource> {
    let image = offer.image.as_ref()?;
    let repo = image.repository.as_deref().filter(|r| !r.is_empty())?;
    let tag = image.default_tag.as_deref().filter(|t| !t.is_empty())?;
    Some(ImageSource::Registry {
        reference: format!("{repo}:{tag}"),
    })
}

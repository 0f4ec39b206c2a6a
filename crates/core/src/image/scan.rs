//! Reading a whole image: resolve the manifests, then read every distinct layer once — in
//! parallel on all cores, layers of all platforms together, biggest first — and build each
//! platform's merged filesystem. A layer shared by two platforms is read once.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use super::hostile;
use super::layer::{EntryKind, LayerFacts, Limits, Progress, read_layer};
use super::merged::MergedFs;
use super::resolve::{LayerRef, resolve};
use super::store::{Store, StoreError};
use crate::analyze::Analyzer;
use crate::cancel::Cancel;
use crate::facts::{ImageFacts, LayerSummary, PlatformFacts, Problem};
use crate::location::Location;
use crate::platform::Platform;

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub limits: Limits,
    /// Worker threads for layer reading; 0 = one per core.
    pub threads: usize,
    /// Tags whose digests the versioning checks need (the offer's `image.tags`).
    pub tags: Vec<String>,
    /// Keep a verified copy of every layer blob here (`<hex>`), for the ingestion test.
    pub keep_blobs: Option<std::path::PathBuf>,
    /// Ctrl-C: layers stop at their next read; `scan` then returns what it has (the caller
    /// looks at `cancel` before trusting it).
    pub cancel: Cancel,
}

/// Reads the image behind `store`. `Err` only when the source fails (see `resolve`).
pub fn scan(
    source: &str,
    store: &dyn Store,
    options: &ScanOptions,
    analyzers: &[Box<dyn Analyzer>],
    progress: &dyn Progress,
) -> Result<ImageFacts, StoreError> {
    let resolved = resolve(store)?;
    let mut facts = ImageFacts {
        source: source.to_owned(),
        top_digest: resolved.top_digest.clone(),
        problems: resolved.problems,
        ..Default::default()
    };
    let mut distinct: BTreeMap<_, LayerRef> = BTreeMap::new();
    for plan in resolved.platforms.iter().filter(|p| p.sound) {
        for l in &plan.layers {
            distinct
                .entry(l.digest.clone())
                .or_insert_with(|| l.clone());
        }
    }
    let mut work: Vec<LayerRef> = distinct.into_values().collect();
    work.sort_by_key(|l| std::cmp::Reverse(l.size));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| StoreError::Source(format!("cannot start worker threads: {e}")))?;
    // A layer whose bytes could not be had (transport, local I/O) stops the run: without it
    // no verdict is sound, and calling it "does not decompress" (EC101) would blame the image.
    let read: Vec<Arc<LayerFacts>> = pool.install(|| {
        work.par_iter()
            .map(|l| {
                read_layer(
                    store,
                    l,
                    analyzers,
                    options.limits,
                    progress,
                    options.keep_blobs.as_deref(),
                    &options.cancel,
                )
                .map(Arc::new)
            })
            .collect::<Result<_, _>>()
    })?;
    for layer in read {
        facts.problems.extend(layer.problems.iter().cloned());
        facts.layers.insert(layer.digest.clone(), layer);
    }
    for plan in resolved.platforms {
        let platform = plan
            .index_platform
            .clone()
            .or_else(|| plan.config.as_ref().map(|c| c.platform()))
            .unwrap_or_else(|| Platform::new("unknown", "unknown", None));
        let layers: Vec<_> = plan
            .layers
            .iter()
            .filter_map(|l| facts.layers.get(&l.digest))
            .collect();
        let complete =
            plan.sound && layers.len() == plan.layers.len() && layers.iter().all(|l| l.complete);
        facts
            .problems
            .extend(escapes_across_layers(&layers, &platform));
        let fs = MergedFs::from_layers(layers.iter().map(|l| l.as_ref()));
        let summaries = layers
            .iter()
            .map(|l| LayerSummary {
                digest: l.digest.clone(),
                compressed_bytes: l.compressed_bytes,
                uncompressed_bytes: l.uncompressed_bytes,
            })
            .collect();
        facts.platforms.push(PlatformFacts {
            platform,
            index_platform: plan.index_platform,
            manifest_digest: plan.manifest_digest,
            config: plan.config,
            layers: summaries,
            fs,
            complete,
        });
    }
    facts.tags = store.tags(&options.tags)?;
    Ok(facts)
}

/// Entries written through a symlink that a *lower* layer planted and whose target climbs out
/// of the root: an extractor applying the layers in order would follow it. (Within one layer,
/// `layer::walk` already catches and drops them.)
fn escapes_across_layers(layers: &[&Arc<LayerFacts>], platform: &Platform) -> Vec<Problem> {
    let mut escaping: HashSet<&str> = HashSet::new();
    let mut problems = Vec::new();
    for layer in layers {
        if !escaping.is_empty() {
            for e in &layer.entries {
                if let Some(link) = hostile::ancestors(&e.path).find(|a| escaping.contains(a)) {
                    problems.push(Problem {
                        message: format!(
                            "entry is written through symlink {link:?} of a lower layer, whose target climbs out of the root"
                        ),
                        location: Location::layer(&layer.digest, Some(&e.path)),
                        platform: Some(platform.clone()),
                    });
                }
            }
        }
        for e in &layer.entries {
            match &e.kind {
                EntryKind::Symlink(target) if hostile::symlink_escapes(&e.path, target) => {
                    escaping.insert(e.path.as_str());
                }
                // Anything else at that path (a whiteout, a directory) replaces the link.
                _ => {
                    escaping.remove(e.path.as_str());
                }
            }
        }
    }
    problems
}

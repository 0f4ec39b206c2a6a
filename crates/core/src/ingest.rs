//! The seam between the engine and the ingestion test: the engine does not know Moby; a
//! runtime (`edgecert-runtime`) implements `Ingest`, and `certify` calls it after the static
//! read with the facts and the kept layer blobs, so both front doors run the same sequence.

use std::path::Path;

use crate::facts::{ImageFacts, RuntimeFacts};
use crate::offer::Offer;
use crate::policy::Policy;

pub trait Ingest: Send + Sync {
    /// Runs every platform of `image` with the offer's defaults. `blobs` holds each verified
    /// layer blob as `<hex>` (the bytes already read by the scan). Never fails: what could not
    /// run is recorded in the facts.
    fn ingest(
        &self,
        offer: &Offer,
        image: &ImageFacts,
        blobs: &Path,
        policy: &Policy,
    ) -> RuntimeFacts;
}

/// What `certify` does about the ingestion test.
#[derive(Clone, Copy)]
pub enum RunMode<'a> {
    /// `--no-run`: the runtime checks are skipped by request, the verdict at best `incomplete`.
    NoRun,
    Run(&'a dyn Ingest),
}

impl std::fmt::Debug for RunMode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunMode::NoRun => "NoRun",
            RunMode::Run(_) => "Run",
        })
    }
}

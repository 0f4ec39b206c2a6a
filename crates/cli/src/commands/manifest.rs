//! `edgecert manifest`: the offer's deployment manifest (or a layered fragment) as pretty JSON,
//! from `edgecert_engine::offer::deployment` (the generator the marketplace's catalog uses too),
//! which names where a refused value came from (the offer's JSON path or the flag). Errors are
//! exit 2.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use edgecert_engine::offer::{Offer, deployment};

#[derive(Args, Debug)]
pub struct ManifestArgs {
    /// The offer.json to deploy.
    #[arg(long)]
    pub offer: PathBuf,
    /// Image tag to deploy (default: the offer's defaultTag).
    #[arg(long)]
    pub tag: Option<String>,
    /// Deploy from the marketplace's public path `HOST/<publisher.offer.plan>:<tag>` instead of
    /// the offer's image.repository.
    #[arg(long)]
    pub registry: Option<String>,
    /// Print a layered-deployment fragment (dotted keys) instead of a complete manifest.
    #[arg(long)]
    pub layered: bool,
    /// Write to FILE instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: &ManifestArgs) -> anyhow::Result<()> {
    let origin = args.offer.display().to_string();
    let offer = Offer::load(&args.offer)?;
    let value = deployment::manifest_json(
        &offer,
        &origin,
        args.tag.as_deref(),
        args.registry.as_deref(),
        args.layered,
    )
    .map_err(anyhow::Error::msg)?;
    let mut text = serde_json::to_string_pretty(&value).context("rendering the manifest")?;
    text.push('\n');
    crate::output::write(args.output.as_deref().map(Path::new), &text)
}

//! `edgecert import iotedgedev`: drafts an offer.json from an iotedgedev solution. Reading the
//! solution lives in `edgecert_edge::import`; this file renders the draft and the notes.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Draft an offer.json from an iotedgedev solution (module.json + deployment template).
    Iotedgedev(IotedgedevArgs),
}

#[derive(Args, Debug)]
pub struct IotedgedevArgs {
    /// The solution directory (holds deployment.template.json and modules/).
    pub solution_dir: PathBuf,
    /// The module to import (deployment name or modules/ folder); needed when there are several.
    #[arg(long)]
    pub module: Option<String>,
    /// Write to FILE instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub fn run(command: ImportCommand) -> anyhow::Result<()> {
    let ImportCommand::Iotedgedev(args) = command;
    let imported = edgecert_edge::import::import(&args.solution_dir, args.module.as_deref())?;
    for note in &imported.notes {
        eprintln!("edgecert: note: {note}");
    }
    eprintln!(
        "edgecert: imported module `{}` from {}; replace every <PLACEHOLDER> before submitting",
        imported.module.name,
        imported.template.display()
    );
    let mut text =
        serde_json::to_string_pretty(&imported.offer).context("rendering the offer draft")?;
    text.push('\n');
    crate::output::write(args.output.as_deref(), &text)
}

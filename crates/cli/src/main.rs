//! The `edgecert` binary: parses arguments, wires the engine, renders. No certification logic
//! lives here (see `edgecert-engine`); this crate owns terminal concerns only: colors,
//! progress bars, exit codes.

mod commands;
mod human;
mod output;
mod progress;
mod style;

use edgecert_engine::report::printable;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// IoT Edge module certification: check an offer and its multi-arch image against the
/// marketplace criteria.
#[derive(Parser, Debug)]
#[command(name = "edgecert", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Certify a module: read the image, run every check, write the report.
    Check(Box<commands::check::CheckArgs>),
    /// Write a complete, valid offer.json template to edit.
    Init {
        /// Directory to write offer.json into (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite an existing offer.json.
        #[arg(long)]
        force: bool,
    },
    /// The check catalogue: id, name, severity, title.
    Checks,
    /// What one check verifies, why, an example and how to fix it.
    Explain {
        /// Check id, e.g. EC203.
        id: String,
    },
    /// Test edgeHub routes: would this message be routed?
    #[command(subcommand)]
    Route(commands::route::RouteCommand),
    /// Print a deployment manifest (or a layered fragment) deploying the offer's module.
    Manifest(commands::manifest::ManifestArgs),
    /// Draft an offer.json from another tool's project.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Print the JSON Schema of offer.json or of the report.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum SchemaKind {
    Offer,
    Report,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => commands::check::run(*args),
        Command::Init { dir, force } => commands::init::run(&dir, force).map(|()| 0),
        Command::Checks => commands::catalogue::list().map(|()| 0),
        Command::Explain { id } => commands::catalogue::explain(&id).map(|()| 0),
        Command::Route(commands::route::RouteCommand::Test(args)) => commands::route::run(args),
        Command::Schema { which } => commands::schema::run(which).map(|()| 0),
        Command::Manifest(args) => commands::manifest::run(&args).map(|()| 0),
        Command::Import(cmd) => commands::import::run(cmd).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote offers, manifests and registries: keep their lines, escape the rest.
            let text = format!("{e:#}");
            let lines: Vec<_> = text.lines().map(printable).collect();
            eprintln!("edgecert: error: {}", lines.join("\n"));
            ExitCode::from(2)
        }
    }
}

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
    /// Run the marketplace (registry at /v2/, API at /api/v1, pipeline workers) on one port.
    Serve(commands::serve::ServeArgs),
    /// Submit a module to a marketplace: store the offer, push the image, follow certification.
    Submit(commands::submit::SubmitArgs),
    /// Review submissions on a marketplace: list, show, approve, reject.
    Review(commands::review::ReviewArgs),
    /// Take a submission in preview live (the publisher's sign-off).
    Publish(commands::review::PublishArgs),
    /// Run marketplace pipeline jobs only (scale-out: next to `serve`, same database and blobs).
    Worker(commands::worker::WorkerArgs),
    /// Manage marketplace accounts: each command prints the new API token.
    Admin(commands::admin::AdminArgs),
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
        Command::Serve(args) => commands::serve::run(args),
        Command::Worker(args) => commands::worker::run(args),
        Command::Submit(args) => commands::submit::run(args),
        Command::Review(args) => commands::review::run(args),
        Command::Publish(args) => commands::review::publish(args),
        Command::Admin(args) => commands::admin::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote offers, manifests and registries: keep their lines, escape the rest.
            let text = error_text(&e);
            let lines: Vec<_> = text.lines().map(printable).collect();
            eprintln!("edgecert: error: {}", lines.join("\n"));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, `: `-separated like `{e:#}`, leaving out a cause whose text the
/// message already holds: many errors put their cause in their own text *and* chain it
/// (`thiserror`'s `{source}` fields), which printed "... (os error 2): No such file or
/// directory (os error 2)".
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn error_messages_repeat_their_cause() {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        // A cause formatted into the message and chained too: printed once.
        let e = Err::<(), _>(io())
            .with_context(|| format!("reading offer.json: {}", io()))
            .unwrap_err();
        let text = error_text(&e);
        assert_eq!(text.matches(&io().to_string()).count(), 1, "{text}");
        assert!(text.starts_with("reading offer.json: "), "{text}");
        // A cause that adds something is kept.
        let e = Err::<(), _>(io())
            .context("reading offer.json")
            .unwrap_err();
        assert_eq!(error_text(&e), format!("reading offer.json: {}", io()));
    }
}

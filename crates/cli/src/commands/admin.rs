//! `edgecert admin`: accounts of the marketplace, from the command line (the first admin
//! cannot be made any other way). Each command prints the new account's API token alone on
//! one line of stdout — shown once, stored only as a hash — and what it did on stderr.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use edgecert_registry::auth::{self, Role};
use edgecert_registry::meta::Meta;

#[derive(Args, Debug)]
pub struct AdminArgs {
    /// Directory of the embedded default (as for `serve`).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data: PathBuf,
    /// Metadata database: sqlite://PATH or postgres://… (default: SQLite under --data).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Blob store, as for `serve` (used by `gc`).
    #[arg(long, value_name = "URL")]
    pub blobs: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// An operator account (everything).
    CreateAdmin { name: String },
    /// A publisher and its first member account, both named NAME.
    CreatePublisher { name: String },
    /// Another member account of PUBLISHER.
    AddMember { publisher: String, name: String },
    /// A reviewer account (reads every submission, approves or rejects).
    CreateReviewer { name: String },
    /// Sets an account's password for the web pages, read from standard input (one line, at
    /// least 12 characters).
    SetPassword { name: String },
    /// Runs a garbage collection now: removes blobs no repository links or refers to, and
    /// abandoned upload sessions, untouched for --grace seconds. Safe while `serve` runs.
    Gc {
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        grace: u64,
    },
}

pub fn run(args: AdminArgs) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let url = super::serve::database_url(&args.data, args.database.as_deref())?;
        let meta = Meta::connect(&url)
            .await
            .context("opening the metadata database")?;
        let (token, what) = match &args.command {
            AdminCommand::CreateAdmin { name } => (
                auth::create_account(&meta, name, Role::Admin, None).await?,
                format!("admin {name}"),
            ),
            AdminCommand::CreatePublisher { name } => (
                auth::create_publisher(&meta, name).await?,
                format!("publisher {name} and its member {name}"),
            ),
            AdminCommand::AddMember { publisher, name } => (
                auth::add_member(&meta, publisher, name).await?,
                format!("member {name} of publisher {publisher}"),
            ),
            AdminCommand::CreateReviewer { name } => (
                auth::create_account(&meta, name, Role::Reviewer, None).await?,
                format!("reviewer {name}"),
            ),
            AdminCommand::Gc { grace } => return gc(&args, meta, *grace).await,
            AdminCommand::SetPassword { name } => {
                edgecert_web::session::migrate(&meta)
                    .await
                    .context("preparing the web tables")?;
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                let password = line.trim_end_matches(['\r', '\n']);
                edgecert_web::session::set_password(&meta, name, password)
                    .await
                    .map_err(|e| anyhow::anyhow!("set-password {name}: {e}"))?;
                eprintln!("edgecert: password of {name} set");
                return Ok(0);
            }
        };
        eprintln!("edgecert: created {what}; its API token (shown once):");
        println!("{token}");
        Ok(0)
    })
}

/// `admin gc`: one collection; the removed digests on stdout, the summary on stderr.
async fn gc(args: &AdminArgs, meta: Meta, grace: u64) -> anyhow::Result<u8> {
    let store = super::serve::open_blobs(&args.data, args.blobs.as_deref()).await?;
    let registry = edgecert_registry::api::Registry::new(store, meta);
    let r = registry
        .collect_garbage(std::time::Duration::from_secs(grace))
        .await
        .map_err(|e| anyhow::anyhow!("garbage collection: {}", e.message))?;
    for d in &r.blobs_removed {
        println!("removed {d}");
    }
    eprintln!(
        "edgecert: garbage collection: {} blob(s) and {} upload(s) removed, {} blob(s) kept",
        r.blobs_removed.len(),
        r.uploads_removed,
        r.blobs_kept
    );
    Ok(0)
}

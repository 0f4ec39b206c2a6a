//! `edgecert review` (reviewers: the queue, one submission's evidence, approve, reject with a
//! reason) and `edgecert publish` (the publisher's sign-off on a preview: go live, and wait
//! until the tags are written).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use super::client::{Client, ServerArgs};
use super::submit::{follow_until, line};

#[derive(Args, Debug)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// The review queue, oldest first: id, identifier, version, state, verdict.
    List,
    /// One submission: its state, timeline and report summary (what a reviewer judges).
    Show { id: String },
    /// Approve: the image goes to preview for the publisher's sign-off.
    Approve { id: String },
    /// Reject, with the reason the publisher will see.
    Reject {
        id: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The submission (in preview) to take live.
    pub id: String,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")
}

pub fn run(args: ReviewArgs) -> anyhow::Result<u8> {
    runtime()?.block_on(async move {
        let client = Client::new(&args.server)?;
        let get = |path: String| client.request(reqwest::Method::GET, &path);
        let post = |path: String| client.request(reqwest::Method::POST, &path);
        match args.command {
            ReviewCommand::List => {
                let queue = client
                    .json("reading the review queue", get("/api/v1/review".into()))
                    .await?;
                for s in queue["items"].as_array().into_iter().flatten() {
                    println!("{}", line(s));
                }
            }
            ReviewCommand::Show { id } => {
                let s = client
                    .json(
                        &format!("reading submission {id}"),
                        get(format!("/api/v1/submissions/{id}")),
                    )
                    .await?;
                println!("{}", line(&s));
                println!("source: {}", s["source"].as_str().unwrap_or("-"));
                println!("digest: {}", s["digest"].as_str().unwrap_or("-"));
                if let Some(r) = s["reason"].as_str() {
                    println!("reason: {r}");
                }
                let events = client
                    .json(
                        &format!("reading the timeline of {id}"),
                        get(format!("/api/v1/submissions/{id}/events")),
                    )
                    .await?;
                println!("timeline:");
                for e in events["items"].as_array().into_iter().flatten() {
                    println!(
                        "  {}  {}: {}",
                        e["at"].as_i64().unwrap_or(0),
                        e["kind"].as_str().unwrap_or("?"),
                        e["data"].as_str().unwrap_or("")
                    );
                }
                if let Ok(report) = client
                    .json(
                        &format!("reading the report of {id}"),
                        get(format!("/api/v1/submissions/{id}/report")),
                    )
                    .await
                {
                    println!("verdict: {}", report["verdict"].as_str().unwrap_or("?"));
                    println!("for review:");
                    for r in report["review"].as_array().into_iter().flatten() {
                        println!("  {}", r.as_str().unwrap_or(""));
                    }
                    let not_passed = report["checks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|c| !matches!(c["status"].as_str(), Some("pass") | Some("skip")));
                    println!("checks not passed:");
                    for c in not_passed {
                        println!(
                            "  {} {} [{} {}]: {}",
                            c["id"].as_str().unwrap_or("?"),
                            c["name"].as_str().unwrap_or(""),
                            c["severity"].as_str().unwrap_or(""),
                            c["status"].as_str().unwrap_or(""),
                            c["summary"].as_str().unwrap_or("")
                        );
                    }
                }
            }
            ReviewCommand::Approve { id } => {
                let s = client
                    .json(
                        &format!("approving {id}"),
                        post(format!("/api/v1/submissions/{id}/approve")),
                    )
                    .await?;
                println!("{}", line(&s));
            }
            ReviewCommand::Reject { id, reason } => {
                let s = client
                    .json(
                        &format!("rejecting {id}"),
                        post(format!("/api/v1/submissions/{id}/reject"))
                            .header("Content-Type", "application/json")
                            .body(json!({"reason": reason}).to_string()),
                    )
                    .await?;
                println!("{}", line(&s));
            }
        }
        Ok(0)
    })
}

/// Go live: the sign-off, then the events until the submission is live.
pub fn publish(args: PublishArgs) -> anyhow::Result<u8> {
    runtime()?.block_on(async move {
        let client = Client::new(&args.server)?;
        let id = &args.id;
        client
            .json(
                &format!("taking {id} live"),
                client.request(
                    reqwest::Method::POST,
                    &format!("/api/v1/submissions/{id}/go-live"),
                ),
            )
            .await?;
        follow_until(&client, id, &["live"]).await?;
        let s = client
            .json(
                &format!("reading submission {id}"),
                client.request(reqwest::Method::GET, &format!("/api/v1/submissions/{id}")),
            )
            .await?;
        println!("{}", line(&s));
        Ok(if s["state"] == "live" { 0 } else { 1 })
    })
}

//! `edgecert submit`: the partner's one command from a local module to a submission. Stores
//! the offer (`PUT /api/v1/offers/{identifier}`), pushes a local image to the publisher's
//! staging repository (`staging/<publisher>/<offer>:<version>`), submits it, and with `--wait`
//! follows the submission's events to the end of certification, prints the report as `check`
//! does and exits like `check`: 0 pass (now in review), 1 fail, 3 incomplete, 2 when it could
//! not run. `edgecert review` and `edgecert publish` are the rest of the lifecycle.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, ValueEnum};
use edgecert_engine::offer::Offer;
use edgecert_engine::report::Report;
use serde_json::{Value, json};

use super::client::{Client, ServerArgs};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The offer file.
    #[arg(long, value_name = "FILE")]
    pub offer: PathBuf,
    /// The image: a local OCI layout (oci:DIR[:REF], pushed to staging first), an image
    /// already in this marketplace's staging (staging/PUBLISHER/NAME:TAG), or one in another
    /// registry the marketplace fetches (docker://HOST/REPO:TAG). Default:
    /// staging/<publisher>/<offer>:<version>, pushed before.
    #[arg(long, value_name = "SOURCE")]
    pub image: Option<String>,
    /// Follow the submission to the end of certification, print the report, exit like check.
    #[arg(long)]
    pub wait: bool,
    /// Report format with --wait (the submission as JSON without).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: SubmitArgs) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    rt.block_on(submit(args))
}

async fn submit(args: SubmitArgs) -> anyhow::Result<u8> {
    let client = Client::new(&args.server)?;
    let origin = args.offer.display().to_string();
    let text = edgecert_engine::input::read_text(&args.offer, edgecert_engine::input::MAX_DOCUMENT)
        .with_context(|| format!("reading {origin}"))?;
    let offer = Offer::parse(&text, &origin)?;
    let Some(identifier) = offer.identifier() else {
        bail!(
            "{origin}: at $.publisher/$.offer/$.plan: missing; the marketplace lists modules by publisher.offer.plan"
        );
    };
    let version = edgecert_marketplace::submissions::version_of(&text).ok_or_else(|| {
        anyhow!(
            "{origin}: at $.image.tags: no tag to publish (add the exact version, e.g. \"1.0.3\")"
        )
    })?;
    let publisher = offer.publisher.clone().unwrap_or_default();
    let name = offer.offer.clone().unwrap_or_default();
    let staging = format!("staging/{publisher}/{name}");
    client
        .json(
            &format!("storing offer {identifier}"),
            client
                .request(
                    reqwest::Method::PUT,
                    &format!("/api/v1/offers/{identifier}"),
                )
                .header("Content-Type", "application/json")
                .body(text.clone()),
        )
        .await?;
    let source = match args.image.as_deref() {
        None => format!("{staging}:{version}"),
        // The marketplace fetches these itself.
        Some(s) if s.starts_with("staging/") || s.starts_with("docker://") => s.to_owned(),
        Some(s) if s.starts_with("oci:") => {
            let rest = &s["oci:".len()..];
            // oci:DIR[:REF] — the reference is what follows the last ':' when DIR exists
            // without it.
            let (dir, reference) = match rest.rsplit_once(':') {
                Some((d, r)) if std::path::Path::new(d).is_dir() => (d, Some(r)),
                _ => (rest, None),
            };
            eprintln!(
                "edgecert: pushing {s} to {}/{staging}:{version}",
                client.host()
            );
            let digest = super::push::push_layout(
                &client,
                std::path::Path::new(dir),
                reference,
                &staging,
                &version,
            )
            .await?;
            eprintln!("edgecert: pushed {digest}");
            format!("{staging}:{version}")
        }
        Some(other) => bail!(
            "--image {other:?}: submit takes a local OCI layout (oci:DIR[:REF]), an image in \
             this marketplace's staging (staging/{publisher}/NAME:TAG) or in another registry \
             (docker://HOST/REPO:TAG); push other images to staging first (docker push / skopeo \
             copy to {}/{staging}:{version})",
            client.host()
        ),
    };
    let submission = client
        .json(
            &format!("submitting {identifier}"),
            client
                .request(
                    reqwest::Method::POST,
                    &format!("/api/v1/offers/{identifier}/submissions"),
                )
                .header("Content-Type", "application/json")
                .body(json!({"image": source}).to_string()),
        )
        .await?;
    let id = submission["id"]
        .as_str()
        .ok_or_else(|| anyhow!("submitting {identifier}: the answer has no id"))?
        .to_owned();
    eprintln!("edgecert: submitted {identifier} {version} from {source}: submission {id}");
    if !args.wait {
        println!("{}", serde_json::to_string_pretty(&submission)?);
        return Ok(0);
    }
    follow_until(
        &client,
        &id,
        &["in-review", "failed", "incomplete", "withdrawn", "rejected"],
    )
    .await?;
    let now = client
        .json(
            &format!("reading submission {id}"),
            client.request(reqwest::Method::GET, &format!("/api/v1/submissions/{id}")),
        )
        .await?;
    let state = now["state"].as_str().unwrap_or("unknown").to_owned();
    let report = client
        .text(
            &format!("reading the report of {id}"),
            client.request(
                reqwest::Method::GET,
                &format!("/api/v1/submissions/{id}/report"),
            ),
        )
        .await;
    match report {
        Ok(text) => {
            let out = match args.format {
                Format::Json => text.clone(),
                Format::Human => {
                    let parsed: Report = serde_json::from_str(&text)
                        .with_context(|| format!("the report of {id} does not parse"))?;
                    crate::human::render(&parsed, &crate::style::Painter::for_stdout())
                }
            };
            std::io::stdout().write_all(out.as_bytes())?;
        }
        Err(e) => eprintln!("edgecert: no report: {e:#}"),
    }
    let reason = now["reason"]
        .as_str()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    eprintln!("edgecert: submission {id} is {state}{reason}");
    Ok(match state.as_str() {
        "in-review" => 0,
        "failed" | "rejected" | "withdrawn" => 1,
        _ => 3,
    })
}

/// The lifecycle's forward path, in order: where a progress bar puts each state.
const PATH: [&str; 7] = [
    "queued",
    "ingesting",
    "certifying",
    "in-review",
    "approved",
    "preview",
    "live",
];

/// Prints the submission's events on stderr until it reaches one of `states` (or a final one).
/// On a terminal, a progress bar over the lifecycle's steps up to the first of `states` stays
/// below the event lines, its message the latest progress (layers read, the run); elsewhere
/// the lines alone.
pub async fn follow_until(client: &Client, id: &str, states: &[&str]) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let target = states
        .iter()
        .filter_map(|s| PATH.iter().position(|p| p == s))
        .min()
        .unwrap_or(PATH.len() - 1);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(target as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {prefix:12} [{bar:24}] {pos}/{len} {wide_msg}",
            )
            .expect("a literal template parses"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let mut position = None;
    let result = client
        .follow(id, |kind, data| {
            let line = format!("  {kind}: {data}");
            match &bar {
                Some(bar) => {
                    bar.println(line);
                    if kind == "state" {
                        if let Some(i) = PATH.iter().position(|p| *p == data) {
                            position = Some(i);
                            bar.set_position(i.min(target) as u64);
                        }
                        bar.set_prefix(data.to_owned());
                    } else {
                        bar.set_message(data.to_owned());
                    }
                }
                None => eprintln!("{line}"),
            }
            !(kind == "state" && states.contains(&data))
        })
        .await;
    if let Some(bar) = bar {
        if position.is_some_and(|p| p >= target) {
            bar.finish_and_clear();
        } else {
            bar.abandon();
        }
    }
    result
}

/// A submission as one line: id, identifier, version, state, verdict.
pub fn line(s: &Value) -> String {
    format!(
        "{}  {}  {}  {}  {}",
        s["id"].as_str().unwrap_or("?"),
        s["identifier"].as_str().unwrap_or("?"),
        s["version"].as_str().unwrap_or("-"),
        s["state"].as_str().unwrap_or("?"),
        s["verdict"].as_str().unwrap_or("-"),
    )
}

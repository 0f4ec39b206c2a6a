//! `edgecert manifest`: maps an offer to `edgecert_edge::manifest::ModuleDeployment` and prints
//! the deployment manifest (or a layered fragment) as pretty JSON. Generation itself lives in
//! the edge crate, which refuses to write what would not deploy (a bad tag, image reference or
//! route); this file chooses the image reference, says where a refused value came from (the
//! offer's JSON path or the flag), and renders. Errors are exit 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use edgecert_edge::manifest::{self, ManifestError, ModuleDeployment};
use edgecert_edge::names;
use edgecert_engine::offer::{EnvValue, Offer, RouteSpec};
use serde_json::{Map, Value, json};

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

/// The deployment the offer describes, deploying `tag` (or its default tag) from `registry`
/// (or the offer's repository). `origin` names the offer file in errors.
pub fn deployment(
    offer: &Offer,
    origin: &str,
    tag: Option<&str>,
    registry: Option<&str>,
) -> anyhow::Result<ModuleDeployment> {
    let Some(module_name) = offer.module_name() else {
        bail!("{origin}: at $.defaults.moduleName: missing, the manifest needs a module name");
    };
    let tag = match tag {
        Some(t) => {
            if let Some(p) = names::tag_problems(&names::without_variables(t))
                .into_iter()
                .next()
            {
                bail!("--tag {t:?}: not a valid image tag: {p}");
            }
            t
        }
        None => {
            let Some(t) = offer.default_tag() else {
                bail!("{origin}: at $.image.defaultTag: missing; give --tag");
            };
            if let Some(p) = names::tag_problems(&names::without_variables(t))
                .into_iter()
                .next()
            {
                bail!("{origin}: at $.image.defaultTag: {t:?} is not a valid image tag: {p}");
            }
            t
        }
    };
    let image = match registry {
        Some(host) => {
            let Some(id) = offer.identifier() else {
                bail!(
                    "{origin}: at $.publisher/$.offer/$.plan: missing, --registry needs the module identifier"
                );
            };
            format!("{}/{id}:{tag}", host.trim_end_matches('/'))
        }
        None => {
            let Some(repo) = offer.image.as_ref().and_then(|i| i.repository.as_deref()) else {
                bail!("{origin}: at $.image.repository: missing; give --registry");
            };
            format!("{repo}:{tag}")
        }
    };
    let d = offer.defaults();
    let env: BTreeMap<String, Value> = d
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                EnvValue::String(s) => Value::String(s),
                EnvValue::Number(n) => Value::Number(n),
                EnvValue::Bool(b) => Value::Bool(b),
            };
            (k, v)
        })
        .collect();
    let routes: BTreeMap<String, Value> = d
        .routes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, r)| {
            let v = match r {
                RouteSpec::Plain(s) => Value::String(s),
                RouteSpec::Detailed(r) => {
                    let mut o = Map::new();
                    o.insert("route".into(), json!(r.route));
                    if let Some(p) = r.priority {
                        o.insert("priority".into(), json!(p));
                    }
                    if let Some(t) = r.time_to_live_secs {
                        o.insert("timeToLiveSecs".into(), json!(t));
                    }
                    Value::Object(o)
                }
            };
            (k, v)
        })
        .collect();
    let create_options = d
        .create_options
        .map(|c| serde_json::to_value(c).context("serializing createOptions"))
        .transpose()?;
    Ok(ModuleDeployment {
        module_name: module_name.to_owned(),
        image,
        create_options,
        env,
        twin: d.twin.unwrap_or_default(),
        routes,
    })
}

pub fn run(args: &ManifestArgs) -> anyhow::Result<()> {
    let origin = args.offer.display().to_string();
    let offer = Offer::load(&args.offer)?;
    let d = deployment(
        &offer,
        &origin,
        args.tag.as_deref(),
        args.registry.as_deref(),
    )?;
    let value = if args.layered {
        manifest::generate_layered(&d)
    } else {
        manifest::generate(&d)
    }
    .map_err(|e| {
        let at = match &e {
            ManifestError::Route { name, .. } => format!("$.defaults.routes.{name}"),
            ManifestError::ModuleName { .. } | ManifestError::NoModuleName => {
                "$.defaults.moduleName".to_owned()
            }
            ManifestError::Image { .. } | ManifestError::NoImage => match &args.registry {
                Some(r) => format!("--registry {r:?} with $.publisher/$.offer/$.plan"),
                None => "$.image.repository".to_owned(),
            },
            ManifestError::CreateOptions(_) | ManifestError::Chunk(_) => {
                "$.defaults.createOptions".to_owned()
            }
        };
        anyhow::anyhow!("{origin}: at {at}: {e}")
    })?;
    let mut text = serde_json::to_string_pretty(&value).context("rendering the manifest")?;
    text.push('\n');
    crate::output::write(args.output.as_deref().map(Path::new), &text)
}

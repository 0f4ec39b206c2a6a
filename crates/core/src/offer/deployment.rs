//! An offer as a deployment: the module entry of an IoT Edge deployment manifest for one of
//! its tags, from its repository or a marketplace's public path. One generator for `edgecert
//! manifest` and the marketplace's catalog (`GET /api/v1/catalog/{identifier}/deployment`);
//! generation itself is the edge crate's, which refuses to write what would not deploy.

use std::collections::BTreeMap;

use edgecert_edge::manifest::{self, ManifestError, ModuleDeployment};
use edgecert_edge::names;
use serde_json::{Map, Value, json};

use super::{EnvValue, Offer, RouteSpec};

/// The deployment the offer describes, deploying `tag` (or its default tag) from `registry`
/// (or the offer's repository). `origin` names the offer file in errors.
pub fn deployment(
    offer: &Offer,
    origin: &str,
    tag: Option<&str>,
    registry: Option<&str>,
) -> Result<ModuleDeployment, String> {
    let Some(module_name) = offer.module_name() else {
        return Err(format!(
            "{origin}: at $.defaults.moduleName: missing, the manifest needs a module name"
        ));
    };
    let tag = match tag {
        Some(t) => {
            if let Some(p) = names::tag_problems(&names::without_variables(t))
                .into_iter()
                .next()
            {
                return Err(format!("--tag {t:?}: not a valid image tag: {p}"));
            }
            t
        }
        None => {
            let Some(t) = offer.default_tag() else {
                return Err(format!(
                    "{origin}: at $.image.defaultTag: missing; give --tag"
                ));
            };
            if let Some(p) = names::tag_problems(&names::without_variables(t))
                .into_iter()
                .next()
            {
                return Err(format!(
                    "{origin}: at $.image.defaultTag: {t:?} is not a valid image tag: {p}"
                ));
            }
            t
        }
    };
    let image = match registry {
        Some(host) => {
            let Some(id) = offer.identifier() else {
                return Err(format!(
                    "{origin}: at $.publisher/$.offer/$.plan: missing, --registry needs the module identifier"
                ));
            };
            format!("{}/{id}:{tag}", host.trim_end_matches('/'))
        }
        None => {
            let Some(repo) = offer.image.as_ref().and_then(|i| i.repository.as_deref()) else {
                return Err(format!(
                    "{origin}: at $.image.repository: missing; give --registry"
                ));
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
        .map(|c| serde_json::to_value(c).map_err(|e| format!("serializing createOptions: {e}")))
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

/// The deployment manifest (or, `layered`, a layered-deployment fragment) of `offer` for
/// `tag` from `registry`: [`deployment`] rendered, with a refused value named by its offer JSON
/// path (or the flag it came from).
pub fn manifest_json(
    offer: &Offer,
    origin: &str,
    tag: Option<&str>,
    registry: Option<&str>,
    layered: bool,
) -> Result<Value, String> {
    let d = deployment(offer, origin, tag, registry)?;
    let value = if layered {
        manifest::generate_layered(&d)
    } else {
        manifest::generate(&d)
    };
    value.map_err(|e| {
        let at = match &e {
            ManifestError::Route { name, .. } => format!("$.defaults.routes.{name}"),
            ManifestError::ModuleName { .. } | ManifestError::NoModuleName => {
                "$.defaults.moduleName".to_owned()
            }
            ManifestError::Image { .. } | ManifestError::NoImage => match registry {
                Some(r) => format!("--registry {r:?} with $.publisher/$.offer/$.plan"),
                None => "$.image.repository".to_owned(),
            },
            ManifestError::CreateOptions(_) | ManifestError::Chunk(_) => {
                "$.defaults.createOptions".to_owned()
            }
        };
        format!("{origin}: at {at}: {e}")
    })
}

//! Deployment manifest generation: turns one module's deployment settings (an engine-independent
//! [`ModuleDeployment`]) into a complete IoT Edge deployment manifest — `$edgeAgent` schema 1.1
//! with the supported runtime's (1.5) system modules, the module with its createOptions chunked exactly
//! like the tooling (`create_options::chunk`), env, `$edgeHub` schema 1.2 with the routes, and
//! the module twin — or into a layered-deployment fragment with dotted keys. Facts come from
//! `../shared/spec/iotedge.md` ("Deployment manifest"); the output validates against
//! SchemaStore's `azure-iot-edge-deployment-2.0.json` (tested against the copy in `testdata/`).
//!
//! What it writes must deploy: the module name, the image reference (with its tag; template
//! variables and placeholders are left for later) and every route (name and syntax,
//! `route::parse` with placeholders allowed) are validated first, and a
//! bad one is a [`ManifestError`] naming it. Deliberately absent: reading offers (the CLI maps
//! an `Offer` to [`ModuleDeployment`]), judging values that deploy but are unwise (that is what
//! the checks do) and any I/O. The output is deterministic:
//! keys in a fixed order, routes and env sorted by name.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::create_options::{self, ChunkError, ParseError, TOOLING_MAX_CHUNKS};
use crate::{names, route};

/// `$edgeAgent` desired properties schema version written: the newest edgeAgent 1.5 reads
/// (`iotedge.md`: `1.0` or `1.1`), as the 1.5 tooling templates write.
pub const EDGE_AGENT_SCHEMA: &str = "1.1";
/// `$edgeHub` desired properties schema version written (`1.0`–`1.3` accepted; object routes
/// with priority and time to live need ≥ 1.1), as the 1.5 tooling templates write.
pub const EDGE_HUB_SCHEMA: &str = "1.2";
/// The supported runtime's images, rolling `1.5` tags (1.4 reached end of life in November
/// 2024; `iotedge.md` "Versioning convention": the minor tag follows patch releases).
pub const EDGE_AGENT_IMAGE: &str = "mcr.microsoft.com/azureiotedge-agent:1.5";
pub const EDGE_HUB_IMAGE: &str = "mcr.microsoft.com/azureiotedge-hub:1.5";
/// edgeHub's createOptions as iotedgedev's templates write it: AMQPS, MQTTS and HTTPS/WebSockets
/// published on the host so leaf devices can connect.
pub const EDGE_HUB_CREATE_OPTIONS: &str = r#"{"HostConfig":{"PortBindings":{"5671/tcp":[{"HostPort":"5671"}],"8883/tcp":[{"HostPort":"8883"}],"443/tcp":[{"HostPort":"443"}]}}}"#;
/// edgeHub's store-and-forward time to live, the iotedgedev template value.
pub const STORE_AND_FORWARD_TTL_SECS: u64 = 7200;

/// What a deployment of one module needs to know, independent of where it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleDeployment {
    /// The module name in the deployment (`modules.<name>`, `modulesContent.<name>`).
    pub module_name: String,
    /// The full image reference, `host/repository:tag`.
    pub image: String,
    /// createOptions as an object or a JSON string; `None`, `{}` or `""` for none.
    pub create_options: Option<Value>,
    /// Environment variables: name -> string, number or boolean.
    pub env: BTreeMap<String, Value>,
    /// The module twin's desired properties.
    pub twin: Map<String, Value>,
    /// Routes: name -> route string or `{route, priority, timeToLiveSecs}`.
    pub routes: BTreeMap<String, Value>,
}

/// Why no manifest could be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("createOptions: {0}")]
    CreateOptions(#[from] ParseError),
    #[error("createOptions: {0}")]
    Chunk(#[from] ChunkError),
    #[error("module name is empty")]
    NoModuleName,
    #[error("image reference is empty")]
    NoImage,
    #[error("module name {name:?} {problem}")]
    ModuleName { name: String, problem: String },
    #[error("image reference {image:?} {problem}")]
    Image { image: String, problem: String },
    #[error("route {name:?}: {problem}")]
    Route { name: String, problem: String },
}

/// Everything the manifest would carry that IoT Hub or the runtime would refuse: the first
/// problem, naming what and where.
fn validate(d: &ModuleDeployment) -> Result<(), ManifestError> {
    if d.module_name.trim().is_empty() {
        return Err(ManifestError::NoModuleName);
    }
    if d.image.trim().is_empty() {
        return Err(ManifestError::NoImage);
    }
    if let Some(problem) = names::module_name_problems(&d.module_name)
        .into_iter()
        .next()
    {
        return Err(ManifestError::ModuleName {
            name: d.module_name.clone(),
            problem,
        });
    }
    let image = names::without_variables(&d.image);
    if let Some(problem) = names::tagged_reference_problems(&image).into_iter().next() {
        return Err(ManifestError::Image {
            image: d.image.clone(),
            problem,
        });
    }
    for (name, spec) in &d.routes {
        let bad = |problem: String| ManifestError::Route {
            name: name.clone(),
            problem,
        };
        if let Some(p) = names::route_name_problems(name).into_iter().next() {
            return Err(bad(format!("the name {p}")));
        }
        let text = match spec {
            Value::String(s) => s.as_str(),
            Value::Object(o) => match o.get("route") {
                Some(Value::String(s)) => s.as_str(),
                _ => return Err(bad("an object route needs a string `route`".into())),
            },
            _ => {
                return Err(bad(
                    "must be a route string or {route, priority, timeToLiveSecs}".into(),
                ));
            }
        };
        let parsed = route::parse_with(text, route::Options { placeholders: true });
        if let Some(e) = parsed.errors().next() {
            return Err(bad(format!("invalid route: {e}")));
        }
    }
    Ok(())
}

/// The module's `settings`: image, then the createOptions chunks (none when it is empty).
fn settings(d: &ModuleDeployment) -> Result<Map<String, Value>, ManifestError> {
    let mut s = Map::new();
    s.insert("image".into(), Value::String(d.image.clone()));
    let minified = match &d.create_options {
        Some(v) => create_options::minify(v)?,
        None => String::new(),
    };
    // An empty createOptions is written as "{}", as iotedgedev and the portal do.
    let minified = if minified.is_empty() {
        "{}".to_owned()
    } else {
        minified
    };
    for c in create_options::chunk(&minified, TOOLING_MAX_CHUNKS)? {
        s.insert(c.key, Value::String(c.value));
    }
    Ok(s)
}

/// The module entry under `$edgeAgent`'s `modules`.
pub fn module_entry(d: &ModuleDeployment) -> Result<Value, ManifestError> {
    validate(d)?;
    let mut m = Map::new();
    m.insert("version".into(), json!("1.0"));
    m.insert("type".into(), json!("docker"));
    m.insert("status".into(), json!("running"));
    m.insert("restartPolicy".into(), json!("always"));
    m.insert("settings".into(), Value::Object(settings(d)?));
    if !d.env.is_empty() {
        let env: Map<String, Value> = d
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!({ "value": v })))
            .collect();
        m.insert("env".into(), Value::Object(env));
    }
    Ok(Value::Object(m))
}

fn system_modules() -> Value {
    json!({
        "edgeAgent": {
            "type": "docker",
            "settings": { "image": EDGE_AGENT_IMAGE, "createOptions": "{}" }
        },
        "edgeHub": {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": { "image": EDGE_HUB_IMAGE, "createOptions": EDGE_HUB_CREATE_OPTIONS }
        }
    })
}

fn routes(d: &ModuleDeployment) -> Map<String, Value> {
    d.routes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A complete deployment manifest (`{"modulesContent": …}`) deploying the runtime and the module.
pub fn generate(d: &ModuleDeployment) -> Result<Value, ManifestError> {
    let module = module_entry(d)?;
    let mut modules = Map::new();
    modules.insert(d.module_name.clone(), module);
    let mut content = Map::new();
    content.insert(
        "$edgeAgent".into(),
        json!({ "properties.desired": {
            "schemaVersion": EDGE_AGENT_SCHEMA,
            "runtime": {
                "type": "docker",
                "settings": { "minDockerVersion": "v1.25", "registryCredentials": {} }
            },
            "systemModules": system_modules(),
            "modules": modules
        }}),
    );
    content.insert(
        "$edgeHub".into(),
        json!({ "properties.desired": {
            "schemaVersion": EDGE_HUB_SCHEMA,
            "routes": routes(d),
            "storeAndForwardConfiguration": { "timeToLiveSecs": STORE_AND_FORWARD_TTL_SECS }
        }}),
    );
    content.insert(
        d.module_name.clone(),
        json!({ "properties.desired": d.twin }),
    );
    Ok(json!({ "modulesContent": content }))
}

/// A layered deployment fragment: the module under `properties.desired.modules.<name>`, each
/// route under `properties.desired.routes.<name>`, and the module twin. It adds to a base
/// deployment and so deliberately carries no runtime or system modules.
pub fn generate_layered(d: &ModuleDeployment) -> Result<Value, ManifestError> {
    let module = module_entry(d)?;
    let mut agent = Map::new();
    agent.insert(
        format!("properties.desired.modules.{}", d.module_name),
        module,
    );
    let hub: Map<String, Value> = d
        .routes
        .iter()
        .map(|(k, v)| (format!("properties.desired.routes.{k}"), v.clone()))
        .collect();
    let mut content = Map::new();
    content.insert("$edgeAgent".into(), Value::Object(agent));
    content.insert("$edgeHub".into(), Value::Object(hub));
    content.insert(
        d.module_name.clone(),
        json!({ "properties.desired": d.twin }),
    );
    Ok(json!({ "modulesContent": content }))
}

/// The module's `settings` object in a manifest made by [`generate`] or [`generate_layered`].
pub fn module_settings<'a>(
    manifest: &'a Value,
    module_name: &str,
) -> Option<&'a Map<String, Value>> {
    let agent = manifest.get("modulesContent")?.get("$edgeAgent")?;
    let module = match agent.get("properties.desired") {
        Some(desired) => desired.get("modules")?.get(module_name)?,
        None => agent.get(format!("properties.desired.modules.{module_name}"))?,
    };
    module.get("settings")?.as_object()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create_options::unchunk;

    fn sample() -> ModuleDeployment {
        ModuleDeployment {
            module_name: "filter".into(),
            image: "registry.example.com/contoso/filter:1.0".into(),
            create_options: Some(json!({"HostConfig": {"Binds": ["/data:/data"]}})),
            env: [
                ("LOG_LEVEL".to_owned(), json!("info")),
                ("N".to_owned(), json!(3)),
            ]
            .into_iter()
            .collect(),
            twin: json!({"threshold": 45})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            routes: [
                (
                    "up".to_owned(),
                    json!("FROM /messages/modules/filter/outputs/* INTO $upstream"),
                ),
                (
                    "prio".to_owned(),
                    json!({"route": "FROM /messages/* INTO $upstream", "priority": 1}),
                ),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn full_manifest_has_every_part() {
        let m = generate(&sample()).unwrap();
        let agent = &m["modulesContent"]["$edgeAgent"]["properties.desired"];
        assert_eq!(agent["schemaVersion"], "1.1");
        assert_eq!(
            agent["systemModules"]["edgeHub"]["settings"]["image"],
            EDGE_HUB_IMAGE
        );
        let module = &agent["modules"]["filter"];
        assert_eq!(module["restartPolicy"], "always");
        assert_eq!(module["env"]["N"], json!({"value": 3}));
        let hub = &m["modulesContent"]["$edgeHub"]["properties.desired"];
        assert_eq!(hub["schemaVersion"], "1.2");
        assert_eq!(hub["routes"]["prio"]["priority"], 1);
        assert_eq!(hub["storeAndForwardConfiguration"]["timeToLiveSecs"], 7200);
        assert_eq!(
            m["modulesContent"]["filter"]["properties.desired"]["threshold"],
            45
        );
        let settings = module_settings(&m, "filter").unwrap();
        assert_eq!(
            unchunk(settings).unwrap(),
            r#"{"HostConfig":{"Binds":["/data:/data"]}}"#
        );
    }

    #[test]
    fn long_create_options_are_chunked_and_round_trip() {
        let env: Vec<String> = (0..60).map(|i| format!("VARIABLE_{i:03}=value")).collect();
        let mut d = sample();
        d.create_options = Some(Value::String(json!({ "Env": env }).to_string()));
        let m = generate(&d).unwrap();
        let settings = module_settings(&m, "filter").unwrap();
        assert!(settings.contains_key("createOptions01"));
        assert_eq!(
            unchunk(settings).unwrap(),
            json!({ "Env": env }).to_string()
        );
    }

    #[test]
    fn too_long_and_invalid_create_options_are_errors() {
        let mut d = sample();
        d.create_options = Some(json!({ "Env": ["A=".to_owned() + &"x".repeat(5000)] }));
        assert!(matches!(generate(&d), Err(ManifestError::Chunk(_))));
        d.create_options = Some(json!("{nope"));
        assert!(matches!(generate(&d), Err(ManifestError::CreateOptions(_))));
        d.create_options = None;
        d.image.clear();
        assert_eq!(generate(&d), Err(ManifestError::NoImage));
    }

    #[test]
    fn empty_create_options_is_written_as_empty_object() {
        let mut d = sample();
        d.create_options = Some(json!(""));
        let m = generate(&d).unwrap();
        assert_eq!(
            module_settings(&m, "filter").unwrap()["createOptions"],
            "{}"
        );
    }

    #[test]
    fn layered_uses_dotted_keys() {
        let m = generate_layered(&sample()).unwrap();
        let c = &m["modulesContent"];
        assert!(c["$edgeAgent"]["properties.desired.modules.filter"].is_object());
        assert!(c["$edgeHub"]["properties.desired.routes.up"].is_string());
        assert_eq!(c["filter"]["properties.desired"]["threshold"], 45);
        assert!(module_settings(&m, "filter").is_some());
    }

    /// SchemaStore's deployment schema, vendored in `testdata/schemas/`; missing or broken
    /// fails the test.
    fn schema() -> Option<jsonschema::Validator> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/schemas/azure-iot-edge-deployment-2.0.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} (vendored): {e}", path.display()));
        eprintln!("validating against {}", path.display());
        let schema: Value = serde_json::from_str(&text).expect("the schema parses");
        Some(jsonschema::validator_for(&schema).expect("the schema compiles"))
    }

    #[test]
    fn manifests_validate_against_schemastore() {
        let Some(v) = schema() else { return };
        let mut chunked = sample();
        let env: Vec<String> = (0..150).map(|i| format!("VARIABLE_{i:03}=value")).collect();
        chunked.create_options = Some(json!({ "Env": env }));
        let mut bare = sample();
        bare.create_options = None;
        bare.env.clear();
        bare.routes.clear();
        bare.twin.clear();
        for d in [sample(), chunked, bare] {
            let m = generate(&d).unwrap();
            let errors: Vec<String> = v.iter_errors(&m).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
    }

    /// Issue 8 item 18: `edgecert manifest` wrote whatever it was given.
    #[test]
    fn manifest_with_invalid_tag_or_route_is_an_error_naming_it() {
        let mut d = sample();
        d.image = "registry.example.com/contoso/filter:1.0 beta".into();
        let e = generate(&d).unwrap_err();
        assert!(matches!(e, ManifestError::Image { .. }), "{e}");
        assert!(e.to_string().contains("tag \"1.0 beta\""), "{e}");
        let mut d = sample();
        d.routes
            .insert("bad".into(), json!("FROM /messages/* WHERE INTO $upstream"));
        let e = generate_layered(&d).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("route \"bad\": invalid route: error at char"),
            "{e}"
        );
        let mut d = sample();
        d.routes
            .insert("has.dot".into(), json!("FROM /messages/* INTO $upstream"));
        assert!(matches!(generate(&d), Err(ManifestError::Route { .. })));
        let mut d = sample();
        d.routes.insert("obj".into(), json!({"priority": 1}));
        assert!(matches!(generate(&d), Err(ManifestError::Route { .. })));
        let mut d = sample();
        d.module_name = "edgeHub".into();
        assert!(matches!(
            generate(&d),
            Err(ManifestError::ModuleName { .. })
        ));
        // A placeholder the customer fills in is not an error.
        let mut d = sample();
        d.routes.insert(
            "ph".into(),
            json!("FROM /messages/* WHERE $connectionDeviceId = '<DEVICE_ID>' INTO $upstream"),
        );
        assert!(generate(&d).is_ok());
    }

    #[test]
    fn manifest_targets_the_supported_runtime_1_5() {
        let m = generate(&sample()).unwrap();
        let system = &m["modulesContent"]["$edgeAgent"]["properties.desired"]["systemModules"];
        assert_eq!(
            system["edgeAgent"]["settings"]["image"],
            "mcr.microsoft.com/azureiotedge-agent:1.5"
        );
        assert_eq!(
            system["edgeHub"]["settings"]["image"],
            "mcr.microsoft.com/azureiotedge-hub:1.5"
        );
    }

    #[test]
    fn output_is_deterministic() {
        let a = serde_json::to_string(&generate(&sample()).unwrap()).unwrap();
        let b = serde_json::to_string(&generate(&sample()).unwrap()).unwrap();
        assert_eq!(a, b);
    }
}

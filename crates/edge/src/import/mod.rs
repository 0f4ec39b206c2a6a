//! Import from an iotedgedev solution: reads `modules/<folder>/module.json`, the solution's
//! deployment template (`deployment.template.json`, else the first `deployment*.template.json`)
//! and `.env`, and drafts an `offer.json` (a `serde_json::Value` in the offer schema) with the
//! module's image repository, tags, platforms and the template's createOptions, env, twin and
//! routes. Facts come from `../shared/spec/iotedge.md` ("iotedgedev projects").
//!
//! What a solution cannot tell (publisher ids, legal URLs, support, use case) is written as
//! `<UPPER_SNAKE>` placeholders chosen to fail their checks (`<TERMS_OF_USE_URL>` is not https,
//! `<USE_CASE>` is too short); the listing name, summary and description are left empty, which
//! is what fails EC503.
//! Values are copied as the template has them after `.env` substitution: a `${VAR}` the `.env`
//! does not define stays as written, for the checks to flag. Deliberately absent: building
//! images, iotedgedev's `$VAR` (without braces) form, and any judgement of the values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::create_options;

mod template;
mod vars;

use template::{agent_modules, module_dir};
pub use template::{find_template, templates};
pub use vars::{parse_dotenv, substitute};
use vars::{placeholder_vars, substitute_value};

/// Why a solution could not be imported; every variant names the file (and JSON path).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The I/O error is part of the message, not a chained source (it would print twice).
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: not valid JSON: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: at {json_path}: {message}")]
    Shape {
        path: String,
        json_path: String,
        message: String,
    },
    #[error("{dir}: no deployment.template.json or other *.template.json")]
    NoTemplate { dir: String },
    #[error("{template}: no module is built from this solution (no `${{MODULES.<folder>}}` image)")]
    NoModules { template: String },
    #[error(
        "{template}: several modules are built from this solution, choose one with --module: {}",
        names.join(", ")
    )]
    SeveralModules {
        template: String,
        names: Vec<String>,
    },
    #[error("{template}: no module named `{name}` is built from this solution; there are: {}", known.join(", "))]
    UnknownModule {
        template: String,
        name: String,
        known: Vec<String>,
    },
}

/// A module the template deploys from the solution's own sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolutionModule {
    /// The module's name in the deployment.
    pub name: String,
    /// Its source folder (holds `module.json`).
    pub dir: PathBuf,
}

/// The imported draft and what the import could not carry over.
#[derive(Debug, Clone)]
pub struct Imported {
    pub module: SolutionModule,
    /// The template that was read.
    pub template: PathBuf,
    /// The offer draft.
    pub offer: Value,
    /// Things ignored along the way (an unknown platform key, …), for the user.
    pub notes: Vec<String>,
}

/// The solution's parsed pieces.
#[derive(Debug, Clone)]
pub struct Solution {
    pub dir: PathBuf,
    pub template_path: PathBuf,
    /// The template with `.env` variables substituted.
    pub template: Value,
    /// `.env` variables (empty without a `.env`).
    pub vars: BTreeMap<String, String>,
    pub modules: Vec<SolutionModule>,
}

fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Io {
        path: path.display().to_string(),
        error: source,
    })
}

fn read_json(path: &Path) -> Result<Value, ImportError> {
    serde_json::from_str(&read(path)?).map_err(|e| ImportError::Syntax {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn shape(path: &Path, json_path: &str, message: impl Into<String>) -> ImportError {
    ImportError::Shape {
        path: path.display().to_string(),
        json_path: json_path.to_owned(),
        message: message.into(),
    }
}

impl Solution {
    /// Reads the template and `.env` of the solution in `dir`.
    pub fn open(dir: &Path) -> Result<Solution, ImportError> {
        Solution::open_template(dir, &find_template(dir)?)
    }

    /// Reads the solution in `dir` with the template at `template_path`.
    pub fn open_template(dir: &Path, template_path: &Path) -> Result<Solution, ImportError> {
        let template_path = template_path.to_path_buf();
        let dotenv = dir.join(".env");
        let vars = if dotenv.is_file() {
            parse_dotenv(&read(&dotenv)?)
        } else {
            BTreeMap::new()
        };
        let mut raw = read_json(&template_path)?;
        // Pre-GA templates (iotedgedev 0.x) say `moduleContent`; the runtime format is the same.
        if let Value::Object(top) = &mut raw
            && !top.contains_key("modulesContent")
            && let Some(old) = top.remove("moduleContent")
        {
            top.insert("modulesContent".into(), old);
        }
        if raw.pointer("/modulesContent/$edgeAgent").is_none() {
            return Err(shape(
                &template_path,
                "modulesContent.$edgeAgent",
                "missing: not a deployment template",
            ));
        }
        let template = substitute_value(&raw, &vars);
        let template_dir = template_path.parent().unwrap_or(dir).to_path_buf();
        let modules = agent_modules(&template)
            .into_iter()
            .filter_map(|(name, _, entry)| {
                let image = entry.pointer("/settings/image")?.as_str()?;
                let mdir = module_dir(image, dir, &template_dir)?;
                mdir.join("module.json")
                    .is_file()
                    .then_some(SolutionModule { name, dir: mdir })
            })
            .collect();
        Ok(Solution {
            dir: dir.to_path_buf(),
            template_path,
            template,
            vars,
            modules,
        })
    }

    /// The module `name` (deployment name or source folder name), or the only one.
    pub fn select(&self, name: Option<&str>) -> Result<&SolutionModule, ImportError> {
        let template = self.template_path.display().to_string();
        let names = || self.modules.iter().map(|m| m.name.clone()).collect();
        match name {
            Some(n) => self
                .modules
                .iter()
                .find(|m| m.name == n)
                .or_else(|| {
                    self.modules
                        .iter()
                        .find(|m| m.dir.file_name().is_some_and(|f| f == n))
                })
                .ok_or_else(|| ImportError::UnknownModule {
                    template,
                    name: n.to_owned(),
                    known: names(),
                }),
            None => match self.modules.as_slice() {
                [] => Err(ImportError::NoModules { template }),
                [one] => Ok(one),
                _ => Err(ImportError::SeveralModules {
                    template,
                    names: names(),
                }),
            },
        }
    }
}

/// IoT Edge platform keys of `module.json` as OCI platforms (`None` for keys we do not know).
pub fn oci_platform(key: &str) -> Option<&'static str> {
    Some(match key {
        "amd64" => "linux/amd64",
        "arm32v7" => "linux/arm/v7",
        "arm64v8" => "linux/arm64",
        "windows-amd64" => "windows/amd64",
        _ => return None,
    })
}

/// `1.2.3` → `["1.2.3", "1.2"]`: the exact version and its major.minor rolling tag.
pub fn tags_for(version: &str) -> Vec<String> {
    let mut tags = vec![version.to_owned()];
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() >= 3 {
        tags.push(format!("{}.{}", parts[0], parts[1]));
    }
    tags
}

/// The createOptions of a template module's settings: the object, or the (unchunked) string,
/// parsed to an object when it is one. `None` when there is none.
fn template_create_options(
    settings: &Map<String, Value>,
    path: &Path,
    json_path: &str,
) -> Result<Option<Value>, ImportError> {
    let chunks = settings
        .keys()
        .filter(|k| k.to_ascii_lowercase().contains("createoptions"))
        .count();
    if chunks == 0 {
        return Ok(None);
    }
    if chunks == 1
        && let Some(Value::Object(m)) = settings.get("createOptions")
    {
        return Ok(Some(Value::Object(m.clone())));
    }
    let text = create_options::unchunk(settings)
        .map_err(|e| shape(path, &format!("{json_path}.settings"), e.to_string()))?;
    // A string that is a JSON object is kept as the object (easier to edit); anything else
    // (unresolved `${VAR}` in non-string positions) stays a string for EC103 to report.
    Ok(Some(match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Value::Object(m),
        _ => Value::String(text),
    }))
}

fn env_of(entry: &Value, path: &Path, json_path: &str) -> Result<Map<String, Value>, ImportError> {
    let mut env = Map::new();
    let Some(raw) = entry.get("env") else {
        return Ok(env);
    };
    let Value::Object(raw) = raw else {
        return Err(shape(
            path,
            &format!("{json_path}.env"),
            "must be an object",
        ));
    };
    for (name, v) in raw {
        let value = match v.get("value") {
            Some(x @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => x.clone(),
            Some(other) => Value::String(other.to_string()),
            None => {
                return Err(shape(
                    path,
                    &format!("{json_path}.env.{name}"),
                    "must be an object {\"value\": ...}",
                ));
            }
        };
        env.insert(name.clone(), value);
    }
    Ok(env)
}

/// Whether a route's text names the module (`/modules/<name>/` as source or sink).
fn mentions(route: &str, module: &str) -> bool {
    route.contains(&format!("/modules/{module}/"))
}

/// The `$edgeHub` routes whose source or sink names the module, in offer form.
fn routes_of(template: &Value, module: &str) -> Map<String, Value> {
    let hub = template.pointer("/modulesContent/$edgeHub");
    let mut all: Vec<(String, &Value)> = Vec::new();
    if let Some(Value::Object(r)) = hub.and_then(|h| h.pointer("/properties.desired/routes")) {
        all.extend(r.iter().map(|(k, v)| (k.clone(), v)));
    } else if let Some(Value::Object(h)) = hub {
        all.extend(h.iter().filter_map(|(k, v)| {
            Some((k.strip_prefix("properties.desired.routes.")?.to_owned(), v))
        }));
    }
    all.into_iter()
        .filter_map(|(name, v)| {
            let spec = match v {
                Value::String(s) => mentions(s, module).then(|| v.clone())?,
                Value::Object(o) => {
                    let route = o.get("route")?.as_str()?;
                    if !mentions(route, module) {
                        return None;
                    }
                    // Only the keys the offer's route object has.
                    let kept: Map<String, Value> = ["route", "priority", "timeToLiveSecs"]
                        .iter()
                        .filter_map(|k| Some(((*k).to_owned(), o.get(*k)?.clone())))
                        .collect();
                    Value::Object(kept)
                }
                _ => return None,
            };
            Some((name, spec))
        })
        .collect()
}

/// Imports module `name` (or the only one) from the solution in `dir`. A module named
/// explicitly that iotedgedev's template does not deploy is looked for in the solution's other
/// templates (`deployment.debug.template.json`, `*.template.json`), first match wins; so is the
/// only module of a solution whose main template deploys none of its own.
pub fn import(dir: &Path, name: Option<&str>) -> Result<Imported, ImportError> {
    let solution = Solution::open(dir)?;
    let first_error = match solution.select(name) {
        Ok(module) => return import_module(&solution, &module.clone()),
        Err(e) => e,
    };
    if matches!(
        first_error,
        ImportError::UnknownModule { .. } | ImportError::NoModules { .. }
    ) {
        for path in templates(dir)?.iter().skip(1) {
            let Ok(other) = Solution::open_template(dir, path) else {
                continue;
            };
            if let Ok(module) = other.select(name) {
                return import_module(&other, &module.clone());
            }
        }
    }
    Err(first_error)
}

/// Imports one module of an opened solution.
pub fn import_module(
    solution: &Solution,
    module: &SolutionModule,
) -> Result<Imported, ImportError> {
    let mut notes = Vec::new();
    let module_json_path = module.dir.join("module.json");
    let module_json = substitute_value(&read_json(&module_json_path)?, &solution.vars);
    let repository = module_json
        .pointer("/image/repository")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            shape(
                &module_json_path,
                "image.repository",
                "missing or not a string",
            )
        })?;
    let version = match module_json.pointer("/image/tag/version") {
        None => "0.0.0",
        Some(Value::String(v)) => v.as_str(),
        Some(_) => {
            return Err(shape(
                &module_json_path,
                "image.tag.version",
                "must be a string",
            ));
        }
    };
    let mut platforms: Vec<&str> = Vec::new();
    if let Some(Value::Object(p)) = module_json.pointer("/image/tag/platforms") {
        for key in p.keys() {
            if key.ends_with(".debug") {
                continue;
            }
            match oci_platform(key) {
                Some(oci) if !platforms.contains(&oci) => platforms.push(oci),
                Some(_) => {}
                None => notes.push(format!(
                    "{}: image.tag.platforms.{key}: unknown platform, left out",
                    module_json_path.display()
                )),
            }
        }
    }

    let tpath = &solution.template_path;
    let (_, json_path, entry) = agent_modules(&solution.template)
        .into_iter()
        .find(|(n, _, _)| *n == module.name)
        .ok_or_else(|| shape(tpath, "modulesContent.$edgeAgent", "module disappeared"))?;
    let settings = entry
        .get("settings")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            shape(
                tpath,
                &format!("{json_path}.settings"),
                "missing or not an object",
            )
        })?;
    let create_options = template_create_options(settings, tpath, &json_path)?;
    let env = env_of(entry, tpath, &json_path)?;
    let twin = match solution
        .template
        .pointer("/modulesContent")
        .and_then(|c| c.get(&module.name))
        .and_then(|m| m.get("properties.desired"))
    {
        None => Map::new(),
        Some(Value::Object(t)) => t.clone(),
        Some(_) => {
            return Err(shape(
                tpath,
                &format!("modulesContent.{}['properties.desired']", module.name),
                "must be an object",
            ));
        }
    };
    let routes = routes_of(&solution.template, &module.name);

    let tags = tags_for(version);
    let mut defaults = Map::new();
    defaults.insert("moduleName".into(), json!(module.name));
    defaults.insert(
        "createOptions".into(),
        create_options.unwrap_or_else(|| json!({})),
    );
    defaults.insert("env".into(), Value::Object(env));
    defaults.insert("twin".into(), Value::Object(twin));
    defaults.insert("routes".into(), Value::Object(routes));
    let offer = json!({
        "schemaVersion": 1,
        "publisher": "<PUBLISHER_ID>",
        "offer": "<OFFER_ID>",
        "plan": "<PLAN_ID>",
        // Empty, not `<PLACEHOLDER>`: EC503 only fails a listing field that is empty or too long.
        "name": "",
        "summary": "",
        "description": "",
        "subCategory": "<SUB_CATEGORY>",
        "useCase": "<USE_CASE>",
        "image": {
            "repository": placeholder_vars(repository),
            "defaultTag": tags.last(),
            "tags": tags,
            "platforms": platforms,
        },
        "defaults": defaults,
        "documentation": { "url": "<DOCUMENTATION_URL>" },
        "legal": {
            "termsOfUseUrl": "<TERMS_OF_USE_URL>",
            "privacyPolicyUrl": "<PRIVACY_POLICY_URL>",
            "thirdPartyNoticeUrl": "<THIRD_PARTY_NOTICE_URL>"
        },
        "support": [ { "type": "email", "value": "<SUPPORT_EMAIL>" } ]
    });
    Ok(Imported {
        module: module.clone(),
        template: tpath.clone(),
        offer,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn solution(modules: &[&str]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let mut agent_modules = Map::new();
        for m in modules {
            write(
                t.path(),
                &format!("modules/{m}/module.json"),
                &json!({"image": {"repository": "${CONTAINER_REGISTRY}/m", "tag": {"version": "1.2.3",
                    "platforms": {"amd64": "D", "amd64.debug": "D", "arm32v7": "D", "riscv": "D"}}}})
                .to_string(),
            );
            let long: Vec<String> = (0..60).map(|i| format!("VARIABLE_{i:03}=value")).collect();
            let co = json!({"Env": long}).to_string();
            agent_modules.insert(
                (*m).to_owned(),
                json!({"settings": {"image": format!("${{MODULES.{m}.amd64}}"),
                    "createOptions": co[..512], "createOptions01": co[512..]},
                    "env": {"LEVEL": {"value": "${LOG_LEVEL}"}, "N": {"value": 2}}}),
            );
        }
        let template = json!({"$schema-template": "4.0.0", "modulesContent": {
            "$edgeAgent": {"properties.desired": {"modules": agent_modules}},
            "$edgeHub": {"properties.desired": {"routes": {
                "a": "FROM /messages/modules/a/outputs/* INTO $upstream",
                "b": {"route": "FROM /messages/modules/b/outputs/* INTO $upstream", "priority": 2},
                "other": "FROM /messages/* INTO $upstream"}}},
            "a": {"properties.desired": {"x": 1}}}});
        write(t.path(), "deployment.template.json", &template.to_string());
        write(t.path(), ".env", "# comment\nLOG_LEVEL=\"debug\"\n");
        t
    }

    #[test]
    fn imports_the_only_module() {
        let t = solution(&["a"]);
        let i = import(t.path(), None).unwrap();
        let o = &i.offer;
        assert_eq!(o["image"]["repository"], "<CONTAINER_REGISTRY>/m");
        assert_eq!(o["image"]["tags"], json!(["1.2.3", "1.2"]));
        assert_eq!(
            o["image"]["platforms"],
            json!(["linux/amd64", "linux/arm/v7"])
        );
        assert_eq!(i.notes.len(), 1, "{:?}", i.notes);
        let d = &o["defaults"];
        assert_eq!(d["env"], json!({"LEVEL": "debug", "N": 2}));
        assert_eq!(d["twin"], json!({"x": 1}));
        assert_eq!(d["routes"].as_object().unwrap().len(), 1);
        assert_eq!(d["createOptions"]["Env"].as_array().unwrap().len(), 60);
    }

    #[test]
    fn several_modules_need_a_choice() {
        let t = solution(&["a", "b"]);
        let e = import(t.path(), None).unwrap_err().to_string();
        assert!(e.contains("a, b"), "{e}");
        let i = import(t.path(), Some("b")).unwrap();
        assert_eq!(i.offer["defaults"]["routes"]["b"]["priority"], 2);
        assert!(import(t.path(), Some("c")).is_err());
    }

    #[test]
    fn a_module_only_in_another_template_is_found() {
        let t = solution(&["a"]);
        let other = json!({"modulesContent": {
            "$edgeAgent": {"properties.desired": {"modules": {"z": {"settings": {"image": "${MODULES.z}"}}}}},
            "$edgeHub": {"properties.desired": {"routes": {}}}}});
        write(t.path(), "deployment.z.template.json", &other.to_string());
        write(
            t.path(),
            "modules/z/module.json",
            r#"{"image": {"repository": "r/z"}}"#,
        );
        let i = import(t.path(), Some("z")).unwrap();
        assert!(i.template.ends_with("deployment.z.template.json"));
        assert_eq!(i.offer["image"]["tags"], json!(["0.0.0", "0.0"]));
        assert_eq!(i.offer["defaults"]["createOptions"], json!({}));
    }

    #[test]
    fn bad_input_is_an_error_naming_the_file() {
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(
            import(t.path(), None),
            Err(ImportError::NoTemplate { .. })
        ));
        write(t.path(), "deployment.x.template.json", "{nope");
        let e = import(t.path(), None).unwrap_err().to_string();
        assert!(e.contains("deployment.x.template.json"), "{e}");
    }

    #[test]
    fn substitution_and_tags() {
        let vars: BTreeMap<String, String> = [("A".to_owned(), "1".to_owned())].into();
        assert_eq!(substitute("${A}-${B}-$", &vars), "1-${B}-$");
        assert_eq!(tags_for("0.0.1"), vec!["0.0.1", "0.0"]);
        assert_eq!(tags_for("latest"), vec!["latest"]);
        assert_eq!(placeholder_vars("${acr.name}/x"), "<ACR_NAME>/x");
        assert_eq!(parse_dotenv("export K='v'\nX=")["K"], "v");
    }
}

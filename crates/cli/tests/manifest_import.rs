//! `edgecert manifest` and `edgecert import iotedgedev` end to end: every fixture offer and
//! every module of every real iotedgedev solution under `testdata/realworld/iotedge/` gives a
//! manifest that validates against SchemaStore's deployment schema (`testdata/schemas/`) and
//! whose unchunked createOptions is the offer's; every real module imports into an offer that
//! `Offer::parse` accepts and whose defaults equal the template's. The third-party files are
//! vendored (`testdata/README.md`): a test fails, never skips, when they are missing.

mod common;

use std::path::{Path, PathBuf};

use common::run;
use edgecert_edge::create_options::{self, unchunk};
use edgecert_edge::import::{Solution, import_module, templates};
use edgecert_edge::manifest::module_settings;
use edgecert_engine::offer::{Offer, template};
use serde_json::{Map, Value, json};

/// The repository's vendored third-party test data (`testdata/`).
fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    assert!(
        dir.join("schemas").is_dir() && dir.join("realworld/iotedge").is_dir(),
        "{} is incomplete: the vendored schema and real-world files are part of the repository",
        dir.display()
    );
    eprintln!("reading {}", dir.display());
    Some(dir)
}

fn validator(shared: &Path) -> jsonschema::Validator {
    let path = shared.join("schemas/azure-iot-edge-deployment-2.0.json");
    eprintln!("schema: {}", path.display());
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// Runs `edgecert manifest` on `offer` (written to a temporary file) with `extra` arguments.
fn manifest(offer: &Value, extra: &[&str]) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offer.json");
    std::fs::write(&path, serde_json::to_string_pretty(offer).unwrap()).unwrap();
    let mut args = vec!["manifest", "--offer", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let r = run(&args);
    if r.code != 0 {
        return Err(r.stderr);
    }
    serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))
}

/// The offer's createOptions minified, "{}" for none (what the manifest writes then).
fn offer_minified(offer: &Value) -> String {
    let co = &offer["defaults"]["createOptions"];
    let m =
        create_options::minify(co).unwrap_or_else(|_| co.as_str().unwrap_or_default().to_owned());
    if m.is_empty() { "{}".into() } else { m }
}

/// Validates and round-trips the manifest of `offer`; returns problems.
fn check_manifest(v: &jsonschema::Validator, offer: &Value, label: &str) -> Vec<String> {
    let m = match manifest(offer, &[]) {
        Ok(m) => m,
        Err(e) => return vec![format!("{label}: edgecert manifest failed: {e}")],
    };
    let mut problems: Vec<String> = v
        .iter_errors(&m)
        .map(|e| format!("{label}: schema: {e} at {}", e.instance_path()))
        .collect();
    let name = offer["defaults"]["moduleName"].as_str().unwrap_or_default();
    match module_settings(&m, name).map(unchunk) {
        Some(Ok(s)) if s == offer_minified(offer) => {}
        other => problems.push(format!(
            "{label}: createOptions does not round-trip: {other:?}"
        )),
    }
    problems
}

fn fixture_offers() -> Vec<(&'static str, Value)> {
    let base: Value = serde_json::from_str(&template("tempfilter")).unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut o = base.clone();
        edit(&mut o);
        o
    };
    let long: Vec<String> = (0..150).map(|i| format!("VARIABLE_{i:03}=value")).collect();
    vec![
        ("template", base.clone()),
        (
            "chunked createOptions",
            with(&|o| o["defaults"]["createOptions"] = json!({ "Env": long })),
        ),
        (
            "string createOptions",
            with(&|o| {
                o["defaults"]["createOptions"] = json!(
                    r#"{"HostConfig": {"Binds": ["/data:/data"], "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}}"#
                )
            }),
        ),
        (
            "object route, typed env, nested twin",
            with(&|o| {
                o["defaults"]["routes"]["prio"] = json!({"route": "FROM /messages/* INTO $upstream", "priority": 3, "timeToLiveSecs": 60});
                o["defaults"]["env"] = json!({"N": 3, "ON": true, "S": "x"});
                o["defaults"]["twin"] = json!({"a": {"b": [1, 2]}});
            }),
        ),
        (
            "no createOptions",
            with(&|o| {
                o["defaults"]
                    .as_object_mut()
                    .unwrap()
                    .remove("createOptions")
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
    ]
}

#[test]
fn fixture_offer_manifests_validate_and_round_trip() {
    let Some(shared) = shared() else { return };
    let v = validator(&shared);
    let mut problems = Vec::new();
    for (label, offer) in fixture_offers() {
        Offer::parse(&offer.to_string(), label).unwrap();
        problems.extend(check_manifest(&v, &offer, label));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn manifest_options() {
    let (_, offer) = &fixture_offers()[1];
    let m = manifest(
        offer,
        &["--registry", "edgemarketplace.azurecr.io", "--tag", "1.0.0"],
    )
    .unwrap();
    let settings = module_settings(&m, "tempfilter").unwrap();
    assert_eq!(
        settings["image"],
        "edgemarketplace.azurecr.io/contoso.tempfilter.standard:1.0.0"
    );
    assert!(settings.contains_key("createOptions01"));
    let default = manifest(offer, &[]).unwrap();
    assert_eq!(
        module_settings(&default, "tempfilter").unwrap()["image"],
        "registry.example.com/contoso/tempfilter:1.0"
    );
    let layered = manifest(offer, &["--layered"]).unwrap();
    let c = &layered["modulesContent"];
    assert!(c["$edgeAgent"]["properties.desired.modules.tempfilter"].is_object());
    assert!(c["$edgeHub"]["properties.desired.routes.toUpstream"].is_string());
    assert_eq!(c["tempfilter"]["properties.desired"]["threshold"], 45);
    // Same input, same bytes.
    assert_eq!(manifest(offer, &[]).unwrap(), default);

    let mut bad = offer.clone();
    bad["defaults"]["createOptions"] = json!({ "Env": ["A=".to_owned() + &"x".repeat(5000)] });
    let e = manifest(&bad, &[]).unwrap_err();
    assert!(
        e.contains("offer.json") && e.contains("createOptions"),
        "{e}"
    );
    let mut nameless = offer.clone();
    nameless["defaults"]
        .as_object_mut()
        .unwrap()
        .remove("moduleName");
    let e = manifest(&nameless, &[]).unwrap_err();
    assert!(e.contains("$.defaults.moduleName"), "{e}");
}

/// Issue 8 item 18: `edgecert manifest` wrote invalid tags and routes into a manifest that
/// IoT Hub or edgeHub would then refuse.
#[test]
fn manifest_with_invalid_tag_or_route_exits_2_naming_it() {
    let (_, offer) = &fixture_offers()[0];
    let e = manifest(offer, &["--tag", "1.0 beta"]).unwrap_err();
    assert!(
        e.contains("--tag \"1.0 beta\": not a valid image tag"),
        "{e}"
    );
    let mut bad_tag = offer.clone();
    bad_tag["image"]["defaultTag"] = json!("-1.0");
    let e = manifest(&bad_tag, &[]).unwrap_err();
    assert!(e.contains("$.image.defaultTag"), "{e}");
    let mut bad_route = offer.clone();
    bad_route["defaults"]["routes"]["broken"] = json!("FROM /messages/* WHERE a = INTO $upstream");
    let e = manifest(&bad_route, &[]).unwrap_err();
    assert!(
        e.contains("$.defaults.routes.broken") && e.contains("invalid route: error at char"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offer.json");
    std::fs::write(&path, bad_route.to_string()).unwrap();
    assert_eq!(
        run(&["manifest", "--offer", path.to_str().unwrap()]).code,
        2
    );
    let mut bad_repo = offer.clone();
    bad_repo["image"]["repository"] = json!("registry.example.com/Contoso/TempFilter");
    let e = manifest(&bad_repo, &[]).unwrap_err();
    assert!(
        e.contains("$.image.repository") && e.contains("\"Contoso\""),
        "{e}"
    );
}

/// Every directory named `modules` under `root` that holds a `*/module.json`: its parent is an
/// iotedgedev solution.
fn solutions(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            // A template next to `${MODULEDIR<../X>}` module folders is a solution too.
            if name.starts_with("deployment") && name.ends_with(".template.json") {
                out.push(dir.clone());
            }
            if !p.is_dir() {
                continue;
            }
            if p.file_name().is_some_and(|n| n == "modules")
                && std::fs::read_dir(&p)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|m| m.path().join("module.json").is_file())
            {
                out.push(dir.clone());
            }
            stack.push(p);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn count_module_jsons(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                count_module_jsons(&p)
            } else {
                usize::from(e.file_name() == "module.json")
            }
        })
        .sum()
}

/// The template's createOptions for `settings`, minified ("{}" for none).
fn template_minified(settings: &Map<String, Value>) -> String {
    let text = match settings.get("createOptions") {
        Some(Value::Object(o)) => Value::Object(o.clone()).to_string(),
        _ => unchunk(settings).unwrap(),
    };
    let m = create_options::parse_str(&text)
        .map(|c| c.map(|c| c.minified()).unwrap_or_default())
        .unwrap_or(text);
    if m.is_empty() { "{}".into() } else { m }
}

/// Differences between the imported offer's defaults and the template's module.
fn compare_defaults(offer: &Value, template: &Value, name: &str) -> Vec<String> {
    let mut diffs = Vec::new();
    let desired = &template["modulesContent"]["$edgeAgent"]["properties.desired"];
    let entry = &desired["modules"][name];
    let settings = entry["settings"].as_object().unwrap();
    if template_minified(settings) != offer_minified(offer) {
        diffs.push(format!(
            "createOptions: {} != {}",
            template_minified(settings),
            offer_minified(offer)
        ));
    }
    let env: Map<String, Value> = entry["env"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v["value"].clone()))
        .collect();
    if Value::Object(env.clone()) != offer["defaults"]["env"] {
        diffs.push(format!("env: {env:?} != {}", offer["defaults"]["env"]));
    }
    let twin = template["modulesContent"][name]["properties.desired"].clone();
    let twin = if twin.is_null() { json!({}) } else { twin };
    if twin != offer["defaults"]["twin"] {
        diffs.push(format!("twin: {twin} != {}", offer["defaults"]["twin"]));
    }
    let routes = &template["modulesContent"]["$edgeHub"]["properties.desired"]["routes"];
    let mentioned = routes
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            r.as_str()
                .or_else(|| r["route"].as_str())
                .is_some_and(|s| s.contains(&format!("/modules/{name}/")))
        })
        .count();
    let imported = offer["defaults"]["routes"].as_object().unwrap();
    if imported.len() != mentioned {
        diffs.push(format!(
            "routes: {mentioned} in the template, {} imported",
            imported.len()
        ));
    }
    for (k, r) in imported {
        let t = &routes[k];
        let same = match t {
            Value::String(_) => t == r,
            _ => t["route"] == r["route"] && t["priority"] == r["priority"],
        };
        if !same {
            diffs.push(format!("route {k}: {t} != {r}"));
        }
    }
    diffs
}

#[test]
fn realworld_iotedgedev_solutions_import_and_deploy() {
    let Some(shared) = shared() else { return };
    let root = shared.join("realworld/iotedge");
    let v = validator(&shared);
    let (mut imported, mut skipped, mut problems) = (0, Vec::new(), Vec::new());
    let module_jsons = count_module_jsons(&root);
    for dir in solutions(&root) {
        let shown = dir
            .strip_prefix(&root)
            .unwrap_or(&dir)
            .display()
            .to_string();
        let paths = match templates(&dir) {
            Ok(p) => p,
            Err(e) => {
                skipped.push(format!("{shown}: {e}"));
                continue;
            }
        };
        // Each module from the first template (in import's order) that deploys it.
        let mut seen: Vec<PathBuf> = Vec::new();
        for path in paths {
            let solution = match Solution::open_template(&dir, &path) {
                Ok(s) => s,
                Err(e) => {
                    skipped.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            let fresh: Vec<_> = solution
                .modules
                .iter()
                .filter(|m| !seen.contains(&m.dir))
                .cloned()
                .collect();
            eprintln!(
                "{shown}: {}: {} new module(s) built here",
                path.file_name().unwrap().to_string_lossy(),
                fresh.len()
            );
            seen.extend(fresh.iter().map(|m| m.dir.clone()));
            for module in &fresh {
                let label = format!("{shown} {}", module.name);
                let draft = match import_module(&solution, module) {
                    Ok(i) => i.offer,
                    Err(e) => {
                        problems.push(format!("{label}: {e}"));
                        continue;
                    }
                };
                if let Err(e) = Offer::parse(&draft.to_string(), &label) {
                    problems.push(format!("{label}: Offer::parse: {e}"));
                    continue;
                }
                for d in compare_defaults(&draft, &solution.template, &module.name) {
                    problems.push(format!("{label}: {d}"));
                }
                problems.extend(check_manifest(&v, &draft, &label));
                imported += 1;
            }
        }
    }
    eprintln!(
        "{imported} module(s) imported and their manifests validated; {module_jsons} module.json in the corpus"
    );
    for s in &skipped {
        eprintln!("skipped: {s}");
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(imported >= 20, "only {imported} modules imported");
}

#[test]
fn import_cli_lists_modules_and_writes_a_draft() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("realworld/iotedge/Azure-Samples__azure-iot-edge-event-grid-sample");
    if !dir.is_dir() {
        eprintln!("SKIP: {} is absent", dir.display());
        return;
    }
    let r = run(&["import", "iotedgedev", dir.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--module"), "{}", r.stderr);
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("offer.json");
    let r = run(&[
        "import",
        "iotedgedev",
        dir.to_str().unwrap(),
        "--module",
        "publisher",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let offer = Offer::load(&file).unwrap();
    // Chosen by its modules/ folder; its deployment name differs.
    assert_eq!(offer.module_name(), Some("egcustompublisher"));
    assert_eq!(
        offer.legal.and_then(|l| l.terms_of_use_url).as_deref(),
        Some("<TERMS_OF_USE_URL>")
    );
}

//! The real world: every route in `testdata/realworld/iotedge/` (deployed configurations and
//! templates from public solutions) is accepted, or rejected with the reason edgeHub rejects it
//! too. Reads `routes.txt` (first tab-separated column) and every JSON file's routes
//! (`$edgeHub` `routes`, layered `properties.desired.routes[.name]`; strings or `{route, ...}`),
//! and checks that both lists agree. The files are vendored (`testdata/README.md`): a missing
//! directory fails the test rather than skipping it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::*;

/// Routes edgeHub rejects, and why. Everything else in the real-world set must be accepted.
const REJECTED: &[(&str, &str)] = &[
    // LoRaWAN starter kit templates: the whole route is the environment variable
    // `$EDGEHUB_ROUTE`, which iotedgedev replaces from `.env` when it generates the deployment
    // manifest. Given literally, edgeHub lexes a SYS_PROP where `FROM` must be and rejects it;
    // a template variable is not a route.
    ("$EDGEHUB_ROUTE", "a route starts with FROM"),
    // azure-iot-cli-extension's *malformed* deployment test input: pre-GA route syntax. The
    // source must be a `/` path (`device` is a name), so edgeHub's parser rejects it.
    (
        "FROM device messages WHERE $connectedModuleInstanceId=\"adapterglobalconfig\" INTO brokeredEndpoint(\"/modinstances/alertLogic/in\");",
        "a source is a path starting with `/`",
    ),
];

fn realworld() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/realworld/iotedge");
    assert!(
        dir.is_dir(),
        "{} is missing: the vendored real-world files are part of the repository",
        dir.display()
    );
    println!("reading real-world routes from {}", dir.display());
    Some(dir)
}

/// Judges one route: accepted, or rejected for the documented reason.
fn judge(route: &str, origin: &str) -> (bool, usize) {
    // A route that is a template variable as a whole (`$VAR`, `${VAR}`) is expanded by
    // iotedgedev before deployment; `${VAR}` inside a route would be replaced by its value the
    // same way, so we stand a plain name in for it and judge the rest.
    let expanded = expand_template_vars(route);
    let p = parse(&expanded);
    let warnings = p.warnings().count();
    match REJECTED.iter().find(|(r, _)| *r == route) {
        Some((_, why)) => {
            assert!(p.route.is_none(), "{origin}: {route} was accepted");
            assert!(
                p.errors().any(|d| d.message.contains(why)),
                "{origin}: {route} rejected for another reason: {:#?}",
                p.diagnostics
            );
            (false, warnings)
        }
        None => {
            let errors: Vec<String> = p.errors().map(|d| d.render(&expanded)).collect();
            assert!(
                errors.is_empty(),
                "{origin}: {route}\n{}",
                errors.join("\n")
            );
            (true, warnings)
        }
    }
}

/// `${NAME}` → `NAME` inside a longer route (never the whole route).
fn expand_template_vars(route: &str) -> String {
    let t = route.trim();
    if t.starts_with('$') && !t.contains(' ') {
        return route.to_owned();
    }
    let mut out = String::new();
    let mut rest = route;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => {
                out.push_str(&rest[i + 2..i + j]);
                rest = &rest[i + j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn every_route_in_routes_txt() {
    let Some(dir) = realworld() else { return };
    let text = std::fs::read_to_string(dir.join("routes.txt")).unwrap();
    let (mut accepted, mut rejected, mut warned) = (0, 0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let route = line.split('\t').next().unwrap();
        let (ok, warnings) = judge(route, "routes.txt");
        if ok {
            accepted += 1;
        } else {
            rejected += 1;
        }
        if warnings > 0 {
            warned += 1;
            for d in parse(route).warnings() {
                println!("{}", d.render(route));
            }
        }
    }
    println!("routes.txt: {accepted} accepted, {rejected} rejected, {warned} with warnings");
    assert_eq!(rejected, REJECTED.len());
    assert!(accepted > 90, "{accepted}");
}

#[test]
fn every_route_in_every_manifest_and_template() {
    let Some(dir) = realworld() else { return };
    let listed: BTreeSet<String> = std::fs::read_to_string(dir.join("routes.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    let mut files = Vec::new();
    collect_json(&dir, &mut files);
    files.sort();
    let mut seen = BTreeSet::new();
    let (mut n_files, mut n_routes) = (0, 0);
    for f in &files {
        let raw = std::fs::read_to_string(f).unwrap();
        let text = relaxed_json(raw.trim_start_matches('\u{feff}'));
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut routes = Vec::new();
        collect_routes(&value, &mut routes);
        if routes.is_empty() {
            continue;
        }
        n_files += 1;
        let origin = f.strip_prefix(&dir).unwrap().display().to_string();
        for (name, route) in routes {
            n_routes += 1;
            judge(&route, &format!("{origin}: {name}"));
            seen.insert(route);
        }
    }
    println!(
        "{n_files} JSON files with routes, {n_routes} routes, {} distinct",
        seen.len()
    );
    assert_eq!(
        seen, listed,
        "routes found in the JSON files differ from routes.txt"
    );
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_json(&p, out);
        } else if p.extension().is_some_and(|x| x == "json")
            && p.file_name().is_some_and(|n| n != "module.json")
        {
            out.push(p);
        }
    }
}

/// Routes under `routes`, `properties.desired.routes` and `properties.desired.routes.<name>`,
/// anywhere (manifests, `content`-wrapped manifests, layered deployments, legacy
/// `moduleContent`). Values are strings or `{route, priority, timeToLiveSecs}` objects.
fn collect_routes(v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    let serde_json::Value::Object(map) = v else {
        if let serde_json::Value::Array(a) = v {
            a.iter().for_each(|x| collect_routes(x, out));
        }
        return;
    };
    for (k, v) in map {
        let route_of = |v: &serde_json::Value| -> Option<String> {
            match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(o) => o.get("route")?.as_str().map(str::to_owned),
                _ => None,
            }
        };
        if let ("routes" | "properties.desired.routes", serde_json::Value::Object(routes)) =
            (k.as_str(), v)
        {
            for (name, r) in routes {
                if let Some(r) = route_of(r) {
                    out.push((name.clone(), r));
                }
            }
            continue;
        }
        if let Some(name) = k.strip_prefix("properties.desired.routes.") {
            if let Some(r) = route_of(v) {
                out.push((name.to_owned(), r));
            }
            continue;
        }
        collect_routes(v, out);
    }
}

/// Two files are templates that are not JSON until expanded: a bare `${TTL}` and bare
/// `__ASA_ENV__` values. Outside strings, a bare token starting with `$` or `__` becomes
/// `null` (no route is affected: those placeholders are not routes).
fn relaxed_json(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut in_str) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if in_str {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if c == '$' || (c == '_' && chars.get(i + 1) == Some(&'_')) {
            while i + 1 < chars.len()
                && (chars[i + 1].is_ascii_alphanumeric() || "_${}.".contains(chars[i + 1]))
            {
                i += 1;
            }
            out.push_str("null");
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

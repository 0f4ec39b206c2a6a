//! The real-world test: every createOptions in every `deployment*.json` under
//! `testdata/realworld/iotedge/` (solutions from public repositories) is read the way the
//! runtime reads it and parsed under the strict model. These are deployed configurations, so
//! each rejection is listed in `EXPECTED_REJECTIONS` with the reason.
//!
//! Templates (`deployment.template.json`) are read as they are: `createOptions` may be an
//! object there, and `${VAR}` / `$VAR` placeholders inside JSON strings are plain strings to
//! the parser (iotedgedev substitutes them later; none is a field name). One template has a
//! bare `${TTL}` outside any string, which is not JSON until substituted: such bare
//! placeholders are replaced by `0` before parsing (they never occur inside createOptions).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{parse, parse_str, unchunk};

/// `(file suffix, JSON path of the settings object, why it is rejected)`.
const EXPECTED_REJECTIONS: &[(&str, &str, &str)] = &[
    // iotedgedev's own fixture of broken createOptions (its name says so): a createOptions
    // that is a JSON array, chunk numbering with a gap (createOptions, 01, 03), a chunk that is
    // an object, and 512+1024+567 characters of chunks whose concatenation is one Env list
    // with a broken entry boundary (`"abcdefghij56abcdefgh...`) but still JSON, so it parses.
    (
        "Azure__iotedgedev/tests/assets/deployment.manifest_invalid_createoptions.json",
        "modulesContent.$edgeAgent.properties.desired.modules.csharpmodule.settings",
        "chunk numbering gap: createOptions, createOptions01, createOptions03",
    ),
    (
        "Azure__iotedgedev/tests/assets/deployment.manifest_invalid_createoptions.json",
        "modulesContent.$edgeAgent.properties.desired.modules.csharpfunction.settings",
        "createOptions is the JSON array [1,2,3]",
    ),
    (
        "Azure__iotedgedev/tests/assets/deployment.manifest_invalid_createoptions.json",
        "modulesContent.$edgeAgent.properties.desired.modules.csharpfunction2.settings",
        "chunk numbering gap and a chunk that is an object",
    ),
    // iotedgehubdev's chunking fixture pastes Docker's API reference example body, not a
    // module anyone runs: `Entrypoint: ""` (a string; edgeAgent's model wants a list),
    // top-level `MacAddress` (moved to EndpointsConfig in Engine API 1.44), `KernelMemory`
    // (removed in 1.42), `MaximumIOps`/`MaximumIOBps` (never Engine API fields).
    (
        "Azure__iotedgehubdev/tests/test_compose_resources/deployment_with_chunked_create_options.json",
        "moduleContent.$edgeAgent.properties.desired.modules.tempSensor.settings",
        "Docker API reference example with retired and misspelt fields",
    ),
];

fn realworld_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/realworld/iotedge")
}

fn deployment_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            deployment_files(&p, out);
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("deployment") && n.ends_with(".json"))
        {
            out.push(p);
        }
    }
}

/// Replaces `${NAME}` that stands outside JSON strings by `0`.
fn substitute_bare_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == '$'
            && text[i..].starts_with("${")
            && let Some(end) = text[i..].find('}')
        {
            out.push('0');
            while chars.peek().is_some_and(|(j, _)| *j <= i + end) {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[derive(Debug)]
enum Outcome {
    Empty,
    Parsed {
        warnings: Vec<String>,
        /// What the least-privilege analysis flags: `privileged`, `engine-socket`, ...
        flags: Vec<&'static str>,
    },
    Rejected(String),
}

fn flags(c: &super::CreateOptions) -> Vec<&'static str> {
    use super::analysis::{self, HostPathKind};
    let b = &c.body;
    let mut out = Vec::new();
    if analysis::privileged(b).is_some() {
        out.push("privileged");
    }
    if !analysis::host_namespaces(b).is_empty() {
        out.push("host-namespace");
    }
    for m in analysis::host_mounts(b) {
        match m.kind {
            HostPathKind::EngineSocket => out.push("engine-socket"),
            HostPathKind::Sensitive { .. } => out.push("sensitive-mount"),
            _ => {}
        }
    }
    if !analysis::devices(b).is_empty() {
        out.push("devices");
    }
    out
}

fn read_settings(settings: &Map<String, Value>) -> Outcome {
    // Templates may hold the object itself.
    let object = settings
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("createOptions") && v.is_object());
    let parsed = match object {
        Some((_, v)) if settings.len() <= 2 => parse(v),
        _ => match unchunk(settings) {
            Ok(text) => parse_str(&text),
            Err(e) => return Outcome::Rejected(e.to_string()),
        },
    };
    match parsed {
        Ok(None) => Outcome::Empty,
        Ok(Some(c)) => {
            let errors: Vec<String> = c
                .errors()
                .map(|i| format!("{}: {}", i.path, i.message))
                .collect();
            if errors.is_empty() {
                Outcome::Parsed {
                    warnings: c
                        .warnings()
                        .map(|i| format!("{}: {}", i.path, i.message))
                        .collect(),
                    flags: flags(&c),
                }
            } else {
                Outcome::Rejected(errors.join("; "))
            }
        }
        Err(e) => Outcome::Rejected(e.to_string()),
    }
}

fn collect(v: &Value, path: &str, out: &mut Vec<(String, Outcome)>) {
    match v {
        Value::Object(m) => {
            if m.keys()
                .any(|k| k.to_ascii_lowercase().starts_with("createoptions"))
            {
                out.push((path.to_owned(), read_settings(m)));
            }
            for (k, item) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect(item, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_realworld_create_options_parses() {
    let dir = realworld_dir();
    assert!(
        dir.is_dir(),
        "{} is missing: the vendored real-world files are part of the repository",
        dir.display()
    );
    println!("reading {}", dir.display());
    let mut files = Vec::new();
    deployment_files(&dir, &mut files);
    assert!(files.len() > 40, "only {} deployment files", files.len());
    let (mut total, mut empty, mut warned) = (0, 0, 0);
    let mut flagged: Vec<&str> = Vec::new();
    let mut rejected = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&dir)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        let json: Value = serde_json::from_str(text)
            .or_else(|_| serde_json::from_str(&substitute_bare_placeholders(text)))
            .unwrap_or_else(|e| panic!("{rel}: not JSON even after substitution: {e}"));
        let mut found = Vec::new();
        collect(&json, "", &mut found);
        println!("{rel}: {} createOptions", found.len());
        for (path, outcome) in found {
            total += 1;
            match outcome {
                Outcome::Empty => empty += 1,
                Outcome::Parsed { warnings, flags } => {
                    warned += usize::from(!warnings.is_empty());
                    for w in warnings {
                        println!("  warning {path}: {w}");
                    }
                    if !flags.is_empty() {
                        println!("  least privilege {path}: {}", flags.join(", "));
                    }
                    flagged.extend(flags);
                }
                Outcome::Rejected(why) => {
                    println!("  rejected {path}: {why}");
                    rejected.push((rel.clone(), path));
                }
            }
        }
    }
    println!(
        "{} files, {total} createOptions: {empty} empty, {} parsed ({warned} with warnings), {} rejected",
        files.len(),
        total - empty - rejected.len(),
        rejected.len()
    );
    let expected: Vec<(String, String)> = EXPECTED_REJECTIONS
        .iter()
        .map(|(f, p, _)| ((*f).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(rejected, expected);
    // The analysis sees what real modules ask for: telegraf mounts docker.sock
    // (paloukari/az-iot-edge-tick), sensehat-display and the LoRa basics station run
    // privileged, the Percept eye module uses host networking and a USB cgroup rule.
    for flag in [
        "engine-socket",
        "privileged",
        "host-namespace",
        "devices",
        "sensitive-mount",
    ] {
        let n = flagged.iter().filter(|f| **f == flag).count();
        println!("{flag}: {n}");
        assert!(n > 0, "{flag}");
    }
    assert!(total > 200, "{total}");
}

#[test]
fn bare_placeholders_are_substituted_outside_strings_only() {
    assert_eq!(
        substitute_bare_placeholders(r#"{"a": ${TTL}, "b": "${KEEP}", "c": "\"${K}"}"#),
        r#"{"a": 0, "b": "${KEEP}", "c": "\"${K}"}"#
    );
}

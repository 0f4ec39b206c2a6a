//! createOptions: a Docker Engine `ContainerCreate` body, parsed strictly into bollard's typed
//! model (`bollard_stubs::models::ContainerCreateBody`), minified, chunked and unchunked exactly like
//! the IoT Edge runtime and tooling (`chunk`), judged for least privilege (`analysis`), and the
//! container environment the runtime would build from it (`env`).
//!
//! Strict means: every top-level and `HostConfig` key is a field of the Engine API model and
//! every value has the model's JSON type; each violation is an [`Issue`] naming its JSON path
//! (`HostConfig.Binds[2]`). All problems are collected, not just the first: each top-level and
//! `HostConfig` key is checked on its own, and what is well-formed still ends up in the model
//! so the security checks can judge it. Field names are matched case-insensitively, as Docker
//! and edgeAgent do, with a warning (see `de.rs`).
//!
//! Deliberately absent: Engine API semantics beyond JSON types (whether a port spec or a bind
//! string is well-formed is for the analysis and the ingestion test), and any I/O.

pub mod analysis;
pub mod chunk;
mod de;
pub mod env;
#[cfg(test)]
mod realworld;

use std::cell::RefCell;

use bollard_stubs::models::ContainerCreateBody;
use serde_json::{Map, Value};

pub use chunk::{
    CHUNK_CHARS, Chunk, ChunkError, RUNTIME_MAX_CHUNKS, TOOLING_MAX_CHUNKS, chunk, chunk_key,
    unchunk,
};

/// How bad an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The createOptions is not a valid `ContainerCreate` body for edgecert (EC103 fails).
    Error,
    /// Works at runtime but is probably not what the author meant (a misspelt-case field, a
    /// nested field Docker ignores).
    Warning,
}

/// One problem with a createOptions, at a JSON path relative to the createOptions root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub level: Level,
    /// `HostConfig.Binds[2]`; empty for the root.
    pub path: String,
    pub message: String,
}

impl Issue {
    /// The path under `root`, e.g. `defaults.createOptions.HostConfig.Binds[2]`.
    pub fn location(&self, root: &str) -> String {
        if self.path.is_empty() {
            root.to_owned()
        } else if self.path.starts_with('[') {
            format!("{root}{}", self.path)
        } else {
            format!("{root}.{}", self.path)
        }
    }
}

/// Why a createOptions could not be read as a JSON object at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("createOptions is not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("createOptions must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
}

/// A createOptions that parsed as a JSON object.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// The object as written (key order kept).
    pub json: Map<String, Value>,
    /// The typed model of everything that is well-formed, names folded to the API's spelling.
    pub body: ContainerCreateBody,
    /// Every problem found, errors first, then in document order.
    pub issues: Vec<Issue>,
}

impl CreateOptions {
    /// The createOptions minified: the string the runtime stores and chunks.
    pub fn minified(&self) -> String {
        serde_json::to_string(&self.json).unwrap_or_default()
    }

    /// Minified length in characters (what the 512-character chunking counts).
    pub fn minified_chars(&self) -> usize {
        self.minified().chars().count()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.level == Level::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.level == Level::Warning)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses createOptions in any form the offer and deployment manifests use: a JSON object, or a
/// string holding one. `Ok(None)` means "no createOptions": `{}`, `""`, a blank string or
/// `"null"` (edgeAgent treats the last two as empty too).
pub fn parse(value: &Value) -> Result<Option<CreateOptions>, ParseError> {
    match value {
        Value::String(s) => parse_str(s),
        Value::Object(m) => Ok(parse_object(m)),
        Value::Null => Ok(None),
        other => Err(ParseError::NotAnObject { found: kind(other) }),
    }
}

/// Parses createOptions text (for example what [`unchunk`] returns).
pub fn parse_str(text: &str) -> Result<Option<CreateOptions>, ParseError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(trimmed).map_err(|e| ParseError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_owned(),
    })?;
    match value {
        Value::Object(m) => Ok(parse_object(&m)),
        other => Err(ParseError::NotAnObject {
            found: kind(&other),
        }),
    }
}

/// Deserializes `value` into the model through the case-folding deserializer, recording fold
/// and unknown-key issues in `sink`; a type error comes back as an issue.
fn typed(value: &Value, sink: &RefCell<Vec<Issue>>) -> Result<ContainerCreateBody, Issue> {
    serde_path_to_error::deserialize(de::Node::new(value, "", sink)).map_err(|e| {
        let path = e.path().to_string();
        Issue {
            level: Level::Error,
            path: if path == "." { String::new() } else { path },
            message: e.into_inner().to_string(),
        }
    })
}

fn single(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), value);
    Value::Object(m)
}

/// Parses a createOptions object. `None` when it is empty.
pub fn parse_object(json: &Map<String, Value>) -> Option<CreateOptions> {
    if json.is_empty() {
        return None;
    }
    // Each key alone first, so one bad value does not hide the next; `HostConfig` one level
    // deeper because that is where nearly everything lives.
    let scratch = RefCell::new(Vec::new());
    let mut type_errors = Vec::new();
    let mut good = Map::new();
    for (key, value) in json {
        if key.eq_ignore_ascii_case("HostConfig")
            && let Value::Object(host) = value
        {
            let mut good_host = Map::new();
            for (hk, hv) in host {
                let probe = single(key, single(hk, hv.clone()));
                match typed(&probe, &scratch) {
                    Ok(_) => {
                        good_host.insert(hk.clone(), hv.clone());
                    }
                    Err(issue) => type_errors.push(issue),
                }
            }
            good.insert(key.clone(), Value::Object(good_host));
            continue;
        }
        match typed(&single(key, value.clone()), &scratch) {
            Ok(_) => {
                good.insert(key.clone(), value.clone());
            }
            Err(issue) => type_errors.push(issue),
        }
    }
    let sink = RefCell::new(Vec::new());
    let body = match typed(&Value::Object(good), &sink) {
        Ok(body) => body,
        Err(issue) => {
            type_errors.push(issue);
            ContainerCreateBody::default()
        }
    };
    let mut issues = sink.into_inner();
    issues.extend(type_errors);
    // Stable: errors first, then the order found.
    issues.sort_by_key(|i| i.level);
    Some(CreateOptions {
        json: json.clone(),
        body,
        issues,
    })
}

/// The createOptions minified, `""` when there is none: what a deployment manifest carries
/// (before chunking).
pub fn minify(value: &Value) -> Result<String, ParseError> {
    Ok(parse(value)?.map(|c| c.minified()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issues(v: Value) -> Vec<(Level, String, String)> {
        parse(&v)
            .unwrap()
            .unwrap()
            .issues
            .into_iter()
            .map(|i| (i.level, i.path, i.message))
            .collect()
    }

    #[test]
    fn empty_forms_are_none() {
        for v in [
            json!({}),
            json!(""),
            json!("  "),
            json!("{}"),
            json!("null"),
            Value::Null,
        ] {
            assert!(parse(&v).unwrap().is_none(), "{v}");
        }
        assert_eq!(minify(&json!("")).unwrap(), "");
    }

    #[test]
    fn object_and_string_forms_agree() {
        let obj = json!({"HostConfig": {"PortBindings": {"8080/tcp": [{"HostPort": "8080"}]}}});
        let a = parse(&obj).unwrap().unwrap();
        let b = parse(&Value::String(obj.to_string())).unwrap().unwrap();
        assert_eq!(a.body, b.body);
        assert!(a.issues.is_empty(), "{:?}", a.issues);
        assert_eq!(
            a.minified(),
            r#"{"HostConfig":{"PortBindings":{"8080/tcp":[{"HostPort":"8080"}]}}}"#
        );
        let host = a.body.host_config.unwrap();
        let ports = host.port_bindings.unwrap();
        assert_eq!(
            ports["8080/tcp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("8080")
        );
    }

    #[test]
    fn minify_keeps_key_order_and_drops_whitespace() {
        let text = "{ \"Env\" : [ \"A=1\" ],\n \"Cmd\": [\"x\"] }";
        assert_eq!(
            minify(&Value::String(text.into())).unwrap(),
            r#"{"Env":["A=1"],"Cmd":["x"]}"#
        );
    }

    #[test]
    fn not_json_or_not_an_object() {
        let e = parse(&json!("{nope")).unwrap_err();
        assert!(matches!(e, ParseError::Syntax { line: 1, .. }), "{e}");
        assert!(e.to_string().starts_with("createOptions is not valid JSON"));
        assert_eq!(
            parse(&json!("[1,2,3]")).unwrap_err(),
            ParseError::NotAnObject { found: "an array" }
        );
        assert_eq!(
            parse(&json!(5)).unwrap_err().to_string(),
            "createOptions must be a JSON object, found a number"
        );
    }

    #[test]
    fn unknown_keys_are_errors_at_top_and_host_config() {
        let found = issues(json!({
            "Imagee": "x",
            "HostConfig": {"Privilegd": true, "Memory": 5},
            "MacAddress": "12:34:56:78:9a:bc"
        }));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|(l, ..)| *l == Level::Error));
        let by_path = |p: &str| found.iter().find(|f| f.1 == p).map(|f| f.2.as_str());
        assert_eq!(by_path("Imagee"), Some("unknown field `Imagee`"));
        assert_eq!(
            by_path("HostConfig.Privilegd"),
            Some("unknown field `Privilegd`")
        );
        assert!(by_path("MacAddress").unwrap().contains("Engine API 1.44"));
    }

    #[test]
    fn unknown_nested_keys_are_warnings() {
        // A real manifest (iot-for-all opcua-lucid): `RW` and `Mode` belong to MountPoint
        // (inspect output), not Mount; Docker ignores them, so the mount is read-write.
        let found = issues(json!({"HostConfig": {"Mounts": [
            {"Type": "bind", "Source": "/etc/certs", "Target": "/certs", "RW": false}
        ]}}));
        assert_eq!(
            found,
            vec![(
                Level::Warning,
                "HostConfig.Mounts[0].RW".to_owned(),
                "unknown field `RW`, ignored by Docker".to_owned()
            )]
        );
    }

    #[test]
    fn case_is_folded_with_a_warning() {
        let c = parse(&json!({"hostconfig": {"privileged": true, "runtime": "nvidia"}}))
            .unwrap()
            .unwrap();
        let host = c.body.host_config.as_ref().unwrap();
        assert_eq!(host.privileged, Some(true));
        assert_eq!(host.runtime.as_deref(), Some("nvidia"));
        assert_eq!(c.errors().count(), 0);
        let paths: Vec<&str> = c.warnings().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            ["hostconfig", "HostConfig.privileged", "HostConfig.runtime"]
        );
        // Nested structs too: a lower-case Source must not hide a socket from EC804.
        let c = parse(&json!({"HostConfig": {"Mounts": [{"type": "bind", "source": "/run/docker.sock", "target": "/s"}]}}))
            .unwrap()
            .unwrap();
        let m = &c.body.host_config.unwrap().mounts.unwrap()[0];
        assert_eq!(m.source.as_deref(), Some("/run/docker.sock"));
    }

    #[test]
    fn repeated_spellings_keep_the_last_and_are_errors() {
        let c = parse(&json!({"HostConfig": {"Privileged": false, "privileged": true}}))
            .unwrap()
            .unwrap();
        assert_eq!(c.body.host_config.as_ref().unwrap().privileged, Some(true));
        assert!(
            c.errors()
                .any(|i| i.message.contains("more than once") && i.path == "HostConfig.privileged")
        );
    }

    #[test]
    fn type_errors_name_the_path_and_all_are_collected() {
        let c = parse(&json!({
            "Env": "A=1",
            "Cmd": ["ok"],
            "HostConfig": {
                "Binds": ["/a:/a", "/b:/b", 3],
                "Privileged": "yes",
                "Memory": 1.5,
                "CapAdd": ["NET_ADMIN"]
            }
        }))
        .unwrap()
        .unwrap();
        let errors: Vec<&str> = c.errors().map(|i| i.path.as_str()).collect();
        assert_eq!(
            errors,
            [
                "Env",
                "HostConfig.Binds[2]",
                "HostConfig.Privileged",
                "HostConfig.Memory"
            ],
            "{:?}",
            c.issues
        );
        assert!(
            c.issues[1].message.contains("expected a string"),
            "{:?}",
            c.issues
        );
        // What is well-formed is still in the model.
        assert_eq!(c.body.cmd, Some(vec!["ok".to_owned()]));
        let host = c.body.host_config.unwrap();
        assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_owned()]));
        assert_eq!(host.binds, None);
    }

    #[test]
    fn structs_only_from_objects() {
        // serde would fill HostConfig positionally from an array (CpuShares first).
        let found = issues(json!({"HostConfig": [1024], "Healthcheck": "CMD true"}));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].2.contains("expected struct"), "{found:?}");
    }

    #[test]
    fn strings_where_docker_wants_lists() {
        // Docker's Go API accepts a string Entrypoint; edgeAgent's model (a list) does not, so
        // the runtime would fail to read it.
        let found = issues(json!({"Entrypoint": "", "Cmd": "date"}));
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].1, "Entrypoint");
    }

    #[test]
    fn integer_ranges_and_enums() {
        let found = issues(json!({"HostConfig": {
            "BlkioWeight": 70000,
            "Memory": 9223372036854775808u64,
            "RestartPolicy": {"Name": "sometimes"},
            "CgroupnsMode": "host"
        }}));
        let paths: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(
            paths,
            [
                "HostConfig.BlkioWeight",
                "HostConfig.Memory",
                "HostConfig.RestartPolicy.Name"
            ],
            "{found:?}"
        );
    }

    #[test]
    fn issue_locations() {
        let i = Issue {
            level: Level::Error,
            path: "HostConfig.Binds[2]".into(),
            message: String::new(),
        };
        assert_eq!(
            i.location("defaults.createOptions"),
            "defaults.createOptions.HostConfig.Binds[2]"
        );
        let root = Issue {
            path: String::new(),
            ..i
        };
        assert_eq!(
            root.location("defaults.createOptions"),
            "defaults.createOptions"
        );
    }

    #[test]
    fn deep_and_odd_input_does_not_panic() {
        let mut v = json!(1);
        for _ in 0..100 {
            v = json!({ "HostConfig": v, "Labels": [1] });
        }
        let _ = parse(&v);
        let _ = parse(&json!({"ExposedPorts": {"80/tcp": {"a": 1}}, "Healthcheck": [1]}));
        let _ = parse(&json!("\u{0000}"));
    }
}

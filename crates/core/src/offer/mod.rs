//! The partner's `offer.json` (schemaVersion 1), parsed strictly.
//!
//! Strict means: a file that is not JSON, has an unknown key or a value of the wrong JSON type
//! is an `Err` naming the JSON path (the tool cannot do its job, exit 2). Everything else — a
//! missing field, an empty tag, a bad URL — parses fine and becomes a finding of the check that
//! needs it, which is why nearly every field is optional here. The JSON Schema printed by
//! `edgecert schema offer` is derived from these same types, so it cannot drift from the parser.

pub mod deployment;
mod init;

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use init::template;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Offer {
    /// Always 1 for this version of the format.
    pub schema_version: Option<u32>,
    /// Publisher id, `[a-z0-9][a-z0-9-]{1,49}`.
    pub publisher: Option<String>,
    /// Offer id, same pattern as publisher.
    pub offer: Option<String>,
    /// Plan id, same pattern; the module identifier is `publisher.offer.plan`.
    pub plan: Option<String>,
    /// Listing name, 1..200 characters.
    pub name: Option<String>,
    /// One-line summary, 1..100 characters.
    pub summary: Option<String>,
    /// Basic HTML description, 1..3000 characters.
    pub description: Option<String>,
    /// Or an https URL of an external description page.
    pub description_url: Option<String>,
    /// Sub-category under "Internet of things > IoT Edge module".
    pub sub_category: Option<String>,
    /// The real-world IoT Edge scenario this module serves.
    pub use_case: Option<String>,
    pub image: Option<ImageSection>,
    pub defaults: Option<Defaults>,
    pub documentation: Option<Documentation>,
    pub device: Option<Device>,
    pub privileges: Option<Privileges>,
    pub legal: Option<Legal>,
    pub support: Option<Vec<SupportOption>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageSection {
    /// `registry/namespace/name` the image is pulled from.
    pub repository: Option<String>,
    /// The tag deployments use by default; one of `tags`.
    pub default_tag: Option<String>,
    /// Every tag submitted with this version.
    pub tags: Option<Vec<String>>,
    /// Platforms the publisher claims, e.g. `linux/amd64`, `linux/arm/v7`.
    pub platforms: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    /// Default module name in deployments.
    pub module_name: Option<String>,
    /// Docker Engine `ContainerCreate` body: an object, a JSON string, or ""/{} for none.
    pub create_options: Option<RawCreateOptions>,
    /// Environment variables: name -> string, number or bool.
    pub env: Option<BTreeMap<String, EnvValue>>,
    /// Default module twin desired properties.
    pub twin: Option<Map<String, Value>>,
    /// Default routes: name -> route string or {route, priority, timeToLiveSecs}.
    pub routes: Option<BTreeMap<String, RouteSpec>>,
}

/// createOptions as the partner wrote it: a JSON object, or a string holding one. Both forms
/// are kept verbatim.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "CreateOptions")]
// Parsed once per run, by `checks::create_options::load`.
pub enum RawCreateOptions {
    Object(Map<String, Value>),
    String(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    String(String),
    Number(serde_json::Number),
    Bool(bool),
}

impl EnvValue {
    /// The value as the container sees it.
    pub fn to_env_string(&self) -> String {
        match self {
            EnvValue::String(s) => s.clone(),
            EnvValue::Number(n) => n.to_string(),
            EnvValue::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RouteSpec {
    Plain(String),
    Detailed(DetailedRoute),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DetailedRoute {
    pub route: String,
    pub priority: Option<i64>,
    pub time_to_live_secs: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Documentation {
    pub url: Option<String>,
    pub env: Option<BTreeMap<String, String>>,
    pub twin: Option<BTreeMap<String, String>>,
    pub routes: Option<BTreeMap<String, String>>,
    pub create_options: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Device {
    #[serde(rename = "minMemoryMiB")]
    pub min_memory_mib: Option<u64>,
    #[serde(rename = "minStorageMiB")]
    pub min_storage_mib: Option<u64>,
    pub min_cpus: Option<f64>,
    pub gpu: Option<bool>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Privileges {
    pub justification: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Legal {
    pub terms_of_use_url: Option<String>,
    pub privacy_policy_url: Option<String>,
    pub third_party_notice_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportOption {
    /// `email`, `url` or `phone`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// Why an offer file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    /// The I/O error is part of the message, not a chained source (it would print twice).
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: at {json_path}: {message}")]
    Shape {
        path: String,
        json_path: String,
        message: String,
    },
}

impl Offer {
    pub fn load(path: &Path) -> Result<Offer, OfferError> {
        let shown = path.display().to_string();
        let text = crate::input::read_text(path, crate::input::MAX_DOCUMENT).map_err(|source| {
            OfferError::Io {
                path: shown.clone(),
                error: source,
            }
        })?;
        Offer::parse(&text, &shown)
    }

    /// Parses offer JSON; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Offer, OfferError> {
        // Syntax first, so a JSON error is not reported as a shape error at some path.
        let value: Value = serde_json::from_str(text).map_err(|e| OfferError::Syntax {
            path: origin.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_owned(),
        })?;
        if !value.is_object() {
            return Err(OfferError::Shape {
                path: origin.to_owned(),
                json_path: "$".into(),
                message: "the offer must be a JSON object".into(),
            });
        }
        let offer: Offer = serde_path_to_error::deserialize(&value).map_err(|e| {
            let json_path = json_path(&e.path().to_string());
            OfferError::Shape {
                path: origin.to_owned(),
                json_path,
                message: untagged_hint(&e.inner().to_string()),
            }
        })?;
        Ok(offer)
    }

    /// `publisher.offer.plan`, when all three are present.
    pub fn identifier(&self) -> Option<String> {
        Some(format!(
            "{}.{}.{}",
            self.publisher.as_deref()?,
            self.offer.as_deref()?,
            self.plan.as_deref()?
        ))
    }

    pub fn defaults(&self) -> Defaults {
        self.defaults.clone().unwrap_or_default()
    }

    pub fn module_name(&self) -> Option<&str> {
        self.defaults.as_ref()?.module_name.as_deref()
    }

    /// The justification text, when it is a real sentence (not blank).
    pub fn justification(&self) -> Option<&str> {
        let j = self.privileges.as_ref()?.justification.as_deref()?.trim();
        (!j.is_empty()).then_some(j)
    }

    pub fn tags(&self) -> &[String] {
        self.image
            .as_ref()
            .and_then(|i| i.tags.as_deref())
            .unwrap_or(&[])
    }

    pub fn default_tag(&self) -> Option<&str> {
        self.image.as_ref()?.default_tag.as_deref()
    }
}

/// `image.tags[2]` style from serde_path_to_error's `image.tags[2]` / `.` output, rooted at `$`.
fn json_path(p: &str) -> String {
    if p == "." || p.is_empty() {
        "$".into()
    } else {
        format!("$.{p}")
    }
}

/// serde's message for untagged enums says nothing useful; say what the field accepts.
fn untagged_hint(msg: &str) -> String {
    if msg.starts_with("data did not match any variant of untagged enum") {
        let which = msg.rsplit(' ').next().unwrap_or_default();
        let accepted = match which {
            "RawCreateOptions" => "an object or a JSON string",
            "EnvValue" => "a string, number or boolean",
            "RouteSpec" => "a route string or an object {route, priority, timeToLiveSecs}",
            _ => "another type",
        };
        format!("wrong type: expected {accepted}")
    } else {
        msg.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_err(text: &str) -> (String, String) {
        match Offer::parse(text, "offer.json") {
            Err(OfferError::Shape {
                json_path, message, ..
            }) => (json_path, message),
            other => panic!("expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_key_names_its_path() {
        let (path, msg) = shape_err(r#"{"image": {"repository": "x", "tagz": []}}"#);
        assert_eq!(path, "$.image.tagz");
        assert!(msg.contains("unknown field `tagz`"), "{msg}");
    }

    #[test]
    fn wrong_type_names_its_path() {
        let (path, msg) = shape_err(r#"{"image": {"tags": ["1.0", 3]}}"#);
        assert_eq!(path, "$.image.tags[1]");
        assert!(msg.contains("expected a string"), "{msg}");
        let (path, msg) = shape_err(r#"{"defaults": {"env": {"A": [1]}}}"#);
        assert_eq!(path, "$.defaults.env.A");
        assert!(msg.contains("string, number or boolean"), "{msg}");
        let (path, msg) = shape_err(r#"{"defaults": {"createOptions": 5}}"#);
        assert_eq!(path, "$.defaults.createOptions");
        assert!(msg.contains("an object or a JSON string"), "{msg}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        match Offer::parse("{\n  \"name\": }", "o.json") {
            Err(OfferError::Syntax {
                line: 2, column, ..
            }) => assert!(column > 0),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Offer::parse("[]", "o.json"),
            Err(OfferError::Shape { .. })
        ));
    }

    #[test]
    fn omissions_are_not_errors() {
        let offer = Offer::parse("{}", "o.json").unwrap();
        assert!(offer.identifier().is_none());
        assert!(offer.tags().is_empty());
    }
}

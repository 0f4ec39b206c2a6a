//! Policies: per-check severity overrides, the required platform set, the device budget and
//! limits. The built-in policy is the one `spec/checks.md` describes; a policy file (TOML or
//! JSON, strict like offer.json) changes parts of it, and `--deny/--warn/--allow` change
//! severities last. Its `id` and `version` are recorded in every report.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::finding::Severity;
use crate::image::layer::Limits;
use crate::platform::Platform;

#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub version: String,
    pub severities: BTreeMap<String, Severity>,
    /// Platforms the image must all offer (a policy file's `requiredPlatforms`; none built in).
    pub required_platforms: Vec<Platform>,
    /// Platforms of which the image must offer at least one, each missing one a warning: the
    /// built-in policy's IoT Edge Tier-1 set (`linux/amd64`, `linux/arm/v7`). Empty when a
    /// policy file sets `requiredPlatforms`.
    pub tier1_platforms: Vec<Platform>,
    pub device: DeviceBudget,
    pub limits: Limits,
    /// createOptions, minified, at most this many characters (8 chunks of 512).
    pub create_options_max_chars: usize,
    pub run_window_secs: u64,
}

/// The device a module must fit when its offer declares no `device` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeviceBudget {
    #[serde(rename = "memoryMiB")]
    pub memory_mib: u64,
    #[serde(rename = "storageMiB")]
    pub storage_mib: u64,
    pub cpus: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            id: "default".into(),
            version: "2018.09".into(),
            severities: BTreeMap::new(),
            required_platforms: Vec::new(),
            // The Marketplace's later rule: at least one IoT Edge Tier-1 platform.
            tier1_platforms: vec![
                Platform::new("linux", "amd64", None),
                Platform::new("linux", "arm", Some("v7")),
            ],
            // Raspberry Pi class: 1 GiB RAM of which the module may use 512 MiB, 4 cores,
            // 1024 MiB of storage for the image.
            device: DeviceBudget {
                memory_mib: 512,
                storage_mib: 1024,
                cpus: 4.0,
            },
            limits: Limits::default(),
            create_options_max_chars: 4096,
            run_window_secs: 30,
        }
    }
}

/// The file format. Every field is optional: absent = built-in value.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyFile {
    pub id: Option<String>,
    pub version: Option<String>,
    /// Check id -> `blocking` | `warning` | `info`.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    pub required_platforms: Option<Vec<String>>,
    pub device: Option<DeviceBudget>,
    pub limits: Option<LimitsFile>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsFile {
    pub layer_max_bytes: Option<u64>,
    pub max_ratio: Option<u64>,
    pub create_options_max_chars: Option<usize>,
    pub run_window_secs: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[error("policy {path}: {message}")]
pub struct PolicyError {
    pub path: String,
    pub message: String,
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let shown = path.display().to_string();
        let text =
            crate::input::read_text(path, crate::input::MAX_DOCUMENT).map_err(|e| PolicyError {
                path: shown.clone(),
                message: format!("cannot read: {e}"),
            })?;
        Policy::parse(&text, &shown)
    }

    /// A policy from its text, TOML or JSON (an object); `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let err = |message: String| PolicyError {
            path: origin.to_owned(),
            message,
        };
        let file: PolicyFile = if text.trim_start().starts_with('{') {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de)
                .map_err(|e| err(format!("at $.{}: {}", e.path(), e.inner())))?
        } else {
            toml::from_str(text).map_err(|e| err(e.to_string()))?
        };
        Policy::default().apply(file).map_err(err)
    }

    fn apply(mut self, file: PolicyFile) -> Result<Policy, String> {
        if let Some(id) = file.id {
            self.id = id;
        }
        if let Some(v) = file.version {
            self.version = v;
        }
        for (id, severity) in file.severity {
            if crate::catalog::check_id(&id).is_none() {
                return Err(format!("severity: unknown check id {id:?}"));
            }
            self.severities.insert(id, severity);
        }
        if let Some(platforms) = file.required_platforms {
            self.required_platforms = platforms
                .iter()
                .map(|p| {
                    p.parse().map_err(|e: crate::platform::PlatformError| {
                        format!("requiredPlatforms: {e}")
                    })
                })
                .collect::<Result<_, _>>()?;
            self.tier1_platforms.clear();
        }
        if let Some(d) = file.device {
            self.device = d;
        }
        if let Some(l) = file.limits {
            if let Some(v) = l.layer_max_bytes {
                self.limits.max_uncompressed = v;
            }
            if let Some(v) = l.max_ratio {
                self.limits.max_ratio = v;
            }
            if let Some(v) = l.create_options_max_chars {
                self.create_options_max_chars = v;
            }
            if let Some(v) = l.run_window_secs {
                self.run_window_secs = v;
            }
        }
        Ok(self)
    }

    /// Severity of `id` under this policy.
    pub fn severity(&self, id: &str, default: Severity) -> Severity {
        self.severities.get(id).copied().unwrap_or(default)
    }

    /// Applies `--deny` (blocking), `--warn` (warning) and `--allow` (info) in that order.
    pub fn override_severity(&mut self, id: &str, severity: Severity) -> Result<(), String> {
        if crate::catalog::check_id(id).is_none() {
            return Err(format!("unknown check id {id:?} (see `edgecert checks`)"));
        }
        self.severities.insert(id.to_owned(), severity);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_policies() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("p.toml");
        std::fs::write(
            &t,
            "id = \"strict\"\nversion = \"1\"\n[severity]\nEC805 = \"blocking\"\n",
        )
        .unwrap();
        let p = Policy::load(&t).unwrap();
        assert_eq!(
            (p.id.as_str(), p.severity("EC805", Severity::Warning)),
            ("strict", Severity::Blocking)
        );
        let j = dir.path().join("p.json");
        std::fs::write(
            &j,
            r#"{"limits": {"maxRatio": 10}, "requiredPlatforms": ["linux/amd64"]}"#,
        )
        .unwrap();
        let p = Policy::load(&j).unwrap();
        assert_eq!((p.limits.max_ratio, p.required_platforms.len()), (10, 1));
        std::fs::write(&j, r#"{"limits": {"maxRatioo": 10}}"#).unwrap();
        let e = Policy::load(&j).unwrap_err().to_string();
        assert!(e.contains("limits") && e.contains("maxRatioo"), "{e}");
        std::fs::write(&t, "[severity]\nEC999 = \"info\"\n").unwrap();
        assert!(Policy::load(&t).unwrap_err().to_string().contains("EC999"));
    }
}

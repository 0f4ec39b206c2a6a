//! The vocabulary every check speaks: a `Finding` (what is wrong, on which platform, where —
//! a structured `Location` — and how to fix it), the `Status` a check ends in, its `Severity`
//! and its `Area`. Below checks and reports alike: checks make findings, reports hold and render
//! them (`report` re-exports these under its own path, the report JSON's names).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::location::Location;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Blocking,
    Warning,
    Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Review,
    Skip,
    Error,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Module,
    Platform,
    Device,
    Runtime,
    Documentation,
    Versioning,
    Telemetry,
    Security,
    Legal,
}

impl Area {
    pub fn title(self) -> &'static str {
        match self {
            Area::Module => "IoT Edge module and default settings",
            Area::Platform => "Platform support",
            Area::Device => "Device dimensioning",
            Area::Runtime => "Starts with its defaults (ingestion test)",
            Area::Documentation => "Documentation and listing",
            Area::Versioning => "Versioning",
            Area::Telemetry => "Telemetry",
            Area::Security => "Security",
            Area::Legal => "Legal, support and category",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Module => "module",
            Area::Platform => "platform",
            Area::Device => "device",
            Area::Runtime => "runtime",
            Area::Documentation => "documentation",
            Area::Versioning => "versioning",
            Area::Telemetry => "telemetry",
            Area::Security => "security",
            Area::Legal => "legal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Finding {
    pub fn new(message: impl Into<String>) -> Self {
        Finding {
            message: message.into(),
            platform: None,
            location: None,
            help: None,
        }
    }
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
    /// The location as the report shows it.
    pub fn shown_location(&self) -> Option<String> {
        self.location.as_ref().map(ToString::to_string)
    }
    pub fn on(mut self, platform: impl ToString) -> Self {
        self.platform = Some(platform.to_string());
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

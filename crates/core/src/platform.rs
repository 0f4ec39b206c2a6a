//! `Platform`: `os/arch[/variant]` as OCI writes it, with the normalisation the IoT Edge world
//! needs (`arm64` and `arm64/v8` are the same platform; `arm` without variant is not `arm/v7`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid platform {0:?}: expected OS/ARCH[/VARIANT], e.g. linux/arm/v7")]
pub struct PlatformError(pub String);

impl Platform {
    pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Self {
        let variant = variant.filter(|v| !v.is_empty());
        // arm64's only variant is v8; OCI says it may be omitted, so drop it to compare equal.
        let variant = if arch == "arm64" && variant == Some("v8") {
            None
        } else {
            variant
        };
        Platform {
            os: os.to_owned(),
            arch: arch.to_owned(),
            variant: variant.map(str::to_owned),
        }
    }

    /// Short IoT Edge name used in per-platform tags (`amd64`, `arm32v7`, `arm64v8`).
    pub fn iotedge_name(&self) -> String {
        match (self.arch.as_str(), self.variant.as_deref()) {
            ("amd64", _) => "amd64".into(),
            ("arm", Some(v)) => format!("arm32{v}"),
            ("arm64", _) => "arm64v8".into(),
            (a, Some(v)) => format!("{a}{v}"),
            (a, None) => a.into(),
        }
    }
}

impl FromStr for Platform {
    type Err = PlatformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let valid = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        match parts.as_slice() {
            [os, arch] if valid(os) && valid(arch) => Ok(Platform::new(os, arch, None)),
            [os, arch, v] if valid(os) && valid(arch) && valid(v) => {
                Ok(Platform::new(os, arch, Some(v)))
            }
            _ => Err(PlatformError(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Platform {
    type Error = PlatformError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Platform> for String {
    fn from(p: Platform) -> String {
        p.to_string()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variant {
            Some(v) => write!(f, "{}/{}/{}", self.os, self.arch, v),
            None => write!(f, "{}/{}", self.os, self.arch),
        }
    }
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Platform({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_arm64_variant() {
        assert_eq!(
            "linux/arm64/v8".parse::<Platform>().unwrap(),
            "linux/arm64".parse().unwrap()
        );
        assert_ne!(
            "linux/arm".parse::<Platform>().unwrap(),
            "linux/arm/v7".parse().unwrap()
        );
        assert_eq!(
            "linux/arm/v7".parse::<Platform>().unwrap().iotedge_name(),
            "arm32v7"
        );
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux/arm/v7/x".parse::<Platform>().is_err());
    }
}

//! Where a finding points, as data: the offer file at a JSON path, a file in a layer, a
//! manifest or config by digest, a path in the image. Image reading (`facts::Problem`) and
//! checks (`report::Finding`) build it; every renderer reads it: the report JSON's `location`
//! string and the human and JUnit reports print its `Display`, SARIF makes a physical location
//! with a region from `Offer` and logical locations from the rest — none of them splits a
//! string apart again.
//!
//! The report's public form is unchanged: one string (`offer.json: defaults.routes.hot`,
//! `layer sha256:…: etc/shadow`, `manifest sha256:…`). `FromStr` reads that form back, for
//! stored reports.

use std::fmt;
use std::str::FromStr;

/// The offer file's name in locations, whatever path it was loaded from.
pub const OFFER_FILE: &str = "offer.json";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// The offer, at a JSON path in dot form (`defaults.createOptions.HostConfig.Binds[2]`;
    /// empty: the file as a whole).
    Offer(String),
    /// A layer (by digest), or a file in it (normalised path, no leading `/`).
    Layer {
        digest: String,
        path: Option<String>,
    },
    /// An image manifest, by digest.
    Manifest(String),
    /// A config blob, by its own digest (`config sha256:…`).
    ConfigBlob(String),
    /// A blob whose digest or size is wrong (`blob sha256:…`).
    Blob(String),
    /// An image config, by its manifest's digest.
    Config(String),
    /// A field of the config of a manifest (`image config of <manifest>: Env[2]`).
    ConfigField { manifest: String, field: String },
    /// A label of an image config (`image config label <key>`).
    ConfigLabel(String),
    /// A path in a platform's merged filesystem (`/usr/bin/app`).
    ImagePath(String),
    /// Anything else (`index.json`, a source name), as it is shown.
    Other(String),
}

impl Location {
    /// `offer.json: <path>`.
    pub fn offer(path: impl Into<String>) -> Self {
        Location::Offer(path.into())
    }

    /// A file in a layer, or the layer itself.
    pub fn layer(digest: impl ToString, path: Option<&str>) -> Self {
        Location::Layer {
            digest: digest.to_string(),
            path: path.map(str::to_owned),
        }
    }

    /// The JSON path in the offer, for offer locations.
    pub fn offer_path(&self) -> Option<&str> {
        match self {
            Location::Offer(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Offer(p) if p.is_empty() => f.write_str(OFFER_FILE),
            Location::Offer(p) => write!(f, "{OFFER_FILE}: {p}"),
            Location::Layer { digest, path: None } => write!(f, "layer {digest}"),
            Location::Layer {
                digest,
                path: Some(p),
            } => write!(f, "layer {digest}: {p}"),
            Location::Manifest(d) => write!(f, "manifest {d}"),
            Location::Config(d) => write!(f, "image config {d}"),
            Location::ConfigBlob(d) => write!(f, "config {d}"),
            Location::Blob(d) => write!(f, "blob {d}"),
            Location::ConfigField { manifest, field } => {
                write!(f, "image config of {manifest}: {field}")
            }
            Location::ConfigLabel(k) => write!(f, "image config label {k}"),
            Location::ImagePath(p) | Location::Other(p) => f.write_str(p),
        }
    }
}

/// Reads the shown form back (stored reports). Never fails: what matches no other form is
/// `Other`, shown as it was.
impl FromStr for Location {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == OFFER_FILE {
            return Ok(Location::Offer(String::new()));
        }
        if let Some(p) = s.strip_prefix("offer.json: ") {
            return Ok(Location::Offer(p.to_owned()));
        }
        if let Some(rest) = s.strip_prefix("layer ") {
            return Ok(match rest.split_once(": ") {
                Some((d, p)) => Location::layer(d, Some(p)),
                None => Location::layer(rest, None),
            });
        }
        if let Some(rest) = s.strip_prefix("image config of ")
            && let Some((manifest, field)) = rest.split_once(": ")
        {
            return Ok(Location::ConfigField {
                manifest: manifest.to_owned(),
                field: field.to_owned(),
            });
        }
        if let Some(k) = s.strip_prefix("image config label ") {
            return Ok(Location::ConfigLabel(k.to_owned()));
        }
        if let Some(d) = s.strip_prefix("image config ") {
            return Ok(Location::Config(d.to_owned()));
        }
        if let Some(d) = s.strip_prefix("config ") {
            return Ok(Location::ConfigBlob(d.to_owned()));
        }
        if let Some(d) = s.strip_prefix("blob ") {
            return Ok(Location::Blob(d.to_owned()));
        }
        if let Some(d) = s.strip_prefix("manifest ") {
            return Ok(Location::Manifest(d.to_owned()));
        }
        if s.starts_with('/') {
            return Ok(Location::ImagePath(s.to_owned()));
        }
        Ok(Location::Other(s.to_owned()))
    }
}

impl serde::Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.parse()
            .unwrap_or_else(|e: std::convert::Infallible| match e {}))
    }
}

impl schemars::JsonSchema for Location {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        // Inlined: the report schema has always said "string" here.
        "String".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_shows_as_before_and_reads_back() {
        let d = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
        let cases = [
            (Location::offer(""), "offer.json".to_owned()),
            (
                Location::offer("defaults.routes.hot"),
                "offer.json: defaults.routes.hot".to_owned(),
            ),
            (Location::layer(d, None), format!("layer {d}")),
            (
                Location::layer(d, Some("etc/a: b")),
                format!("layer {d}: etc/a: b"),
            ),
            (Location::Manifest(d.into()), format!("manifest {d}")),
            (Location::Config(d.into()), format!("image config {d}")),
            (Location::ConfigBlob(d.into()), format!("config {d}")),
            (Location::Blob(d.into()), format!("blob {d}")),
            (
                Location::ConfigField {
                    manifest: d.into(),
                    field: "Env[2]".into(),
                },
                format!("image config of {d}: Env[2]"),
            ),
            (
                Location::ConfigLabel("com.example".into()),
                "image config label com.example".to_owned(),
            ),
            (
                Location::ImagePath("/usr/bin/app".into()),
                "/usr/bin/app".to_owned(),
            ),
            (
                Location::Other("index.json".into()),
                "index.json".to_owned(),
            ),
        ];
        for (loc, shown) in cases {
            assert_eq!(loc.to_string(), shown);
            assert_eq!(shown.parse::<Location>().unwrap(), loc, "{shown}");
            let json = serde_json::to_string(&loc).unwrap();
            assert_eq!(json, serde_json::to_string(&shown).unwrap());
            assert_eq!(serde_json::from_str::<Location>(&json).unwrap(), loc);
        }
    }
}

//! The image's software bill of materials: which third-party components each platform ships,
//! built from the inventory analyzer's facts. Rendering (CycloneDX 1.5 JSON) is `cyclonedx`;
//! package URLs are `purl`.
//!
//! A platform ships what its merged filesystem holds: a package database or metadata file that
//! a later layer deletes or replaces does not count (its facts stay on the lower layer's entry,
//! where checks that judge every layer, like EC806, still see them). Components are
//! merged across platforms by purl (or, without one, by ecosystem, group, name and version),
//! and listed in that order with the platforms and paths that ship them, so the same image
//! always gives the same inventory.

pub mod cyclonedx;
pub mod purl;

use std::collections::BTreeMap;

use crate::analyze::FileFact;
use crate::analyze::inventory::Component;
use crate::facts::merged::NodeKind;
use crate::facts::{ImageFacts, PlatformFacts};

/// Paths listed per component at most (a package nested in many `node_modules`).
const MAX_LOCATIONS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    /// Digest of the image's top manifest or index: the BOM's subject and serial number.
    pub digest: Option<String>,
    /// What the image is: the module name, else the image source.
    pub name: String,
    pub components: Vec<Entry>,
}

/// One distinct component of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unique in the inventory: the purl, else `edgecert:<ecosystem>:[<group>/]<name>[@<version>]`.
    pub bom_ref: String,
    pub purl: Option<String>,
    pub component: Component,
    /// Platforms that ship it (`linux/amd64`), sorted.
    pub platforms: Vec<String>,
    /// Where it was found (`/var/lib/dpkg/status`, `/app/lib/x.jar!/META-INF/…`), sorted.
    pub locations: Vec<String>,
}

/// The components a platform's merged filesystem declares, with their paths. A language
/// package (npm, PyPI, …) whose metadata file a distribution package installed — Debian's
/// `/usr/share/nodejs`, `python3-*` in `dist-packages` — is that deb or apk component, already
/// listed from the package database, and is not counted again.
pub fn platform_components(p: &PlatformFacts) -> impl Iterator<Item = (&str, &Component)> {
    let owners = p.package_owners();
    p.fs.iter()
        .filter(|(_, n)| n.kind == NodeKind::File)
        .filter(move |(path, _)| !owners.contains_key(path.as_str()))
        .flat_map(|(path, n)| {
            n.facts.iter().filter_map(move |f| match f {
                FileFact::Component(c) => Some((path.as_str(), c)),
                _ => None,
            })
        })
}

/// The platform's distribution (`os-release` ID), for deb and apk package URLs.
fn distro(p: &PlatformFacts) -> Option<String> {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .filter_map(|path| p.fs.resolve(path, "/").ok())
        .flat_map(|(_, node)| node.facts.iter())
        .find_map(|f| match f {
            FileFact::OsRelease(os) => Some(os.id.to_ascii_lowercase()),
            _ => None,
        })
}

fn fallback_ref(c: &Component) -> String {
    format!(
        "edgecert:{}:{}{}{}",
        c.ecosystem.as_str(),
        c.group
            .as_deref()
            .map(|g| format!("{g}/"))
            .unwrap_or_default(),
        c.name,
        c.version
            .as_deref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default()
    )
}

impl Inventory {
    pub fn from_facts(facts: &ImageFacts, name: &str) -> Inventory {
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for p in &facts.platforms {
            let distro = distro(p);
            let platform = p.platform.to_string();
            for (path, c) in platform_components(p) {
                let purl = purl::of(c, distro.as_deref());
                let bom_ref = purl.clone().unwrap_or_else(|| fallback_ref(c));
                let location = match &c.member {
                    Some(m) => format!("/{path}!/{m}"),
                    None => format!("/{path}"),
                };
                let e = entries.entry(bom_ref.clone()).or_insert_with(|| Entry {
                    bom_ref,
                    purl,
                    component: c.clone(),
                    platforms: Vec::new(),
                    locations: Vec::new(),
                });
                if !e.platforms.contains(&platform) {
                    e.platforms.push(platform.clone());
                }
                if e.locations.len() < MAX_LOCATIONS && !e.locations.contains(&location) {
                    e.locations.push(location);
                }
            }
        }
        let mut components: Vec<Entry> = entries.into_values().collect();
        for e in &mut components {
            e.platforms.sort();
            e.locations.sort();
        }
        Inventory {
            digest: facts.top_digest.as_ref().map(|d| d.to_string()),
            name: name.to_owned(),
            components,
        }
    }

    /// Distinct components shipped by `platform` (`linux/amd64`).
    pub fn count_for(&self, platform: &str) -> usize {
        self.components
            .iter()
            .filter(|e| e.platforms.iter().any(|p| p == platform))
            .count()
    }
}

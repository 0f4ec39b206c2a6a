//! The check registry: the table of contents of the product.
//!
//! One check per file, each with the same shape: a `//!` doc with *What it checks / Why it
//! matters / Example / How to fix* (rendered by `edgecert explain`, so user docs and code
//! cannot drift), a `CHECK` constant, a pure `run` function from `Context` to `Outcome`, and its
//! tests. Checks never do I/O: everything they judge is in the `Context`.

mod ec101_image_readable;
mod ec102_default_tag;
mod ec103_create_options;
mod ec104_default_twin;
mod ec105_default_routes;
mod ec106_sdk_defaults;
mod ec107_module_name;
mod ec108_default_env;
mod ec201_required_platforms;
mod ec202_platform_consistent;
mod ec203_binaries_match_platform;
mod ec204_entrypoint_present;
mod ec301_fits_device_storage;
mod ec302_fits_device_memory;
mod ec303_constraints_declared;
mod ec401_starts_with_defaults;
mod ec402_stays_running;
mod ec403_stops_gracefully;
mod ec404_connects_to_edgehub;
mod ec405_outputs_routed;
mod ec501_settings_documented;
mod ec502_description_safe;
pub use ec502_description_safe::sanitize as sanitize_description;
pub mod create_options;
mod ec503_listing_fields;
mod ec601_version_tags;
mod ec602_rolling_tags_consistent;
mod ec603_exact_tag_immutable;
mod ec604_default_tag_kind;
mod ec701_sdk_identifier;
mod ec702_sdk_detected;
mod ec801_not_privileged;
mod ec802_capabilities;
mod ec803_host_namespaces;
mod ec804_host_mounts;
mod ec805_non_root_user;
mod ec806_no_embedded_secrets;
mod ec807_malware_free;
mod ec808_host_devices;
mod ec809_security_options;
mod ec810_host_ports;
mod ec901_terms_of_use;
mod ec902_privacy_policy;
mod ec903_third_party_notice;
mod ec904_support_option;
mod ec905_category;
mod ec906_use_case;
pub mod entrypoint;
pub mod ingestion;
pub mod legal;
pub mod rules;
// Test support, also for the engine's tests of EC807 (feature `testing`, dev only).
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use crate::facts::TagMap;
use crate::facts::{ImageFacts, RuntimeFacts};
use crate::finding::{Area, Finding, Severity, Status};
use crate::offer::Offer;
use crate::policy::Policy;

/// Everything a check may look at.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub offer: &'a Offer,
    /// The offer's createOptions, parsed once ([`create_options::load`]).
    pub create_options: &'a create_options::Parsed,
    pub image: &'a ImageFacts,
    pub policy: &'a Policy,
    /// Tags already published (EC603), when known: the marketplace registry or `--published`.
    pub published: Option<&'a TagMap>,
    /// What the ingestion test observed; `None` when it was not run (`--no-run`).
    pub runtime: Option<&'a RuntimeFacts>,
}

/// The ids of the checks that judge the ingestion test ([`Check::runtime`]).
pub fn runtime_checks() -> Vec<&'static str> {
    all().iter().filter(|c| c.runtime).map(|c| c.id).collect()
}

/// Whether `id` names a check that judges the ingestion test.
pub fn is_runtime(id: &str) -> bool {
    all().iter().any(|c| c.runtime && c.id == id)
}

/// The summary of a check that judges the image's contents when the image could not be read:
/// there is nothing to judge, and EC101 says why.
pub const UNREADABLE: &str = "the image could not be read (see EC101)";

impl Context<'_> {
    /// `Some(skip)` when the image could not be read (no platform came out of it): a check of
    /// its contents returns that instead of judging nothing.
    pub fn unreadable_image(&self) -> Option<Outcome> {
        self.image
            .platforms
            .is_empty()
            .then(|| Outcome::skip(UNREADABLE))
    }
}

/// What one check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub summary: String,
    pub findings: Vec<Finding>,
}

impl Outcome {
    pub fn pass(summary: impl Into<String>) -> Self {
        Outcome {
            status: Status::Pass,
            summary: summary.into(),
            findings: Vec::new(),
        }
    }
    pub fn fail(summary: impl Into<String>, findings: Vec<Finding>) -> Self {
        Outcome {
            status: Status::Fail,
            summary: summary.into(),
            findings,
        }
    }
    pub fn review(summary: impl Into<String>, findings: Vec<Finding>) -> Self {
        Outcome {
            status: Status::Review,
            summary: summary.into(),
            findings,
        }
    }
    pub fn skip(summary: impl Into<String>) -> Self {
        Outcome {
            status: Status::Skip,
            summary: summary.into(),
            findings: Vec::new(),
        }
    }
    pub fn error(summary: impl Into<String>, findings: Vec<Finding>) -> Self {
        Outcome {
            status: Status::Error,
            summary: summary.into(),
            findings,
        }
    }
    pub fn with(mut self, findings: Vec<Finding>) -> Self {
        self.findings.extend(findings);
        self
    }
}

/// A check: identity, default severity, docs and the rule itself.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub area: Area,
    pub severity: Severity,
    /// Judges the ingestion test: with `--no-run` it is skipped by request, which makes the
    /// verdict `incomplete` at best.
    pub runtime: bool,
    /// The check's source file; its leading `//!` block is the user documentation.
    pub source: &'static str,
    pub run: fn(&Context<'_>) -> Outcome,
}

impl Check {
    /// The `//!` documentation of the check's file, as markdown.
    pub fn docs(&self) -> String {
        self.source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                l.strip_prefix("//! ")
                    .unwrap_or(l.strip_prefix("//!").unwrap_or(l))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The text under `## <title>` in the docs, trimmed.
    pub fn section(&self, title: &str) -> Option<String> {
        let docs = self.docs();
        let mut lines = docs
            .lines()
            .skip_while(|l| l.trim() != format!("## {title}"));
        lines.next()?;
        let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
        let text = body.join("\n").trim().to_owned();
        (!text.is_empty()).then_some(text)
    }

    /// The "How to fix" section as one line, for finding help texts.
    pub fn fix_hint(&self) -> String {
        self.section("How to fix")
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }
}

/// Every check, sorted by id. This list is the catalogue; the test below pins it.
pub fn all() -> &'static [Check] {
    static ALL: &[Check] = &[
        ec101_image_readable::CHECK,
        ec102_default_tag::CHECK,
        ec103_create_options::CHECK,
        ec104_default_twin::CHECK,
        ec105_default_routes::CHECK,
        ec106_sdk_defaults::CHECK,
        ec107_module_name::CHECK,
        ec108_default_env::CHECK,
        ec201_required_platforms::CHECK,
        ec202_platform_consistent::CHECK,
        ec203_binaries_match_platform::CHECK,
        ec204_entrypoint_present::CHECK,
        ec301_fits_device_storage::CHECK,
        ec302_fits_device_memory::CHECK,
        ec303_constraints_declared::CHECK,
        ec401_starts_with_defaults::CHECK,
        ec402_stays_running::CHECK,
        ec403_stops_gracefully::CHECK,
        ec404_connects_to_edgehub::CHECK,
        ec405_outputs_routed::CHECK,
        ec501_settings_documented::CHECK,
        ec502_description_safe::CHECK,
        ec503_listing_fields::CHECK,
        ec601_version_tags::CHECK,
        ec602_rolling_tags_consistent::CHECK,
        ec603_exact_tag_immutable::CHECK,
        ec604_default_tag_kind::CHECK,
        ec701_sdk_identifier::CHECK,
        ec702_sdk_detected::CHECK,
        ec801_not_privileged::CHECK,
        ec802_capabilities::CHECK,
        ec803_host_namespaces::CHECK,
        ec804_host_mounts::CHECK,
        ec805_non_root_user::CHECK,
        ec806_no_embedded_secrets::CHECK,
        ec807_malware_free::CHECK,
        ec808_host_devices::CHECK,
        ec809_security_options::CHECK,
        ec810_host_ports::CHECK,
        ec901_terms_of_use::CHECK,
        ec902_privacy_policy::CHECK,
        ec903_third_party_notice::CHECK,
        ec904_support_option::CHECK,
        ec905_category::CHECK,
        ec906_use_case::CHECK,
    ];
    ALL
}

/// The check with this id (case-insensitive).
pub fn find(id: &str) -> Option<&'static Check> {
    all().iter().find(|c| c.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_names_every_check_in_order() {
        let ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        assert_eq!(ids, crate::catalog::CHECK_IDS);
        for id in crate::catalog::CHECK_IDS {
            assert_eq!(find(&id.to_lowercase()).map(|c| c.id), Some(*id));
            assert_eq!(crate::catalog::check_id(&id.to_lowercase()), Some(*id));
        }
        assert_eq!(crate::catalog::check_id("EC999"), None);
    }

    #[test]
    fn registry_is_sorted_unique_and_pinned() {
        let ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "EC101", "EC102", "EC103", "EC104", "EC105", "EC106", "EC107", "EC108", "EC201",
                "EC202", "EC203", "EC204", "EC301", "EC302", "EC303", "EC401", "EC402", "EC403",
                "EC404", "EC405", "EC501", "EC502", "EC503", "EC601", "EC602", "EC603", "EC604",
                "EC701", "EC702", "EC801", "EC802", "EC803", "EC804", "EC805", "EC806", "EC807",
                "EC808", "EC809", "EC810", "EC901", "EC902", "EC903", "EC904", "EC905", "EC906"
            ]
        );
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn the_runtime_checks_are_the_ingestion_tests_and_area() {
        assert_eq!(
            runtime_checks(),
            ["EC302", "EC401", "EC402", "EC403", "EC404", "EC405"]
        );
        // Every check of the runtime area judges the ingestion test.
        assert!(
            all()
                .iter()
                .filter(|c| c.area == Area::Runtime)
                .all(|c| c.runtime)
        );
        assert!(is_runtime("EC302") && !is_runtime("EC301") && !is_runtime("EC999"));
    }

    #[test]
    fn every_check_documents_itself() {
        for c in all() {
            let docs = c.docs();
            assert!(
                docs.starts_with(&format!("# {} {}", c.id, c.name)),
                "{}: {docs}",
                c.id
            );
            for s in ["What it checks", "Why it matters", "Example", "How to fix"] {
                assert!(c.section(s).is_some(), "{} lacks section {s}", c.id);
            }
            assert!(!c.fix_hint().is_empty(), "{}", c.id);
        }
    }
}

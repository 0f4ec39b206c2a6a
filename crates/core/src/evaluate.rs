//! Judging: every check against established facts, and the report they make. Pure: the facts
//! were read before (`image::scan`, the ingestion test), nothing here does I/O.

use crate::checks::{self, Context};
use crate::facts::{ImageFacts, RuntimeFacts, TagMap};
use crate::offer::Offer;
use crate::policy::Policy;
use crate::report::{
    CheckResult, ImageRef, Ingestion, ModuleRef, PlatformRef, PolicyRef, Report, SbomSummary,
    Status, Tool,
};
use crate::sbom::Inventory;

/// Runs every check against established facts and builds the report (`durationMs` 0), with
/// the image's component inventory (`None` when no platform could be read). `runtime: None`
/// means the ingestion test was not run (by request).
pub fn evaluate(
    offer: &Offer,
    facts: &ImageFacts,
    policy: &Policy,
    published: Option<&TagMap>,
    runtime: Option<&RuntimeFacts>,
) -> (Report, Option<Inventory>) {
    // Parsed once: every check reads the same createOptions.
    let create_options = checks::create_options::load(offer);
    let cx = Context {
        offer,
        create_options: &create_options,
        image: facts,
        policy,
        published,
        runtime,
    };
    let checks: Vec<CheckResult> = checks::all()
        .iter()
        .map(|c| {
            let outcome = (c.run)(&cx);
            CheckResult {
                id: c.id.into(),
                name: c.name.into(),
                area: c.area,
                severity: policy.severity(c.id, c.severity),
                status: outcome.status,
                summary: outcome.summary,
                findings: outcome.findings,
            }
        })
        .collect();
    let review = checks
        .iter()
        .filter(|c| c.status == Status::Review)
        .map(|c| format!("{}: {}", c.id, c.summary))
        .collect();
    let not_run = if runtime.is_none() {
        checks::runtime_checks()
    } else {
        Vec::new()
    };
    let verdict = Report::compute_verdict(&checks, &not_run);
    let inventory = (!facts.platforms.is_empty()).then(|| {
        let name = offer.module_name().unwrap_or(&facts.source);
        Inventory::from_facts(facts, name)
    });
    let report = Report {
        report_version: 1,
        tool: Tool {
            name: "edgecert".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        policy: PolicyRef {
            id: policy.id.clone(),
            version: policy.version.clone(),
        },
        verdict,
        module: ModuleRef {
            identifier: offer.identifier(),
            module_name: offer.module_name().map(str::to_owned),
        },
        image: Some(ImageRef {
            source: facts.source.clone(),
            digest: facts.top_digest.as_ref().map(|d| d.to_string()),
            platforms: facts
                .platforms
                .iter()
                .map(|p| PlatformRef {
                    platform: p.platform.to_string(),
                    digest: p.manifest_digest.to_string(),
                    compressed_bytes: p.compressed_bytes(),
                    uncompressed_bytes: p.uncompressed_bytes(),
                    layers: p.layers.len(),
                })
                .collect(),
        }),
        engines: facts.engines.clone(),
        checks,
        review,
        sbom: inventory.as_ref().map(|i| SbomSummary {
            components: i.components.len(),
        }),
        ingestion: runtime.map(|r| Ingestion {
            engine: r.engine.clone(),
            mode: r.mode.clone(),
            duration_ms: r.duration_ms,
        }),
        duration_ms: 0,
    };
    (report, inventory)
}

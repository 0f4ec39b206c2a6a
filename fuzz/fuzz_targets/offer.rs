//! Fuzzes offer.json end to end on the offer side: arbitrary text through the strict parser
//! (`Offer::parse`), then every check (`evaluate`, with no image) and the JSON, SARIF and
//! JUnit renderers. Parsing may refuse the text; nothing may panic, and every check must run
//! once. The checks bring the route parser, createOptions, twin, env and HTML sanitizer in.

#![no_main]

use edgecert_engine::facts::ImageFacts;
use edgecert_engine::offer::Offer;
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{json, junit, sarif};
use edgecert_engine::{checks, evaluate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(offer) = Offer::parse(text, "offer.json") else {
        return;
    };
    let (report, _) = evaluate(
        &offer,
        &ImageFacts::default(),
        &Policy::default(),
        None,
        None,
    );
    assert_eq!(report.checks.len(), checks::all().len());
    let _ = (
        json::render(&report),
        sarif::render(&report),
        junit::render(&report),
    );
});

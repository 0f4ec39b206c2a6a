//! # EC905 category
//!
//! ## What it checks
//! `subCategory` is one of `ai-machine-learning`, `analytics`, `connectivity-protocols`,
//! `data-storage`, `device-management`, `industrial-automation`, `monitoring-diagnostics`,
//! `security`, `video-vision`, `other`. The listing category is always
//! *Internet of things > IoT Edge module*.
//!
//! ## Why it matters
//! Every IoT Edge module appears under *Internet of things > IoT Edge module*; the partner
//! picks the sub-category customers browse.
//!
//! ## Example
//! `"subCategory": "AI"`.
//!
//! ## How to fix
//! Set `subCategory` to one of the listed values (`other` if none fits).

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const SUB_CATEGORIES: &[&str] = &[
    "ai-machine-learning",
    "analytics",
    "connectivity-protocols",
    "data-storage",
    "device-management",
    "industrial-automation",
    "monitoring-diagnostics",
    "security",
    "video-vision",
    "other",
];

pub const CHECK: Check = Check {
    id: "EC905",
    name: "category",
    title: "A known sub-category under Internet of things > IoT Edge module",
    area: Area::Legal,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec905_category.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let at = Location::offer("subCategory");
    let hint = CHECK.fix_hint();
    match cx.offer.sub_category.as_deref() {
        Some(s) if SUB_CATEGORIES.contains(&s) => {
            Outcome::pass(format!("Internet of things > IoT Edge module > {s}"))
        }
        Some(s) => Outcome::fail(
            "unknown sub-category",
            vec![
                Finding::new(format!(
                    "{s:?} is not one of: {}",
                    SUB_CATEGORIES.join(", ")
                ))
                .at(at)
                .help(hint),
            ],
        ),
        None => Outcome::fail(
            "subCategory is missing",
            vec![Finding::new("no subCategory").at(at).help(hint)],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;

    #[test]
    fn pass_and_fail() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        assert_eq!(
            run_offer(&CHECK, |v| v["subCategory"] = "AI".into()).status,
            Status::Fail
        );
    }
}

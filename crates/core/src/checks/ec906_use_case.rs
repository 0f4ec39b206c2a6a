//! # EC906 use-case
//!
//! ## What it checks
//! `useCase` describes a real-world IoT Edge use case in at least 40 characters. A human
//! reviewer decides whether it is one (status `review`); an empty or shorter text fails.
//!
//! ## Why it matters
//! A module must meet at least one real-world IoT Edge use case: a WordPress container is not
//! onboarded unless customers would run it from IoT Edge.
//!
//! ## Example
//! `"useCase": "web server"`.
//!
//! ## How to fix
//! Describe the device-side scenario: what data or devices the module handles at the edge and
//! why it runs there rather than in the cloud.

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC906",
    name: "use-case",
    title: "A real-world IoT Edge use case (human review)",
    area: Area::Legal,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec906_use_case.rs"),
    run,
};

const MIN_CHARS: usize = 40;

fn run(cx: &Context<'_>) -> Outcome {
    let at = Location::offer("useCase");
    let text = cx.offer.use_case.as_deref().unwrap_or("").trim();
    let n = text.chars().count();
    if n < MIN_CHARS {
        return Outcome::fail(
            format!("useCase has {n} characters; at least {MIN_CHARS} needed"),
            vec![
                Finding::new("the use case is missing or too short to judge")
                    .at(at)
                    .help(CHECK.fix_hint()),
            ],
        );
    }
    Outcome::review(
        "a reviewer judges whether this is a real-world IoT Edge use case",
        vec![Finding::new(format!("use case: {text}")).at(at)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;

    #[test]
    fn review_and_fail() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Review);
        assert_eq!(
            run_offer(&CHECK, |v| v["useCase"] = "web server".into()).status,
            Status::Fail
        );
        assert_eq!(
            run_offer(&CHECK, |v| v["useCase"] = serde_json::Value::Null).status,
            Status::Fail
        );
    }
}

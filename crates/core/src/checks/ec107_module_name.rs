//! # EC107 module-name
//!
//! ## What it checks
//! `defaults.moduleName` matches `^[a-zA-Z0-9][a-zA-Z0-9_-]{1,63}$` (a Docker container name,
//! without `.`), is not `edgeAgent` or `edgeHub` in any case, and is not a route keyword
//! (`from into where select and or not`, any case).
//!
//! ## Why it matters
//! The module name becomes the container name and the module identity in IoT Hub, and it is
//! written into routes (`FROM /messages/modules/<name>/...`): a name the runtime reserves, a
//! route keyword or a character outside the pattern breaks the deployment or its routes.
//!
//! ## Example
//! `"moduleName": "temp.filter"` gives `may contain only letters, digits, `_` and `-`; found '.'`.
//!
//! ## How to fix
//! Pick a name of 2 to 64 letters, digits, `_` and `-`, starting with a letter or digit, that is
//! neither `edgeAgent`/`edgeHub` nor a route keyword.

use edgecert_edge::names::module_name_problems;

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC107",
    name: "module-name",
    title: "Default module name is valid for IoT Edge",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec107_module_name.rs"),
    run,
};

const LOCATION: &str = "defaults.moduleName";

fn run(cx: &Context<'_>) -> Outcome {
    let Some(name) = cx.offer.module_name() else {
        return Outcome::fail(
            "no default module name",
            vec![
                Finding::new("defaults.moduleName is missing")
                    .at(Location::offer(LOCATION))
                    .help(CHECK.fix_hint()),
            ],
        );
    };
    let problems = module_name_problems(name);
    if problems.is_empty() {
        return Outcome::pass(format!("module name {name:?}"));
    }
    Outcome::fail(
        format!("module name {name:?} is not valid"),
        problems
            .into_iter()
            .map(|p| {
                Finding::new(p)
                    .at(Location::offer(LOCATION))
                    .help(CHECK.fix_hint())
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;

    #[test]
    fn good_bad_and_missing() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        for bad in ["temp.filter", "EdgeHub", "into", "x", "-x1", "tëmp"] {
            let o = run_offer(&CHECK, |v| v["defaults"]["moduleName"] = bad.into());
            assert_eq!(o.status, Status::Fail, "{bad}");
            assert_eq!(
                o.findings[0].shown_location().as_deref(),
                Some("offer.json: defaults.moduleName")
            );
        }
        let o = run_offer(&CHECK, |v| {
            v["defaults"].as_object_mut().unwrap().remove("moduleName");
        });
        assert_eq!(o.status, Status::Fail);
    }
}

//! # EC108 default-env
//!
//! ## What it checks
//! Every name in `defaults.env` matches `^[^+#$\s.]+$` and none starts with `IOTEDGE_`; values
//! are strings, numbers or booleans (offer.json cannot hold anything else). `createOptions.Env`
//! must not set `IOTEDGE_*` either. Values with `<UPPER_SNAKE>` placeholders are noted as
//! needing customer input, and names that `createOptions.Env` overrides are noted.
//!
//! ## Why it matters
//! Deployment env names are module twin keys, so `.`, `$`, `#`, `+` and whitespace break the
//! deployment. The runtime injects `IOTEDGE_*` variables (module id, hub host name, workload
//! socket); a module that sets its own breaks its connection to IoT Edge.
//!
//! ## Example
//! `"env": {"log.level": "info"}` gives `must not contain '.'` at `defaults.env.log.level`.
//!
//! ## How to fix
//! Rename variables to letters, digits, `_` and `-` (`LOG_LEVEL`), and never set `IOTEDGE_*`:
//! read the values the runtime injects instead.

use edgecert_edge::create_options::env::split_entry;
use edgecert_edge::names::{INJECTED_ENV_PREFIX, env_name_problems, placeholders};

use super::create_options::{location, parsed};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC108",
    name: "default-env",
    title: "Default environment variables are valid for IoT Edge",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec108_default_env.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let env = cx
        .offer
        .defaults
        .as_ref()
        .and_then(|d| d.env.clone())
        .unwrap_or_default();
    let create_env = parsed(cx)
        .and_then(|c| c.body.env.clone())
        .unwrap_or_default();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for (name, value) in &env {
        let at = Location::offer(format!("defaults.env.{name}"));
        for p in env_name_problems(name) {
            failures.push(
                Finding::new(format!("{name:?}: {p}"))
                    .at(at.clone())
                    .help(CHECK.fix_hint()),
            );
        }
        for p in placeholders(&value.to_env_string()) {
            notes.push(Finding::new(format!("needs customer input: {p}")).at(at.clone()));
        }
    }
    for (i, entry) in create_env.iter().enumerate() {
        let (name, _) = split_entry(entry);
        let at = location(&format!("Env[{i}]"));
        if name.starts_with(INJECTED_ENV_PREFIX) {
            failures.push(
                Finding::new(format!(
                    "createOptions.Env sets {name}, which the IoT Edge runtime injects"
                ))
                .at(at.clone())
                .help(CHECK.fix_hint()),
            );
        } else if env.contains_key(name) {
            notes.push(
                Finding::new(format!(
                    "note: createOptions.Env sets {name} too and wins over defaults.env"
                ))
                .at(at.clone()),
            );
        }
    }
    let summary = format!(
        "{} default env variable{}, {} in createOptions.Env",
        env.len(),
        if env.len() == 1 { "" } else { "s" },
        create_env.len()
    );
    if failures.is_empty() {
        Outcome::pass(summary).with(notes)
    } else {
        failures.extend(notes);
        Outcome::fail(summary, failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn names_and_injected_prefix() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let o =
            run_offer(
                &CHECK,
                |v| {
                    v["defaults"]["env"] =
                        json!({"log.level": "info", "IOTEDGE_MODULEID": "x", "OK": 1, "B": true})
                },
            );
        assert_eq!(o.status, Status::Fail);
        let locations = crate::checks::testing::locations(&o);
        assert_eq!(
            locations,
            [
                "offer.json: defaults.env.IOTEDGE_MODULEID",
                "offer.json: defaults.env.log.level"
            ]
        );
        let o = run_offer(&CHECK, |v| {
            v["defaults"].as_object_mut().unwrap().remove("env");
        });
        assert_eq!(o.status, Status::Pass);
    }

    #[test]
    fn create_options_env() {
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] =
                json!({"Env": ["LOG_LEVEL=debug", "IOTEDGE_DEVICEID=spoof"]})
        });
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.Env[1]")
        );
        assert!(o.findings[1].message.contains("wins over defaults.env"));
    }

    #[test]
    fn placeholders_are_information() {
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["env"] = json!({"BROKER": "mqtt://<MQTT_BROKER_HOST>:1883"})
        });
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.findings[0].message,
            "needs customer input: <MQTT_BROKER_HOST>"
        );
    }
}

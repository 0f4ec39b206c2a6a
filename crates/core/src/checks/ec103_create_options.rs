//! # EC103 create-options
//!
//! ## What it checks
//! `defaults.createOptions` (an object, a JSON string, or empty) is a Docker Engine
//! `ContainerCreate` body: every top-level and `HostConfig` key is an Engine API field and every
//! value has the right JSON type. Minified, it is at most 4096 characters (8 chunks of 512, the
//! limit of the deployment tooling); more than 512 is fine (it is chunked) and noted. It must
//! not set `Image`, nor labels under the runtime's `net.azure-devices.edge.` prefix. Field names
//! in the wrong case and unknown fields deeper down are warnings; `<UPPER_SNAKE>` placeholders
//! are noted as needing customer input.
//!
//! ## Why it matters
//! edgeAgent reads createOptions into Docker's model: a value of the wrong type stops the
//! module from being deployed at all, and an unknown field is silently dropped, so customers
//! would not get the setting you tested. Deployment tooling cuts createOptions into
//! 512-character chunks and stops at 8. The runtime sets the image from `settings.image` and
//! owns its labels.
//!
//! ## Example
//! `"HostConfig": {"Binds": "/data:/data"}` gives
//! `invalid type: string "/data:/data", expected a sequence` at
//! `defaults.createOptions.HostConfig.Binds`.
//!
//! ## How to fix
//! Write createOptions as the Docker Engine API documents `ContainerCreate` (PascalCase names,
//! `Binds` as a list, ports as strings), drop `Image` and `net.azure-devices.edge.*` labels, and
//! keep it under 4096 characters minified by moving configuration into env or the module twin.

use edgecert_edge::create_options::{CHUNK_CHARS, analysis, chunk_key};
use edgecert_edge::names::placeholders;

use super::create_options::location;
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC103",
    name: "create-options",
    title: "Default createOptions is a valid Docker ContainerCreate body",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec103_create_options.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let c = match cx.create_options {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Outcome::pass("no createOptions: the module runs with the runtime's defaults");
        }
        Err(e) => {
            return Outcome::fail(
                "createOptions is not a JSON object",
                vec![
                    Finding::new(e.to_string())
                        .at(location(""))
                        .help(CHECK.fix_hint()),
                ],
            );
        }
    };
    let fail = |message: String, path: &str| {
        Finding::new(message)
            .at(location(path))
            .help(CHECK.fix_hint())
    };
    let mut failures: Vec<Finding> = c
        .errors()
        .map(|i| fail(i.message.clone(), &i.path))
        .collect();
    if c.body.image.is_some() {
        failures.push(fail(
            "createOptions sets Image; the runtime takes the image from settings.image".into(),
            "Image",
        ));
    }
    for (path, label) in analysis::reserved_labels(&c.body) {
        failures.push(fail(
            format!("label {label} uses the prefix the IoT Edge runtime reserves"),
            &path,
        ));
    }
    let chars = c.minified_chars();
    let max = cx.policy.create_options_max_chars;
    if chars > max {
        failures.push(fail(
            format!(
                "createOptions is {chars} characters minified; the limit is {max} ({} chunks of {CHUNK_CHARS})",
                max.div_ceil(CHUNK_CHARS)
            ),
            "",
        ));
    }
    let mut notes: Vec<Finding> = c
        .warnings()
        .map(|i| Finding::new(format!("warning: {}", i.message)).at(location(&i.path)))
        .collect();
    if chars > CHUNK_CHARS && chars <= max {
        let chunks = chars.div_ceil(CHUNK_CHARS);
        notes.push(
            Finding::new(format!(
                "note: {chars} characters minified, deployed as {chunks} chunks (createOptions to {})",
                chunk_key(chunks - 1)
            ))
            .at(location("")),
        );
    }
    for (path, s) in analysis::strings(&c.json) {
        for p in placeholders(s) {
            notes.push(Finding::new(format!("needs customer input: {p}")).at(location(&path)));
        }
    }
    if failures.is_empty() {
        Outcome::pass(format!(
            "createOptions is a valid ContainerCreate body ({chars} characters minified)"
        ))
        .with(notes)
    } else {
        let n = failures.len();
        failures.extend(notes);
        Outcome::fail(
            format!(
                "createOptions has {n} problem{}",
                if n == 1 { "" } else { "s" }
            ),
            failures,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    fn with(co: serde_json::Value) -> Outcome {
        run_offer(&CHECK, |v| v["defaults"]["createOptions"] = co)
    }

    #[test]
    fn empty_and_valid_pass() {
        for co in [json!({}), json!(""), json!("{}")] {
            assert_eq!(with(co).status, Status::Pass);
        }
        let o = run_offer(&CHECK, |v| {
            v["defaults"]
                .as_object_mut()
                .unwrap()
                .remove("createOptions");
        });
        assert_eq!(o.status, Status::Pass);
        let o = with(json!(
            r#"{"HostConfig":{"PortBindings":{"8080/tcp":[{"HostPort":"8080"}]}}}"#
        ));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(o.findings.is_empty());
    }

    #[test]
    fn not_json_or_not_an_object_fails() {
        let o = with(json!("{\"HostConfig\": "));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions")
        );
        assert!(o.findings[0].help.is_some());
        assert_eq!(with(json!("[1,2,3]")).status, Status::Fail);
    }

    #[test]
    fn unknown_fields_and_wrong_types_fail_with_paths() {
        let o = with(json!({
            "Hostnme": "x",
            "HostConfig": {"Binds": ["/a:/a", "/b:/b", 3], "Privileged": "yes"}
        }));
        assert_eq!(o.status, Status::Fail);
        let locations = crate::checks::testing::locations(&o);
        assert!(
            locations
                .iter()
                .any(|l| l == "offer.json: defaults.createOptions.Hostnme")
        );
        assert!(
            locations
                .iter()
                .any(|l| l == "offer.json: defaults.createOptions.HostConfig.Binds[2]")
        );
        assert!(
            locations
                .iter()
                .any(|l| l == "offer.json: defaults.createOptions.HostConfig.Privileged")
        );
        assert_eq!(o.summary, "createOptions has 3 problems");
    }

    #[test]
    fn image_and_reserved_labels_fail() {
        let o = with(json!({"Image": "x:1", "Labels": {"net.azure-devices.edge.owner": "me"}}));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings.len(), 2);
        assert_eq!(
            o.findings[1].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.Labels.net.azure-devices.edge.owner")
        );
    }

    #[test]
    fn size_limit_and_chunk_note() {
        let env = |n: usize| json!({"Env": (0..n).map(|i| format!("VARIABLE_NUMBER_{i:04}=some-value")).collect::<Vec<_>>()});
        let o = with(env(40));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(o.findings[0].message.starts_with("note:"), "{o:?}");
        assert!(
            o.findings[0]
                .message
                .contains("chunks (createOptions to createOptions0")
        );
        let o = with(env(200));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.findings[0]
                .message
                .contains("the limit is 4096 (8 chunks of 512)"),
            "{o:?}"
        );
    }

    #[test]
    fn warnings_and_placeholders_do_not_fail() {
        let o = with(json!({
            "Env": ["BROKER=<MQTT_BROKER_HOST>"],
            "HostConfig": {"runtime": "runc"}
        }));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        let messages: Vec<&str> = o.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(messages[0].starts_with("warning: `runtime` is read as `Runtime`"));
        assert_eq!(messages[1], "needs customer input: <MQTT_BROKER_HOST>");
        assert_eq!(
            o.findings[1].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.Env[0]")
        );
    }
}

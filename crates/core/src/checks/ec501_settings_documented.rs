//! # EC501 settings-documented
//!
//! ## What it checks
//! Every default setting has an entry in the offer's `documentation`: each `defaults.env`
//! variable in `documentation.env`, each top-level `defaults.twin` desired property in
//! `documentation.twin`, each `defaults.routes` route in `documentation.routes`, and a
//! non-empty `defaults.createOptions` in `documentation.createOptions`. Blank entries do not
//! count. When some are missing but `documentation.url` is given, the status is `review`: a
//! reviewer checks that the page documents them.
//!
//! ## Why it matters
//! Customers change these settings when they deploy the module; an undocumented environment
//! variable or desired property is guesswork, and the marketplace listing shows the
//! documentation next to the defaults.
//!
//! ## Example
//! `defaults.env.MQTT_PORT has no entry in documentation.env`.
//!
//! ## How to fix
//! Add a short description for each setting under `documentation.env`, `documentation.twin`,
//! `documentation.routes` and `documentation.createOptions` (what it does, allowed values,
//! default), or link a page that documents them in `documentation.url`.

use std::collections::BTreeMap;

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC501",
    name: "settings-documented",
    title: "Every default setting is documented",
    area: Area::Documentation,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec501_settings_documented.rs"),
    run,
};

fn documented(map: Option<&BTreeMap<String, String>>, key: &str) -> bool {
    map.and_then(|m| m.get(key))
        .is_some_and(|d| !d.trim().is_empty())
}

fn run(cx: &Context<'_>) -> Outcome {
    let defaults = cx.offer.defaults();
    let docs = cx.offer.documentation.clone().unwrap_or_default();
    let mut missing: Vec<(String, &str)> = Vec::new();
    let mut total = 0;
    let mut need = |section: &str, keys: Vec<String>, map: Option<&BTreeMap<String, String>>| {
        for key in keys {
            total += 1;
            if !documented(map, &key) {
                missing.push((format!("defaults.{section}.{key}"), section_doc(section)));
            }
        }
    };
    need(
        "env",
        defaults
            .env
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect(),
        docs.env.as_ref(),
    );
    need(
        "twin",
        defaults
            .twin
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect(),
        docs.twin.as_ref(),
    );
    need(
        "routes",
        defaults
            .routes
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect(),
        docs.routes.as_ref(),
    );
    // An unparsable createOptions is EC103's finding; it is still a setting to document. Empty
    // forms (`{}`, `""`, `"null"`) are none, as for every other check.
    let create_options = !matches!(cx.create_options, Ok(None));
    if create_options {
        total += 1;
        if docs
            .create_options
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
        {
            missing.push((
                "defaults.createOptions".into(),
                "documentation.createOptions",
            ));
        }
    }
    if missing.is_empty() {
        return Outcome::pass(format!("{total} default settings documented"));
    }
    let findings = missing
        .iter()
        .map(|(setting, doc)| {
            Finding::new(format!("{setting} has no entry in {doc}"))
                .at(Location::offer(setting))
                .help(CHECK.fix_hint())
        })
        .collect();
    let url = docs.url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    match url {
        Some(url) => Outcome::review(
            format!(
                "{} of {total} default settings have no entry; check that {url} documents them",
                missing.len()
            ),
            findings,
        ),
        None => Outcome::fail(
            format!(
                "{} of {total} default settings are undocumented",
                missing.len()
            ),
            findings,
        ),
    }
}

fn section_doc(section: &str) -> &'static str {
    match section {
        "env" => "documentation.env",
        "twin" => "documentation.twin",
        _ => "documentation.routes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn template_is_documented() {
        let o = run_offer(&CHECK, |_| {});
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.summary, "3 default settings documented");
    }

    #[test]
    fn missing_entries_fail_without_url() {
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["env"]["MQTT_PORT"] = json!(1883);
            v["defaults"]["twin"]["window"] = json!({"seconds": 5});
            v["defaults"]["routes"]["toOther"] = json!("FROM /messages/* INTO $upstream");
            v["defaults"]["createOptions"] = json!({"User": "1000"});
            v["documentation"]["twin"]["window"] = json!("  ");
            v["documentation"].as_object_mut().unwrap().remove("url");
        });
        assert_eq!(o.status, Status::Fail, "{o:?}");
        let messages: Vec<&str> = o.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "defaults.env.MQTT_PORT has no entry in documentation.env",
                "defaults.twin.window has no entry in documentation.twin",
                "defaults.routes.toOther has no entry in documentation.routes",
                "defaults.createOptions has no entry in documentation.createOptions",
            ]
        );
        assert_eq!(o.summary, "4 of 7 default settings are undocumented");
    }

    #[test]
    fn missing_entries_with_url_need_review_and_create_options_documented() {
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["env"]["MQTT_PORT"] = json!(1883);
            v["defaults"]["createOptions"] = json!("{\"User\":\"1000\"}");
            v["documentation"]["createOptions"] = json!("Runs as user 1000");
        });
        assert_eq!((o.status, o.findings.len()), (Status::Review, 1), "{o:?}");
        assert!(
            o.summary
                .contains("https://contoso.example/docs/tempfilter")
        );
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = json!("{}");
            v.as_object_mut().unwrap().remove("defaults");
        });
        assert_eq!(o.status, Status::Pass, "{o:?}");
    }
}

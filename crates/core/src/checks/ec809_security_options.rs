//! # EC809 security-options
//!
//! ## What it checks
//! `HostConfig.SecurityOpt` in the default createOptions does not switch confinement off:
//! `seccomp=unconfined`, `apparmor=unconfined`, `label=disable`, `label=type:spc_t` and
//! `systempaths=unconfined` (also in the legacy `key:value` form), nor does an empty
//! `MaskedPaths` or `ReadonlyPaths` list (which unmasks the same paths). With a justification
//! it asks for review instead of failing. Other security options are listed.
//!
//! ## Why it matters
//! seccomp, AppArmor and SELinux are what stop a compromised process from calling dangerous
//! system calls or touching host files; masked `/proc` and `/sys` paths hide kernel interfaces.
//! Switching them off removes the walls the container relies on.
//!
//! ## Example
//! `"SecurityOpt": ["seccomp=unconfined"]` gives
//! `createOptions disables seccomp filtering (seccomp=unconfined)`.
//!
//! ## How to fix
//! Remove the option. If one system call is missing from Docker's default seccomp profile,
//! ship a custom profile that adds only that call; explain anything else in
//! `privileges.justification`.

use edgecert_edge::create_options::analysis;

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC809",
    name: "security-options",
    title: "Security options do not disable confinement",
    area: Area::Security,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec809_security_options.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: default confinement") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let options = analysis::security_options(&c.body);
    let mut disabling = Vec::new();
    let mut others = Vec::new();
    for o in &options {
        match o.disables {
            Some(what) => disabling.push(
                Finding::new(format!("createOptions disables {what} ({})", o.value))
                    .at(location(&o.path))
                    .help(CHECK.fix_hint()),
            ),
            None => others.push(
                Finding::new(format!("note: security option {}", o.value)).at(location(&o.path)),
            ),
        }
    }
    if disabling.is_empty() {
        let summary = if options.is_empty() {
            "default confinement".to_owned()
        } else {
            format!(
                "{} security option(s), none disables confinement",
                options.len()
            )
        };
        return Outcome::pass(summary).with(others);
    }
    let n = disabling.len();
    disabling.extend(others);
    match cx.offer.justification() {
        Some(j) => Outcome::review(
            format!("{n} option(s) disable confinement, justified: {j}"),
            disabling,
        ),
        None => Outcome::fail(format!("{n} option(s) disable confinement"), disabling),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn pass_fail_review() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] =
                json!({"HostConfig": {"SecurityOpt": ["no-new-privileges:true"]}})
        });
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.findings.len(), 1);
        let bad = json!({"HostConfig": {"SecurityOpt": ["no-new-privileges", "apparmor:unconfined", "seccomp=unconfined"]}});
        let o = run_offer(&CHECK, |v| v["defaults"]["createOptions"] = bad.clone());
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].message,
            "createOptions disables AppArmor confinement (apparmor:unconfined)"
        );
        assert_eq!(
            o.findings[1].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.SecurityOpt[2]")
        );
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = bad.clone();
            v["privileges"] = json!({"justification": "Needs perf_event_open for profiling."});
        });
        assert_eq!(o.status, Status::Review);
        for co in [
            json!({"HostConfig": {"SecurityOpt": ["label=disable"]}}),
            json!({"HostConfig": {"SecurityOpt": ["systempaths=unconfined"]}}),
            json!({"HostConfig": {"MaskedPaths": []}}),
        ] {
            let o = run_offer(&CHECK, |v| v["defaults"]["createOptions"] = co.clone());
            assert_eq!(o.status, Status::Fail, "{co}");
        }
    }
}

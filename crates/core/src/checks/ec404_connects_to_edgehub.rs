//! # EC404 connects-to-edgehub
//!
//! ## What it checks
//! In the ingestion test, each platform whose image uses an Azure IoT module SDK (see EC702)
//! connects to edgeHub within the observation window, as it would on a device: edgecert runs
//! stand-ins for the IoT Edge workload API (trust bundle, SAS signatures) and for edgeHub (MQTT
//! over TLS on port 8883 of `IOTEDGE_GATEWAYHOSTNAME`) around the container. A platform that
//! never connects gets a finding with what the module tried: its workload API calls, a
//! connection edgeHub refused (wrong client id, a SAS token not signed by the workload API,
//! expired), a TLS handshake that failed (the module does not trust the trust bundle).
//! Skipped when no SDK is used; `error` for a platform where the stand-ins could not be offered
//! (createOptions networking, a remote engine).
//!
//! ## Why it matters
//! A module that cannot reach edgeHub sends nothing and receives nothing: it may stay up, but it
//! does no work on the device, and its twin and direct methods are dead.
//!
//! ## Example
//! `linux/arm/v7: never connected to edgeHub in the 30 s window; TLS failed: invalid peer
//! certificate: UnknownIssuer; workload API: GET /trust-bundle → 200`.
//!
//! ## How to fix
//! Create the client from the edge environment (Python
//! `IoTHubModuleClient.create_from_edge_environment()`, Node
//! `ModuleClient.fromEnvironment(Mqtt, …)`, C# `ModuleClient.CreateFromEnvironmentAsync()`), keep
//! the trust bundle it fetches when setting options, connect at start and retry rather than
//! exit. Read the module's log tail (EC402) for the SDK's own error.

use super::ec702_sdk_detected::platform_sdks;
use super::ingestion::{Judgement, judge, outcome};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC404",
    name: "connects-to-edgehub",
    title: "Each platform using an IoT SDK connects to edgeHub",
    area: Area::Runtime,
    severity: Severity::Warning,
    runtime: true,
    source: include_str!("ec404_connects_to_edgehub.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let uses_sdk = |p: &crate::platform::Platform| {
        cx.image
            .platform(p)
            .is_some_and(|f| !platform_sdks(f).is_empty())
    };
    if !cx.image.platforms.iter().any(|p| uses_sdk(&p.platform)) {
        return Outcome::skip("no Azure IoT SDK found in the image");
    }
    let judged = judge(cx, |platform, r| {
        if !uses_sdk(platform) {
            return Judgement::Pass(None);
        }
        let Some(hub) = &r.hub else {
            return Judgement::Error(
                Finding::new("the runtime stand-ins were not set up for this platform")
                    .on(platform),
            );
        };
        if let Some(ms) = hub.connected_after_ms {
            return Judgement::Pass(Some(format!(
                "{platform} after {:.1} s",
                ms as f64 / 1000.0
            )));
        }
        if let Some(why) = &hub.unavailable {
            return Judgement::Error(
                Finding::new(format!("no edgeHub stand-in: {why}")).on(platform),
            );
        }
        if !r.started {
            return Judgement::Fail(Finding::new("it never ran (see EC401)").on(platform));
        }
        Judgement::Fail(
            Finding::new(format!(
                "never connected to edgeHub in the {} s window; {}",
                r.window_secs,
                hub.summary()
                    .trim_start_matches("never connected to edgeHub")
                    .trim_start_matches("; ")
            ))
            .on(platform)
            .help(CHECK.fix_hint()),
        )
    });
    match judged {
        Ok(j) => outcome(
            format!("connected to edgeHub: {}", j.passed.join(", ")),
            j.fails,
            j.errors,
        ),
        Err(o) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ec702_sdk_detected::tests::{facts_with_identifier, sdk_spec};
    use crate::checks::testing::*;
    use crate::checks::testing::{amd64, arm, healthy, runtime};
    use crate::facts::HubFacts;
    use crate::finding::Status;

    fn judge_with(runs: Vec<crate::facts::PlatformRun>) -> Outcome {
        let facts = facts_with_identifier(&sdk_spec(), "contoso.tempfilter.standard");
        let rt = runtime(runs);
        let policy = crate::policy::Policy::default();
        (CHECK.run)(&Context {
            offer: &offer(&offer_json()),
            create_options: &crate::checks::create_options::load(&offer(&offer_json())),
            image: &facts,
            policy: &policy,
            published: None,
            runtime: Some(&rt),
        })
    }

    #[test]
    fn connected_passes_and_what_a_silent_module_tried_is_its_finding() {
        let mut a = healthy(amd64());
        a.hub = Some(HubFacts {
            connected_after_ms: Some(1200),
            ..Default::default()
        });
        let mut b = healthy(arm());
        b.hub = Some(HubFacts {
            tls_failures: vec!["invalid peer certificate: UnknownIssuer".into()],
            workload_calls: vec!["GET /trust-bundle → 200".into()],
            ..Default::default()
        });
        let o = judge_with(vec![a.clone(), b]);
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 1), "{o:?}");
        assert_eq!(
            o.findings[0].message,
            "never connected to edgeHub in the 30 s window; TLS failed: invalid peer \
             certificate: UnknownIssuer; workload API: GET /trust-bundle → 200"
        );
        let mut c = healthy(arm());
        c.hub = a.hub.clone();
        let o = judge_with(vec![a, c]);
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(
            o.summary,
            "connected to edgeHub: linux/amd64 after 1.2 s, linux/arm/v7 after 1.2 s"
        );
    }

    #[test]
    fn no_stand_in_is_an_error_not_a_verdict() {
        let mut a = healthy(amd64());
        a.hub = Some(HubFacts {
            unavailable: Some("createOptions sets the module's networking".into()),
            ..Default::default()
        });
        let mut b = healthy(arm());
        b.hub = None;
        let o = judge_with(vec![a, b]);
        assert_eq!((o.status, o.findings.len()), (Status::Error, 2), "{o:?}");
    }

    #[test]
    fn skips_without_an_sdk() {
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &crate::facts::ImageFacts::default(),
        );
        assert_eq!(o.status, Status::Skip);
    }
}

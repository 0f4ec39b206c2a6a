//! # EC701 sdk-identifier
//!
//! ## What it checks
//! If a platform's image uses an Azure IoT module SDK (see EC702), the module identifier
//! (`publisher.offer.plan`) appears in that platform's merged filesystem (in any file) or in
//! its image config `Env` or `Labels`, so the module can hand it to the SDK as product info.
//! Skipped when no SDK is used (then only downloads can be counted).
//!
//! When the ingestion test ran and the module connected to the edgeHub stand-in, what it sent
//! decides instead: the product info in its MQTT user name (`DeviceClientType`, or `model-id`)
//! must carry the identifier — found in the image but never sent fails, sent from the offer's
//! `env` passes.
//!
//! ## Why it matters
//! The SDK sends its product info to edgeHub (MQTT user name `DeviceClientType=…`, AMQP
//! `com.microsoft:client-version`, HTTP User-Agent), and edgeHub forwards it upstream: that is
//! how running instances of a marketplace module are counted. A module that never sets its
//! identifier is invisible.
//!
//! ## Example
//! `linux/amd64: the Node.js SDK is used but contoso.tempfilter.standard appears in no file,
//! Env or label`.
//!
//! ## How to fix
//! Set the identifier as product info when creating the client — Node
//! `client.setOptions({ productInfo: "publisher.offer.plan" })`, C# `moduleClient.ProductInfo`,
//! Python `create_from_edge_environment(product_info=...)`, C `OPTION_PRODUCT_INFO`, Java
//! `getProductInfo().setExtra(...)` — or ship it in the image (`ENV`/`LABEL`) and read it from
//! there.

use super::ec702_sdk_detected::platform_sdks;
use super::{Check, Context, Outcome};
use crate::analyze::FileFact;
use crate::analyze::sdk::sdk_title;
use crate::facts::PlatformFacts;
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC701",
    name: "sdk-identifier",
    title: "The module identifier is in the image for the SDK's product info",
    area: Area::Telemetry,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec701_sdk_identifier.rs"),
    run,
};

/// Where the identifier appears on this platform, if anywhere.
fn found_at(p: &PlatformFacts, identifier: &str) -> Option<String> {
    if let Some(c) = &p.config {
        if c.env.iter().any(|e| e.contains(identifier)) {
            return Some("image config Env".into());
        }
        if let Some((k, _)) = c
            .labels
            .iter()
            .find(|(k, v)| k.contains(identifier) || v.contains(identifier))
        {
            return Some(format!("image config label {k}"));
        }
    }
    p.fs.iter().find_map(|(path, node)| {
        node.facts
            .iter()
            .any(|f| matches!(f, FileFact::Identifier { identifier: i } if i == identifier))
            .then(|| format!("/{path}"))
    })
}

fn run(cx: &Context<'_>) -> Outcome {
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let used: Vec<(&PlatformFacts, Vec<String>)> = cx
        .image
        .platforms
        .iter()
        .map(|p| {
            let names = platform_sdks(p)
                .keys()
                .map(|s| sdk_title(s).to_owned())
                .collect::<Vec<_>>();
            (p, names)
        })
        .filter(|(_, names)| !names.is_empty())
        .collect();
    if used.is_empty() {
        return Outcome::skip("no Azure IoT SDK found in the image");
    }
    let Some(identifier) = cx.offer.identifier() else {
        return Outcome::fail(
            "an IoT SDK is used but the offer has no module identifier",
            vec![
                Finding::new("publisher, offer and plan are needed for the module identifier")
                    .at(Location::offer(""))
                    .help(CHECK.fix_hint()),
            ],
        );
    };
    let mut findings = Vec::new();
    let mut places = Vec::new();
    for (p, names) in used {
        // What the module sent on the wire, when it connected: stronger than the image.
        let sent = cx
            .runtime
            .and_then(|r| r.platforms.iter().find(|run| run.platform == p.platform))
            .and_then(|run| run.hub.as_ref())
            .filter(|h| h.connected_after_ms.is_some());
        if let Some(hub) = sent {
            let info = [hub.client_type.as_deref(), hub.model_id.as_deref()];
            if info
                .iter()
                .flatten()
                .any(|i| i.contains(identifier.as_str()))
            {
                places.push(format!("{}: sent as product info", p.platform));
            } else {
                findings.push(
                    Finding::new(format!(
                        "the module connected to edgeHub with product info {:?}, without {identifier}",
                        hub.client_type.as_deref().unwrap_or("")
                    ))
                    .on(&p.platform)
                    .help(CHECK.fix_hint()),
                );
            }
            continue;
        }
        match found_at(p, &identifier) {
            Some(at) => places.push(format!("{}: {at}", p.platform)),
            None => findings.push(
                Finding::new(format!(
                    "the {} SDK is used but {identifier} appears in no file, Env or label",
                    names.join(", ")
                ))
                .on(&p.platform)
                .help(CHECK.fix_hint()),
            ),
        }
    }
    if findings.is_empty() {
        Outcome::pass(format!("{identifier} found: {}", places.join("; ")))
    } else {
        Outcome::fail(
            format!("the module identifier {identifier} is missing where an IoT SDK is used"),
            findings,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ec702_sdk_detected::tests::{facts_with_identifier, sdk_spec};
    use crate::checks::testing::*;
    use crate::finding::Status;
    use edgecert_fixtures::Layer;

    const ID: &str = "contoso.tempfilter.standard";

    #[test]
    fn what_the_module_sent_decides_when_it_connected() {
        use crate::checks::testing::{amd64, arm, healthy, runtime};
        use crate::facts::HubFacts;
        let facts = facts_with_identifier(&sdk_spec(), ID);
        let sent = |ua: &str| HubFacts {
            connected_after_ms: Some(900),
            client_type: Some(ua.to_owned()),
            ..Default::default()
        };
        let mut a = healthy(amd64());
        a.hub = Some(sent(&format!(
            "azure-iot-device/1.18.4 (node v18.20.4; Debian 12; x64){ID}"
        )));
        let mut b = healthy(arm());
        b.hub = Some(sent(
            "azure-iot-device/1.18.4 (node v18.20.4; Debian 12; arm)",
        ));
        let rt = runtime(vec![a, b]);
        let policy = crate::policy::Policy::default();
        let o = (CHECK.run)(&Context {
            offer: &offer(&offer_json()),
            create_options: &crate::checks::create_options::load(&offer(&offer_json())),
            image: &facts,
            policy: &policy,
            published: None,
            runtime: Some(&rt),
        });
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 1), "{o:?}");
        assert_eq!(o.findings[0].platform.as_deref(), Some("linux/arm/v7"));
        assert!(o.findings[0].message.contains("without contoso"), "{o:?}");
    }

    #[test]
    fn missing_identifier_fails_per_platform() {
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &facts_with_identifier(&sdk_spec(), ID),
        );
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 2), "{o:?}");
        assert_eq!(o.findings[0].platform.as_deref(), Some("linux/amd64"));
        assert!(o.findings[0].message.contains("C, Node.js"), "{o:?}");
    }

    #[test]
    fn identifier_in_a_file_or_the_config_passes() {
        let mut spec = sdk_spec();
        // amd64: inside the C SDK binary itself; arm/v7: an environment variable.
        spec.platforms[0].layers.push(Layer::new().file(
            "app/config.js",
            format!("module.exports = {{ productInfo: \"{ID}\" }};\n"),
            0o644,
        ));
        spec.platforms[1]
            .config
            .env
            .push(format!("PRODUCT_INFO={ID}"));
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &facts_with_identifier(&spec, ID),
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(o.summary.contains("linux/amd64: /app/config.js"), "{o:?}");
        assert!(
            o.summary.contains("linux/arm/v7: image config Env"),
            "{o:?}"
        );
    }

    #[test]
    fn identifier_in_a_deleted_file_does_not_count_and_labels_do() {
        let mut spec = sdk_spec();
        spec.platforms[0].layers.push(Layer::new().file(
            "app/id.txt",
            ID.as_bytes().to_vec(),
            0o644,
        ));
        spec.platforms[0]
            .layers
            .push(Layer::new().whiteout("app/id.txt"));
        spec.platforms[1]
            .config
            .labels
            .push(("com.contoso.product".into(), ID.into()));
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &facts_with_identifier(&spec, ID),
        );
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 1), "{o:?}");
        assert_eq!(o.findings[0].platform.as_deref(), Some("linux/amd64"));
    }

    #[test]
    fn skips_without_sdk() {
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &facts_with_identifier(&good_spec(), ID),
        );
        assert_eq!(o.status, Status::Skip, "{o:?}");
    }
}

//! The ingestion test with real IoT Edge SDK modules (issue 10): the Python module
//! (azure-iot-device 2.14 from PyPI) and the Node.js module (azure-iot-device with
//! azure-iot-device-mqtt, and again with azure-iot-device-amqp, from npm), each on a Debian bookworm base built from the Debian mirror
//! (`scripts/sdk-modules.sh`, cached), on linux/amd64 and linux/arm/v7 (qemu). Inside IoT Edge a
//! module's first act is to ask the workload API for the trust bundle and a SAS signature and
//! connect to edgeHub: with the stand-ins around the container, both connect, read their twin,
//! report, and send on their output — and the report says so. The same module crashing on start
//! still fails.
//!
//! Before the stand-ins, the Python module hung forever in its first workload call (and
//! "passed"), and the Node module, running as a non-root user, died on the socket's
//! permissions (and "failed").

mod common;

use common::engine_up;
use edgecert_engine::image::layer::NoProgress;
use edgecert_engine::image::remote::RemoteOptions;
use edgecert_engine::image::source::ImageSource;
use edgecert_engine::ingest::RunMode;
use edgecert_engine::offer::{Offer, template};
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{Report, Status};
use edgecert_engine::{CertifyOptions, certify};
use edgecert_fixtures::{SdkKind, sdk_module_image, write_oci_layout};
use edgecert_runtime::MobyIngest;
use serde_json::{Value, json};

/// Certifies `kind`'s image with the template offer for `offer`, `env` added to the defaults.
fn check(kind: SdkKind, offer: &str, env: Value, window: u64) -> Report {
    let spec = sdk_module_image(kind).expect("the SDK modules (scripts/sdk-modules.sh)");
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), &spec).unwrap();
    let mut v: Value = serde_json::from_str(&template(offer)).unwrap();
    v["defaults"]["env"] = env;
    v["image"]["tags"] = json!(["1.0.0", "1.0", "latest"]);
    // A second default route with a condition on the body: EC405 evaluates both on the
    // messages the module sent ({"temperature": 20..29}, JSON, first ones 20, 21, 22).
    v["defaults"]["routes"]["hot"] = json!(format!(
        "FROM /messages/modules/{offer}/outputs/output1 WHERE $body.temperature >= 25 INTO $upstream"
    ));
    v["documentation"]["routes"]["hot"] = json!("Readings of 25 degrees and more");
    let offer = Offer::parse(&v.to_string(), "offer.json").unwrap();
    let options = CertifyOptions {
        image: ImageSource::parse(&format!("oci:{}", dir.path().display())).unwrap(),
        remote: RemoteOptions::new(true),
        policy: Policy {
            run_window_secs: window,
            ..Policy::default()
        },
        published: None,
        threads: 0,
        malware: Default::default(),
        cancel: Default::default(),
    };
    let ingest = MobyIngest::new();
    let report = certify(&offer, &options, RunMode::Run(&ingest), &NoProgress)
        .unwrap()
        .report;
    assert!(ingest.warnings().is_empty(), "{:?}", ingest.warnings());
    report
}

fn result<'a>(r: &'a Report, id: &str) -> &'a edgecert_engine::report::CheckResult {
    r.checks.iter().find(|c| c.id == id).unwrap()
}

/// What EC402 says about `platform` (`linux/amd64`).
fn said<'a>(summary: &'a str, platform: &str) -> &'a str {
    summary
        .split(&format!("{platform}: "))
        .nth(1)
        .map(|rest| rest.split("; linux/").next().unwrap_or(rest))
        .unwrap_or("")
}

/// `protocol` as the report names it: `MQTT`; or, for the Node module, `AMQP`
/// (azure-iot-device-amqp) or `MQTT over WebSockets` (MqttWs, TLS on 443).
fn connects_reads_its_twin_and_sends(kind: SdkKind, offer: &str, protocol: &str) {
    let identifier = format!("contoso.{offer}.standard");
    // The modules put EDGECERT_PRODUCT_INFO into the SDK's product info (EC701's identifier).
    let mut env = json!({"EDGECERT_PRODUCT_INFO": identifier});
    match protocol {
        "MQTT" => {}
        "AMQP" => env["EDGECERT_TRANSPORT"] = json!("amqp"),
        "MQTT over WebSockets" => env["EDGECERT_TRANSPORT"] = json!("mqttws"),
        other => panic!("no transport for {other}"),
    }
    let r = check(kind, offer, env, 25);
    // EC101, EC201 and EC806 too: no false findings on a real Debian image with the real
    // SDKs (GnuTLS's self-test keys, the storage emulator's key in npm packages, the standard
    // /dev nodes of a debootstrap tree are information, not failures).
    for id in [
        "EC101", "EC201", "EC806", "EC401", "EC402", "EC404", "EC405", "EC701",
    ] {
        assert_eq!(
            result(&r, id).status,
            Status::Pass,
            "{id}: {:?}",
            result(&r, id)
        );
    }
    // The template's default route takes every output: the one used is routed.
    let ec405 = result(&r, "EC405");
    assert_eq!(
        ec405.summary,
        "every output the module used is routed: output1"
    );
    // Both routes evaluated on the messages as sent (3 kept per output and platform): the
    // template's takes them all, the body condition none of the first readings.
    let routes: Vec<&str> = ec405.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        routes,
        [
            "route hot took 0 of 6 message(s) seen (output1: 0 of 6)",
            "route toUpstream took 6 of 6 message(s) seen (output1: 6 of 6)",
        ],
        "{ec405:?}"
    );
    // The identifier came from the offer's env, not the image: only the wire shows it.
    let ec701 = result(&r, "EC701");
    assert!(
        ec701.summary.contains("linux/amd64: sent as product info")
            && ec701.summary.contains("linux/arm/v7: sent as product info"),
        "{ec701:?}"
    );
    let summary = &result(&r, "EC402").summary;
    for platform in ["linux/amd64", "linux/arm/v7"] {
        let s = said(summary, platform);
        assert!(
            s.contains(&format!("connected to edgeHub over {protocol}")),
            "{platform}: {summary}"
        );
        assert!(
            s.contains(&format!("{identifier}`")),
            "{platform}: product info: {summary}"
        );
        assert!(s.contains("read its twin"), "{platform}: {summary}");
        // Both listen for desired properties: the stand-in sends one patch, and the module
        // stays up through it (EC402 passed above).
        assert!(
            s.contains("got 1 desired-property patch(es)"),
            "{platform}: {summary}"
        );
        assert!(s.contains("reported properties"), "{platform}: {summary}");
        assert!(s.contains("on `output1`"), "{platform}: {summary}");
        assert!(
            s.contains(&format!("POST /modules/{offer}/genid/")),
            "{platform}: {summary}"
        );
        assert!(!s.contains("protocol error"), "{platform}: {summary}");
    }
}

#[test]
fn the_python_module_connects_reads_its_twin_and_sends_on_its_output() {
    if engine_up() {
        connects_reads_its_twin_and_sends(SdkKind::Python, "pyfilter", "MQTT");
    }
}

#[test]
fn the_node_module_connects_reads_its_twin_and_sends_on_its_output() {
    if engine_up() {
        connects_reads_its_twin_and_sends(SdkKind::Node, "nodefilter", "MQTT");
    }
}

/// The same Node module with the AMQP transport (`azure-iot-device-amqp`, what the .NET SDK
/// defaults to): TLS on 5671, no SASL, CBS put-token, the twin and events links.
#[test]
fn the_node_module_over_amqp_connects_reads_its_twin_and_sends_on_its_output() {
    if engine_up() {
        connects_reads_its_twin_and_sends(SdkKind::Node, "amqpfilter", "AMQP");
    }
}

/// Again with MQTT over WebSockets (`MqttWs`: TLS on 443, `/$iothub/websocket`), as modules
/// behind proxies connect.
#[test]
fn the_node_module_over_websockets_connects_reads_its_twin_and_sends_on_its_output() {
    if engine_up() {
        connects_reads_its_twin_and_sends(SdkKind::Node, "wsfilter", "MQTT over WebSockets");
    }
}

#[test]
fn an_sdk_module_that_exits_on_start_still_fails() {
    if !engine_up() {
        return;
    }
    let r = check(
        SdkKind::Python,
        "pycrash",
        json!({"EDGECERT_CRASH_ON_START": "1"}),
        // Python under qemu takes seconds to get as far as crashing.
        25,
    );
    let ec402 = result(&r, "EC402");
    assert_eq!(ec402.status, Status::Fail, "{ec402:?}");
    assert_eq!(ec402.findings.len(), 2, "{ec402:?}");
    assert!(
        ec402
            .findings
            .iter()
            .all(|f| f.message.contains("exited with code")),
        "{ec402:?}"
    );
}

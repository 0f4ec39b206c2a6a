//! # EC405 outputs-routed
//!
//! ## What it checks
//! In the ingestion test, the outputs the module sent messages on (seen by the edgeHub
//! stand-in, see EC404) against the offer's default routes: a route that takes one named
//! output (`FROM /messages/modules/<module>/outputs/<output>`) for an output the module never
//! used within the window goes to a reviewer; an output the module used that no default route
//! takes is reported as information (its messages go nowhere until the customer adds a route).
//! Each default route is also evaluated, as edgeHub would, on the first messages the module
//! sent on each output (properties, system properties and body as sent): the report says how
//! many each route took, so a condition that never holds shows. Skipped when no platform's
//! module connected to edgeHub.
//!
//! ## Why it matters
//! Default routes are how a customer's deployment wires the module in. A route naming an
//! output the module does not have (a typo, a renamed output) silently carries nothing; an
//! output without a route drops its messages on the device.
//!
//! ## Example
//! `route toAlerts takes output alerts, which the module never sent on in the window (it sent
//! on output1)`.
//!
//! ## How to fix
//! Name the outputs in `defaults.routes` exactly as the module sends them
//! (`send_message_to_output(msg, "output1")`, `sendOutputEvent("output1", msg)`), or route all
//! of the module's outputs with `FROM /messages/modules/<module>/outputs/*`. An output that only
//! fires on rare events is fine: say so to the reviewer in the use case.

use std::collections::BTreeMap;

use edgecert_edge::route::{self, Message, Options, SourceKind, evaluate};

use super::{Check, Context, Outcome};
use crate::facts::SentMessage;
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;
use crate::offer::RouteSpec;

pub const CHECK: Check = Check {
    id: "EC405",
    name: "outputs-routed",
    title: "Default routes take the outputs the module sends on",
    area: Area::Runtime,
    severity: Severity::Info,
    runtime: true,
    source: include_str!("ec405_outputs_routed.rs"),
    run,
};

/// What one default route takes from `module`: every output, one named output, or nothing.
enum Takes {
    All,
    Output(String),
    Nothing,
}

fn takes(text: &str, module: &str) -> Takes {
    let parsed = route::parse_with(text, Options { placeholders: true });
    if parsed.errors().next().is_some() {
        return Takes::Nothing;
    }
    let Some(r) = parsed.route else {
        return Takes::Nothing;
    };
    let seg = |i: usize| r.source.segments.get(i).map(|s| s.text.as_str());
    let ours = |m: Option<&str>| m.is_some_and(|m| m == module || m == "*");
    match r.source.kind {
        SourceKind::All | SourceKind::AllMessages | SourceKind::AllModules => Takes::All,
        SourceKind::Module | SourceKind::ModuleOutputs if ours(seg(2)) => Takes::All,
        SourceKind::ModuleOutput if ours(seg(2)) => match seg(4) {
            Some("*") | None => Takes::All,
            Some(o) => Takes::Output(o.to_owned()),
        },
        _ => Takes::Nothing,
    }
}

fn run(cx: &Context<'_>) -> Outcome {
    let Some(rt) = cx.runtime else {
        return Outcome::skip("not run (--no-run)");
    };
    // Outputs used on any platform whose module connected, and the messages kept.
    let mut used: BTreeMap<String, u64> = BTreeMap::new();
    let mut sent_messages = Vec::new();
    let mut connected = false;
    for run in &rt.platforms {
        let Some(hub) = run.hub.as_ref().filter(|h| h.connected_after_ms.is_some()) else {
            continue;
        };
        connected = true;
        for (o, n) in &hub.outputs {
            *used.entry(o.clone()).or_default() += n;
        }
        sent_messages.extend(&hub.messages);
    }
    if !connected {
        return Outcome::skip("the module never connected to edgeHub (see EC404)");
    }
    let module = cx.offer.module_name().unwrap_or_default().to_owned();
    let routes = cx
        .offer
        .defaults
        .as_ref()
        .and_then(|d| d.routes.clone())
        .unwrap_or_default();
    let mut all = false;
    let mut named: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, spec) in &routes {
        let text = match spec {
            RouteSpec::Plain(s) => s.as_str(),
            RouteSpec::Detailed(d) => d.route.as_str(),
        };
        match takes(text, &module) {
            Takes::All => all = true,
            Takes::Output(o) => named.entry(o).or_default().push(name.clone()),
            Takes::Nothing => {}
        }
    }
    let sent: Vec<&str> = used
        .keys()
        .map(|o| {
            if o.is_empty() {
                "(no output)"
            } else {
                o.as_str()
            }
        })
        .collect();
    let sent = if sent.is_empty() {
        "nothing".to_owned()
    } else {
        sent.join(", ")
    };
    let mut review = Vec::new();
    for (output, names) in &named {
        if !used.contains_key(output) {
            for name in names {
                review.push(
                    Finding::new(format!(
                        "route {name} takes output {output}, which the module never sent on in \
                         the window (it sent on {sent})"
                    ))
                    .at(Location::offer(format!("defaults.routes.{name}")))
                    .help(CHECK.fix_hint()),
                );
            }
        }
    }
    let evaluated = on_messages(&routes, &module, &sent_messages);
    let unrouted: Vec<String> = used
        .iter()
        .filter(|(o, _)| !o.is_empty() && !all && !named.contains_key(*o))
        .map(|(o, n)| format!("{o} ({n} message(s))"))
        .collect();
    if !review.is_empty() {
        review.extend(evaluated);
        return Outcome::review(
            format!(
                "{} default route(s) take outputs the module did not use",
                review.len()
            ),
            review,
        );
    }
    let outcome = if unrouted.is_empty() {
        Outcome::pass(format!("every output the module used is routed: {sent}"))
    } else {
        Outcome::pass(format!(
            "no default route takes output(s) {}: their messages stay on the device until the \
             customer routes them",
            unrouted.join(", ")
        ))
    };
    outcome.with(evaluated)
}

/// Each default route evaluated on the messages the module sent: one information finding a
/// route, `route up took 6 of 6 message(s) seen (output1: 6 of 6)`.
fn on_messages(
    routes: &BTreeMap<String, RouteSpec>,
    module: &str,
    sent: &[&SentMessage],
) -> Vec<Finding> {
    if sent.is_empty() {
        return Vec::new();
    }
    let messages: Vec<(&str, Message)> = sent
        .iter()
        .map(|m| {
            let source = if m.output.is_empty() {
                format!("/messages/modules/{module}")
            } else {
                format!("/messages/modules/{module}/outputs/{}", m.output)
            };
            let some = |map: &BTreeMap<String, String>| {
                map.iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect()
            };
            let message = Message {
                properties: some(&m.properties),
                system_properties: some(&m.system_properties),
                body: serde_json::from_str(&m.body).ok(),
                source: Some(source),
            };
            (m.output.as_str(), message)
        })
        .collect();
    let mut out = Vec::new();
    for (name, spec) in routes {
        let text = match spec {
            RouteSpec::Plain(s) => s.as_str(),
            RouteSpec::Detailed(d) => d.route.as_str(),
        };
        let parsed = route::parse_with(text, Options { placeholders: true });
        if parsed.errors().next().is_some() {
            continue;
        }
        let Some(r) = parsed.route else {
            continue;
        };
        let mut per_output: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (output, m) in &messages {
            let e = per_output.entry(output).or_default();
            e.1 += 1;
            if evaluate(&r, m).routed {
                e.0 += 1;
            }
        }
        let took: usize = per_output.values().map(|(t, _)| t).sum();
        let detail: Vec<String> = per_output
            .iter()
            .map(|(o, (t, n))| {
                let o = if o.is_empty() { "(no output)" } else { o };
                format!("{o}: {t} of {n}")
            })
            .collect();
        out.push(
            Finding::new(format!(
                "route {name} took {took} of {} message(s) seen ({})",
                messages.len(),
                detail.join(", ")
            ))
            .at(Location::offer(format!("defaults.routes.{name}"))),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::testing::{amd64, arm, healthy, runtime};
    use crate::facts::{HubFacts, ImageFacts};
    use crate::finding::Status;
    use serde_json::json;

    fn with(routes: serde_json::Value, outputs: &[(&str, u64)]) -> Outcome {
        with_messages(routes, outputs, Vec::new())
    }

    fn with_messages(
        routes: serde_json::Value,
        outputs: &[(&str, u64)],
        messages: Vec<crate::facts::SentMessage>,
    ) -> Outcome {
        let mut v = offer_json();
        v["defaults"]["moduleName"] = json!("tempfilter");
        v["defaults"]["routes"] = routes;
        let offer = offer(&v);
        let mut a = healthy(amd64());
        a.hub = Some(HubFacts {
            connected_after_ms: Some(1000),
            outputs: outputs.iter().map(|(o, n)| ((*o).to_owned(), *n)).collect(),
            messages,
            ..Default::default()
        });
        let b = healthy(arm());
        let rt = runtime(vec![a, b]);
        let policy = crate::policy::Policy::default();
        (CHECK.run)(&Context {
            offer: &offer,
            create_options: &crate::checks::create_options::load(&offer),
            image: &ImageFacts::default(),
            policy: &policy,
            published: None,
            runtime: Some(&rt),
        })
    }

    #[test]
    fn a_route_for_an_output_never_used_goes_to_review() {
        let o = with(
            json!({
                "up": "FROM /messages/modules/tempfilter/outputs/output1 INTO $upstream",
                "alerts": "FROM /messages/modules/tempfilter/outputs/alerts INTO $upstream",
                "other": "FROM /messages/modules/other/outputs/x INTO $upstream"
            }),
            &[("output1", 12)],
        );
        assert_eq!((o.status, o.findings.len()), (Status::Review, 1), "{o:?}");
        assert_eq!(
            o.findings[0].message,
            "route alerts takes output alerts, which the module never sent on in the window \
             (it sent on output1)"
        );
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.routes.alerts")
        );
    }

    #[test]
    fn outputs_routed_by_wildcard_pass_and_unrouted_ones_are_said() {
        let o = with(
            json!({"all": "FROM /messages/modules/tempfilter/outputs/* INTO $upstream"}),
            &[("output1", 3), ("debug", 1)],
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(
            o.summary,
            "every output the module used is routed: debug, output1"
        );
        let o = with(
            json!({"up": "FROM /messages/modules/tempfilter/outputs/output1 INTO $upstream"}),
            &[("output1", 3), ("debug", 1)],
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(
            o.summary
                .contains("no default route takes output(s) debug (1 message(s))"),
            "{o:?}"
        );
    }

    /// The routes evaluated on the messages as sent: a condition on the body counts only the
    /// JSON messages that meet it (`$body` needs contentType application/json and UTF-8, as
    /// in IoT Hub); application properties are matched as sent.
    #[test]
    fn default_routes_are_evaluated_on_the_messages_sent() {
        let message = |t: u32, json: bool, alert: Option<&str>| crate::facts::SentMessage {
            output: "output1".into(),
            properties: alert
                .map(|a| [("alert".to_owned(), a.to_owned())].into())
                .unwrap_or_default(),
            system_properties: if json {
                [
                    ("contentType".to_owned(), "application/json".to_owned()),
                    ("contentEncoding".to_owned(), "utf-8".to_owned()),
                ]
                .into()
            } else {
                Default::default()
            },
            body: format!("{{\"temperature\": {t}}}"),
        };
        let o = with_messages(
            json!({
                "up": "FROM /messages/modules/tempfilter/outputs/output1 INTO $upstream",
                "hot": "FROM /messages/modules/tempfilter/outputs/* WHERE $body.temperature > 25 INTO $upstream",
                "alerts": "FROM /messages/modules/tempfilter/* WHERE alert = 'high' INTO $upstream"
            }),
            &[("output1", 4)],
            vec![
                message(20, true, None),
                message(30, true, Some("high")),
                message(31, false, None),
            ],
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        let said: Vec<&str> = o.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            said,
            [
                "route alerts took 1 of 3 message(s) seen (output1: 1 of 3)",
                "route hot took 1 of 3 message(s) seen (output1: 1 of 3)",
                "route up took 3 of 3 message(s) seen (output1: 3 of 3)",
            ]
        );
        assert_eq!(
            o.findings[1].shown_location().as_deref(),
            Some("offer.json: defaults.routes.hot")
        );
    }

    #[test]
    fn skipped_unless_the_module_connected() {
        let rt = runtime(vec![healthy(amd64())]);
        let policy = crate::policy::Policy::default();
        let o = (CHECK.run)(&Context {
            offer: &offer(&offer_json()),
            create_options: &crate::checks::create_options::load(&offer(&offer_json())),
            image: &ImageFacts::default(),
            policy: &policy,
            published: None,
            runtime: Some(&rt),
        });
        assert_eq!(o.status, Status::Skip);
    }
}

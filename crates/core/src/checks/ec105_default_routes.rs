//! # EC105 default-routes
//!
//! ## What it checks
//! Every route in `defaults.routes` (a string, or `{route, priority, timeToLiveSecs}` with
//! priority 0–9 and a time to live ≥ 0) parses under edgeHub's route grammar and passes the
//! checks edgeHub makes when it loads a configuration: the sink is `$upstream` or
//! `BrokeredEndpoint("/modules/<module>/inputs/<input>")` (exactly 4 segments), functions exist
//! and get the right number and types of arguments, operands have compatible types (properties
//! are strings: `temperature > 30` is rejected, `as_number(temperature) > 30` is not), and route
//! names match `^[^.$# ]+$`. Each error points at the offending character. Lexer traps (a name
//! that swallowed an operator, like `temp!=5`), `NOT a = b` precedence, sources no message has
//! and conditions that can never be true are warnings. `<UPPER_SNAKE>` placeholders are
//! reported as needing customer input, never as errors.
//!
//! ## Why it matters
//! One invalid route makes edgeHub reject the whole routing configuration of the device: the
//! customer's other modules stop receiving messages too. edgeHub only says so in its log.
//!
//! ## Example
//! `"toHub": "FROM /messages/modules/filter/outputs/* WHERE temperature > 30 INTO $upstream"`:
//! `temperature` is an application property, a string, compared with a number.
//!
//! ## How to fix
//! Correct the route at the marked character; test it with
//! `edgecert route test --route '...' --message msg.json`.

use edgecert_edge::route::{self, Options};

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;
use crate::offer::RouteSpec;

pub const CHECK: Check = Check {
    id: "EC105",
    name: "default-routes",
    title: "Default routes are valid edgeHub routes",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec105_default_routes.rs"),
    run,
};

fn at(name: &str) -> Location {
    Location::offer(format!("defaults.routes.{name}"))
}

/// `^[^.$# ]+$` (the deployment schema's route name pattern).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['.', '$', '#', ' '])
}

fn run(cx: &Context<'_>) -> Outcome {
    let hint = CHECK.fix_hint();
    let routes = cx.offer.defaults.as_ref().and_then(|d| d.routes.as_ref());
    let Some(routes) = routes.filter(|r| !r.is_empty()) else {
        return Outcome::pass("no default routes");
    };
    let mut errors: Vec<Finding> = Vec::new();
    let mut notes: Vec<Finding> = Vec::new();
    let mut invalid = 0;
    for (name, spec) in routes {
        let before = errors.len();
        let error = |m: String| Finding::new(m).at(at(name)).help(&hint);
        if !valid_name(name) {
            errors.push(error(format!(
                "route name {name:?} must match ^[^.$# ]+$ (no `.`, `$`, `#` or space)"
            )));
        }
        let text = match spec {
            RouteSpec::Plain(s) => s,
            RouteSpec::Detailed(d) => {
                if let Some(p) = d.priority.filter(|p| !(0..=9).contains(p)) {
                    errors.push(error(format!("priority {p} is outside 0–9")));
                }
                if let Some(t) = d.time_to_live_secs.filter(|t| *t < 0) {
                    errors.push(error(format!("timeToLiveSecs {t} is negative")));
                }
                &d.route
            }
        };
        let parsed = route::parse_with(text, Options { placeholders: true });
        for d in &parsed.diagnostics {
            let f = Finding::new(d.render(text)).at(at(name));
            if d.is_error() {
                errors.push(f.help(&hint));
            } else {
                notes.push(f);
            }
        }
        if !parsed.placeholders.is_empty() {
            let names: Vec<String> = parsed
                .placeholders
                .iter()
                .map(|p| format!("{} (char {})", p.name, p.span.start))
                .collect();
            notes.push(
                Finding::new(format!(
                    "needs customer input: {} in route {name}",
                    names.join(", ")
                ))
                .at(at(name)),
            );
        }
        if errors.len() > before {
            invalid += 1;
        }
    }
    let total = routes.len();
    let warnings = notes
        .iter()
        .filter(|f| f.message.starts_with("warning"))
        .count();
    let tail = match warnings {
        0 => String::new(),
        1 => ", 1 warning".to_owned(),
        n => format!(", {n} warnings"),
    };
    if invalid > 0 {
        Outcome::fail(
            format!("{invalid} of {total} default route(s) invalid{tail}"),
            errors,
        )
        .with(notes)
    } else {
        Outcome::pass(format!("{total} default route(s) valid{tail}")).with(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    fn with_route(name: &str, route: serde_json::Value) -> Outcome {
        run_offer(&CHECK, |v| {
            v["defaults"]["routes"][name] = route;
        })
    }

    #[test]
    fn template_routes_pass() {
        let o = run_offer(&CHECK, |_| {});
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.summary, "1 default route(s) valid");
        assert!(o.findings.is_empty());
        let o = run_offer(&CHECK, |v| {
            v["defaults"].as_object_mut().unwrap().remove("routes");
        });
        assert_eq!(
            (o.status, o.summary.as_str()),
            (Status::Pass, "no default routes")
        );
    }

    #[test]
    fn errors_point_at_the_character() {
        let o = with_route(
            "hot",
            json!("FROM /messages/modules/f/outputs/* WHERE temperature > 30 INTO $upstream"),
        );
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.summary, "1 of 2 default route(s) invalid");
        let f = &o.findings[0];
        assert_eq!(
            f.shown_location().as_deref(),
            Some("offer.json: defaults.routes.hot")
        );
        assert!(
            f.message.starts_with("error: invalid operands to `>`"),
            "{}",
            f.message
        );
        assert!(f.message.contains("(char 53)"), "{}", f.message);
        let caret = f.message.lines().nth(2).unwrap();
        assert_eq!(caret.find('^'), Some(3 + 53), "{}", f.message);
        assert!(
            f.message.contains("help: properties are strings"),
            "{}",
            f.message
        );
        assert!(f.help.is_some());

        let o = with_route(
            "sink",
            json!("FROM /messages/* INTO BrokeredEndpoint(\"/modules/x\")"),
        );
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.contains("4 segments"), "{o:?}");
        let o = with_route(
            "fn",
            json!("FROM /messages/* WHERE lenght(a) = 1 INTO $upstream"),
        );
        assert!(
            o.findings[0].message.contains("did you mean `length`?"),
            "{o:?}"
        );
    }

    #[test]
    fn warnings_keep_the_check_passing() {
        let o = with_route(
            "trap",
            json!("FROM /messages/* WHERE $body.temp!=5 INTO $upstream"),
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.summary, "2 default route(s) valid, 1 warning");
        assert!(o.findings[0].message.starts_with("warning: "), "{o:?}");
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.routes.trap")
        );
    }

    #[test]
    fn placeholders_need_customer_input() {
        let o = with_route(
            "toTarget",
            json!(
                "FROM /messages/modules/<MODULE_NAME>/outputs/* INTO BrokeredEndpoint(\"/modules/<TARGET_MODULE>/inputs/input1\")"
            ),
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(
            o.findings[0].message,
            "needs customer input: <MODULE_NAME> (char 23), <TARGET_MODULE> (char 79) in route toTarget"
        );
        // A placeholder standing for a whole address cannot be judged yet.
        let o = with_route(
            "all",
            json!("FROM /messages/* INTO BrokeredEndpoint(\"<TARGET_INPUT>\")"),
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
    }

    #[test]
    fn names_and_object_routes() {
        for bad in ["a.b", "a b", "$a", "a#", ""] {
            let o = with_route(bad, json!("FROM /messages/* INTO $upstream"));
            assert_eq!(o.status, Status::Fail, "{bad:?}");
            assert!(o.findings[0].message.contains("must match"), "{o:?}");
        }
        let ok =
            json!({"route": "FROM /messages/* INTO $upstream", "priority": 0, "timeToLiveSecs": 0});
        assert_eq!(with_route("obj", ok).status, Status::Pass);
        let o = with_route(
            "obj",
            json!({"route": "FROM /messages/* INTO $upstream", "priority": 10}),
        );
        assert!(
            o.findings[0].message.contains("priority 10 is outside 0–9"),
            "{o:?}"
        );
        let o = with_route(
            "obj",
            json!({"route": "FROM /messages/* INTO $upstream", "timeToLiveSecs": -1}),
        );
        assert!(o.findings[0].message.contains("negative"), "{o:?}");
        let o = with_route("obj", json!({"route": "FROM x INTO $upstream"}));
        assert_eq!(o.status, Status::Fail);
    }
}

//! Fuzz target: any UTF-8 string parses as a route (with and without placeholders) without
//! panicking; every diagnostic has a span inside the route and renders; every accepted route
//! evaluates against a few messages and explains itself.
#![no_main]

use edgecert_edge::route::{Message, Options, evaluate, parse_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(route) = std::str::from_utf8(data) else {
        return;
    };
    let len = route.chars().count();
    let messages = [
        Message::default(),
        Message::from_json(
            r#"{"source": "/messages/modules/m/outputs/o", "properties": {"a": "1"},
                "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
                "body": {"a": [1, "x", null, {"b": true}], "properties": {"desired": {"x": 1}}}}"#,
        )
        .expect("a valid message"),
    ];
    for placeholders in [false, true] {
        let parsed = parse_with(route, Options { placeholders });
        assert_eq!(parsed.route.is_some(), parsed.errors().next().is_none());
        for d in &parsed.diagnostics {
            assert!(d.span.start <= d.span.end && d.span.end <= len);
            let _ = d.render(route);
        }
        if let Some(r) = &parsed.route {
            for m in &messages {
                let e = evaluate(r, m);
                let _ = e.explain(r, m);
            }
        }
    }
});

//! A deterministic stand-in for fuzzing that runs with every `cargo test`: tens of thousands
//! (or, with `EDGECERT_ROUTE_ITERATIONS`, any number) of pseudo-random strings built from the grammar's alphabet (keywords, operators,
//! quotes, escapes, comments, placeholders, non-ASCII, stray characters) must parse, render
//! and evaluate without panicking, and the diagnostics must be consistent. The real fuzzer is
//! `fuzz/fuzz_targets/route_parser.rs` (cargo-fuzz).

use super::*;

use edgecert_fixtures::rng::Rng;

const PIECES: &[&str] = &[
    "FROM ",
    "from",
    " /messages/*",
    "/messages/modules/",
    "m1",
    "/outputs/",
    "/*",
    "*/",
    "*",
    "/",
    " WHERE ",
    " INTO ",
    "INTO",
    " $upstream",
    "$UPSTREAM",
    "BrokeredEndpoint(",
    "\"",
    "'",
    "/modules/a/inputs/b",
    "\\",
    "\\\"",
    "\\u00e9",
    "\\u12",
    "(",
    ")",
    "{",
    "}",
    ",",
    "$body.a[0]",
    "$body.",
    "$body.a..b",
    "$x",
    "$",
    "a",
    "temp!",
    "a+b",
    "-a",
    "NOT ",
    " AND ",
    " OR ",
    "=",
    "!=",
    "<>",
    "<",
    ">",
    "<=",
    ">=",
    "??",
    "?",
    "||",
    "&&",
    "-",
    "+",
    "%",
    "5",
    "-5",
    "0x1F",
    "0x",
    "1e5",
    "e5",
    ".5",
    "1.5.3",
    "true",
    "false",
    "null",
    "undefined",
    "TRUE",
    "é",
    "日本",
    "\u{1F600}",
    " ",
    "\t",
    "\n",
    "\u{a0}",
    "<MODULE>",
    "<X_1>",
    "[",
    "]",
    ";",
    "@",
    ":",
    "twin_change_includes(",
    "properties.desired.x",
    "is_defined(",
    "substring(",
    "concat(",
    "as_number(",
    "lower(",
    "SELECT * ",
    "/twinChangeNotifications",
    "'abc'",
    "\"x\"",
    "0",
    "\u{0}",
    "\r",
];

fn generate(rng: &mut Rng) -> String {
    let n = rng.below(24);
    let mut s = String::new();
    if rng.below(3) > 0 {
        s.push_str("FROM /messages/* WHERE ");
    }
    for _ in 0..n {
        if rng.below(10) == 0 {
            // Any character at all, now and then.
            let c = char::from_u32((rng.next_u64() % 0x11_0000) as u32).unwrap_or('\u{fffd}');
            s.push(c);
        } else {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    if rng.below(2) == 0 {
        s.push_str(" INTO $upstream");
    }
    s
}

fn messages() -> Vec<Message> {
    vec![
        Message::default(),
        Message::from_json(
            r#"{"source": "/messages/modules/m1/outputs/o", "properties": {"a": "1", "temp!": "x"},
                "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
                "body": {"a": [1, "x", null, {"b": true}], "properties": {"desired": {"x": 1}}}}"#,
        )
        .unwrap(),
    ]
}

#[test]
fn random_routes_never_panic_and_diagnostics_are_consistent() {
    let mut rng = Rng::from_state(0x005E_ED0F_ED6E_CE57);
    let msgs = messages();
    let (mut accepted, mut total) = (0usize, 0usize);
    // 30 000 routes (x2 options) per ordinary run; EDGECERT_ROUTE_ITERATIONS=300000 for more.
    let iterations: usize = std::env::var("EDGECERT_ROUTE_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    for _ in 0..iterations {
        let route = generate(&mut rng);
        let len = route.chars().count();
        for placeholders in [false, true] {
            total += 1;
            let p = parse_with(&route, Options { placeholders });
            let has_error = p.errors().next().is_some();
            assert_eq!(p.route.is_some(), !has_error, "{route:?}");
            for d in &p.diagnostics {
                assert!(
                    d.span.start <= d.span.end && d.span.end <= len,
                    "{route:?}: {d:?}"
                );
                assert!(!d.message.is_empty() && !d.message.ends_with('.'), "{d:?}");
                let _ = d.render(&route);
            }
            if let Some(r) = &p.route {
                accepted += 1;
                for m in &msgs {
                    let e = evaluate(r, m);
                    let _ = e.explain(r, m);
                }
            }
        }
    }
    println!("random routes: {total} parsed, {accepted} accepted");
    assert!(
        accepted > 1000,
        "the generator should produce some valid routes: {accepted}"
    );
}

//! Tests of the route bounds (issue 8 item 8): routes of thousands of nested parentheses or
//! chained operators aborted `edgecert route test` and `edgecert check` with a stack overflow.
//! Every hostile route must come back as a diagnostic, and everything within the bounds must
//! parse, type-check, evaluate and drop in a thread with a 256 KiB stack (debug build).

use super::*;

const SMALL_STACK: usize = 256 * 1024;

/// Runs `f` on a thread with a 256 KiB stack; a stack overflow aborts the test binary.
fn in_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn where_(condition: &str) -> String {
    format!("FROM /messages/* WHERE {condition} INTO $upstream")
}

fn message() -> Message {
    Message::from_json(r#"{"properties": {"a": "x"}}"#).unwrap()
}

/// Parses, and when the route is valid evaluates it, all in the small stack; returns the
/// diagnostics and the condition's value.
fn run_small(route: String) -> (Vec<Diagnostic>, Option<Value>) {
    in_small_stack(move || {
        let parsed = parse(&route);
        let value = parsed
            .route
            .as_ref()
            .and_then(|r| evaluate(r, &message()).condition);
        (parsed.diagnostics, value)
    })
}

#[test]
fn route_with_6000_nested_parentheses_is_a_diagnostic_not_a_stack_overflow() {
    let route = where_(&format!("{}true{}", "(".repeat(6000), ")".repeat(6000)));
    let (diags, value) = run_small(route.clone());
    assert_eq!(value, None);
    let e = diags.iter().find(|d| d.is_error()).expect("an error");
    assert!(e.message.contains("4096 bytes"), "{e:?}");
    assert_eq!(
        e.span.start, MAX_ROUTE_BYTES,
        "points at the first byte past the bound"
    );
    assert!(
        e.render(&route).len() < 1000,
        "a window, not the whole route"
    );
}

#[test]
fn route_with_18700_chained_terms_is_a_diagnostic_not_a_stack_overflow() {
    let terms = vec!["a = 'x'"; 18_700].join(" AND ");
    let (diags, value) = run_small(where_(&terms));
    assert_eq!(value, None);
    assert!(
        diags
            .iter()
            .any(|d| d.is_error() && d.message.contains("4096 bytes")),
        "{diags:?}"
    );
}

#[test]
fn route_length_bound_is_4096_bytes_pointing_at_a_character_offset() {
    let base = where_("a = ''");
    let fill = MAX_ROUTE_BYTES - base.len();
    let at_bound = where_(&format!("a = '{}'", "x".repeat(fill)));
    assert_eq!(at_bound.len(), MAX_ROUTE_BYTES);
    assert!(parse(&at_bound).route.is_some());
    // One byte more, written with two-byte characters: the offset counts characters.
    let over = where_(&format!("a = '{}x'", "é".repeat(fill / 2)));
    assert!(over.len() > MAX_ROUTE_BYTES);
    let p = parse(&over);
    assert!(p.route.is_none());
    let e = p.errors().next().unwrap();
    let prefix: String = over.chars().take(e.span.start).collect();
    assert!(prefix.len() <= MAX_ROUTE_BYTES);
    let with_next: String = over.chars().take(e.span.start + 1).collect();
    assert!(with_next.len() > MAX_ROUTE_BYTES);
}

#[test]
fn deepest_allowed_nesting_parses_checks_and_evaluates_in_a_small_stack() {
    // The WHERE condition is one level; each `(` adds one, and so does the right operand of
    // `=` (a tighter precedence level).
    for (parens, inner) in [(MAX_NESTING - 1, "true"), (MAX_NESTING - 2, "a = 'x'")] {
        let deepest = where_(&format!(
            "{}{inner}{}",
            "(".repeat(parens),
            ")".repeat(parens)
        ));
        let (diags, value) = run_small(deepest);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        assert_eq!(value, Some(Value::Bool(true)));
    }

    let too_deep = where_(&format!(
        "{}true{}",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    ));
    let (diags, value) = run_small(too_deep);
    assert_eq!(value, None);
    let e = diags.iter().find(|d| d.is_error()).unwrap();
    assert!(
        e.message
            .contains(&format!("nests more than {MAX_NESTING} levels")),
        "{e:?}"
    );
    assert_eq!(
        e.span.start,
        "FROM /messages/* WHERE ".len() + MAX_NESTING - 1,
        "points at the parenthesis past the bound"
    );
}

#[test]
fn deepest_allowed_not_and_function_nesting_checks_and_evaluates_in_a_small_stack() {
    let nots = where_(&format!("{}true", "NOT ".repeat(MAX_NESTING - 2)));
    let (diags, value) = run_small(nots);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(value, Some(Value::Bool(true)));
    let calls = where_(&format!(
        "{}'a'{} = 'A'",
        "upper(".repeat(MAX_NESTING - 1),
        ")".repeat(MAX_NESTING - 1)
    ));
    let (diags, value) = run_small(calls);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(value, Some(Value::Bool(true)));
    let too_many = where_(&format!("{}true", "NOT ".repeat(MAX_NESTING)));
    let (diags, _) = run_small(too_many);
    assert!(diags.iter().any(|d| d.message.contains("nests more than")));
}

#[test]
fn longest_chains_within_the_length_bound_check_evaluate_and_drop_in_a_small_stack() {
    // ~1000 terms: as long a left-deep chain as 4096 bytes allow.
    let sum = vec!["1"; 1000].join(" + ");
    let (diags, value) = run_small(where_(&format!("{sum} = 1000")));
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(value, Some(Value::Bool(true)));
    let ands = vec!["true"; 400].join(" AND ");
    let (diags, value) = run_small(where_(&ands));
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(value, Some(Value::Bool(true)));
    let ors = vec!["a = 'y'"; 300].join(" OR ") + " OR a = 'x'";
    let (_, value) = run_small(where_(&ors));
    assert_eq!(value, Some(Value::Bool(true)), "the last term decides");
}

#[test]
fn chain_typing_still_finds_errors_deep_in_the_left_spine() {
    // The first term is the deepest leaf of the left-deep chain.
    let cond = format!("nosuch(a) AND {}", vec!["true"; 200].join(" AND "));
    let route = where_(&cond);
    let p = parse(&route);
    assert!(p.route.is_none());
    let start = "FROM /messages/* WHERE ".len();
    assert!(
        p.errors().any(|d| d.span.start == start),
        "{:?}",
        p.diagnostics
    );
}

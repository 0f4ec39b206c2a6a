//! Tests of the route language: every grammar rule, every error class, the lexer traps, and
//! edgeHub's own condition test vectors (ConditionCompilerTest in Azure/iotedge) run through
//! the checker and the evaluator.

use super::*;

fn parsed(route: &str) -> Parsed {
    parse(route)
}

#[track_caller]
fn ok(route: &str) -> Route {
    let p = parsed(route);
    let errors: Vec<String> = p.errors().map(|d| d.render(route)).collect();
    assert!(errors.is_empty(), "{route}\n{}", errors.join("\n"));
    p.route.unwrap()
}

#[track_caller]
fn err(route: &str, needle: &str) -> Diagnostic {
    let p = parsed(route);
    assert!(p.route.is_none(), "{route} parsed");
    p.errors()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "{route}: no error containing {needle:?} in {:#?}",
                p.diagnostics
            )
        })
        .clone()
}

#[track_caller]
fn warn(route: &str, needle: &str) -> Diagnostic {
    let p = parsed(route);
    p.warnings()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "{route}: no warning containing {needle:?} in {:#?}",
                p.diagnostics
            )
        })
        .clone()
}

#[track_caller]
fn no_warnings(route: &str) {
    let p = parsed(route);
    assert_eq!(p.diagnostics, [], "{route}");
}

fn cond(c: &str) -> String {
    format!("FROM /messages/* WHERE {c} INTO $upstream")
}

/// Fully parenthesised condition, to see precedence.
fn shape(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Binary(op, _, l, r) => format!("({} {} {})", shape(l), op.symbol(), shape(r)),
        ExprKind::Unary(UnaryOp::Neg, x) => format!("(-{})", shape(x)),
        ExprKind::Unary(UnaryOp::Not, x) => format!("(NOT {})", shape(x)),
        ExprKind::Call(c) => format!(
            "{}({})",
            c.name,
            c.args.iter().map(shape).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("'{s}'"),
        ExprKind::Num(Some(x)) => x.to_string(),
        ExprKind::Num(None) => "NaN".into(),
        ExprKind::Null => "null".into(),
        ExprKind::Undefined => "undefined".into(),
        ExprKind::Property(p) | ExprKind::SysProp(p) | ExprKind::Placeholder(p) => p.clone(),
        ExprKind::SysPropEscaped(p) => format!("{{{p}}}"),
    }
}

fn shape_of(c: &str) -> String {
    shape(ok(&cond(c)).condition.as_ref().unwrap())
}

// ---------------------------------------------------------------- routes, sources, sinks

#[test]
fn route_forms() {
    let r = ok("FROM /messages/* INTO $upstream");
    assert!(!r.select_all && r.condition.is_none());
    assert_eq!(r.source.path, "/messages/*");
    assert!(ok("SELECT * FROM /messages/* INTO $upstream").select_all);
    assert!(ok("select * from /messages/* into $upstream").select_all);
    // Whitespace and comments separate tokens anywhere.
    let r = ok("FROM\t/ messages /\n*   /* to the hub */ INTO\r\n$Upstream");
    assert_eq!(r.source.path, "/messages/*");
    err(
        "SELECT a FROM /messages/* INTO $upstream",
        "expected `*` after SELECT",
    );
    err(
        "SELECT FROM /messages/* INTO $upstream",
        "expected `*` after SELECT",
    );
    err("", "empty route");
    err("  /* nothing */ ", "empty route");
    err("INTO $upstream", "a route starts with FROM");
    let d = err("$EDGEHUB_ROUTE", "a route starts with FROM");
    assert!(d.suggestion.unwrap().contains("template variable"));
    err("FROM /messages/*", "expected WHERE or INTO");
    err("FROM /messages/* $upstream", "expected WHERE or INTO");
    err("FROM /messages/* INTO", "expected a sink");
    err(
        "FROM /messages/* WHERE INTO $upstream",
        "expected an expression",
    );
    err(
        "FROM /messages/* WHERE true",
        "expected an operator or INTO",
    );
}

#[test]
fn sources() {
    use SourceKind::*;
    for (src, kind) in [
        ("/*", All),
        ("/messages", AllMessages),
        ("/messages/*", AllMessages),
        ("/messages/modules", AllModules),
        ("/messages/modules/*", AllModules),
        ("/messages/modules/tempSensor", Module),
        ("/messages/modules/tempSensor/*", Module),
        ("/messages/modules/temp-sensor_1/outputs", ModuleOutputs),
        ("/messages/modules/tempSensor/outputs/*", ModuleOutputs),
        (
            "/messages/modules/tempSensor/outputs/temperatureOutput",
            ModuleOutput,
        ),
        (
            "/messages/modules/Modbus/outputs/modbusOutput/*",
            ModuleOutput,
        ),
        ("/Messages/Modules/x/Outputs/y", ModuleOutput),
        ("/twinChangeNotifications", TwinChangeNotifications),
    ] {
        let route = format!("FROM {src} INTO $upstream");
        assert_eq!(ok(&route).source.kind, kind, "{src}");
        no_warnings(&route);
    }
    let d = warn("FROM /messages/events INTO $upstream", "never matches");
    assert_eq!(d.span, 5..21);
    warn("FROM /devices/* INTO $upstream", "never matches");
    let d = warn(
        "FROM /messages/modules/*/outputs/out1 INTO $upstream",
        "only a trailing `*` is a wildcard",
    );
    assert_eq!(d.span, 23..24);
}

#[test]
fn source_errors() {
    let d = err("FROM messages/* INTO $upstream", "starting with `/`");
    assert_eq!(d.span, 5..13);
    // A segment named like a keyword breaks the route (edgeHub lexes it as the keyword).
    for kw in ["into", "FROM", "where", "Select", "and", "OR", "not"] {
        let route = format!("FROM /messages/modules/{kw}/outputs/* INTO $upstream");
        let d = err(&route, "is a route keyword");
        assert_eq!(d.span, 23..23 + kw.len(), "{kw}");
    }
    err(
        "FROM /messages/modules/true/* INTO $upstream",
        "is a literal",
    );
    err(
        "FROM /messages/modules/123/* INTO $upstream",
        "reads as a number",
    );
    err(
        "FROM /messages/modules/1e5/* INTO $upstream",
        "reads as a number",
    );
    // Names that merely start with a keyword or a digit are fine.
    ok("FROM /messages/modules/intouch/outputs/* INTO $upstream");
    ok("FROM /messages/modules/1abc/outputs/* INTO $upstream");
    let d = err("FROM /messages/ INTO $upstream", "cannot end with `/`");
    assert_eq!(d.span, 16..20);
    err(
        "FROM /messages/modules/x/ WHERE true INTO $upstream",
        "cannot end with `/`",
    );
    err("FROM / INTO $upstream", "cannot end with `/`");
    err(
        "FROM /messages/$x INTO $upstream",
        "expected a path segment",
    );
    err(
        "FROM /messages/a[0] INTO $upstream",
        "expected a path segment",
    );
}

#[test]
fn sinks() {
    let r = ok("FROM /messages/* INTO $UPSTREAM");
    assert!(matches!(r.sink, Sink::Upstream { span } if span == (22..31)));
    let r = ok(r#"FROM /messages/* INTO BrokeredEndpoint("/modules/filter/inputs/input1")"#);
    let Sink::Brokered {
        module,
        input,
        address,
        span,
    } = r.sink
    else {
        panic!()
    };
    assert_eq!((module.as_str(), input.as_str()), ("filter", "input1"));
    assert_eq!(address, "/modules/filter/inputs/input1");
    assert_eq!(span, 22..71);
    // Any case, single quotes, no leading slash, a trailing slash, spaces inside the parens.
    for sink in [
        "brokeredendpoint('/modules/f/inputs/i')",
        r#"BROKEREDENDPOINT ( "modules/f/inputs/i/" )"#,
        r#"BrokeredEndPoint(" /modules/f/inputs/i ")"#,
    ] {
        let r = ok(&format!("FROM /messages/* INTO {sink}"));
        assert!(
            matches!(r.sink, Sink::Brokered { ref module, ref input, .. } if module == "f" && input == "i"),
            "{sink}"
        );
    }
    let d = err(
        r#"FROM /messages/* INTO BrokeredEndpoint("/modules/f/i")"#,
        "this one has 3",
    );
    assert_eq!(d.span, 40..52);
    err(
        r#"FROM /messages/* INTO BrokeredEndpoint("/modules/f/inputs/i/x")"#,
        "this one has 5",
    );
    err(
        r#"FROM /messages/* INTO BrokeredEndpoint("//modules/f/inputs/i")"#,
        "this one has 5",
    );
    err(
        r#"FROM /messages/* INTO BrokeredEndpoint("  ")"#,
        "address is empty",
    );
    err(
        r#"FROM /messages/* INTO BrokeredEndpoint("/modules/f/inputs/i)"#,
        "unterminated string",
    );
    err(
        r#"FROM /messages/* INTO BrokeredEndpoint(/modules)"#,
        "expected a quoted endpoint address",
    );
    err(
        r#"FROM /messages/* INTO BrokeredEndpoint("/modules/f/inputs/i""#,
        "expected `)`",
    );
    err(r#"FROM /messages/* INTO BrokeredEndpoint"#, "expected `(`");
    let d = err(
        r#"FROM /messages/* INTO ModuleEndpoint("/modules/f/inputs/i")"#,
        "unknown endpoint",
    );
    assert_eq!(d.span, 22..36);
    err(
        "FROM /messages/* INTO $downstream",
        "unknown system endpoint",
    );
    err(
        "FROM /messages/* INTO $upstream.x",
        "unknown system endpoint",
    );
    err(
        "FROM /messages/* INTO 'x'",
        "expected `$upstream` or BrokeredEndpoint",
    );
    // edgeHub only reads segments 1 and 3: other words are accepted but flagged.
    let d = warn(
        r#"FROM /messages/* INTO BrokeredEndpoint("modules/scoring/input/input1")"#,
        "only reads the module and input",
    );
    assert_eq!(
        d.suggestion.as_deref(),
        Some(r#"BrokeredEndpoint("/modules/scoring/inputs/input1")"#)
    );
    warn(
        r#"FROM /messages/* INTO BrokeredEndpoint("/modules//inputs/i")"#,
        "is empty",
    );
    warn(
        r#"FROM /messages/* INTO BrokeredEndpoint("/modules/a\\b/inputs/i")"#,
        "does not process escapes",
    );
    let d = warn(
        "FROM /messages/* INTO $upstream;",
        "ignores everything after the sink",
    );
    assert_eq!(d.span, 31..32);
}

// ---------------------------------------------------------------- lexing traps and errors

#[test]
fn lexer_traps_are_warnings() {
    let d = warn(&cond("temp!=5"), "reads as the name `temp!`");
    assert_eq!(d.span, 23..29);
    assert!(d.suggestion.unwrap().contains("temp != ..."));
    // ... and here it is also an error: `temp!` is a string property compared with a number.
    err(&cond("temp!=5"), "invalid operands to `=`");
    let d = warn(&cond("a+b = 'x'"), "is one property name");
    assert_eq!(d.span, 23..26);
    assert!(d.suggestion.unwrap().contains("`a + b`"));
    warn(&cond("x-1 = 'x'"), "is one property name");
    warn(
        &cond("a*b = 'x' OR a%b = 'y' OR a|b = 'z'"),
        "is one property name",
    );
    let d = warn(&cond("-a = 'x'"), "glued to a name");
    assert!(d.suggestion.unwrap().contains("`- a`"));
    warn(&cond("+5 = 'x'"), "glued to a name");
    warn(&cond("a&&b = 'x'"), "`&&` is not an operator");
    warn(&cond("e5 = 5"), "no digits before the exponent");
    warn(&cond("a\u{a0}b = 'x'"), "invisible character U+00A0");
    // Spaced operators, dotted names and plain names give no warning.
    no_warnings(&cond("temp != '5' AND a.b = 'c' AND device_id = 'x'"));
    // The same characters in source segments are ordinary module names.
    no_warnings("FROM /messages/modules/azure-eye+1/outputs/* INTO $upstream");
}

#[test]
fn not_binds_tighter_than_comparisons() {
    assert_eq!(shape_of("NOT $body.a = true"), "((NOT $body.a) = true)");
    let d = warn(&cond("NOT $body.a = true"), "applies to `$body.a` only");
    assert_eq!(d.span, 23..34);
    assert_eq!(
        d.suggestion.as_deref(),
        Some("write `NOT ($body.a = ...)` to negate the comparison")
    );
    // With a string property, it is also a type error (NOT needs a bool).
    let d = err(&cond("NOT a = 'b'"), "invalid operand to unary `NOT`");
    assert_eq!(d.span, 23..26);
    warn(&cond("NOT a = 'b'"), "applies to `a` only");
    no_warnings(&cond("NOT (a = 'b')"));
    no_warnings(&cond("(NOT is_defined(a)) = true"));
    no_warnings(&cond("NOT is_defined($connectionModuleId)"));
}

#[test]
fn syntax_errors() {
    let d = err(&cond("a == 'b'"), "expected an expression, found `=`");
    assert_eq!(d.suggestion.as_deref(), Some("equality is a single `=`"));
    let d = err(&cond("a = 'b';"), "found `;`");
    assert!(d.suggestion.unwrap().contains("no terminator"));
    err(&cond("a @ b"), "found `@`");
    err(&cond("a ? b"), "found `?`");
    err(&cond("a : b"), "found `:`");
    err(&cond("a \\ b"), "found `\\`");
    let d = err(&cond("3 -4 = 1"), "found `-4`");
    assert!(d.suggestion.unwrap().contains("`- 4`"));
    let d = err(&cond("a[0] = 'x'"), "found `a[0]`");
    assert!(d.suggestion.unwrap().contains("$body"));
    err(&cond("(a = 'b'"), "missing closing `)`");
    err(&cond("(a = 'b' 'c')"), "expected an operator or `)`");
    err(&cond("a = 'b')"), "expected an operator or INTO");
    err(&cond("lower(a"), "expected `,` or `)`");
    err(&cond("lower(a,)"), "expected an expression");
    err(&cond("a = 'b"), "unterminated string");
    let d = err(&cond(r"a = 'b\qc'"), "invalid escape");
    assert_eq!(d.span, 29..31);
    err(&cond("{a}"), "must enclose a system property");
    err(&cond("{$a"), "expected `}`");
    err(&cond("a = 'x' AND"), "expected an expression");
    err(
        &cond("a = 'x' AND INTO"),
        "expected an expression, found `INTO`",
    );
    err(&cond("from = 'x'"), "expected an expression, found `from`");
    // An unclosed comment lexes as `/` and `*`.
    let d = err(&cond("a = 'x' /* note"), "found `*`");
    assert!(d.suggestion.unwrap().contains("*/"));
}

#[test]
fn comment_that_swallows_the_rest_of_the_source() {
    // `/*` in the source starts a comment when a `*/` follows: edgeHub then sees
    // `FROM /messages INTO $upstream` and the condition silently disappears.
    let route = "FROM /messages/* WHERE a = 'b' /* note */ INTO $upstream";
    let r = ok(route);
    assert_eq!(r.source.path, "/messages");
    assert!(r.condition.is_none());
    let d = warn(route, "starts a comment that runs to the `*/` at char 39");
    assert_eq!(d.span, 14..41);
}

// ---------------------------------------------------------------- expressions

#[test]
fn precedence_and_associativity() {
    assert_eq!(shape_of("1 + 2 * 3 = 7"), "((1 + (2 * 3)) = 7)");
    assert_eq!(shape_of("1 - 2 - 3 = 0"), "(((1 - 2) - 3) = 0)");
    assert_eq!(shape_of("8 / 4 % 3 = 2"), "(((8 / 4) % 3) = 2)");
    assert_eq!(shape_of("'a' || 'b' = 'ab'"), "(('a' || 'b') = 'ab')");
    assert_eq!(shape_of("1 < 2 = true"), "((1 < 2) = true)");
    assert_eq!(shape_of("1 <= 2 <> false"), "((1 <= 2) != false)");
    assert_eq!(
        shape_of("a = 'x' OR b = 'y' AND c = 'z'"),
        "((a = 'x') OR ((b = 'y') AND (c = 'z')))"
    );
    assert_eq!(
        shape_of("a = 'x' and b = 'y' or c = 'z'"),
        "(((a = 'x') AND (b = 'y')) OR (c = 'z'))"
    );
    assert_eq!(shape_of("$body.a ?? b = 'x'"), "($body.a ?? (b = 'x'))");
    assert_eq!(shape_of("(a ?? b) = 'x'"), "((a ?? b) = 'x')");
    assert_eq!(
        shape_of("$body.a ?? $body.b ?? 3 > 2"),
        "(($body.a ?? $body.b) ?? (3 > 2))"
    );
    assert_eq!(shape_of("- 2 * 3 = -6"), "(((-2) * 3) = -6)");
    assert_eq!(shape_of("-(2 + 3) = -5"), "((-(2 + 3)) = -5)");
    assert_eq!(shape_of("NOT NOT true"), "(NOT (NOT true))");
    assert_eq!(shape_of("NOT true AND false"), "((NOT true) AND false)");
    assert_eq!(shape_of("(1 + 2) * 3 = 9"), "(((1 + 2) * 3) = 9)");
}

#[test]
fn literals() {
    assert_eq!(shape_of("true = true"), "(true = true)");
    assert_eq!(shape_of("null = null"), "(null = null)");
    assert_eq!(shape_of("undefined = undefined"), "(undefined = undefined)");
    assert_eq!(
        shape_of(r#""it's" = 'say "hi"'"#),
        r#"('it's' = 'say "hi"')"#
    );
    assert_eq!(shape_of(r#"'\u00e9\\\'' = "é\\'""#), r"('é\'' = 'é\'')");
    assert_eq!(shape_of("0x1F = 31"), "(31 = 31)");
    assert_eq!(shape_of("1.5e3 = 1500"), "(1500 = 1500)");
    assert_eq!(shape_of(".5 = -.5"), "(0.5 = -0.5)");
    // `TRUE` is a property name: literals are lower case only.
    assert_eq!(shape_of("TRUE = 'x'"), "(TRUE = 'x')");
}

#[test]
fn properties() {
    assert_eq!(shape_of("alert = 'true'"), "(alert = 'true')");
    assert_eq!(
        shape_of("$connectionDeviceId = 'd'"),
        "($connectionDeviceId = 'd')"
    );
    assert_eq!(
        shape_of("{$contentType} = 'application/json'"),
        "({$contentType} = 'application/json')"
    );
    assert_eq!(shape_of("{ $contentType } = 'x'"), "({$contentType} = 'x')");
    assert_eq!(shape_of("$body.a.b[0] > 3"), "($body.a.b[0] > 3)");
    assert_eq!(shape_of("$BODY.x = 3"), "($BODY.x = 3)");
    warn(
        &cond("$connectedModuleInstanceId = 'x'"),
        "not a system property edgeHub sets",
    );
    warn(&cond("{$foo} = 'x'"), "always undefined");
    warn(&cond("$body = 'x'"), "`$body` alone is not a body query");
    warn(
        &cond("$messageId[0] = 'x'"),
        "only `$body` paths can be indexed",
    );
    for bad in [
        "$body.",
        "$body.a..b",
        "$body.a[x]",
        "$body.a[0][1]",
        "$body.[0]",
        "$body.a]",
    ] {
        err(&cond(&format!("{bad} = 3")), "invalid $body query");
    }
    no_warnings(&cond(
        "$messageId = 'a' AND $CONTENTTYPE = 'b' AND $outputName = 'c' AND $body.x[12].y = 3",
    ));
}

#[test]
fn functions() {
    assert_eq!(
        shape_of("IS_DEFINED ($connectionModuleId)"),
        "IS_DEFINED($connectionModuleId)"
    );
    for c in [
        "abs(-1) = 1",
        "exp(0) = 1",
        "power(2, 3) = 8",
        "square(2) = 4",
        "ceiling(1.5) = 2",
        "floor(1.5) = 1",
        "sign(-2) = -1",
        "sqrt(4) = 2",
        "as_number(a) = 3",
        "as_number(3) = 3",
        "is_bool(a)",
        "is_defined(a)",
        "is_null(a)",
        "is_null(null)",
        "is_null($body.x)",
        "is_number(3)",
        "is_string(a)",
        "concat(a, 'b') = 'x'",
        "concat(a, 'b', $body.c, 'd') = 'x'",
        "length(a) = 3",
        "lower(a) = 'x'",
        "upper(a) = 'X'",
        "substring(a, 1) = 'x'",
        "substring(a, 1, 2) = 'x'",
        "index_of(a, 'x') = 1",
        "starts_with(a, 'x')",
        "ends_with(a, 'x')",
        "contains(a, 'x')",
        "abs($body.x) > 3",
        "LoWeR($body.name) = 'x'",
    ] {
        ok(&cond(c));
    }
    let d = err(&cond("is_definde(a)"), "unknown function `is_definde`");
    assert_eq!(d.span, 23..33);
    assert_eq!(d.suggestion.as_deref(), Some("did you mean `is_defined`?"));
    let d = err(&cond("isdefined(a)"), "unknown function");
    assert_eq!(d.suggestion.as_deref(), Some("did you mean `is_defined`?"));
    err(&cond("is_array(a)"), "unknown function");
    err(
        &cond("substring(a) = 'x'"),
        "takes 2 or 3 argument(s), got 1",
    );
    err(
        &cond("concat('a') = 'x'"),
        "takes at least 2 argument(s), got 1",
    );
    err(&cond("power(2) = 4"), "takes 2 argument(s)");
    err(&cond("is_defined()"), "takes 1 argument(s), got 0");
    let d = err(
        &cond("abs(a) = 1"),
        "invalid arguments to `abs`: abs(string)",
    );
    assert!(d.suggestion.unwrap().contains("as_number"));
    err(&cond("lower(3) = 'x'"), "invalid arguments to `lower`");
    err(&cond("substring(a, 'b') = 'x'"), "invalid arguments");
}

#[test]
fn twin_change_includes() {
    ok(
        "FROM /twinChangeNotifications WHERE twin_change_includes(properties.desired.x) INTO $upstream",
    );
    ok("FROM /twinChangeNotifications WHERE TWIN_CHANGE_INCLUDES(tags.a.b) INTO $upstream");
    err(
        "FROM /messages/* WHERE twin_change_includes(properties.desired.x) INTO $upstream",
        "only works in routes FROM /twinChangeNotifications",
    );
    err(
        "FROM /twinChangeNotifications WHERE twin_change_includes(foo.x) INTO $upstream",
        "must start with",
    );
    err(
        "FROM /twinChangeNotifications WHERE twin_change_includes() INTO $upstream",
        "needs a twin path",
    );
}

#[test]
fn static_types_like_edgehub() {
    // Properties are strings: comparing them with numbers is rejected when the configuration
    // loads, not at run time.
    let d = err(
        &cond("temperature > 30"),
        "invalid operands to `>`: have string and number",
    );
    assert_eq!(d.span, 35..36);
    assert!(d.suggestion.unwrap().contains("as_number(temperature)"));
    ok(&cond("as_number(temperature) > 30"));
    ok(&cond("temperature > '30'"));
    ok(&cond("$body.temperature > 30"));
    err(&cond("alert AND true"), "invalid operands to `AND`");
    err(&cond("'a' + 'b' = 'ab'"), "invalid operands to `+`");
    err(&cond("true || false"), "invalid operands to `||`");
    err(&cond("a = null"), "invalid operands to `=`");
    err(&cond("a = undefined"), "invalid operands to `=`");
    err(&cond("- a = 'x'"), "invalid operand to unary `-`");
    err(&cond("NOT 3"), "invalid operand to unary `NOT`");
    err(&cond("(a ?? 3) = 3"), "invalid operands to `??`");
    // A condition that is not a bool compiles but never routes.
    warn(&cond("a"), "the condition has type string");
    warn(&cond("3"), "the condition has type number");
    warn(&cond("null"), "the condition has type null");
    warn(&cond("$body.t!=5"), "reads as the name `$body.t!`");
    no_warnings(&cond("$body.flag"));
}

#[test]
fn placeholders() {
    let opts = Options { placeholders: true };
    let route = r#"FROM /messages/modules/<MODULE_NAME>/outputs/* WHERE $body.t > <THRESHOLD> INTO BrokeredEndpoint("/modules/<TARGET>/inputs/in")"#;
    let p = parse_with(route, opts);
    assert!(p.route.is_some(), "{:#?}", p.diagnostics);
    let names: Vec<&str> = p.placeholders.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["<MODULE_NAME>", "<THRESHOLD>", "<TARGET>"]);
    assert_eq!(p.placeholders[0].span, 23..36);
    let at = p.placeholders[2].span.clone();
    assert_eq!(
        route
            .chars()
            .skip(at.start)
            .take(at.len())
            .collect::<String>(),
        "<TARGET>"
    );
    // A placeholder may stand for several address segments or for the whole sink.
    assert!(
        parse_with(
            r#"FROM /messages/* INTO BrokeredEndpoint("<TARGET_INPUT>")"#,
            opts
        )
        .route
        .is_some()
    );
    assert!(
        parse_with("FROM /messages/* INTO <SINK>", opts)
            .route
            .is_some()
    );
    // Without the option they are what edgeHub sees: `<`, a name, `>`.
    assert!(parse(route).route.is_none());
    // Lower-case angle brackets are not placeholders.
    assert!(
        parse_with("FROM /messages/modules/<module>/* INTO $upstream", opts)
            .route
            .is_none()
    );
}

#[test]
fn diagnostics_use_character_offsets() {
    let route = "FROM /messages/modules/températüre/* WHERE ünïcödé = 'ü' AND x = 3 INTO $upstream";
    let d = err(route, "invalid operands to `=`");
    let at: String = route.chars().skip(d.span.start).take(1).collect();
    assert_eq!(at, "=");
    assert_eq!(d.span.start, 63);
    let r = d.render(route);
    let caret_line = r.lines().nth(2).unwrap();
    assert_eq!(
        caret_line.find('^').unwrap() - 3,
        route[..route.char_indices().nth(63).unwrap().0]
            .chars()
            .count()
    );
}

// ---------------------------------------------------------------- evaluation

/// The message of edgeHub's ConditionCompilerTest.
fn edgehub_message() -> Message {
    Message::from_json(
        r#"{
            "properties": { "key1": "value1", "key2": "3", "key3": "VALUE3", "null_value": null, "$sys4": "value4" },
            "systemProperties": { "sys1": "sysvalue1", "sys2": "4", "sys3": "SYSVALUE3", "sysnull": null, "sys4": "sysvalue4" }
        }"#,
    )
    .unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum B {
    T,
    F,
    U,
}

/// edgeHub's final conversion to its `Bool`: null is false, non-bools undefined.
fn as_bool(v: &Value) -> B {
    match v {
        Value::Bool(true) => B::T,
        Value::Bool(false) | Value::Null => B::F,
        _ => B::U,
    }
}

#[test]
fn edgehub_condition_vectors_evaluate_the_same() {
    use B::*;
    let m = edgehub_message();
    let cases: &[(&str, B)] = &[
        ("3", U),
        ("'a string'", U),
        ("3 = 3", T),
        ("3 = 4", F),
        ("'3' = '3'", T),
        ("true = false", F),
        ("key2 = \"3\"", T),
        ("as_number(key2) = 3", T),
        ("is_defined(none = \"4\")", F),
        ("as_number(none) = 3", U),
        ("$sys2 = '4'", T),
        ("as_number($sys2) = 4", T),
        ("is_defined($none)", F),
        ("3 <> 4", T),
        ("none != \"4\"", U),
        ("not (true and false)", T),
        ("true AND not true", F),
        ("undefined or false", U),
        ("undefined or true", T),
        ("false and undefined", F),
        ("true and undefined", U),
        ("undefined < undefined", U),
        ("false or none = 'true'", U),
        ("none = 'true' and false", F),
        ("not (none = 'true')", U),
        ("undefined ?? undefined", U),
        ("(key1 ?? \"hello\") = \"value1\"", T),
        ("(none ?? none ?? \"hello\") = \"hello\"", T),
        ("(as_number(key1) ?? 12.34) = 12.34", T),
        ("(3 % 0 ?? 12.34) = 12.34", T),
        ("(none ?? none) = \"value\"", U),
        ("null and null", F),
        ("(null and null) = null", T),
        ("(null and false) = null", T),
        ("(null and true) = null", T),
        ("null or true", T),
        ("null or false", F),
        ("(null or null) = null", T),
        ("null", F),
        ("not null", T),
        ("3 + 4 = 7", T),
        ("(3 + as_number(key2)) = 6", T),
        ("is_defined(3 + as_number(key1))", F),
        ("3 - 4 = -1", T),
        ("3 / 4 = 0.75", T),
        ("is_defined(3 % 0)", F),
        ("-1 < 0", T),
        ("-(3 + 4) = -7", T),
        ("is_defined(-undefined)", F),
        ("3 + 4 < 7", F),
        ("'a' < 'b'", T),
        ("'a' <= none", U),
        ("'b' >= 'a'", T),
        ("KEY1 = \"value1\"", T),
        ("key1 = \"value2\" or key1 = \"value1\"", T),
        ("$sys4 = \"value4\"", T),
        ("{$sys4} = \"sysvalue4\"", T),
        ("{ $sys1 } = \"sysvalue1\"", T),
        ("AS_NUMBER('10e10') = 10e10", T),
        ("AS_NUMBER('10e1000') = 1/0", T),
        ("AS_NUMBER('10000000000000000000000000') = 1e25", T),
        ("as_number(key3) * 3 = 9", U),
        ("as_number(as_number(4)) * 3 = 12", T),
        ("is_bool(false)", T),
        ("is_bool(key1)", F),
        ("is_defined(null_value)", T),
        ("is_defined(null)", T),
        ("is_defined(10e1000)", T),
        ("is_null(3 / 0)", F),
        ("is_null(null_value)", T),
        ("is_null(none)", F),
        ("is_number(3 / 0)", F),
        ("is_number(as_number(key2))", T),
        ("is_string(key1)", T),
        ("is_string(null_value)", F),
        ("is_string('a' || 'b')", T),
        ("concat('a', key1, 'd') = 'avalue1d'", T),
        ("is_defined(concat('a', none, 'd'))", F),
        ("'a' || null_value || 'd' = 'ad'", T),
        ("concat('a', null_value, 'd') = 'ad'", T),
        ("length(key3) = 6", T),
        ("is_defined(length(null_value))", F),
        ("upper(key1) = 'VALUE1'", T),
        ("substring('abc', 1) = 'bc'", T),
        ("SUBSTRING('abc', 3) = 'c'", F),
        ("SUBSTRING('abc', 4) = 'c'", U),
        ("substring('abc', -1) = ''", U),
        ("substring('abc', 1, 0) = ''", T),
        ("substring('abc', 1, -2) = ''", U),
        ("substring('hello', 4, 1) = 'o'", T),
        ("substring(null_value, 1) = 'a'", U),
        ("index_of('abcdef', 'cd') = 2", T),
        ("index_of('abc', 'xz') = -1", T),
        ("index_of('lue1value1', key1) = 4", T),
        ("index_of(null_value, '1') = 0", U),
        ("STARTS_WITH(key1, 'val')", T),
        ("ends_with('abc', key1)", F),
        ("contains(none, '1')", U),
        ("abs(-12) = 12", T),
        ("is_defined(abs(3 / 0))", T),
        ("abs(exp(1) - 2.718281) < 1e-6", T),
        ("exp(4000) = 3/0", T),
        ("POWER(10, 4000) = 3/0", T),
        ("ceiling(-2.1) = -2", T),
        ("floor(-2.1) = -3", T),
        ("sign(-3 / 0) = -1", T),
        ("SQRT(-4) = -2", U),
    ];
    for (c, want) in cases {
        let route = cond(c);
        let r = ok(&route);
        let e = evaluate(&r, &m);
        let got = as_bool(e.condition.as_ref().unwrap());
        assert_eq!(got, *want, "{c}: {:?}", e.condition);
        assert_eq!(e.routed, *want == T, "{c}");
    }
}

#[test]
fn edgehub_compilation_failures_are_errors() {
    for c in [
        "is_defined(3 + none)",
        "is_defined(3 + null_value)",
        "is_defined(true + 3)",
        "is_defined(3 + undefined)",
        "is_defined('a' + 'b')",
        "is_defined(undefined - undefined)",
        "is_defined(3 * true)",
        "is_defined('a' / 'b')",
        "is_defined(undefined % 3)",
        "is_defined(3 = none)",
        "is_defined(3 <> null_value)",
        "is_defined(3 <= none.key1.key2)",
        "key1 ?? \"hello\" = \"value1\"",
        "(key1 ?? 12.34)",
        "(12.34 ?? key1)",
        "(as_number(key2) ?? key1)",
        "(key1 ?? null)",
        "(null && key1)",
        "(key1 ?? true)",
        "concat() = 'avalue1d'",
        "concat(3) = 'avalue1d'",
        "concat('a', null) = 'avalue1d'",
        "concat('a', undefined) = 'avalue1d'",
        "'a' || true = 'avalue1d'",
        "length(undefined) = 'value1'",
        "lower(false) = 'value1'",
        "upper(null) = 'hello'",
        "substring('hello', 'a', 'b') = 'hello'",
        "substring(12.34) = 'hello'",
        "index_of('hello', 12.34)",
        "starts_with(undefined, 'hello')",
        "ends_with('hello', 'a', 'b')",
        "contains(true, true)",
        "is_defined(abs(key1))",
        "is_defined(exp(3, 4))",
        "is_defined(power(2, key1))",
        "is_defined(square(null))",
        "is_defined(ceiling(true))",
        "is_defined(floor(undefined))",
        "is_defined(sign(false))",
        "is_defined(sqrt(3, 3))",
        "test == true",
        "true == test",
        "none = \"",
        "none and true",
        "undefined and \"hello\"",
        "none or true",
        "- (key1)",
        "is_defined(not key1)",
    ] {
        let p = parse(&cond(c));
        assert!(
            p.route.is_none() && p.errors().count() > 0,
            "{c} was accepted: {:#?}",
            p.diagnostics
        );
    }
}

#[test]
fn evaluation_of_sources_bodies_and_system_properties() {
    let r = ok(
        "FROM /messages/modules/tempFilter/outputs/* WHERE $body.machine.temperature > 30 INTO $upstream",
    );
    let mut m = Message::from_json(
        r#"{"source": "/messages/modules/TempFilter/outputs/out1",
            "systemProperties": {"contentType": "application/json", "contentEncoding": "UTF-8"},
            "body": {"machine": {"temperature": 35.5}}}"#,
    )
    .unwrap();
    let e = evaluate(&r, &m);
    assert!(e.routed, "{e:?}");
    assert_eq!(e.source, SourceMatch::Matches);
    assert_eq!(e.steps[0].value, Value::Num(35.5));
    assert_eq!(e.steps[0].text, "$body.machine.temperature");
    // Another module: the source does not match.
    m.source = Some("/messages/modules/tempFilter2/outputs/out1".into());
    assert_eq!(evaluate(&r, &m).source, SourceMatch::DoesNotMatch);
    assert!(!evaluate(&r, &m).routed);
    // No content type: body queries are undefined.
    m.source = None;
    m.system_properties.clear();
    let e = evaluate(&r, &m);
    assert_eq!(e.source, SourceMatch::NotGiven);
    assert!(!e.routed);
    assert_eq!(e.condition, Some(Value::Undefined));
    assert!(
        e.steps[0]
            .note
            .as_deref()
            .unwrap()
            .contains("application/json")
    );
    let text = e.explain(&r, &m).join("\n");
    assert!(text.contains("undefined, which does not route"), "{text}");

    // Absent body paths are null; arrays index; objects are undefined.
    let m = Message::from_json(
        r#"{"systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
            "body": {"a": [1, {"b": "x"}], "o": {}}}"#,
    )
    .unwrap();
    for (c, want) in [
        ("$body.a[0] = 1", Value::Bool(true)),
        ("$body.a[1].b = 'x'", Value::Bool(true)),
        ("is_null($body.missing)", Value::Bool(true)),
        ("is_defined($body.o)", Value::Bool(false)),
        ("$body.a[5] = 1", Value::Undefined),
        ("is_string($body.a[1].b)", Value::Bool(true)),
    ] {
        assert_eq!(evaluate(&ok(&cond(c)), &m).condition, Some(want), "{c}");
    }

    // connectionModuleId and outputName come from a module source when not given.
    let r = ok("FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO $upstream");
    let leaf = Message::from_json(r#"{"source": "/messages/events"}"#).unwrap();
    assert!(evaluate(&r, &leaf).routed);
    let module = Message::from_json(r#"{"source": "/messages/modules/m/outputs/o"}"#).unwrap();
    assert!(!evaluate(&r, &module).routed);
    let r = ok("FROM /messages/* WHERE $outputName = 'o' INTO $upstream");
    assert!(evaluate(&r, &module).routed);

    // No condition: the source decides.
    let r = ok("FROM /messages/modules/m/* INTO $upstream");
    assert!(evaluate(&r, &module).routed);
    assert!(!evaluate(&r, &leaf).routed);
}

#[test]
fn source_matching() {
    for (route, msg, want) in [
        ("/*", "/messages/modules/a/outputs/b", true),
        ("/*", "/twinChangeNotifications", true),
        ("/messages/*", "/messages/events", true),
        (
            "/messages/modules/a/*",
            "/messages/modules/a/outputs/b",
            true,
        ),
        (
            "/messages/modules/a/*",
            "/messages/modules/ab/outputs/b",
            false,
        ),
        (
            "/messages/modules/A/outputs/B",
            "/messages/modules/a/outputs/b/",
            true,
        ),
        (
            "/messages/modules/a/outputs/b",
            "/messages/modules/a/outputs/bc",
            false,
        ),
        ("/twinChangeNotifications", "/messages/events", false),
    ] {
        assert_eq!(source_matches(route, msg), want, "{route} vs {msg}");
    }
}

#[test]
fn twin_change_evaluation() {
    let r = ok(
        "FROM /twinChangeNotifications WHERE twin_change_includes(properties.desired.threshold) INTO $upstream",
    );
    let m = Message::from_json(
        r#"{"source": "/twinChangeNotifications",
            "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
            "body": {"properties": {"desired": {"threshold": 4}}}}"#,
    )
    .unwrap();
    assert!(evaluate(&r, &m).routed);
    let r = ok(
        "FROM /twinChangeNotifications WHERE twin_change_includes(properties.desired.other) INTO $upstream",
    );
    assert_eq!(evaluate(&r, &m).condition, Some(Value::Bool(false)));
}

#[test]
fn messages_from_json() {
    let m = Message::from_json(r#"{"appProperties": {"n": 3, "b": true, "z": null}}"#).unwrap();
    assert_eq!(m.properties["n"].as_deref(), Some("3"));
    assert_eq!(m.properties["b"].as_deref(), Some("true"));
    assert_eq!(m.properties["z"], None);
    assert!(Message::from_json(r#"{"props": {}}"#).is_err());
    assert!(Message::from_json(r#"{"properties": {"a": [1]}}"#).is_err());
    assert_eq!(Message::from_json("{}").unwrap(), Message::default());
}

//! Evaluating a parsed route against one message, with edgeHub's semantics: a message is routed
//! only when its source matches and the condition is the bool `true`; `undefined`, `null`,
//! `false` and anything that is not a bool do not route. Bare names read application
//! properties, `$name` an application property of that name if present else the system
//! property, `{$name}` only the system property, `$body.path` the JSON body (only with
//! `contentType` `application/json` and `contentEncoding` utf-8/16/32). Property names match
//! case-insensitively; string comparisons are ordinal. Every lookup and function result is
//! recorded as a `Step`, so a caller can explain the decision.
//!
//! A message is given as JSON (see `Message`). Nothing here does I/O.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

use super::ast::*;
use super::builtins::{self, TWIN_CHANGE_INCLUDES};
use super::check::{body_path, is_body_query};

/// A message to test a route with. As JSON:
///
/// ```json
/// {
///   "source": "/messages/modules/tempfilter/outputs/out1",
///   "properties": { "alert": "true" },
///   "systemProperties": { "contentType": "application/json", "contentEncoding": "utf-8" },
///   "body": { "temperature": 35.2 }
/// }
/// ```
///
/// Every member is optional. Property values are strings on the wire: numbers and bools given
/// here are turned into their text, `null` is a property whose value is null. `body` is the
/// message body as JSON; edgeHub only queries bodies that are JSON objects. When `source` is a
/// module output and `connectionModuleId` / `outputName` are not given, they are derived from it
/// (edgeHub sets them for module messages).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Message {
    #[serde(default, alias = "appProperties", deserialize_with = "props")]
    pub properties: BTreeMap<String, Option<String>>,
    #[serde(default, deserialize_with = "props")]
    pub system_properties: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    #[serde(default)]
    pub source: Option<String>,
}

fn props<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Option<String>>, D::Error> {
    let raw: BTreeMap<String, serde_json::Value> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => {
                    return Err(serde::de::Error::custom(format!(
                        "property {k:?}: values are strings (or numbers, bools, null)"
                    )));
                }
            };
            Ok((k, v))
        })
        .collect()
}

impl Message {
    /// Parses a message from JSON; errors name the line and column.
    pub fn from_json(text: &str) -> Result<Message, serde_json::Error> {
        serde_json::from_str(text)
    }

    fn lookup(map: &BTreeMap<String, Option<String>>, name: &str) -> Option<Value> {
        let lower = name.to_lowercase();
        map.iter()
            .find(|(k, _)| k.to_lowercase() == lower)
            .map(|(_, v)| match v {
                Some(s) => Value::Str(s.clone()),
                None => Value::NullString,
            })
    }
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Undefined,
    Null,
    /// A property whose value is null: `is_null` is true, `||` reads it as empty.
    NullString,
    Bool(bool),
    /// Never NaN: NaN is undefined.
    Num(f64),
    Str(String),
}

impl Value {
    /// A number; NaN (e.g. `3 % 0`, `sqrt(-1)`) is undefined, as in edgeHub.
    pub fn num(x: f64) -> Value {
        if x.is_nan() {
            Value::Undefined
        } else {
            Value::Num(x)
        }
    }

    fn tri(&self) -> Tri {
        match self {
            Value::Bool(true) => Tri::True,
            Value::Bool(false) => Tri::False,
            Value::Null => Tri::Null,
            _ => Tri::Undefined,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undefined => f.write_str("undefined"),
            Value::Null | Value::NullString => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Value::Num(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// edgeHub's three-valued `Bool` plus its `Null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Undefined,
    Null,
}

impl Tri {
    fn value(self) -> Value {
        match self {
            Tri::True => Value::Bool(true),
            Tri::False => Value::Bool(false),
            Tri::Undefined => Value::Undefined,
            Tri::Null => Value::Null,
        }
    }
}

/// One lookup or function result met while evaluating.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The expression as written in the route.
    pub text: String,
    pub span: Span,
    pub value: Value,
    /// Why the value is what it is, when that is not obvious.
    pub note: Option<String>,
}

/// Whether the message's source matches the route's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMatch {
    Matches,
    DoesNotMatch,
    /// The message names no source: only the condition was evaluated.
    NotGiven,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub routed: bool,
    pub source: SourceMatch,
    /// The condition's value; `None` when the route has no WHERE.
    pub condition: Option<Value>,
    pub steps: Vec<Step>,
}

impl Evaluation {
    /// Why the message is or is not routed, one reason a line.
    pub fn explain(&self, route: &Route, message: &Message) -> Vec<String> {
        let mut out = Vec::new();
        let msg_source = message.source.as_deref().unwrap_or("");
        match self.source {
            SourceMatch::Matches => out.push(format!(
                "source: `{msg_source}` matches `{}`",
                route.source.path
            )),
            SourceMatch::DoesNotMatch => out.push(format!(
                "source: `{msg_source}` does not match `{}`",
                route.source.path
            )),
            SourceMatch::NotGiven => out.push(format!(
                "source: the message gives none, so only the condition was evaluated (the route takes `{}`)",
                route.source.path
            )),
        }
        match &self.condition {
            None => out.push("condition: none (every message from the source is routed)".into()),
            Some(v) => {
                let meaning = match v {
                    Value::Bool(true) => "true, so it routes".to_owned(),
                    Value::Bool(false) => "false, so it does not route".to_owned(),
                    Value::Null | Value::Undefined => format!("{v}, which does not route"),
                    _ => format!("{v}, not a bool, which does not route"),
                };
                out.push(format!("condition: {meaning}"));
            }
        }
        for s in &self.steps {
            let mut line = format!("  {} = {}", s.text, s.value);
            if let Some(n) = &s.note {
                line.push_str(&format!(" ({n})"));
            }
            out.push(line);
        }
        out
    }
}

/// Evaluates `route` for `message`.
pub fn evaluate(route: &Route, message: &Message) -> Evaluation {
    let source = match message.source.as_deref() {
        None => SourceMatch::NotGiven,
        Some(s) if source_matches(&route.source.path, s) => SourceMatch::Matches,
        Some(_) => SourceMatch::DoesNotMatch,
    };
    let mut ev = Evaluator {
        text: route.text.chars().collect(),
        message,
        system: system_properties(message),
        steps: Vec::new(),
    };
    let condition = route.condition.as_ref().map(|c| ev.eval(c));
    let routed = source != SourceMatch::DoesNotMatch
        && condition.as_ref().is_none_or(|v| *v == Value::Bool(true));
    Evaluation {
        routed,
        source,
        condition,
        steps: ev.steps,
    }
}

/// edgeHub's source match: both paths lose trailing `*` and `/`, get one `/` back, and the
/// message's must start with the route's, ignoring case.
pub fn source_matches(route_path: &str, message_source: &str) -> bool {
    let norm = |s: &str| format!("{}/", s.trim().trim_end_matches(['*', '/'])).to_lowercase();
    norm(message_source).starts_with(&norm(route_path))
}

/// The message's system properties plus `connectionModuleId` and `outputName` derived from a
/// module output source when absent.
fn system_properties(m: &Message) -> BTreeMap<String, Option<String>> {
    let mut sys = m.system_properties.clone();
    let segs: Vec<&str> = m
        .source
        .as_deref()
        .unwrap_or("")
        .trim_matches('/')
        .split('/')
        .collect();
    if segs.len() == 5
        && segs[0].eq_ignore_ascii_case("messages")
        && segs[1].eq_ignore_ascii_case("modules")
        && segs[3].eq_ignore_ascii_case("outputs")
    {
        for (k, v) in [("connectionModuleId", segs[2]), ("outputName", segs[4])] {
            if Message::lookup(&sys, k).is_none() {
                sys.insert(k.to_owned(), Some(v.to_owned()));
            }
        }
    }
    sys
}

struct Evaluator<'a> {
    text: Vec<char>,
    message: &'a Message,
    system: BTreeMap<String, Option<String>>,
    steps: Vec<Step>,
}

impl Evaluator<'_> {
    fn step(&mut self, span: &Span, value: &Value, note: Option<String>) {
        self.steps.push(Step {
            text: self
                .text
                .get(span.clone())
                .map(|c| c.iter().collect())
                .unwrap_or_default(),
            span: span.clone(),
            value: value.clone(),
            note,
        });
    }

    fn eval(&mut self, e: &Expr) -> Value {
        match &e.kind {
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::Num(Some(x)) => Value::num(*x),
            ExprKind::Num(None) | ExprKind::Undefined => Value::Undefined,
            ExprKind::Null => Value::Null,
            ExprKind::Placeholder(p) => {
                let v = Value::Undefined;
                self.step(&e.span, &v, Some(format!("{p} needs customer input")));
                v
            }
            ExprKind::Property(name) => {
                let (v, note) = match Message::lookup(&self.message.properties, name) {
                    Some(v) => (v, None),
                    None => (
                        Value::Undefined,
                        Some("no such application property".into()),
                    ),
                };
                self.step(&e.span, &v, note);
                v
            }
            ExprKind::SysProp(name) => {
                let app = if name.contains(['[', ']']) {
                    None
                } else {
                    Message::lookup(&self.message.properties, name)
                };
                let (v, note) = match app {
                    Some(v) => (
                        v,
                        Some(format!("application property `{name}` takes precedence")),
                    ),
                    None => self.system_or_body(name),
                };
                self.step(&e.span, &v, note);
                v
            }
            ExprKind::SysPropEscaped(name) => {
                let (v, note) = self.system_or_body(name);
                self.step(&e.span, &v, note);
                v
            }
            ExprKind::Unary(UnaryOp::Neg, x) => match self.eval(x) {
                Value::Num(n) => Value::num(-n),
                _ => Value::Undefined,
            },
            ExprKind::Unary(UnaryOp::Not, x) => match self.eval(x).tri() {
                Tri::True => Tri::False,
                Tri::False | Tri::Null => Tri::True,
                Tri::Undefined => Tri::Undefined,
            }
            .value(),
            ExprKind::Binary(..) => self.chain(e),
            ExprKind::Call(c) => {
                let v = self.call(c);
                self.step(&e.span, &v, None);
                v
            }
        }
    }

    fn system_or_body(&self, name: &str) -> (Value, Option<String>) {
        if is_body_query(name) {
            return self.body(&name[6..]);
        }
        if name.contains(['[', ']']) {
            return (
                Value::Undefined,
                Some("only $body paths can be indexed".into()),
            );
        }
        match Message::lookup(&self.system, &name[1..]) {
            Some(v) => (v, None),
            None => (Value::Undefined, Some("no such system property".into())),
        }
    }

    /// A body query: a leaf value, `null` for a path that is absent, undefined for objects,
    /// arrays and unreadable bodies.
    fn body(&self, path: &str) -> (Value, Option<String>) {
        let undefined = |why: &str| (Value::Undefined, Some(why.to_owned()));
        match Message::lookup(&self.system, "contentType") {
            Some(Value::Str(ct)) if ct.trim().eq_ignore_ascii_case("application/json") => {}
            _ => {
                return undefined(
                    "body queries need the system property contentType = application/json",
                );
            }
        }
        match Message::lookup(&self.system, "contentEncoding") {
            Some(Value::Str(enc))
                if ["utf-8", "utf-16", "utf-32"]
                    .iter()
                    .any(|e| enc.trim().eq_ignore_ascii_case(e)) => {}
            _ => {
                return undefined(
                    "body queries need the system property contentEncoding = utf-8, utf-16 or utf-32",
                );
            }
        }
        let Some(body @ serde_json::Value::Object(_)) = &self.message.body else {
            return undefined("the body is not a JSON object");
        };
        let Ok(segments) = body_path(path) else {
            return undefined("invalid body path");
        };
        match walk(body, &segments) {
            None => (
                Value::Null,
                Some("absent from the body: edgeHub reads it as null".into()),
            ),
            Some(serde_json::Value::Object(_) | serde_json::Value::Array(_)) => {
                undefined("an object or array, not a value")
            }
            Some(serde_json::Value::Null) => (Value::Null, None),
            Some(serde_json::Value::Bool(b)) => (Value::Bool(*b), None),
            Some(serde_json::Value::Number(n)) => {
                (n.as_f64().map_or(Value::Undefined, Value::num), None)
            }
            Some(serde_json::Value::String(s)) => (Value::Str(s.clone()), None),
        }
    }

    /// A chain `a OR b OR c …` is a left-deep tree as deep as it is long: its left spine is
    /// walked by a loop (left operand first, as the recursive order), so only nesting, which the
    /// parser bounds, costs stack.
    fn chain(&mut self, e: &Expr) -> Value {
        let mut spine = Vec::new();
        let mut cur = e;
        while let ExprKind::Binary(op, _, l, r) = &cur.kind {
            spine.push((*op, r.as_ref()));
            cur = l.as_ref();
        }
        let mut acc = self.eval(cur);
        for (op, r) in spine.into_iter().rev() {
            let b = self.eval(r);
            acc = binary(op, acc, b);
        }
        acc
    }
}

fn binary(op: BinaryOp, a: Value, b: Value) -> Value {
    use BinaryOp::*;
    match op {
        Mul | Div | Mod | Add | Sub => match (a, b) {
            (Value::Num(x), Value::Num(y)) => Value::num(match op {
                Mul => x * y,
                Div => x / y,
                Mod => x % y,
                Add => x + y,
                _ => x - y,
            }),
            _ => Value::Undefined,
        },
        Concat => builtins::concat(&[a, b]),
        Lt | Le | Gt | Ge | Eq | Ne => compare(op, &a, &b),
        And => match (a.tri(), b.tri()) {
            (Tri::Null, _) | (_, Tri::Null) => Tri::Null,
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Undefined,
        }
        .value(),
        Or => match (a.tri(), b.tri()) {
            (Tri::Null, Tri::Null) => Tri::Null,
            (Tri::Null, x) | (x, Tri::Null) => x,
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Undefined,
        }
        .value(),
        Coalesce => {
            if a == Value::Undefined {
                b
            } else {
                a
            }
        }
    }
}

impl Evaluator<'_> {
    fn call(&mut self, c: &Call) -> Value {
        let Some(b) = builtins::find(&c.name) else {
            return Value::Undefined;
        };
        if b.name == TWIN_CHANGE_INCLUDES {
            return match self.body(&c.raw_args).0 {
                Value::Null => Value::Bool(false),
                Value::Undefined => Value::Undefined,
                _ => Value::Bool(true),
            };
        }
        let args: Vec<Value> = c.args.iter().map(|a| self.eval(a)).collect();
        let types: Vec<Ty> = c.args.iter().map(|a| a.ty).collect();
        (b.run)(&args, &types)
    }
}

fn walk<'v>(
    mut v: &'v serde_json::Value,
    segments: &[(String, Option<usize>)],
) -> Option<&'v serde_json::Value> {
    for (name, index) in segments {
        v = v.as_object()?.get(name)?;
        if let Some(i) = index {
            v = v.as_array()?.get(*i)?;
        }
    }
    Some(v)
}

/// Comparisons: the same runtime type or undefined; strings compare ordinally (UTF-16 code
/// units, like .NET), `null` only equals `null`.
fn compare(op: BinaryOp, a: &Value, b: &Value) -> Value {
    use BinaryOp::*;
    let ord = match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.encode_utf16().cmp(y.encode_utf16())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    };
    let Some(ord) = ord else {
        return Value::Undefined;
    };
    // edgeHub's Null: `null < null` is false but `null <= null` true, like equal numbers.
    Value::Bool(match op {
        Lt => ord == Ordering::Less,
        Le => ord != Ordering::Greater,
        Gt => ord == Ordering::Greater,
        Ge => ord != Ordering::Less,
        Eq => ord == Ordering::Equal,
        _ => ord != Ordering::Equal,
    })
}

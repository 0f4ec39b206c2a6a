//! The static checks edgeHub's route compiler makes when it loads a configuration, so that
//! what it would reject we reject too: operand and argument types (application and system
//! properties are strings, literals have their own type, `$body` values are dynamic), unknown
//! functions and wrong arities, `$body` paths, `twin_change_includes` outside twin change
//! routes. Also the warnings that need types: conditions that can never be true, system
//! properties edgeHub never sets.

use super::ast::*;
use super::builtins::{self, TWIN_CHANGE_INCLUDES};
use super::diagnostic::Diagnostic;

/// System properties edgeHub sets on messages (`$name` reads them).
pub const SYSTEM_PROPERTIES: &[&str] = &[
    "messageId",
    "enqueuedTime",
    "to",
    "correlationId",
    "userId",
    "ack",
    "connectionDeviceId",
    "connectionModuleId",
    "connectionDeviceGenerationId",
    "connectionAuthMethod",
    "contentType",
    "contentEncoding",
    "outputName",
    "inputName",
    "messageSchema",
    "creationTime",
    "componentName",
];

const BODY_PREFIX: &str = "$body.";

/// `$body.` (any case) starts a body query.
pub(crate) fn is_body_query(name: &str) -> bool {
    name.get(..BODY_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(BODY_PREFIX))
}

/// A `$body` path (edgeHub's JsonPath subset): `ident ( '[' digits ']' )? ( '.' ... )*`.
pub(crate) fn body_path(path: &str) -> Result<Vec<(String, Option<usize>)>, String> {
    if path.is_empty() {
        return Err("a $body query needs a path, e.g. `$body.temperature`".into());
    }
    let mut out = Vec::new();
    for seg in path.split('.') {
        let (name, index) = match seg.find('[') {
            Some(i) => {
                let inner = seg[i + 1..].strip_suffix(']').ok_or_else(|| {
                    format!("`{seg}`: an index is written `name[0]` and ends the segment")
                })?;
                let n: usize = inner
                    .parse()
                    .ok()
                    .filter(|_| inner.chars().all(|c| c.is_ascii_digit()))
                    .ok_or_else(|| format!("`{seg}`: an index must be a non-negative integer"))?;
                (&seg[..i], Some(n))
            }
            None => (seg, None),
        };
        if name.is_empty() {
            return Err(format!("empty field name in `{path}`"));
        }
        if name.contains(']') {
            return Err(format!("`{seg}`: unexpected `]`"));
        }
        out.push((name.to_owned(), index));
    }
    Ok(out)
}

pub(crate) struct Checker<'a> {
    pub diags: &'a mut Vec<Diagnostic>,
    pub source: SourceKind,
    pub text: &'a [char],
}

impl Checker<'_> {
    fn text(&self, s: &Span) -> String {
        self.text
            .get(s.clone())
            .map(|c| c.iter().collect())
            .unwrap_or_default()
    }

    /// Types the whole condition and judges its top-level type.
    pub fn condition(&mut self, e: &mut Expr) {
        let before = self.diags.len();
        self.expr(e);
        if self.diags[before..].iter().any(Diagnostic::is_error) {
            return;
        }
        match e.ty {
            Ty::Str | Ty::Num | Ty::Undefined | Ty::Null => self.diags.push(
                Diagnostic::warning(
                    format!(
                        "the condition has type {}, not bool: it is never true and the route never sends anything",
                        e.ty.name()
                    ),
                    e.span.clone(),
                )
                .suggest("compare it, e.g. `name = 'value'`, or test it with is_defined(name)"),
            ),
            Ty::Bool | Ty::Dynamic | Ty::Any => {}
        }
    }

    /// A chain of binary operators (`a OR b OR c …`, left-deep) is typed bottom-up by a loop
    /// over its left spine: only nesting, which the parser bounds, costs stack.
    fn chain(&mut self, e: &mut Expr) {
        let mut spine: Vec<Expr> = Vec::new();
        let mut cur = std::mem::replace(e, Expr::hole());
        while let ExprKind::Binary(_, _, l, _) = &mut cur.kind {
            let left = std::mem::replace(&mut **l, Expr::hole());
            spine.push(cur);
            cur = left;
        }
        self.expr(&mut cur);
        while let Some(mut node) = spine.pop() {
            if let ExprKind::Binary(op, op_span, l, r) = &mut node.kind {
                **l = cur;
                self.expr(r);
                let (op, op_span) = (*op, op_span.clone());
                node.ty = self.binary(op, &op_span, l, r);
            }
            cur = node;
        }
        *e = cur;
    }

    fn expr(&mut self, e: &mut Expr) {
        if matches!(e.kind, ExprKind::Binary(..)) {
            return self.chain(e);
        }
        let span = e.span.clone();
        e.ty = match &mut e.kind {
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Str(_) => Ty::Str,
            ExprKind::Num(Some(_)) => Ty::Num,
            ExprKind::Num(None) => Ty::Undefined,
            ExprKind::Null => Ty::Null,
            ExprKind::Undefined => Ty::Undefined,
            ExprKind::Property(_) => Ty::Str,
            ExprKind::Placeholder(_) => Ty::Any,
            ExprKind::SysProp(name) => {
                let name = name.clone();
                self.sys_prop(&name, &span, false)
            }
            ExprKind::SysPropEscaped(name) => {
                let name = name.clone();
                self.sys_prop(&name, &span, true)
            }
            ExprKind::Unary(op, operand) => {
                self.expr(operand);
                let op = *op;
                let t = operand.ty;
                self.unary(op, t, &span, operand)
            }
            ExprKind::Binary(..) => unreachable!("chains are typed by `chain`"),
            ExprKind::Call(call) => self.call(call),
        };
    }

    fn sys_prop(&mut self, name: &str, span: &Span, escaped: bool) -> Ty {
        if is_body_query(name) {
            if let Err(m) = body_path(&name[BODY_PREFIX.len()..]) {
                self.diags.push(
                    Diagnostic::error(format!("invalid $body query `{name}`: {m}"), span.clone())
                        .suggest("a body path is `$body.field.sub[0]`"),
                );
            }
            return Ty::Dynamic;
        }
        if name.contains(['[', ']']) {
            self.diags.push(
                Diagnostic::warning(
                    format!("`{name}` is always undefined: only `$body` paths can be indexed"),
                    span.clone(),
                )
                .suggest("write `$body.field[0]` to read an array in the message body"),
            );
            return Ty::Undefined;
        }
        let bare = &name[1..];
        if bare.eq_ignore_ascii_case("body") {
            self.diags.push(
                Diagnostic::warning(
                    "`$body` alone is not a body query: it is always undefined",
                    span.clone(),
                )
                .suggest("name a field: `$body.temperature`"),
            );
        } else if !SYSTEM_PROPERTIES
            .iter()
            .any(|p| p.eq_ignore_ascii_case(bare))
        {
            let reads = if escaped {
                "it is always undefined".to_owned()
            } else {
                format!("it reads the application property `{name}`, usually undefined")
            };
            self.diags.push(
                Diagnostic::warning(
                    format!("`{name}` is not a system property edgeHub sets: {reads}"),
                    span.clone(),
                )
                .suggest(format!(
                    "system properties are {}",
                    SYSTEM_PROPERTIES.join(", ")
                )),
            );
        }
        Ty::Str
    }

    fn unary(&mut self, op: UnaryOp, t: Ty, span: &Span, operand: &Expr) -> Ty {
        let (sym, len) = match op {
            UnaryOp::Neg => ("-", 1),
            UnaryOp::Not => ("NOT", 3),
        };
        let op_span = span.start..(span.start + len).min(operand.span.start.max(span.start + 1));
        match (op, t) {
            (_, Ty::Any) => Ty::Any,
            (UnaryOp::Neg, Ty::Num) => Ty::Num,
            (UnaryOp::Neg, Ty::Dynamic) => Ty::Dynamic,
            (UnaryOp::Not, Ty::Bool | Ty::Null | Ty::Dynamic) => Ty::Bool,
            _ => {
                let mut d = Diagnostic::error(
                    format!(
                        "invalid operand to unary `{sym}`: have {}, expected {}",
                        t.name(),
                        if op == UnaryOp::Neg { "number" } else { "bool" }
                    ),
                    op_span,
                );
                d = match (op, t) {
                    (UnaryOp::Not, _) => d.suggest(format!(
                        "NOT applies to `{}` only; to negate a comparison write NOT (a = b)",
                        self.text(&operand.span)
                    )),
                    (UnaryOp::Neg, Ty::Str) => {
                        d.suggest("properties are strings: negate as_number(name)")
                    }
                    _ => d,
                };
                self.diags.push(d);
                Ty::Undefined
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, op_span: &Span, l: &Expr, r: &Expr) -> Ty {
        use BinaryOp::*;
        let (a, b) = (l.ty, r.ty);
        let any = a == Ty::Any || b == Ty::Any;
        let dynamic = a == Ty::Dynamic || b == Ty::Dynamic;
        let ok = match op {
            Mul | Div | Mod | Add | Sub => {
                both(a, b, |t| matches!(t, Ty::Num | Ty::Dynamic | Ty::Any))
            }
            Concat => both(a, b, |t| matches!(t, Ty::Str | Ty::Dynamic | Ty::Any)),
            Lt | Le | Gt | Ge | Eq | Ne | Coalesce => compatible(a, b),
            // edgeHub's CheckBooleanOperands accepts any right operand when the left one is a
            // body value (it tests `left` twice); we do the same.
            And | Or => {
                matches!(
                    a,
                    Ty::Null | Ty::Bool | Ty::Undefined | Ty::Dynamic | Ty::Any
                ) && (matches!(b, Ty::Null | Ty::Bool | Ty::Undefined | Ty::Any)
                    || a == Ty::Dynamic)
            }
        };
        if !ok {
            let expected = match op {
                Mul | Div | Mod | Add | Sub => "number and number".to_owned(),
                Concat => "string and string".to_owned(),
                And | Or => "bool and bool".to_owned(),
                _ => format!("{} and {}", a.name(), a.name()),
            };
            let d = Diagnostic::error(
                format!(
                    "invalid operands to `{}`: have {} and {}, expected {expected}",
                    op.symbol(),
                    a.name(),
                    b.name()
                ),
                op_span.clone(),
            );
            let d = self.operand_hint(d, op, l, r);
            self.diags.push(d);
            return Ty::Undefined;
        }
        match op {
            _ if any => Ty::Any,
            Mul | Div | Mod | Add | Sub if dynamic => Ty::Dynamic,
            Mul | Div | Mod | Add | Sub => Ty::Num,
            Concat => Ty::Str,
            Lt | Le | Gt | Ge | Eq | Ne => Ty::Bool,
            And if a == Ty::Null || b == Ty::Null => Ty::Null,
            Or if a == Ty::Null && b == Ty::Null => Ty::Null,
            And | Or => Ty::Bool,
            Coalesce if a == Ty::Undefined => b,
            Coalesce if dynamic => Ty::Dynamic,
            Coalesce => a,
        }
    }

    fn operand_hint(&self, d: Diagnostic, op: BinaryOp, l: &Expr, r: &Expr) -> Diagnostic {
        use BinaryOp::*;
        let is_prop = |e: &Expr| {
            matches!(
                e.kind,
                ExprKind::Property(_) | ExprKind::SysProp(_) | ExprKind::SysPropEscaped(_)
            ) && e.ty == Ty::Str
        };
        let (a, b) = (l.ty, r.ty);
        if matches!(
            op,
            Lt | Le | Gt | Ge | Eq | Ne | Add | Sub | Mul | Div | Mod
        ) && ((is_prop(l) && b == Ty::Num) || (is_prop(r) && a == Ty::Num))
        {
            let p = if is_prop(l) { l } else { r };
            let name = self.text(&p.span);
            return d.suggest(format!(
                "properties are strings: write `as_number({name})` to use `{name}` as a number, or compare with a string"
            ));
        }
        if a == Ty::Null || b == Ty::Null {
            return d.suggest("test for null with is_null(x)");
        }
        if a == Ty::Undefined || b == Ty::Undefined {
            return d.suggest("test for undefined with is_defined(x)");
        }
        match op {
            Add if a == Ty::Str && b == Ty::Str => d.suggest("concatenate strings with `||`"),
            Concat if a == Ty::Bool || b == Ty::Bool => {
                d.suggest("`||` concatenates strings; logical or is OR")
            }
            And | Or if is_prop(l) || is_prop(r) => d.suggest(format!(
                "properties are strings: compare them, e.g. `{} = 'true'`",
                self.text(&if is_prop(l) { l } else { r }.span)
            )),
            _ => d,
        }
    }

    fn call(&mut self, c: &mut Call) -> Ty {
        let Some(b) = builtins::find(&c.name) else {
            let mut d = Diagnostic::error(
                format!("unknown function `{}`", c.name),
                c.name_span.clone(),
            );
            if let Some(s) = builtins::closest(&c.name) {
                d = d.suggest(format!("did you mean `{s}`?"));
            } else {
                d = d.suggest(format!(
                    "the functions are {}",
                    builtins::BUILTINS
                        .iter()
                        .map(|b| b.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            self.diags.push(d);
            return Ty::Undefined;
        };
        if b.name == TWIN_CHANGE_INCLUDES {
            return self.twin_change_includes(c);
        }
        for a in &mut c.args {
            self.expr(a);
        }
        let given: Vec<Ty> = c.args.iter().map(|a| a.ty).collect();
        if let Some(o) = b.overloads.iter().find(|o| builtins::matches(o, &given)) {
            return o.ret;
        }
        let d = if !builtins::arity_ok(b, given.len()) {
            Diagnostic::error(
                format!(
                    "`{}` takes {} argument(s), got {}",
                    b.name,
                    builtins::arity_text(b),
                    given.len()
                ),
                c.name_span.clone(),
            )
            .suggest(builtins::signatures(b))
        } else {
            let have = given
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", ");
            let mut d = Diagnostic::error(
                format!("invalid arguments to `{}`: {}({have})", b.name, b.name),
                c.name_span.clone(),
            );
            d = if given.contains(&Ty::Str) && builtins::signatures(b).contains("number") {
                d.suggest(format!(
                    "expected {}; properties are strings: convert with as_number(...)",
                    builtins::signatures(b)
                ))
            } else {
                d.suggest(format!("expected {}", builtins::signatures(b)))
            };
            d
        };
        self.diags.push(d);
        Ty::Undefined
    }

    /// `twin_change_includes(properties.desired.x)`: the argument is read as text, a twin path
    /// under `properties.desired.`, `properties.reported.` or `tags.`, and only routes from
    /// `/twinChangeNotifications` may call it.
    fn twin_change_includes(&mut self, c: &Call) -> Ty {
        if self.source != SourceKind::TwinChangeNotifications {
            self.diags.push(
                Diagnostic::error(
                    "twin_change_includes only works in routes FROM /twinChangeNotifications",
                    c.name_span.clone(),
                )
                .suggest("use `FROM /twinChangeNotifications WHERE twin_change_includes(properties.desired.x) ...`"),
            );
            return Ty::Undefined;
        }
        let path = &c.raw_args;
        let err = if path.is_empty() {
            Some(
                "twin_change_includes needs a twin path, e.g. properties.desired.threshold"
                    .to_owned(),
            )
        } else if let Err(m) = body_path(path) {
            Some(format!("invalid twin path `{path}`: {m}"))
        } else if !["properties.reported.", "properties.desired.", "tags."]
            .iter()
            .any(|p| {
                path.get(..p.len())
                    .is_some_and(|x| x.eq_ignore_ascii_case(p))
            })
        {
            Some(format!(
                "twin path `{path}` must start with properties.desired., properties.reported. or tags."
            ))
        } else {
            None
        };
        if let Some(m) = err {
            self.diags.push(Diagnostic::error(m, c.name_span.clone()));
            return Ty::Undefined;
        }
        Ty::Bool
    }
}

fn both(a: Ty, b: Ty, f: impl Fn(Ty) -> bool) -> bool {
    f(a) && f(b)
}

/// edgeHub's `CheckOperands(op, left.Type, ...)`: the same type, or a body value standing for
/// the other type.
fn compatible(a: Ty, b: Ty) -> bool {
    a == b
        || a == Ty::Any
        || b == Ty::Any
        || (a == Ty::Dynamic && builtins::dynamic_stands_for(b))
        || (b == Ty::Dynamic && builtins::dynamic_stands_for(a))
}

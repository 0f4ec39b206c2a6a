//! Recursive-descent parser of edgeHub routes over the tokens of `lexer`:
//! `[SELECT *] FROM source [WHERE condition] INTO sink`, conditions by precedence climbing
//! (`??` < OR < AND < `= != <>` < `< <= > >=` < `+ - ||` < `* / %` < unary `-`/NOT < primary,
//! binary operators left-associative), with edgeHub's source and sink rules. It stops at the
//! first syntax error (the rest of a broken route says little), and reports the lexer traps it
//! can see in context as warnings. Types, functions and body paths are `check`'s job.

use super::ast::*;
use super::diagnostic::Diagnostic;
use super::lexer::{Lexed, Tok, Token};

pub(crate) struct Parsed {
    pub select_all: bool,
    pub source: Source,
    pub condition: Option<Expr>,
    pub sink: Sink,
}

pub(crate) struct Parser<'a> {
    chars: Vec<char>,
    lexed: &'a Lexed,
    pos: usize,
    pub diags: Vec<Diagnostic>,
    placeholders: bool,
}

/// The system endpoint edgeHub knows.
const UPSTREAM: &str = "$upstream";
const BROKERED: &str = "BrokeredEndpoint";
const SINK_HELP: &str =
    "write `INTO $upstream` or `INTO BrokeredEndpoint(\"/modules/<module>/inputs/<input>\")`";

impl<'a> Parser<'a> {
    pub fn new(src: &str, lexed: &'a Lexed, placeholders: bool) -> Self {
        Parser {
            chars: src.chars().collect(),
            lexed,
            pos: 0,
            diags: Vec::new(),
            placeholders,
        }
    }

    fn peek(&self) -> Option<&'a Token> {
        self.lexed.tokens.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&'a Token> {
        self.lexed.tokens.get(self.pos + n)
    }

    fn kind(&self) -> Option<Tok> {
        self.peek().map(|t| t.kind)
    }

    fn bump(&mut self) -> Option<&'a Token> {
        let t = self.lexed.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    /// Where the next token starts, or the end of the route.
    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.span.clone(),
            None => self.chars.len()..self.chars.len(),
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!("`{}`", t.text),
            None => "the end of the route".into(),
        }
    }

    fn fail<T>(&mut self, d: Diagnostic) -> Option<T> {
        self.diags.push(d);
        None
    }

    pub fn route(&mut self) -> Option<Parsed> {
        if self.lexed.tokens.is_empty() {
            return self.fail(
                Diagnostic::error("empty route", 0..self.chars.len())
                    .suggest("a route reads `FROM /messages/* INTO $upstream`"),
            );
        }
        let select_all = self.kind() == Some(Tok::Select);
        if select_all {
            self.bump();
            if self.kind() != Some(Tok::Star) {
                let d = Diagnostic::error(
                    format!("expected `*` after SELECT, found {}", self.found()),
                    self.here(),
                )
                .suggest("edgeHub only accepts `SELECT * FROM ...`, or no SELECT at all");
                return self.fail(d);
            }
            self.bump();
        }
        if self.kind() != Some(Tok::From) {
            let mut d = Diagnostic::error(
                format!("a route starts with FROM, found {}", self.found()),
                self.here(),
            );
            d = match self.peek() {
                Some(t) if t.kind == Tok::SysProp && self.lexed.tokens.len() == 1 => d.suggest(
                    "this looks like a template variable: it must be replaced by a route before deployment",
                ),
                _ => d.suggest("a route reads `FROM /messages/* INTO $upstream`"),
            };
            return self.fail(d);
        }
        self.bump();
        let source = self.source()?;
        let condition = if self.kind() == Some(Tok::Where) {
            self.bump();
            Some(self.expr(1)?)
        } else {
            None
        };
        if self.kind() != Some(Tok::Into) {
            let d = if condition.is_some() {
                self.unexpected("an operator or INTO")
            } else {
                Diagnostic::error(
                    format!(
                        "expected WHERE or INTO after the source, found {}",
                        self.found()
                    ),
                    self.here(),
                )
                .suggest(SINK_HELP)
            };
            return self.fail(d);
        }
        self.bump();
        let sink = self.sink()?;
        if let Some(t) = self.peek() {
            let end = self.lexed.tokens.last().map_or(t.span.end, |l| l.span.end);
            self.diags.push(
                Diagnostic::warning(
                    "edgeHub ignores everything after the sink",
                    t.span.start..end,
                )
                .suggest("remove the trailing text"),
            );
        }
        Some(Parsed {
            select_all,
            source,
            condition,
            sink,
        })
    }

    fn source(&mut self) -> Option<Source> {
        let start = self.here().start;
        let mut segments: Vec<Segment> = Vec::new();
        let mut path = String::new();
        loop {
            if self.kind() != Some(Tok::Slash) {
                let d = Diagnostic::error(
                    format!(
                        "a source is a path starting with `/`, found {}",
                        self.found()
                    ),
                    self.here(),
                )
                .suggest("e.g. `FROM /messages/modules/<module>/outputs/*`");
                return self.fail(d);
            }
            self.bump();
            path.push('/');
            let Some(t) = self.peek() else {
                return self.fail(trailing_slash(self.here()));
            };
            match t.kind {
                Tok::Star | Tok::Id | Tok::Placeholder => {
                    self.bump();
                    path.push_str(&t.text);
                    segments.push(Segment {
                        text: t.text.clone(),
                        span: t.span.clone(),
                        placeholder: t.kind == Tok::Placeholder,
                    });
                }
                _ => {
                    let next_is_slash = self.peek_at(1).map(|n| n.kind) == Some(Tok::Slash);
                    let d = match t.kind {
                        Tok::Where | Tok::Into if !next_is_slash => trailing_slash(t.span.clone()),
                        Tok::Select | Tok::From | Tok::Where | Tok::Into | Tok::And
                        | Tok::Or | Tok::Not => Diagnostic::error(
                            format!(
                                "`{}` is a route keyword: a module or output named like a keyword breaks the route",
                                t.text
                            ),
                            t.span.clone(),
                        )
                        .suggest("rename the module or output"),
                        Tok::True | Tok::False | Tok::Null | Tok::Undefined => Diagnostic::error(
                            format!("`{}` is a literal, not a name: it cannot be a path segment", t.text),
                            t.span.clone(),
                        )
                        .suggest("rename the module or output"),
                        Tok::Integer | Tok::Hex | Tok::Real => Diagnostic::error(
                            format!("`{}` reads as a number, not a name: it cannot be a path segment", t.text),
                            t.span.clone(),
                        )
                        .suggest("give the module or output a name that is not a number"),
                        _ => Diagnostic::error(
                            format!("expected a path segment or `*` after `/`, found `{}`", t.text),
                            t.span.clone(),
                        ),
                    };
                    return self.fail(d);
                }
            }
            if self.kind() != Some(Tok::Slash) {
                break;
            }
        }
        let end = segments.last().map_or(start, |s| s.span.end);
        self.source_warnings(&segments, start..end);
        let kind = classify(&segments);
        if kind == SourceKind::Unknown {
            self.diags.push(
                Diagnostic::warning(
                    format!("no message ever has the source `{path}`: this route never matches"),
                    start..end,
                )
                .suggest("sources are /*, /messages/*, /messages/modules/<module>/*, /messages/modules/<module>/outputs/<output> or /twinChangeNotifications"),
            );
        }
        Some(Source {
            path,
            segments,
            span: start..end,
            kind,
        })
    }

    fn source_warnings(&mut self, segments: &[Segment], span: Span) {
        for s in &segments[..segments.len().saturating_sub(1)] {
            if s.text == "*" {
                self.diags.push(
                    Diagnostic::warning(
                        "only a trailing `*` is a wildcard: here it is a literal name and the route never matches",
                        s.span.clone(),
                    )
                    .suggest("end the path at the wildcard, e.g. `/messages/modules/*`"),
                );
            }
        }
        // `/*` right after a path segment starts a comment when a `*/` follows anywhere later.
        for c in &self.lexed.comments {
            if segments.iter().any(|s| s.span.end == c.start) || c.start == span.end {
                let end = c.end;
                self.diags.push(
                    Diagnostic::warning(
                        format!(
                            "`/*` starts a comment that runs to the `*/` at char {}: everything in between is ignored",
                            end - 2
                        ),
                        c.clone(),
                    )
                    .suggest("a route whose source ends in `/*` cannot contain `*/` later: remove the comment"),
                );
            }
        }
    }

    fn sink(&mut self) -> Option<Sink> {
        let Some(t) = self.bump() else {
            let d = Diagnostic::error("expected a sink after INTO", self.here()).suggest(SINK_HELP);
            return self.fail(d);
        };
        match t.kind {
            Tok::SysProp if t.text.eq_ignore_ascii_case(UPSTREAM) => Some(Sink::Upstream {
                span: t.span.clone(),
            }),
            Tok::SysProp => self.fail(
                Diagnostic::error(
                    format!(
                        "unknown system endpoint `{}`: the only one is `$upstream`",
                        t.text
                    ),
                    t.span.clone(),
                )
                .suggest(SINK_HELP),
            ),
            Tok::Placeholder => Some(Sink::Placeholder {
                name: t.text.clone(),
                span: t.span.clone(),
            }),
            Tok::Id => {
                if !t.text.eq_ignore_ascii_case(BROKERED) {
                    let d = Diagnostic::error(
                        format!(
                            "unknown endpoint `{}`: the only endpoint function is BrokeredEndpoint",
                            t.text
                        ),
                        t.span.clone(),
                    )
                    .suggest(SINK_HELP);
                    return self.fail(d);
                }
                if self.kind() != Some(Tok::LParen) {
                    let d = Diagnostic::error(
                        format!("expected `(` after {}, found {}", t.text, self.found()),
                        self.here(),
                    )
                    .suggest(SINK_HELP);
                    return self.fail(d);
                }
                self.bump();
                let Some(s) = self.peek().filter(|s| s.kind == Tok::Str) else {
                    let d = match self.peek() {
                        Some(u) if u.kind == Tok::UnterminatedStr => unterminated(u, self.lexed),
                        _ => Diagnostic::error(
                            format!("expected a quoted endpoint address, found {}", self.found()),
                            self.here(),
                        )
                        .suggest(SINK_HELP),
                    };
                    return self.fail(d);
                };
                self.bump();
                if self.kind() != Some(Tok::RParen) {
                    let d = Diagnostic::error(
                        format!(
                            "expected `)` after the endpoint address, found {}",
                            self.found()
                        ),
                        self.here(),
                    );
                    return self.fail(d);
                }
                let close = self.bump().map_or(s.span.end, |c| c.span.end);
                self.brokered(s, t.span.start..close)
            }
            _ => {
                self.pos -= 1;
                let d = Diagnostic::error(
                    format!(
                        "expected `$upstream` or BrokeredEndpoint(...) after INTO, found {}",
                        self.found()
                    ),
                    self.here(),
                )
                .suggest(SINK_HELP);
                self.fail(d)
            }
        }
    }

    /// edgeHub's rule (EndpointFactory): the raw address, trimmed, minus one leading and one
    /// trailing `/`, must split on `/` into exactly 4 items; it then uses items 1 and 3.
    fn brokered(&mut self, s: &Token, span: Span) -> Option<Sink> {
        let raw: String = {
            let c: Vec<char> = s.text.chars().collect();
            c[1..c.len() - 1].iter().collect()
        };
        let inner = s.span.start + 1..s.span.end - 1;
        if raw.trim().is_empty() {
            return self.fail(
                Diagnostic::error("the endpoint address is empty", s.span.clone())
                    .suggest("BrokeredEndpoint(\"/modules/<module>/inputs/<input>\")"),
            );
        }
        let mut a = raw.trim();
        a = a.strip_prefix('/').unwrap_or(a);
        a = a.strip_suffix('/').unwrap_or(a);
        let items: Vec<&str> = a.split('/').collect();
        let has_placeholder = self.placeholders && super::placeholder_names(&raw).next().is_some();
        if items.len() != 4 {
            if has_placeholder {
                // A placeholder may stand for several segments: it cannot be judged until the
                // customer fills it in (reported as needs-input, not as an error).
                return Some(Sink::Brokered {
                    address: raw.clone(),
                    module: String::new(),
                    input: String::new(),
                    span,
                });
            }
            return self.fail(
                Diagnostic::error(
                    format!(
                        "the endpoint address must be /modules/<module>/inputs/<input> (4 segments), this one has {}",
                        items.len()
                    ),
                    inner,
                )
                .suggest("BrokeredEndpoint(\"/modules/<module>/inputs/<input>\")"),
            );
        }
        if !items[0].eq_ignore_ascii_case("modules") || !items[2].eq_ignore_ascii_case("inputs") {
            self.diags.push(
                Diagnostic::warning(
                    format!(
                        "edgeHub only reads the module and input of `{raw}`: it should read /modules/{}/inputs/{}",
                        items[1], items[3]
                    ),
                    inner.clone(),
                )
                .suggest(format!("BrokeredEndpoint(\"/modules/{}/inputs/{}\")", items[1], items[3])),
            );
        }
        if items[1].is_empty() || items[3].is_empty() {
            self.diags.push(Diagnostic::warning(
                "the module or input name in the endpoint address is empty: nothing receives these messages",
                inner.clone(),
            ));
        }
        if raw.contains('\\') {
            self.diags.push(Diagnostic::warning(
                "edgeHub does not process escapes in endpoint addresses: the backslash is part of the name",
                inner,
            ));
        }
        Some(Sink::Brokered {
            module: items[1].to_owned(),
            input: items[3].to_owned(),
            address: raw,
            span,
        })
    }

    fn peek_binop(&self) -> Option<(BinaryOp, Span)> {
        let t = self.peek()?;
        let op = match t.kind {
            Tok::Star => BinaryOp::Mul,
            Tok::Slash => BinaryOp::Div,
            Tok::Percent => BinaryOp::Mod,
            Tok::Plus => BinaryOp::Add,
            Tok::Minus => BinaryOp::Sub,
            Tok::Concat => BinaryOp::Concat,
            Tok::Lt => BinaryOp::Lt,
            Tok::Le => BinaryOp::Le,
            Tok::Gt => BinaryOp::Gt,
            Tok::Ge => BinaryOp::Ge,
            Tok::Eq => BinaryOp::Eq,
            Tok::Ne | Tok::LtGt => BinaryOp::Ne,
            Tok::And => BinaryOp::And,
            Tok::Or => BinaryOp::Or,
            Tok::Coalesce => BinaryOp::Coalesce,
            _ => return None,
        };
        Some((op, t.span.clone()))
    }

    /// Precedence climbing; `min` is the loosest operator this call may consume.
    fn expr(&mut self, min: u8) -> Option<Expr> {
        let mut lhs = self.unary()?;
        while let Some((op, op_span)) = self.peek_binop() {
            let p = op.precedence();
            if p < min {
                break;
            }
            self.bump();
            if p == 4 || p == 5 {
                self.not_precedence_warning(&lhs, op);
            }
            let rhs = self.expr(p + 1)?;
            let span = lhs.span.start..rhs.span.end;
            lhs = Expr {
                kind: ExprKind::Binary(op, op_span, Box::new(lhs), Box::new(rhs)),
                span,
                ty: Ty::Undefined,
            };
        }
        Some(lhs)
    }

    /// `NOT a = b` is `(NOT a) = b`: unary operators bind tighter than comparisons.
    fn not_precedence_warning(&mut self, lhs: &Expr, op: BinaryOp) {
        let ExprKind::Unary(UnaryOp::Not, operand) = &lhs.kind else {
            return;
        };
        if self.chars.get(lhs.span.start) == Some(&'(') {
            return;
        }
        let text = |s: &Span| -> String { self.chars[s.clone()].iter().collect() };
        let not_kw = text(&(lhs.span.start..operand.span.start));
        self.diags.push(
            Diagnostic::warning(
                format!(
                    "`{}` applies to `{}` only: this reads `({}) {} ...`",
                    not_kw.trim(),
                    text(&operand.span),
                    text(&lhs.span),
                    op.symbol()
                ),
                lhs.span.clone(),
            )
            .suggest(format!(
                "write `{} ({} {} ...)` to negate the comparison",
                not_kw.trim(),
                text(&operand.span),
                op.symbol()
            )),
        );
    }

    fn unary(&mut self) -> Option<Expr> {
        let op = match self.kind() {
            Some(Tok::Minus) => UnaryOp::Neg,
            Some(Tok::Not) => UnaryOp::Not,
            _ => return self.primary(),
        };
        let start = self.bump().map_or(0, |t| t.span.start);
        let operand = self.unary()?;
        let span = start..operand.span.end;
        Some(Expr {
            kind: ExprKind::Unary(op, Box::new(operand)),
            span,
            ty: Ty::Undefined,
        })
    }

    fn primary(&mut self) -> Option<Expr> {
        let Some(t) = self.peek() else {
            let d = Diagnostic::error(
                "expected an expression, found the end of the route",
                self.here(),
            );
            return self.fail(d);
        };
        let leaf = |kind| Expr {
            kind,
            span: t.span.clone(),
            ty: Ty::Undefined,
        };
        let e = match t.kind {
            Tok::LParen => {
                self.bump();
                let inner = self.expr(1)?;
                if self.kind() != Some(Tok::RParen) {
                    let d = if self.peek().is_none() || self.kind() == Some(Tok::Into) {
                        Diagnostic::error("missing closing `)`", t.span.clone())
                    } else {
                        self.unexpected("an operator or `)`")
                    };
                    return self.fail(d);
                }
                let close = self.bump().map_or(inner.span.end, |c| c.span.end);
                return Some(Expr {
                    span: t.span.start..close,
                    ..inner
                });
            }
            Tok::True => leaf(ExprKind::Bool(true)),
            Tok::False => leaf(ExprKind::Bool(false)),
            Tok::Null => leaf(ExprKind::Null),
            Tok::Undefined => leaf(ExprKind::Undefined),
            Tok::Str => leaf(ExprKind::Str(t.value.clone().unwrap_or_default())),
            Tok::Integer | Tok::Real => {
                if t.kind == Tok::Real && t.text.trim_start_matches('-').starts_with(['e', 'E']) {
                    self.diags.push(
                        Diagnostic::warning(
                            format!("`{}` reads as a number with no digits before the exponent, which edgeHub cannot parse: it is undefined", t.text),
                            t.span.clone(),
                        )
                        .suggest("if this is a property name, rename the property; for the number write it with a mantissa, e.g. `1e5`"),
                    );
                }
                leaf(ExprKind::Num(super::number::parse_decimal(&t.text)))
            }
            Tok::Hex => leaf(ExprKind::Num(super::number::parse_hex(&t.text))),
            Tok::SysProp => leaf(ExprKind::SysProp(t.text.clone())),
            Tok::Placeholder => leaf(ExprKind::Placeholder(t.text.clone())),
            Tok::Id if self.peek_at(1).map(|n| n.kind) == Some(Tok::LParen) => return self.call(),
            Tok::Id => {
                self.name_traps(t);
                leaf(ExprKind::Property(t.text.clone()))
            }
            Tok::LBrace => {
                self.bump();
                let Some(p) = self.peek().filter(|p| p.kind == Tok::SysProp) else {
                    let d = Diagnostic::error(
                        format!(
                            "`{{` must enclose a system property such as `{{$contentType}}`, found {}",
                            self.found()
                        ),
                        self.here(),
                    );
                    return self.fail(d);
                };
                self.bump();
                if self.kind() != Some(Tok::RBrace) {
                    let d = Diagnostic::error(
                        format!("expected `}}` after `{{{}`, found {}", p.text, self.found()),
                        self.here(),
                    );
                    return self.fail(d);
                }
                let close = self.bump().map_or(p.span.end, |c| c.span.end);
                return Some(Expr {
                    kind: ExprKind::SysPropEscaped(p.text.clone()),
                    span: t.span.start..close,
                    ty: Ty::Undefined,
                });
            }
            Tok::UnterminatedStr => return self.fail(unterminated(t, self.lexed)),
            _ => {
                let d = self.unexpected("an expression");
                return self.fail(d);
            }
        };
        self.bump();
        Some(e)
    }

    fn call(&mut self) -> Option<Expr> {
        let name = self.bump()?;
        let open = self.bump()?;
        let mut args = Vec::new();
        if self.kind() == Some(Tok::RParen) {
            let close = self.bump().map_or(open.span.end, |c| c.span.end);
            return Some(call_expr(name, args, String::new(), close));
        }
        let first = self.pos;
        loop {
            args.push(self.expr(1)?);
            match self.kind() {
                Some(Tok::Comma) => {
                    self.bump();
                }
                Some(Tok::RParen) => break,
                None => {
                    let d = Diagnostic::error(
                        format!("missing `)` after the arguments of `{}`", name.text),
                        open.span.clone(),
                    );
                    return self.fail(d);
                }
                _ => {
                    let d = self.unexpected("`,` or `)`");
                    return self.fail(d);
                }
            }
        }
        let raw: String = self.lexed.tokens[first..self.pos]
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        let close = self.bump().map_or(open.span.end, |c| c.span.end);
        Some(call_expr(name, args, raw, close))
    }

    /// Warnings for names that swallowed operator characters (IDs may contain
    /// `. - + * % ! | & $ #`; the longest match wins).
    fn name_traps(&mut self, t: &Token) {
        let text = &t.text;
        let next_is_eq = self
            .peek_at(1)
            .is_some_and(|n| n.kind == Tok::Eq && n.span.start == t.span.end);
        if let Some(stem) = text.strip_suffix('!').filter(|_| next_is_eq) {
            self.diags.push(
                Diagnostic::warning(
                    format!(
                        "`{text}=` reads as the name `{text}` followed by `=`, not `{stem} !=`"
                    ),
                    t.span.start..t.span.end + 1,
                )
                .suggest(format!("put spaces around operators: `{stem} != ...`")),
            );
            return;
        }
        if text.contains("&&") {
            self.diags.push(
                Diagnostic::warning(
                    format!("`{text}` is one name: `&&` is not an operator here"),
                    t.span.clone(),
                )
                .suggest("write AND with spaces around it"),
            );
            return;
        }
        if let Some(c) = text.strip_prefix(['-', '+']).and(text.chars().next()) {
            self.diags.push(
                Diagnostic::warning(
                    format!(
                        "`{text}` is a property name: a `{c}` glued to a name is part of the name"
                    ),
                    t.span.clone(),
                )
                .suggest(format!(
                    "write `{c} {}` (with a space) for the operator",
                    &text[1..]
                )),
            );
            return;
        }
        let ops: Vec<char> = text
            .chars()
            .filter(|c| matches!(c, '+' | '-' | '*' | '%' | '!' | '|' | '&'))
            .collect();
        if let Some(op) = ops.first() {
            let spaced = spaced_out(text);
            self.diags.push(
                Diagnostic::warning(
                    format!("`{text}` is one property name: `{op}` is a name character when not surrounded by spaces"),
                    t.span.clone(),
                )
                .suggest(format!("put spaces around operators: `{spaced}` (ignore this if `{text}` really is the property's name)")),
            );
            return;
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            self.diags.push(Diagnostic::warning(
                format!("`{text}` contains the invisible character U+{:04X}, which edgeHub treats as part of the name", c as u32),
                t.span.clone(),
            ).suggest("replace it with an ordinary space"));
        }
    }

    /// An error for the current token when `expected` was wanted, with hints for the usual
    /// mistakes.
    fn unexpected(&self, expected: &str) -> Diagnostic {
        let Some(t) = self.peek() else {
            return Diagnostic::error(
                format!("expected {expected}, found the end of the route"),
                self.here(),
            )
            .suggest(SINK_HELP);
        };
        let prev = self
            .pos
            .checked_sub(1)
            .and_then(|p| self.lexed.tokens.get(p));
        let d = Diagnostic::error(
            format!("expected {expected}, found `{}`", t.text),
            t.span.clone(),
        );
        match t.kind {
            Tok::Eq if prev.is_some_and(|p| p.kind == Tok::Eq) => d.suggest("equality is a single `=`"),
            Tok::Integer | Tok::Real if t.text.starts_with('-') => d.suggest(format!(
                "`{}` reads as a negative number; write `- {}` (with a space) to subtract",
                t.text,
                &t.text[1..]
            )),
            Tok::Id if t.text.starts_with(['-', '+']) => d.suggest(format!(
                "`{}` is one name; write `{} {}` (with a space) for the operator",
                t.text,
                &t.text[..1],
                &t.text[1..]
            )),
            Tok::Id if t.text.contains("&&") => d.suggest("write AND for logical and"),
            Tok::Id if t.text == "!" => d.suggest("write NOT for negation, or `!=` with no space"),
            Tok::QueryPath => d.suggest("only `$body` paths may be indexed, e.g. `$body.values[0]`; application property names cannot contain `[` or `]`"),
            Tok::Unknown if t.text == ";" => d.suggest("remove the `;`: routes have no terminator"),
            Tok::Unknown if t.text == "?" => d.suggest("`??` (two question marks) is the coalescing operator"),
            Tok::UnterminatedStr => unterminated(t, self.lexed),
            Tok::Star if self.lexed.unclosed_comment.is_some() => {
                d.suggest("a `/*` comment needs a closing `*/`")
            }
            Tok::Into | Tok::Where | Tok::From | Tok::Select => d.suggest(
                "keywords cannot be used as names; check for a missing operand",
            ),
            _ => d,
        }
    }
}

fn call_expr(name: &Token, args: Vec<Expr>, raw_args: String, close: usize) -> Expr {
    Expr {
        kind: ExprKind::Call(Call {
            name: name.text.clone(),
            name_span: name.span.clone(),
            args,
            raw_args,
        }),
        span: name.span.start..close,
        ty: Ty::Undefined,
    }
}

fn trailing_slash(span: Span) -> Diagnostic {
    Diagnostic::error("a source cannot end with `/`", span)
        .suggest("end it with a segment or the `*` wildcard, e.g. `/messages/*`")
}

fn unterminated(t: &Token, lexed: &Lexed) -> Diagnostic {
    let bad = lexed.bad_escapes.iter().find(|b| b.start == t.span.end);
    match bad {
        Some(b) => Diagnostic::error(
            "invalid escape in string: only \\\" \\' \\\\ and \\uXXXX are allowed",
            b.clone(),
        )
        .suggest("write a backslash as `\\\\`"),
        None => Diagnostic::error("unterminated string", t.span.clone())
            .suggest("close the string with the quote it starts with"),
    }
}

/// `a+b-c` → `a + b - c` (for suggestions only).
fn spaced_out(text: &str) -> String {
    let mut out = String::new();
    let mut prev_op = false;
    for (i, c) in text.chars().enumerate() {
        let op = matches!(c, '+' | '-' | '*' | '%' | '!' | '|' | '&');
        if op && i > 0 && !prev_op {
            out.push(' ');
        }
        if !op && prev_op {
            out.push(' ');
        }
        out.push(c);
        prev_op = op;
    }
    out.replace("! ", "!")
}

/// Which documented source a path is (segment names compare case-insensitively, as edgeHub's
/// prefix match does).
fn classify(segments: &[Segment]) -> SourceKind {
    let mut s: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    if s.last() == Some(&"*") {
        s.pop();
    }
    let is = |i: usize, w: &str| s.get(i).is_some_and(|x| x.eq_ignore_ascii_case(w));
    let name = |i: usize| s.get(i).is_some_and(|x| *x != "*");
    match s.len() {
        0 => SourceKind::All,
        1 if is(0, "messages") => SourceKind::AllMessages,
        1 if is(0, "twinChangeNotifications") => SourceKind::TwinChangeNotifications,
        2 if is(0, "messages") && is(1, "modules") => SourceKind::AllModules,
        3 if is(0, "messages") && is(1, "modules") && name(2) => SourceKind::Module,
        4 if is(0, "messages") && is(1, "modules") && name(2) && is(3, "outputs") => {
            SourceKind::ModuleOutputs
        }
        5 if is(0, "messages") && is(1, "modules") && name(2) && is(3, "outputs") && name(4) => {
            SourceKind::ModuleOutput
        }
        _ => SourceKind::Unknown,
    }
}

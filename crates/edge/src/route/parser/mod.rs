//! Recursive-descent parser of edgeHub routes over the tokens of `lexer`:
//! `[SELECT *] FROM source [WHERE condition] INTO sink`, conditions by precedence climbing
//! (`??` < OR < AND < `= != <>` < `< <= > >=` < `+ - ||` < `* / %` < unary `-`/NOT < primary,
//! binary operators left-associative), with edgeHub's source and sink rules. It stops at the
//! first syntax error (the rest of a broken route says little), and reports the lexer traps it
//! can see in context as warnings. Types, functions and body paths are `check`'s job.
//!
//! Nesting (parentheses, unary operators, function calls, precedence levels) is bounded by
//! [`MAX_NESTING`]: every later pass recurses along it, and a hostile route of thousands of
//! `(` must be a diagnostic, not a stack overflow. Chains of one operator (`a OR b OR c …`) are
//! built by a loop and walked by loops (`check`, `eval`, `Drop for Expr`), so they cost no
//! stack; their length is bounded by the route length (`MAX_ROUTE_BYTES`).

use super::ast::*;
use super::diagnostic::Diagnostic;
use super::lexer::{Lexed, Tok, Token};

mod source_sink;
mod traps;

pub(crate) struct Parsed {
    pub select_all: bool,
    pub source: Source,
    pub condition: Option<Expr>,
    pub sink: Sink,
}

/// How deeply a condition may nest: each `(`, unary `-`/NOT, function call and tighter
/// precedence level entered counts one. Real routes stay far below (a full precedence ladder
/// is 7 levels). Measured in a debug build: a level costs about 4 KiB of stack while parsing
/// (`primary` is kept small for that), 62 levels overflow a 256 KiB stack and 56 do not; 48
/// leaves a margin (`tests_limits` runs the deepest allowed routes on a 256 KiB thread).
pub const MAX_NESTING: usize = 48;

pub(crate) struct Parser<'a> {
    chars: Vec<char>,
    lexed: &'a Lexed,
    pos: usize,
    /// Current nesting, see [`MAX_NESTING`].
    depth: usize,
    pub diags: Vec<Diagnostic>,
    placeholders: bool,
}

const SINK_HELP: &str =
    "write `INTO $upstream` or `INTO BrokeredEndpoint(\"/modules/<module>/inputs/<input>\")`";

impl<'a> Parser<'a> {
    pub fn new(src: &str, lexed: &'a Lexed, placeholders: bool) -> Self {
        Parser {
            chars: src.chars().collect(),
            lexed,
            pos: 0,
            depth: 0,
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

    /// Enters one nesting level, or fails with a diagnostic at the token that opened the level
    /// past the bound (the `(`, NOT, `-` or operator just consumed).
    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let here = match self
                .pos
                .checked_sub(1)
                .and_then(|p| self.lexed.tokens.get(p))
            {
                Some(t) => t.span.clone(),
                None => self.here(),
            };
            let d = Diagnostic::error(
                format!(
                    "the condition nests more than {MAX_NESTING} levels deep (parentheses, NOT, `-`, function calls and operator precedence count)"
                ),
                here.start..here.start + 1,
            )
            .suggest("simplify the condition: remove redundant parentheses or split the route");
            return self.fail(d);
        }
        Some(())
    }

    /// Precedence climbing; `min` is the loosest operator this call may consume.
    fn expr(&mut self, min: u8) -> Option<Expr> {
        self.enter()?;
        let e = self.expr_inner(min);
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self, min: u8) -> Option<Expr> {
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
        self.enter()?;
        let operand = self.unary();
        self.depth -= 1;
        let operand = operand?;
        let span = start..operand.span.end;
        Some(Expr {
            kind: ExprKind::Unary(op, Box::new(operand)),
            span,
            ty: Ty::Undefined,
        })
    }

    /// Dispatches on the next token. Kept tiny: it is on the stack once per nesting level,
    /// so everything that is not a recursion (leaves, `{$x}`, errors) is in `leaf`, a frame
    /// that is popped before the next level starts.
    fn primary(&mut self) -> Option<Expr> {
        match self.peek().map(|t| t.kind) {
            Some(Tok::LParen) => self.parenthesised(),
            Some(Tok::Id) if self.peek_at(1).map(|n| n.kind) == Some(Tok::LParen) => self.call(),
            _ => self.leaf(),
        }
    }

    fn parenthesised(&mut self) -> Option<Expr> {
        let open = self.bump()?.span.clone();
        let inner = self.expr(1)?;
        if self.kind() != Some(Tok::RParen) {
            return self.unclosed(open);
        }
        let close = self.bump().map_or(inner.span.end, |c| c.span.end);
        let mut inner = inner;
        inner.span = open.start..close;
        Some(inner)
    }

    #[inline(never)]
    fn unclosed<T>(&mut self, open: Span) -> Option<T> {
        let d = if self.peek().is_none() || self.kind() == Some(Tok::Into) {
            Diagnostic::error("missing closing `)`", open)
        } else {
            self.unexpected("an operator or `)`")
        };
        self.fail(d)
    }

    #[inline(never)]
    fn leaf(&mut self) -> Option<Expr> {
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
            Tok::SysProp => {
                self.name_traps(t);
                leaf(ExprKind::SysProp(t.text.clone()))
            }
            Tok::Placeholder => leaf(ExprKind::Placeholder(t.text.clone())),
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
                _ => return self.bad_arguments(name, open),
            }
        }
        let raw: String = self.lexed.tokens[first..self.pos]
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        let close = self.bump().map_or(open.span.end, |c| c.span.end);
        Some(call_expr(name, args, raw, close))
    }
}

impl Parser<'_> {
    #[inline(never)]
    fn bad_arguments<T>(&mut self, name: &Token, open: &Token) -> Option<T> {
        let d = if self.peek().is_none() {
            Diagnostic::error(
                format!("missing `)` after the arguments of `{}`", name.text),
                open.span.clone(),
            )
        } else {
            self.unexpected("`,` or `)`")
        };
        self.fail(d)
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

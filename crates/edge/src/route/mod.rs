//! The edgeHub routes language: `[SELECT *] FROM <source> [WHERE <condition>] INTO <sink>`.
//!
//! `parse` turns a route into a checked syntax tree plus diagnostics (errors for what edgeHub
//! rejects when it loads the configuration, warnings for traps it accepts silently), and
//! `evaluate` decides whether a message would be routed. The grammar and its semantics follow
//! edgeHub's own implementation (the ANTLR grammars `GrammarLexer.g4`/`Condition.g4`/
//! `Route.g4` and the route compiler in Azure/iotedge); `../shared/spec/iotedge.md`, section
//! "Routes (edgeHub grammar)", summarises them. Not here: reading deployment manifests, and
//! any notion of which modules exist (a route naming a missing module is still valid).
//!
//! Spans are character offsets (not bytes) into the route text.
//!
//! Beyond edgeHub, `parse_with` can accept `<UPPER_SNAKE>` placeholders (values a customer must
//! fill in, see `../shared/spec/interfaces.md`) as path segments, expressions or a whole sink;
//! inside strings they are plain text, and a `BrokeredEndpoint` address containing one is not
//! held to the 4-segment rule (the placeholder may stand for several segments).

mod ast;
mod builtins;
mod check;
mod diagnostic;
mod eval;
mod lexer;
mod number;
mod parser;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_random;
#[cfg(test)]
mod tests_realworld;

use std::ops::Range;

pub use ast::{
    BinaryOp, Call, Expr, ExprKind, Route, Segment, Sink, Source, SourceKind, Span, Ty, UnaryOp,
};
pub use check::SYSTEM_PROPERTIES;
pub use diagnostic::{Diagnostic, Level};
pub use eval::{Evaluation, Message, SourceMatch, Step, Value, evaluate, source_matches};
pub use parser::MAX_NESTING;

/// The longest route, in UTF-8 bytes. A route lives in `$edgeHub`'s desired properties, where
/// a twin string value is at most 4096 bytes (`../shared/spec/iotedge.md`, "Module twin
/// rules"): IoT Hub refuses a deployment with a longer one, so edgeHub never sees it.
pub const MAX_ROUTE_BYTES: usize = 4096;

/// Parsing options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Accept `<UPPER_SNAKE>` placeholders (an edgecert extension; edgeHub does not).
    pub placeholders: bool,
}

/// A `<UPPER_SNAKE>` placeholder found in a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    /// Character offsets, including the angle brackets.
    pub span: Range<usize>,
}

/// The result of parsing: the route when there is no error, and every diagnostic, sorted by
/// position.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub route: Option<Route>,
    pub diagnostics: Vec<Diagnostic>,
    /// Placeholders met (only with `Options::placeholders`).
    pub placeholders: Vec<Placeholder>,
}

impl Parsed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

/// Parses and checks a route exactly as edgeHub would.
pub fn parse(route: &str) -> Parsed {
    parse_with(route, Options::default())
}

pub fn parse_with(route: &str, options: Options) -> Parsed {
    if route.len() > MAX_ROUTE_BYTES {
        return too_long(route);
    }
    let lexed = lexer::lex(route, options.placeholders);
    let mut placeholders = Vec::new();
    if options.placeholders {
        for t in &lexed.tokens {
            match t.kind {
                lexer::Tok::Placeholder => placeholders.push(Placeholder {
                    name: t.text.clone(),
                    span: t.span.clone(),
                }),
                lexer::Tok::Str | lexer::Tok::UnterminatedStr => {
                    for (name, r) in placeholder_names(&t.text) {
                        placeholders.push(Placeholder {
                            name,
                            span: t.span.start + r.start..t.span.start + r.end,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    let mut parser = parser::Parser::new(route, &lexed, options.placeholders);
    let parsed = parser.route();
    let mut diagnostics = parser.diags;
    let route = parsed.map(|p| {
        let mut condition = p.condition;
        if let Some(c) = condition.as_mut() {
            let text: Vec<char> = route.chars().collect();
            check::Checker {
                diags: &mut diagnostics,
                source: p.source.kind,
                text: &text,
            }
            .condition(c);
        }
        Route {
            text: route.to_owned(),
            select_all: p.select_all,
            source: p.source,
            condition,
            sink: p.sink,
        }
    });
    diagnostics.sort_by_key(|d| (d.span.start, d.severity));
    diagnostics.dedup();
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    Parsed {
        route: route.filter(|_| ok),
        diagnostics,
        placeholders,
    }
}

/// A route over [`MAX_ROUTE_BYTES`]: one error at the first character past the bound (not
/// lexed or parsed at all: nothing about it can be deployed).
fn too_long(route: &str) -> Parsed {
    let at = route
        .char_indices()
        .take_while(|(i, c)| i + c.len_utf8() <= MAX_ROUTE_BYTES)
        .count();
    let d = Diagnostic::error(
        format!(
            "the route is {} bytes long; a route is a twin string value, at most {MAX_ROUTE_BYTES} bytes, so IoT Hub rejects the deployment",
            route.len()
        ),
        at..at + 1,
    )
    .suggest("split it into several shorter routes");
    Parsed {
        route: None,
        diagnostics: vec![d],
        placeholders: Vec::new(),
    }
}

/// `<UPPER_SNAKE>` placeholders in `text`: names and character ranges.
pub fn placeholder_names(text: &str) -> impl Iterator<Item = (String, Range<usize>)> + '_ {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < chars.len() {
            if chars[i] == '<' && chars.get(i + 1).is_some_and(char::is_ascii_uppercase) {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                {
                    j += 1;
                }
                if chars.get(j) == Some(&'>') {
                    let found = (chars[i..=j].iter().collect(), i..j + 1);
                    i = j + 1;
                    return Some(found);
                }
            }
            i += 1;
        }
        None
    })
}

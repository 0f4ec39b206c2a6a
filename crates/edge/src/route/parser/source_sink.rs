//! The parts of a route around the condition: the source path (segments, keyword and number
//! segments that break it, wildcards, comments that swallow it, which documented source it
//! is) and the sink (`$upstream`, `BrokeredEndpoint("...")` with edgeHub's 4-segment address
//! rule).

use super::{Parser, SINK_HELP, unterminated};
use crate::route::ast::*;
use crate::route::diagnostic::Diagnostic;
use crate::route::lexer::{Tok, Token};

/// The system endpoint edgeHub knows.
const UPSTREAM: &str = "$upstream";
const BROKERED: &str = "BrokeredEndpoint";

impl Parser<'_> {
    pub(super) fn source(&mut self) -> Option<Source> {
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

    pub(super) fn source_warnings(&mut self, segments: &[Segment], span: Span) {
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

    pub(super) fn sink(&mut self) -> Option<Sink> {
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
    pub(super) fn brokered(&mut self, s: &Token, span: Span) -> Option<Sink> {
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
        let has_placeholder =
            self.placeholders && crate::route::placeholder_names(&raw).next().is_some();
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
}

fn trailing_slash(span: Span) -> Diagnostic {
    Diagnostic::error("a source cannot end with `/`", span)
        .suggest("end it with a segment or the `*` wildcard, e.g. `/messages/*`")
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

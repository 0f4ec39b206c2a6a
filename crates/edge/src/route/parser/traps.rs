//! Warnings for the lexer's traps as the parser meets them (names that swallowed operator
//! characters, `NOT a = b`), and syntax errors with hints for the usual mistakes.

use super::{Parser, SINK_HELP, unterminated};
use crate::route::diagnostic::Diagnostic;
use crate::route::lexer::{Tok, Token};

impl Parser<'_> {
    /// Warnings for names that swallowed operator characters (IDs may contain
    /// `. - + * % ! | & $ #`; the longest match wins).
    pub(super) fn name_traps(&mut self, t: &Token) {
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
    pub(super) fn unexpected(&self, expected: &str) -> Diagnostic {
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

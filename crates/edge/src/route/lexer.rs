//! The route lexer, written by hand to reproduce edgeHub's ANTLR lexer (`GrammarLexer.g4` /
//! `Condition.g4` in Azure/iotedge) exactly: at each position every token rule is tried, the
//! longest match wins and a tie goes to the rule defined first. That rule, not intuition, is what
//! makes `temp!=5` lex as `temp!` `=` `5`, `a+b` one name, `-5` a number, `-a` a *name*, `e5` a
//! number and `true` a literal while `trueish` is a name. Character offsets, not bytes.
//!
//! It never fails: characters no rule accepts become `Unknown` tokens, and the parser reports
//! them. It does not know about sources, sinks or types (the parser and checker do).

use std::ops::Range;

/// Token kinds, in the lexer's priority order (earlier wins a tie of lengths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tok {
    /// `<UPPER_SNAKE>`, only when placeholders are enabled (an edgecert extension).
    Placeholder,
    LBrace,
    RBrace,
    Select,
    From,
    Where,
    Into,
    /// A string literal; `Str` tokens carry their unescaped value.
    Str,
    /// A string without its closing quote (or cut short by a bad escape).
    UnterminatedStr,
    Integer,
    Hex,
    Real,
    True,
    False,
    Null,
    Undefined,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    And,
    Or,
    Not,
    Eq,
    /// `!=`
    Ne,
    /// `<>`
    LtGt,
    Le,
    Ge,
    Gt,
    Lt,
    /// `||`
    Concat,
    /// `??`
    Coalesce,
    /// `$` followed by query-path characters: `$upstream`, `$body.a.b[0]`.
    SysProp,
    Id,
    /// Query-path characters with `[` or `]` that are not a SYS_PROP: `a[0]`. edgeHub's grammar
    /// has the token but no rule uses it, so it is always a syntax error.
    QueryPath,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Tok,
    pub span: Range<usize>,
    pub text: String,
    /// Unescaped value of `Str`/`UnterminatedStr`.
    pub value: Option<String>,
}

/// What lexing found besides tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    /// `/* ... */` comments (hidden from the parser).
    pub comments: Vec<Range<usize>>,
    /// A `/*` that never closes (so it lexed as `/` `*`), for hints.
    pub unclosed_comment: Option<usize>,
    /// A bad escape inside a string: span of the backslash and what follows.
    pub bad_escapes: Vec<Range<usize>>,
}

/// Whitespace for the route lexer: exactly `[ \t\r\n]`, nothing else. Any other space-like
/// character (no-break space, form feed, ...) is a *name* character in edgeHub's grammar.
pub fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// ID_CHARS: anything but whitespace and `( ) < > @ , ; : \ " / [ ] ? = { }`.
pub fn is_id_char(c: char) -> bool {
    !is_ws(c) && !"()<>@,;:\\\"/[]?={}".contains(c)
}

/// QUERY_PATH_CHARS: like ID_CHARS but `[` and `]` are allowed.
pub fn is_query_char(c: char) -> bool {
    !is_ws(c) && !"()<>@,;:\\\"/?={}".contains(c)
}

pub fn lex(src: &str, placeholders: bool) -> Lexed {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Lexed::default();
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        // Hidden tokens first: they never tie with a visible token of the same length that
        // matters (whitespace is in no other rule; a comment is longer than `/`).
        let ws = run(rest, is_ws);
        if ws > 0 {
            i += ws;
            continue;
        }
        if let Some(n) = comment(rest) {
            out.comments.push(i..i + n);
            i += n;
            continue;
        }
        if rest.starts_with(&['/', '*']) && out.unclosed_comment.is_none() {
            out.unclosed_comment = Some(i);
        }
        let (kind, n) = best(rest, placeholders);
        let text: String = rest[..n].iter().collect();
        let value = match kind {
            Tok::Str => Some(unescape(&rest[1..n - 1])),
            Tok::UnterminatedStr => {
                let stop = i + n;
                if chars.get(stop) == Some(&'\\') {
                    let bad = 1 + usize::from(chars.get(stop + 1).is_some());
                    out.bad_escapes.push(stop..stop + bad);
                }
                Some(unescape(&rest[1..n]))
            }
            _ => None,
        };
        out.tokens.push(Token {
            kind,
            span: i..i + n,
            text,
            value,
        });
        i += n;
    }
    out
}

/// The longest match at the start of `s`; ties go to the earlier rule in `Tok` order.
fn best(s: &[char], placeholders: bool) -> (Tok, usize) {
    let candidates: [(Tok, usize); 38] = [
        (
            Tok::Placeholder,
            if placeholders { placeholder(s) } else { 0 },
        ),
        (Tok::LBrace, lit(s, "{")),
        (Tok::RBrace, lit(s, "}")),
        (Tok::Select, word_ci(s, "select")),
        (Tok::From, word_ci(s, "from")),
        (Tok::Where, word_ci(s, "where")),
        (Tok::Into, word_ci(s, "into")),
        (Tok::Str, string(s).filter(|t| t.1).map_or(0, |t| t.0)),
        (
            Tok::UnterminatedStr,
            string(s).filter(|t| !t.1).map_or(0, |t| t.0),
        ),
        (Tok::Integer, integer(s)),
        (Tok::Hex, hex(s)),
        (Tok::Real, real(s)),
        (Tok::True, lit(s, "true")),
        (Tok::False, lit(s, "false")),
        (Tok::Null, lit(s, "null")),
        (Tok::Undefined, lit(s, "undefined")),
        (Tok::LParen, lit(s, "(")),
        (Tok::RParen, lit(s, ")")),
        (Tok::Comma, lit(s, ",")),
        (Tok::Plus, lit(s, "+")),
        (Tok::Minus, lit(s, "-")),
        (Tok::Star, lit(s, "*")),
        (Tok::Slash, lit(s, "/")),
        (Tok::Percent, lit(s, "%")),
        (Tok::And, word_ci(s, "and")),
        (Tok::Or, word_ci(s, "or")),
        (Tok::Not, word_ci(s, "not")),
        (Tok::Eq, lit(s, "=")),
        (Tok::Ne, lit(s, "!=")),
        (Tok::LtGt, lit(s, "<>")),
        (Tok::Le, lit(s, "<=")),
        (Tok::Ge, lit(s, ">=")),
        (Tok::Gt, lit(s, ">")),
        (Tok::Lt, lit(s, "<")),
        (Tok::Concat, lit(s, "||")),
        (Tok::Coalesce, lit(s, "??")),
        (Tok::SysProp, sys_prop(s)),
        (Tok::Id, run(s, is_id_char)),
    ];
    let mut winner = (Tok::Unknown, 1);
    let mut best_len = 0;
    for (kind, n) in candidates {
        if n > best_len {
            winner = (kind, n);
            best_len = n;
        }
    }
    let qp = run(s, is_query_char);
    if qp > best_len {
        winner = (Tok::QueryPath, qp);
    }
    winner
}

fn run(s: &[char], f: impl Fn(char) -> bool) -> usize {
    s.iter().take_while(|c| f(**c)).count()
}

fn lit(s: &[char], word: &str) -> usize {
    let n = word.chars().count();
    if s.len() >= n && s.iter().zip(word.chars()).all(|(a, b)| *a == b) {
        n
    } else {
        0
    }
}

/// Keywords are case-insensitive (`[Ff] [Rr] [Oo] [Mm]`); ASCII letters only.
fn word_ci(s: &[char], word: &str) -> usize {
    let n = word.len();
    if s.len() >= n
        && s.iter()
            .zip(word.chars())
            .all(|(a, b)| a.to_ascii_lowercase() == b)
    {
        n
    } else {
        0
    }
}

/// `<` `[A-Z]` `[A-Z0-9_]*` `>`
fn placeholder(s: &[char]) -> usize {
    if s.first() != Some(&'<') || !s.get(1).is_some_and(|c| c.is_ascii_uppercase()) {
        return 0;
    }
    let n = 1 + run(&s[1..], |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
    });
    if s.get(n) == Some(&'>') { n + 1 } else { 0 }
}

/// A string literal: `(length, terminated)`. Escapes are `\"` `\'` `\\` `\uXXXX`; any other
/// backslash ends the (then unterminated) string, as in the grammar.
fn string(s: &[char]) -> Option<(usize, bool)> {
    let q = *s.first()?;
    if q != '"' && q != '\'' {
        return None;
    }
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            c if c == q => return Some((i + 1, true)),
            '\\' => match escape_len(&s[i..]) {
                Some(n) => i += n,
                None => return Some((i, false)),
            },
            _ => i += 1,
        }
    }
    Some((i, false))
}

fn escape_len(s: &[char]) -> Option<usize> {
    if s.first() != Some(&'\\') {
        return None;
    }
    match s.get(1)? {
        '"' | '\'' | '\\' => Some(2),
        'u' if s.len() >= 6 && s[2..6].iter().all(|c| c.is_ascii_hexdigit()) => Some(6),
        _ => None,
    }
}

/// The value of a string body (without quotes). `\uXXXX` is a UTF-16 code unit, as in .NET;
/// lone surrogates become U+FFFD.
fn unescape(body: &[char]) -> String {
    let mut units: Vec<u16> = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        match escape_len(&body[i..]) {
            Some(2) => {
                push_char(&mut units, body[i + 1]);
                i += 2;
            }
            Some(_) => {
                let hex: String = body[i + 2..i + 6].iter().collect();
                units.push(u16::from_str_radix(&hex, 16).unwrap_or(0xFFFD));
                i += 6;
            }
            None => {
                push_char(&mut units, body[i]);
                i += 1;
            }
        }
    }
    String::from_utf16_lossy(&units)
}

fn push_char(units: &mut Vec<u16>, c: char) {
    let mut buf = [0u16; 2];
    units.extend_from_slice(c.encode_utf16(&mut buf));
}

fn digits(s: &[char]) -> usize {
    run(s, |c| c.is_ascii_digit())
}

/// `-?[0-9]+`
fn integer(s: &[char]) -> usize {
    let sign = usize::from(s.first() == Some(&'-'));
    let d = digits(&s[sign..]);
    if d > 0 { sign + d } else { 0 }
}

/// `0[xX][0-9a-fA-F]+`
fn hex(s: &[char]) -> usize {
    if s.len() >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
        let d = run(&s[2..], |c| c.is_ascii_hexdigit());
        if d > 0 {
            return 2 + d;
        }
    }
    0
}

/// `-?[0-9]* '.' [0-9]+ EXP?` or `-?[0-9]* EXP`, EXP = `[eE] [+-]? [0-9]+`.
fn real(s: &[char]) -> usize {
    let sign = usize::from(s.first() == Some(&'-'));
    let int = digits(&s[sign..]);
    let at = sign + int;
    let mut best = 0;
    if s.get(at) == Some(&'.') {
        let frac = digits(&s[at + 1..]);
        if frac > 0 {
            let end = at + 1 + frac;
            best = end + exponent(&s[end..]);
        }
    }
    let e = exponent(&s[at..]);
    if e > 0 {
        best = best.max(at + e);
    }
    best
}

fn exponent(s: &[char]) -> usize {
    if !matches!(s.first(), Some('e' | 'E')) {
        return 0;
    }
    let sign = usize::from(matches!(s.get(1), Some('+' | '-')));
    let d = digits(&s[1 + sign..]);
    if d > 0 { 1 + sign + d } else { 0 }
}

/// `'$' QUERY_PATH` (at least one character after `$`).
fn sys_prop(s: &[char]) -> usize {
    if s.first() != Some(&'$') {
        return 0;
    }
    let n = run(&s[1..], is_query_char);
    if n > 0 { 1 + n } else { 0 }
}

/// `'/*' .*? '*/'`: the shortest comment, only if it closes.
fn comment(s: &[char]) -> Option<usize> {
    if !s.starts_with(&['/', '*']) {
        return None;
    }
    (2..s.len().saturating_sub(1))
        .find(|&i| s[i] == '*' && s[i + 1] == '/')
        .map(|i| i + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Tok, String)> {
        lex(src, false)
            .tokens
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    fn k(src: &str) -> Vec<Tok> {
        kinds(src).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn keywords_are_case_insensitive_literals_are_not() {
        use Tok::*;
        assert_eq!(
            k("SELECT select FrOm where INTO and Or NOT"),
            [Select, Select, From, Where, Into, And, Or, Not]
        );
        assert_eq!(
            k("true false null undefined"),
            [True, False, Null, Undefined]
        );
        assert_eq!(k("TRUE False NULL Undefined"), [Id, Id, Id, Id]);
        assert_eq!(k("trueish android notify fromage"), [Id, Id, Id, Id]);
    }

    #[test]
    fn longest_match_decides_operators_inside_names() {
        use Tok::*;
        assert_eq!(
            kinds("temp!=5"),
            [
                (Id, "temp!".into()),
                (Eq, "=".into()),
                (Integer, "5".into())
            ]
        );
        assert_eq!(k("temp != 5"), [Id, Ne, Integer]);
        assert_eq!(kinds("a+b"), [(Id, "a+b".into())]);
        assert_eq!(k("a + b"), [Id, Plus, Id]);
        assert_eq!(kinds("x-1"), [(Id, "x-1".into())]);
        assert_eq!(k("a||b"), [Id]);
        assert_eq!(k("a || b"), [Id, Concat, Id]);
        assert_eq!(k("a&&b"), [Id]);
        assert_eq!(k("a??b"), [Id, Coalesce, Id]);
        assert_eq!(k("a<>b a<=b a>=b a<b a>b"), {
            let mut v = vec![];
            for op in [LtGt, Le, Ge, Lt, Gt] {
                v.extend([Id, op, Id]);
            }
            v
        });
        assert_eq!(k("* / % - +"), [Star, Slash, Percent, Minus, Plus]);
        assert_eq!(k("*x"), [Id]);
    }

    #[test]
    fn numbers() {
        use Tok::*;
        assert_eq!(
            kinds("-5 5 0x1F 0XaB 1.5 .5 -.5 1e5 1E+5 1.5e-3 e5"),
            [
                (Integer, "-5".into()),
                (Integer, "5".into()),
                (Hex, "0x1F".into()),
                (Hex, "0XaB".into()),
                (Real, "1.5".into()),
                (Real, ".5".into()),
                (Real, "-.5".into()),
                (Real, "1e5".into()),
                (Real, "1E+5".into()),
                (Real, "1.5e-3".into()),
                (Real, "e5".into()),
            ]
        );
        // Names that start like numbers are names: the longest match wins.
        assert_eq!(k("5abc 5. 1.5.3 -a +5 -0x1F 0x 5+3"), [Id; 8]);
    }

    #[test]
    fn strings_and_escapes() {
        let l = lex(r#""a\"b" 'c\'d' "\\" '\u00e9' "é""#, false);
        let values: Vec<_> = l.tokens.iter().map(|t| t.value.clone().unwrap()).collect();
        assert_eq!(values, ["a\"b", "c'd", "\\", "é", "é"]);
        assert!(l.tokens.iter().all(|t| t.kind == Tok::Str));
        let l = lex("'abc", false);
        assert_eq!(l.tokens[0].kind, Tok::UnterminatedStr);
        let l = lex(r"'a\qb'", false);
        assert_eq!(l.tokens[0].kind, Tok::UnterminatedStr);
        assert_eq!(l.tokens[0].text, "'a");
        assert_eq!(l.bad_escapes.as_slice(), &[Range { start: 2, end: 4 }]);
        assert_eq!(l.tokens[1].kind, Tok::Unknown);
        // A quote of the other kind is an ordinary character.
        assert_eq!(
            lex(r#""it's""#, false).tokens[0].value.as_deref(),
            Some("it's")
        );
    }

    #[test]
    fn sys_props_ids_and_query_paths() {
        use Tok::*;
        assert_eq!(
            kinds("$body.a.b[0] $upstream $ a[0] {$x}"),
            [
                (SysProp, "$body.a.b[0]".into()),
                (SysProp, "$upstream".into()),
                (Id, "$".into()),
                (QueryPath, "a[0]".into()),
                (LBrace, "{".into()),
                (SysProp, "$x".into()),
                (RBrace, "}".into()),
            ]
        );
        assert_eq!(k("a$b #x .x"), [Id, Id, Id]);
        assert_eq!(
            k("@ ; : \\ ? ]"),
            [Unknown, Unknown, Unknown, Unknown, Unknown, QueryPath]
        );
    }

    #[test]
    fn comments_whitespace_and_spans_in_characters() {
        let l = lex("é /* x */ a\u{a0}b\tc", false);
        assert_eq!(l.comments.as_slice(), &[Range { start: 2, end: 9 }]);
        let t: Vec<_> = l
            .tokens
            .iter()
            .map(|t| (t.text.as_str(), t.span.clone()))
            .collect();
        // A no-break space is a name character, not whitespace.
        assert_eq!(t, [("é", 0..1), ("a\u{a0}b", 10..13), ("c", 14..15)]);
        // An unclosed comment lexes as `/` `*`.
        let l = lex("FROM /messages/* INTO $upstream", false);
        assert!(l.comments.is_empty());
        assert_eq!(l.unclosed_comment, Some(14));
        // The shortest comment: it ends at the first `*/`.
        let l = lex("/* a */ b */", false);
        assert_eq!(l.comments.as_slice(), &[Range { start: 0, end: 7 }]);
    }

    #[test]
    fn placeholders_only_when_enabled() {
        assert_eq!(k("<MODULE_NAME>"), [Tok::Lt, Tok::Id, Tok::Gt]);
        let l = lex("<MODULE_NAME> <lower> <A>", true);
        let t: Vec<_> = l.tokens.iter().map(|t| t.kind).collect();
        assert_eq!(
            t,
            [
                Tok::Placeholder,
                Tok::Lt,
                Tok::Id,
                Tok::Gt,
                Tok::Placeholder
            ]
        );
    }
}

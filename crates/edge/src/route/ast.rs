//! The syntax tree of a parsed route: source, optional condition, sink. Every node keeps its
//! span (character offsets into the route) so later passes can point at it. Expressions carry
//! the static type edgeHub's compiler gives them (`Ty`), filled in by the checker.

use std::ops::Range;

pub type Span = Range<usize>;

/// A route that parsed and checked without errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The route text as given.
    pub text: String,
    /// `SELECT *` was written (it changes nothing).
    pub select_all: bool,
    pub source: Source,
    pub condition: Option<Expr>,
    pub sink: Sink,
}

/// `FROM /messages/modules/x/outputs/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as edgeHub sees it: token texts joined, without whitespace or comments.
    pub path: String,
    pub segments: Vec<Segment>,
    pub span: Span,
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// `*`, a name, or a `<PLACEHOLDER>`.
    pub text: String,
    pub span: Span,
    pub placeholder: bool,
}

/// What a source selects (edgeHub's documented source paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `/*`: every message, twin change notifications included.
    All,
    /// `/messages`, `/messages/*`: device and module messages.
    AllMessages,
    /// `/messages/modules`, `/messages/modules/*`: every module's messages.
    AllModules,
    /// `/messages/modules/<m>` or `/messages/modules/<m>/*`.
    Module,
    /// `/messages/modules/<m>/outputs` or `.../outputs/*`.
    ModuleOutputs,
    /// `/messages/modules/<m>/outputs/<o>` (a trailing `/*` changes nothing).
    ModuleOutput,
    /// `/twinChangeNotifications`.
    TwinChangeNotifications,
    /// Anything else: legal, but no message ever has such a source.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// `$upstream` (any case): IoT Hub.
    Upstream { span: Span },
    /// `BrokeredEndpoint("/modules/<module>/inputs/<input>")`.
    Brokered {
        /// The address as edgeHub reads it: the raw text between the quotes (escapes are not
        /// processed by edgeHub's route factory).
        address: String,
        module: String,
        input: String,
        span: Span,
    },
    /// `<PLACEHOLDER>` standing for the whole sink (needs customer input).
    Placeholder { name: String, span: Span },
}

/// The static types of edgeHub's route compiler. Operators and functions are checked against
/// them when the configuration is loaded; a mismatch makes the route invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    Str,
    Num,
    Bool,
    Null,
    Undefined,
    /// A `$body` query (edgeHub's `QueryValue`): its type is only known per message.
    Dynamic,
    /// A `<PLACEHOLDER>`: matches anything until the customer fills it in.
    Any,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Num => "number",
            Ty::Bool => "bool",
            Ty::Null => "null",
            Ty::Undefined => "undefined",
            Ty::Dynamic => "body value",
            Ty::Any => "placeholder",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    pub ty: Ty,
}

impl Expr {
    /// A childless node, to stand in while a subtree is moved out (`check`, `Drop`).
    pub(crate) fn hole() -> Expr {
        Expr {
            kind: ExprKind::Undefined,
            span: 0..0,
            ty: Ty::Undefined,
        }
    }
}

/// Iterative: a chain `a OR b OR c …` is a left-deep tree as deep as it is long, and the
/// derived drop glue would recurse once per term. Children are moved onto a heap stack
/// first, so each node dropped has none left.
impl Drop for Expr {
    fn drop(&mut self) {
        fn take(kind: &mut ExprKind, stack: &mut Vec<Expr>) {
            match kind {
                ExprKind::Unary(_, x) => stack.push(std::mem::replace(&mut **x, Expr::hole())),
                ExprKind::Binary(_, _, l, r) => {
                    stack.push(std::mem::replace(&mut **l, Expr::hole()));
                    stack.push(std::mem::replace(&mut **r, Expr::hole()));
                }
                ExprKind::Call(c) => stack.append(&mut c.args),
                _ => {}
            }
        }
        let mut stack = Vec::new();
        take(&mut self.kind, &mut stack);
        while let Some(mut e) = stack.pop() {
            take(&mut e.kind, &mut stack);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Str(String),
    /// A number literal; `None` when .NET cannot parse it (edgeHub makes it `undefined`).
    Num(Option<f64>),
    Null,
    Undefined,
    /// A bare name: an application property.
    Property(String),
    /// `$name`: an application property named `$name` if the message has one, else the system
    /// property `name`; `$body.<path>` is a body query.
    SysProp(String),
    /// `{$name}`: the system property (or body query), never an application property.
    SysPropEscaped(String),
    Placeholder(String),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Span, Box<Expr>, Box<Expr>),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name as written (matched case-insensitively).
    pub name: String,
    pub name_span: Span,
    pub args: Vec<Expr>,
    /// The argument tokens joined without whitespace (what `twin_change_includes` receives).
    pub raw_args: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Concat,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Coalesce,
}

impl BinaryOp {
    /// Binding power: higher binds tighter (`??` loosest, `* / %` tightest).
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Coalesce => 1,
            Or => 2,
            And => 3,
            Eq | Ne => 4,
            Lt | Le | Gt | Ge => 5,
            Add | Sub | Concat => 6,
            Mul | Div | Mod => 7,
        }
    }

    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Mul => "*",
            Div => "/",
            Mod => "%",
            Add => "+",
            Sub => "-",
            Concat => "||",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Eq => "=",
            Ne => "!=",
            And => "AND",
            Or => "OR",
            Coalesce => "??",
        }
    }
}

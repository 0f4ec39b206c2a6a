//! edgeHub's built-in functions (`ConditionVisitor.Builtins`): names (case-insensitive), the
//! overloads the compiler accepts (checked against static types when the configuration loads:
//! a wrong arity or argument type rejects the route), and what each computes per message.
//! `twin_change_includes` is declared here but checked and evaluated by `check` and `eval`,
//! because it reads its argument as a path instead of evaluating it.

use super::ast::Ty;
use super::eval::Value;
use super::number::parse_dotnet;

/// Argument lists an overload accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Params {
    Fixed(&'static [Ty]),
    /// `concat(string, string, string...)`: a prefix, then the last type repeated.
    AtLeast(&'static [Ty]),
    /// Any types, this many.
    Any(usize),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Overload {
    pub params: Params,
    /// Whether a `$body` value (edgeHub's `QueryValue`) may stand for a parameter.
    pub dynamic: bool,
    pub ret: Ty,
}

pub(crate) struct Builtin {
    pub name: &'static str,
    pub overloads: &'static [Overload],
    /// Arguments' runtime values and static types.
    pub run: fn(&[Value], &[Ty]) -> Value,
}

const fn fixed(params: &'static [Ty], dynamic: bool, ret: Ty) -> Overload {
    Overload {
        params: Params::Fixed(params),
        dynamic,
        ret,
    }
}

use Ty::{Bool as B, Dynamic as D, Null as N, Num, Str as S};

const MATH1: &[Overload] = &[fixed(&[Num], true, Num)];
const PRED: &[Overload] = &[Overload {
    params: Params::Any(1),
    dynamic: false,
    ret: B,
}];
const STR2_BOOL: &[Overload] = &[fixed(&[S, S], true, B)];

pub(crate) static BUILTINS: &[Builtin] = &[
    Builtin {
        name: "abs",
        overloads: MATH1,
        run: |a, _| math(a, f64::abs),
    },
    Builtin {
        name: "exp",
        overloads: MATH1,
        run: |a, _| math(a, f64::exp),
    },
    Builtin {
        name: "power",
        overloads: &[fixed(&[Num, Num], true, Num)],
        run: |a, _| match a {
            [Value::Num(x), Value::Num(y)] => Value::num(x.powf(*y)),
            _ => Value::Undefined,
        },
    },
    Builtin {
        name: "square",
        overloads: MATH1,
        run: |a, _| math(a, |x| x * x),
    },
    Builtin {
        name: "ceiling",
        overloads: MATH1,
        run: |a, _| math(a, f64::ceil),
    },
    Builtin {
        name: "floor",
        overloads: MATH1,
        run: |a, _| math(a, f64::floor),
    },
    Builtin {
        name: "sign",
        overloads: MATH1,
        run: |a, _| {
            math(a, |x| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            })
        },
    },
    Builtin {
        name: "sqrt",
        overloads: MATH1,
        run: |a, _| math(a, f64::sqrt),
    },
    Builtin {
        name: "as_number",
        overloads: &[fixed(&[S], true, Num), fixed(&[Num], false, Num)],
        run: |a, _| match a {
            [Value::Str(s)] => parse_dotnet(s).map_or(Value::Undefined, Value::num),
            [Value::Num(x)] => Value::Num(*x),
            _ => Value::Undefined,
        },
    },
    Builtin {
        name: "is_bool",
        overloads: PRED,
        run: |a, _| Value::Bool(matches!(a, [Value::Bool(_)])),
    },
    Builtin {
        name: "is_defined",
        overloads: PRED,
        run: |a, _| Value::Bool(!matches!(a, [Value::Undefined])),
    },
    Builtin {
        name: "is_null",
        overloads: &[
            fixed(&[S], false, B),
            fixed(&[D], false, B),
            fixed(&[N], false, B),
            Overload {
                params: Params::Any(1),
                dynamic: false,
                ret: B,
            },
        ],
        // A missing application property is not null; a missing body field is (edgeHub reads
        // an absent JSON path as null); an unreadable body is undefined.
        run: |a, t| match (a, t) {
            ([Value::Null | Value::NullString], _) => Value::Bool(true),
            ([Value::Undefined], [Ty::Dynamic]) => Value::Undefined,
            _ => Value::Bool(false),
        },
    },
    Builtin {
        name: "is_number",
        overloads: PRED,
        run: |a, _| Value::Bool(matches!(a, [Value::Num(x)] if x.is_finite())),
    },
    Builtin {
        name: "is_string",
        overloads: PRED,
        run: |a, _| Value::Bool(matches!(a, [Value::Str(_)])),
    },
    Builtin {
        name: "concat",
        overloads: &[Overload {
            params: Params::AtLeast(&[S, S, S]),
            dynamic: true,
            ret: S,
        }],
        run: |a, _| concat(a),
    },
    Builtin {
        name: "length",
        overloads: &[fixed(&[S], true, Num)],
        run: |a, _| match a {
            [Value::Str(s)] => Value::Num(s.encode_utf16().count() as f64),
            _ => Value::Undefined,
        },
    },
    Builtin {
        name: "lower",
        overloads: &[fixed(&[S], true, S)],
        run: |a, _| match a {
            [Value::Str(s)] => Value::Str(s.to_lowercase()),
            _ => Value::Undefined,
        },
    },
    Builtin {
        name: "upper",
        overloads: &[fixed(&[S], true, S)],
        run: |a, _| match a {
            [Value::Str(s)] => Value::Str(s.to_uppercase()),
            _ => Value::Undefined,
        },
    },
    Builtin {
        name: "substring",
        overloads: &[fixed(&[S, Num], true, S), fixed(&[S, Num, Num], true, S)],
        run: |a, _| substring(a),
    },
    Builtin {
        name: "index_of",
        overloads: &[fixed(&[S, S], true, Num)],
        run: |a, _| match a {
            [Value::Str(s), Value::Str(f)] => Value::Num(index_of(s, f)),
            _ => Value::Undefined,
        },
    },
    Builtin {
        name: "starts_with",
        overloads: STR2_BOOL,
        run: |a, _| str2(a, |s, f| s.starts_with(f)),
    },
    Builtin {
        name: "ends_with",
        overloads: STR2_BOOL,
        run: |a, _| str2(a, |s, f| s.ends_with(f)),
    },
    Builtin {
        name: "contains",
        overloads: STR2_BOOL,
        run: |a, _| str2(a, |s, f| s.contains(f)),
    },
    Builtin {
        name: TWIN_CHANGE_INCLUDES,
        overloads: &[fixed(&[S], false, B)],
        run: |_, _| Value::Undefined,
    },
];

pub(crate) const TWIN_CHANGE_INCLUDES: &str = "twin_change_includes";

/// The builtin called `name`, case-insensitively.
pub(crate) fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name.eq_ignore_ascii_case(name))
}

/// The closest known function name, for "did you mean" (ignoring case and underscores).
pub(crate) fn closest(name: &str) -> Option<&'static str> {
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let n = norm(name);
    BUILTINS
        .iter()
        .map(|b| (edit_distance(&n, &norm(b.name)), b.name))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Types a `$body` value may stand for (edgeHub's `QueryValue.IsSupportedType`).
pub(crate) fn dynamic_stands_for(t: Ty) -> bool {
    matches!(t, Ty::Str | Ty::Num | Ty::Bool | Ty::Null | Ty::Undefined)
}

/// edgeHub's `Args.Match` / `VarArgs.Match` / `AnyArgs.Match`.
pub(crate) fn matches(o: &Overload, given: &[Ty]) -> bool {
    let one = |want: Ty, got: Ty| {
        want == got
            || got == Ty::Any
            || (o.dynamic
                && ((got == Ty::Dynamic && dynamic_stands_for(want))
                    || (want == Ty::Dynamic && dynamic_stands_for(got))))
    };
    match o.params {
        Params::Fixed(p) => p.len() == given.len() && p.iter().zip(given).all(|(w, g)| one(*w, *g)),
        Params::AtLeast(p) => {
            let n = p.len() - 1;
            given.len() >= n
                && given.iter().enumerate().all(|(i, g)| {
                    let want = p[i.min(n)];
                    *g == want || *g == Ty::Any || (o.dynamic && *g == Ty::Dynamic)
                })
        }
        Params::Any(n) => given.len() == n,
    }
}

/// Whether some overload takes `n` arguments.
pub(crate) fn arity_ok(b: &Builtin, n: usize) -> bool {
    b.overloads.iter().any(|o| match o.params {
        Params::Fixed(p) => p.len() == n,
        Params::AtLeast(p) => n + 1 >= p.len(),
        Params::Any(k) => k == n,
    })
}

/// "2 or 3", "at least 2", "1".
pub(crate) fn arity_text(b: &Builtin) -> String {
    let mut counts: Vec<String> = Vec::new();
    for o in b.overloads {
        let s = match o.params {
            Params::Fixed(p) => p.len().to_string(),
            Params::AtLeast(p) => format!("at least {}", p.len() - 1),
            Params::Any(k) => k.to_string(),
        };
        if !counts.contains(&s) {
            counts.push(s);
        }
    }
    counts.join(" or ")
}

/// `lower(string)`, for messages.
pub(crate) fn signatures(b: &Builtin) -> String {
    let mut out: Vec<String> = Vec::new();
    for o in b.overloads {
        let args = match o.params {
            Params::Fixed(p) => p.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
            Params::AtLeast(p) => format!(
                "{}, ...",
                p[..p.len() - 1]
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Params::Any(k) => vec!["any"; k].join(", "),
        };
        let s = format!("{}({args})", b.name);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" or ")
}

fn math(a: &[Value], f: fn(f64) -> f64) -> Value {
    match a {
        [Value::Num(x)] => Value::num(f(*x)),
        _ => Value::Undefined,
    }
}

fn str2(a: &[Value], f: fn(&str, &str) -> bool) -> Value {
    match a {
        [Value::Str(s), Value::Str(x)] => Value::Bool(f(s, x)),
        _ => Value::Undefined,
    }
}

/// A null string property counts as empty; anything undefined or not a string makes the whole
/// result undefined.
pub(crate) fn concat(a: &[Value]) -> Value {
    let mut out = String::new();
    for v in a {
        match v {
            Value::Str(s) => out.push_str(s),
            Value::NullString => {}
            _ => return Value::Undefined,
        }
    }
    Value::Str(out)
}

/// .NET `IndexOf(..., Ordinal)`: a position in UTF-16 code units, -1 when absent.
fn index_of(s: &str, f: &str) -> f64 {
    let hay: Vec<u16> = s.encode_utf16().collect();
    let needle: Vec<u16> = f.encode_utf16().collect();
    if needle.is_empty() {
        return 0.0;
    }
    hay.windows(needle.len())
        .position(|w| w == needle.as_slice())
        .map_or(-1.0, |p| p as f64)
}

/// .NET `Substring` on UTF-16 code units; out-of-range arguments are undefined (edgeHub
/// catches the exception).
fn substring(a: &[Value]) -> Value {
    let (s, start, len) = match a {
        [Value::Str(s), Value::Num(st)] => (s, *st, None),
        [Value::Str(s), Value::Num(st), Value::Num(l)] => (s, *st, Some(*l)),
        _ => return Value::Undefined,
    };
    let units: Vec<u16> = s.encode_utf16().collect();
    let total = units.len() as f64;
    let start = start.trunc();
    if !(0.0..=total).contains(&start) {
        return Value::Undefined;
    }
    let end = match len.map(f64::trunc) {
        None => total,
        Some(l) if l >= 0.0 && start + l <= total => start + l,
        Some(_) => return Value::Undefined,
    };
    Value::Str(String::from_utf16_lossy(
        &units[start as usize..end as usize],
    ))
}

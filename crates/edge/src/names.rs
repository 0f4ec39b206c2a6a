//! Naming rules of IoT Edge deployments (`iotedge.md` "Names", `checks.md` EC107/EC108): module
//! names, environment variable names, route names, and the `<UPPER_SNAKE>` placeholders offers
//! use for values a customer fills in (`interfaces.md`: information, never an error).
//!
//! Each rule returns every reason a name is rejected, lower-case sentences without a trailing
//! period. Written by hand rather than with regexes: the patterns are tiny and the reasons are
//! the point. Deliberately absent: twin key rules (`twin`) and route syntax (`route`).

/// Route keywords; a module named like one breaks `FROM /messages/modules/<name>/...`.
pub const ROUTE_KEYWORDS: &[&str] = &["from", "into", "where", "select", "and", "or", "not"];

/// Module names the runtime reserves.
pub const RESERVED_MODULES: &[&str] = &["edgeAgent", "edgeHub"];

/// Prefix of the variables the runtime injects.
pub const INJECTED_ENV_PREFIX: &str = "IOTEDGE_";

/// Why `name` cannot be a default module name: `^[a-zA-Z0-9][a-zA-Z0-9_-]{1,63}$` (a Docker
/// container name without `.`), not `edgeAgent`/`edgeHub` and not a route keyword, any case.
pub fn module_name_problems(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let len = name.chars().count();
    if !(2..=64).contains(&len) {
        out.push(format!("must be 2 to 64 characters long, is {len}"));
    }
    if let Some(first) = name.chars().next()
        && !first.is_ascii_alphanumeric()
    {
        out.push(format!(
            "must start with a letter or digit, starts with {first:?}"
        ));
    }
    let bad: Vec<char> = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        .collect();
    if !bad.is_empty() {
        out.push(format!(
            "may contain only letters, digits, `_` and `-`; found {}",
            quoted(&bad)
        ));
    }
    if let Some(r) = RESERVED_MODULES
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
    {
        out.push(format!("`{r}` is reserved for the IoT Edge runtime"));
    }
    if ROUTE_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name)) {
        out.push(format!(
            "`{name}` is a route keyword: a route source naming this module cannot be parsed"
        ));
    }
    out
}

/// Why `name` cannot be a deployment `env` name: `^[^+#$\s.]+$` (the deployment schema; env
/// names are twin keys) and no `IOTEDGE_` prefix (the runtime injects those).
pub fn env_name_problems(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name.is_empty() {
        out.push("must not be empty".to_owned());
    }
    let bad: Vec<char> = name
        .chars()
        .filter(|c| matches!(c, '+' | '#' | '$' | '.') || c.is_whitespace())
        .collect();
    if !bad.is_empty() {
        out.push(format!("must not contain {}", quoted(&bad)));
    }
    if name.starts_with(INJECTED_ENV_PREFIX) {
        out.push(format!(
            "names starting with {INJECTED_ENV_PREFIX} are set by the IoT Edge runtime"
        ));
    }
    out
}

/// Why `name` cannot be a route name: `^[^.$# ]+$`.
pub fn route_name_problems(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name.is_empty() {
        out.push("must not be empty".to_owned());
    }
    let bad: Vec<char> = name
        .chars()
        .filter(|c| matches!(c, '.' | '$' | '#' | ' '))
        .collect();
    if !bad.is_empty() {
        out.push(format!("must not contain {}", quoted(&bad)));
    }
    out
}

/// Distinct characters, quoted and joined: `'.', ' '`.
fn quoted(chars: &[char]) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in chars {
        if !seen.contains(c) {
            seen.push(*c);
        }
    }
    seen.iter()
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every `<UPPER_SNAKE>` placeholder in `s` (`<MQTT_BROKER_HOST>`): `<`, an upper-case letter,
/// upper-case letters, digits or `_`, `>`.
pub fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        let ok = len > 0
            && after.as_bytes()[0].is_ascii_uppercase()
            && after.as_bytes().get(len) == Some(&b'>');
        if ok {
            let begin = offset + start;
            out.push(&s[begin..begin + len + 2]);
            offset += start + len + 2;
            rest = &after[len + 1..];
        } else {
            offset += start + 1;
            rest = after;
        }
    }
    out
}

/// Whether `s` is exactly one placeholder.
pub fn is_placeholder(s: &str) -> bool {
    placeholders(s).first().is_some_and(|p| p.len() == s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        for ok in [
            "tempfilter",
            "Temp-Filter_2",
            "a1",
            &"m".repeat(64),
            "0sensor",
        ] {
            assert!(module_name_problems(ok).is_empty(), "{ok}");
        }
        for (bad, why) in [
            ("", "2 to 64"),
            ("a", "2 to 64"),
            (&"m".repeat(65) as &str, "2 to 64"),
            ("_temp", "must start"),
            ("-temp", "must start"),
            ("temp.filter", "'.'"),
            ("temp filter", "' '"),
            ("tëmp", "'ë'"),
            ("edgeHub", "reserved"),
            ("EDGEAGENT", "reserved"),
            ("into", "route keyword"),
            ("Select", "route keyword"),
            ("OR", "route keyword"),
        ] {
            let p = module_name_problems(bad);
            assert!(p.iter().any(|m| m.contains(why)), "{bad}: {p:?}");
        }
        assert_eq!(module_name_problems("-edge.hub").len(), 2);
    }

    #[test]
    fn env_names() {
        for ok in ["LOG_LEVEL", "a-b", "ÄPFEL", "iotedge_lower", "x:y"] {
            assert!(env_name_problems(ok).is_empty(), "{ok}");
        }
        for bad in [
            "",
            "A.B",
            "A B",
            "A\tB",
            "A+B",
            "A#B",
            "$A",
            "IOTEDGE_MODULEID",
        ] {
            assert!(!env_name_problems(bad).is_empty(), "{bad:?}");
        }
        assert_eq!(
            env_name_problems("a.b.c"),
            ["must not contain '.'".to_owned()]
        );
    }

    #[test]
    fn route_names() {
        assert!(route_name_problems("toUpstream").is_empty());
        assert!(
            route_name_problems("to-upstream_2\t").is_empty(),
            "only space is banned"
        );
        for bad in ["", "a.b", "$a", "a#", "a b"] {
            assert!(!route_name_problems(bad).is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn placeholder_detection() {
        assert_eq!(
            placeholders("mqtt://<MQTT_BROKER_HOST>:<PORT_1>/x"),
            ["<MQTT_BROKER_HOST>", "<PORT_1>"]
        );
        assert!(placeholders("<lower> <_X> <1A> <A-B> <> <A").is_empty());
        assert_eq!(placeholders("<<A>>"), ["<A>"]);
        assert_eq!(placeholders("é<Ü><B>"), ["<B>"]);
        assert!(is_placeholder("<DATA_DIR>"));
        assert!(!is_placeholder("<DATA_DIR>/x"));
        assert!(!is_placeholder(""));
    }
}

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

/// `s` with every template variable (`$VAR`, `${VAR}`: iotedgedev and CI templates expand
/// them before deployment) and `<PLACEHOLDER>` replaced by `x`: they stand for values filled in
/// later, so reference and tag rules judge only the text around them.
pub fn without_variables(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let word = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    while i < chars.len() {
        let rest = &chars[i..];
        let len = match rest {
            ['$', '{', ..] => rest.iter().position(|c| *c == '}').map(|e| e + 1),
            ['$', c, ..] if c.is_ascii_alphabetic() || *c == '_' => {
                Some(1 + rest[1..].iter().take_while(|c| word(c)).count())
            }
            ['<', c, ..] if c.is_ascii_uppercase() => {
                rest.iter().position(|c| *c == '>').filter(|&e| {
                    rest[1..e]
                        .iter()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                })
            }
            _ => None,
        };
        match len {
            Some(n) if n > 1 => {
                out.push('x');
                i += n + usize::from(rest[0] == '<');
            }
            _ => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Why `tag` cannot be an image tag: Docker's `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn tag_problems(tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let len = tag.chars().count();
    if !(1..=128).contains(&len) {
        out.push(format!("must be 1 to 128 characters long, is {len}"));
    }
    if let Some(first) = tag.chars().next()
        && !(first.is_ascii_alphanumeric() || first == '_')
    {
        out.push(format!(
            "must start with a letter, digit or `_`, starts with {first:?}"
        ));
    }
    let bad: Vec<char> = tag
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .collect();
    if !bad.is_empty() {
        out.push(format!(
            "may contain only letters, digits, `_`, `.` and `-`; found {}",
            quoted(&bad)
        ));
    }
    out
}

/// Why `reference` cannot be a tagged image reference `[HOST[:PORT]/]PATH:TAG` in Docker's
/// grammar (distribution/reference): path components `[a-z0-9]+` joined by `.`, `_`, `__` or
/// dashes, host names of letters, digits, `-` and `.` with an optional numeric port.
pub fn tagged_reference_problems(reference: &str) -> Vec<String> {
    let Some((name, tag)) = reference
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
    else {
        return vec!["has no `:TAG`".to_owned()];
    };
    let mut out: Vec<String> = tag_problems(tag)
        .into_iter()
        .map(|p| format!("tag {tag:?} {p}"))
        .collect();
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    if parts.len() > 1 && (first.contains(['.', ':']) || first == "localhost") {
        parts.remove(0);
        let (host, port) = first.split_once(':').unwrap_or((first, ""));
        let host_ok = !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !host_ok {
            out.push(format!("registry host {host:?} is not a host name"));
        }
        if first.contains(':') && port.parse::<u16>().map_or(true, |p| p == 0) {
            out.push(format!("registry port {port:?} is not a port number"));
        }
    }
    for c in parts {
        if !path_component_ok(c) {
            out.push(format!(
                "repository path component {c:?} must be lower-case letters and digits, separated by `.`, `_`, `__` or `-`"
            ));
        }
    }
    out
}

fn path_component_ok(c: &str) -> bool {
    let alnum = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit();
    let chars: Vec<char> = c.chars().collect();
    if !chars.first().is_some_and(|ch| alnum(*ch)) || !chars.last().is_some_and(|ch| alnum(*ch)) {
        return false;
    }
    let mut i = 0;
    while i < chars.len() {
        if alnum(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !alnum(chars[i]) {
            i += 1;
        }
        let sep: String = chars[start..i].iter().collect();
        if !(matches!(sep.as_str(), "." | "_" | "__") || sep.chars().all(|ch| ch == '-')) {
            return false;
        }
    }
    true
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

    #[test]
    fn variables_and_placeholders_are_not_judged() {
        assert_eq!(without_variables("${VER}.${BLD}"), "x.x");
        assert_eq!(
            without_variables("$CONTAINER_REGISTRY_USERNAME_myacr.azurecr.io/a:$V"),
            "x.azurecr.io/a:x"
        );
        assert_eq!(without_variables("<REGISTRY>/p:0.0"), "x/p:0.0");
        assert_eq!(without_variables("a$/<lower>:1"), "a$/<lower>:1");
        assert!(tagged_reference_problems(&without_variables("$ACR/x/y:${T}")).is_empty());
    }

    #[test]
    fn tags_and_tagged_references() {
        assert!(tag_problems("1.0.3-linux-amd64").is_empty());
        assert!(tag_problems("_x").is_empty());
        assert!(!tag_problems("-x").is_empty());
        assert!(!tag_problems("1.0 beta").is_empty());
        assert!(!tag_problems(&"a".repeat(129)).is_empty());
        assert!(!tag_problems("").is_empty());
        for ok in [
            "mcr.microsoft.com/azureiotedge-agent:1.5",
            "localhost:5000/contoso/temp_filter:1.0",
            "registry.example.com/contoso/a__b.c--d:latest",
            "contoso/filter:1",
        ] {
            assert!(tagged_reference_problems(ok).is_empty(), "{ok}");
        }
        for bad in [
            "registry.example.com/contoso/filter",
            "registry.example.com/contoso/filter:1.0 beta",
            "registry.example.com/Contoso/filter:1",
            "registry.example.com/contoso//filter:1",
            "registry.example.com:99999/contoso/filter:1",
            "bad_host.example.com/contoso/filter:1",
            "registry.example.com/-filter:1",
        ] {
            assert!(!tagged_reference_problems(bad).is_empty(), "{bad}");
        }
    }
}

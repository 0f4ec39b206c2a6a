//! `${VAR}` handling of iotedgedev solutions: reading `.env` the way iotedgedev
//! (python-dotenv) does, substituting the variables it defines into template and `module.json`
//! values, and turning the ones it does not define into `<VAR>` placeholders for the offer.
//! Deliberately absent: the `$VAR` form without braces and default values (`${VAR:-x}`).

use std::collections::BTreeMap;

use serde_json::Value;

/// `.env` as iotedgedev (python-dotenv) reads it: `KEY=VALUE` lines, `#` comments, optional
/// `export `, values optionally in matching quotes.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(a, b)| {
                v.strip_prefix(*a)
                    .and_then(|s| s.strip_suffix(*b))
                    .filter(|_| v.len() >= 2)
            })
            .unwrap_or(v);
        vars.insert(k.trim().to_owned(), v.to_owned());
    }
    vars
}

/// Replaces every `${VAR}` defined in `vars`; others stay as written.
pub fn substitute(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if vars.contains_key(&after[..end]) => {
                out.push_str(&vars[&after[..end]]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn substitute_value(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(substitute(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute_value(x, vars)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute_value(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Unresolved `${VAR}` in the repository becomes the `<VAR>` placeholder.
pub(super) fn placeholder_vars(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name: String = after[..end]
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_uppercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                out.push_str(&format!("<{name}>"));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

//! Module twin rules for default desired properties (`iotedge.md` "Module twin rules",
//! `checks.md` EC104): nesting depth, key and string sizes and characters, the integer range,
//! no null in arrays, the 32 KiB section size. Every violation is returned with its JSON path
//! below the desired-properties root (`threshold.limits[2]`).
//!
//! Decisions: depth counts objects and arrays below the root, so `{"a": 1}` has depth 1 and
//! `{"a": {"b": 1}}` depth 2. IoT Hub keeps numbers as doubles: numbers with a fraction are
//! accepted at any magnitude, while a number without one is an integer and must lie within
//! −4503599627370496..4503599627370495 (±2^52, exact as a double) — JSON cannot tell `1e20`
//! from `100000000000000000000`, so both are integers here. `null` as an object value is
//! allowed (in a desired-properties patch it removes the key); in an array it is not.
//!
//! Deliberately absent: reported properties, tags, and the `$`-prefixed metadata IoT Hub adds
//! (a default twin must not contain them, so they are reported as bad keys).

use serde_json::{Map, Value};

pub const MAX_DEPTH: usize = 10;
pub const MAX_KEY_BYTES: usize = 1024;
pub const MAX_STRING_BYTES: usize = 4096;
pub const MIN_INTEGER: i64 = -4_503_599_627_370_496;
pub const MAX_INTEGER: i64 = 4_503_599_627_370_495;
/// Serialized size of the desired section.
pub const MAX_BYTES: usize = 32 * 1024;
/// Keys IoT Hub owns.
pub const SERVICE_KEYS: &[&str] = &["$metadata", "$version", "$lastUpdated", "$etag"];

/// One broken rule, at a path relative to the desired-properties root (empty: the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl Violation {
    /// The path under `root`, e.g. `defaults.twin.threshold`.
    pub fn location(&self, root: &str) -> String {
        match self.path.as_str() {
            "" => root.to_owned(),
            p if p.starts_with('[') => format!("{root}{p}"),
            p => format!("{root}.{p}"),
        }
    }
}

/// Every violation of the twin rules in a desired-properties object.
pub fn check_desired(desired: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    check_object(desired, "", 1, &mut out);
    let bytes = serde_json::to_string(desired).map_or(0, |s| s.len());
    if bytes > MAX_BYTES {
        out.push(Violation {
            path: String::new(),
            message: format!(
                "the desired properties are {bytes} bytes serialized; the limit is {MAX_BYTES} (32 KiB)"
            ),
        });
    }
    out
}

fn push(out: &mut Vec<Violation>, path: &str, message: String) {
    out.push(Violation {
        path: path.to_owned(),
        message,
    });
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `level` is the depth of the container being checked (the root is 1).
fn check_object(map: &Map<String, Value>, path: &str, level: usize, out: &mut Vec<Violation>) {
    for (key, value) in map {
        let p = child(path, key);
        for problem in key_problems(key) {
            push(out, &p, problem);
        }
        check_value(value, &p, level, false, out);
    }
}

fn check_value(value: &Value, path: &str, level: usize, in_array: bool, out: &mut Vec<Violation>) {
    match value {
        Value::Null if in_array => push(out, path, "arrays must not contain null".into()),
        Value::Null | Value::Bool(_) => {}
        Value::String(s) if s.len() > MAX_STRING_BYTES => push(
            out,
            path,
            format!(
                "string is {} bytes; the limit is {MAX_STRING_BYTES}",
                s.len()
            ),
        ),
        Value::String(_) => {}
        Value::Number(n) => {
            let in_range = if let Some(i) = n.as_i64() {
                (MIN_INTEGER..=MAX_INTEGER).contains(&i)
            } else if n.is_u64() {
                false
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                f.fract() != 0.0 || (MIN_INTEGER as f64..=MAX_INTEGER as f64).contains(&f)
            };
            if !in_range {
                push(
                    out,
                    path,
                    format!("integer {n} is outside {MIN_INTEGER}..{MAX_INTEGER}"),
                );
            }
        }
        Value::Array(_) | Value::Object(_) if level + 1 > MAX_DEPTH => {
            push(out, path, format!("nested deeper than {MAX_DEPTH} levels"))
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_value(item, &format!("{path}[{i}]"), level + 1, true, out);
            }
        }
        Value::Object(m) => check_object(m, path, level + 1, out),
    }
}

/// Why `key` cannot be a twin property name.
pub fn key_problems(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    if SERVICE_KEYS.contains(&key) {
        out.push(format!("`{key}` is owned by IoT Hub"));
        return out;
    }
    if key.is_empty() {
        out.push("keys must not be empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        out.push(format!(
            "key is {} bytes; the limit is {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    let mut bad: Vec<String> = Vec::new();
    for c in key.chars() {
        let name = match c {
            '.' | '$' | '#' => format!("{c:?}"),
            c if c.is_control() => "control characters".to_owned(),
            c if c.is_whitespace() => "whitespace".to_owned(),
            _ => continue,
        };
        if !bad.contains(&name) {
            bad.push(name);
        }
    }
    if !bad.is_empty() {
        out.push(format!("keys must not contain {}", bad.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn violations(v: Value) -> Vec<(String, String)> {
        check_desired(v.as_object().unwrap())
            .into_iter()
            .map(|v| (v.path, v.message))
            .collect()
    }

    fn nested(depth: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..depth {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn good_twins_pass() {
        assert!(violations(json!({})).is_empty());
        assert!(
            violations(json!({
                "threshold": 45, "ratio": 0.5, "tiny": 1.5e-300, "pi": 31415926535897.93, "name": "x", "on": true,
                "removed": null, "list": [1, "a", [2], {"k": false}],
                "min": MIN_INTEGER, "max": MAX_INTEGER
            }))
            .is_empty()
        );
    }

    #[test]
    fn depth_counts_below_the_root() {
        assert!(violations(nested(1)).is_empty());
        assert!(violations(nested(MAX_DEPTH)).is_empty());
        let v = violations(nested(MAX_DEPTH + 1));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, "a.a.a.a.a.a.a.a.a.a");
        // Arrays count as levels too: the root, then 9 objects, then an array is 11.
        let mut deep = json!([1]);
        for _ in 0..9 {
            deep = json!({ "a": deep });
        }
        assert!(violations(deep.clone()).is_empty());
        let v = violations(json!({ "b": deep }));
        assert_eq!(v[0].1, "nested deeper than 10 levels");
    }

    #[test]
    fn keys() {
        let v = violations(json!({
            "a.b": 1, "$version": 2, "#x": 3, "a b": 4, "tab\t": 5, "": 6, "ok_key-1": 7,
            "nested": {"x.y": 1}
        }));
        let paths: Vec<&str> = v.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["a.b", "$version", "#x", "a b", "tab\t", "", "nested.x.y"]
        );
        assert!(v[1].1.contains("owned by IoT Hub"));
        assert!(v[4].1.contains("control characters"), "{v:?}");
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert_eq!(violations(json!({ long: 1 })).len(), 1);
        assert!(violations(json!({ "k".repeat(MAX_KEY_BYTES): 1 })).is_empty());
        // Bytes, not characters.
        assert_eq!(violations(json!({ "é".repeat(513): 1 })).len(), 1);
    }

    #[test]
    fn values() {
        let v = violations(json!({
            "s": "x".repeat(MAX_STRING_BYTES + 1),
            "ok": "x".repeat(MAX_STRING_BYTES),
            "lo": MIN_INTEGER - 1,
            "hi": MAX_INTEGER + 1,
            "u": u64::MAX,
            "f": 1e20,
            "arr": [1, null],
        }));
        let paths: Vec<&str> = v.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["s", "lo", "hi", "u", "f", "arr[1]"]);
        assert_eq!(v[5].1, "arrays must not contain null");
    }

    #[test]
    fn size_limit() {
        let mut m = Map::new();
        for i in 0..9 {
            m.insert(format!("k{i}"), json!("x".repeat(4000)));
        }
        let v = check_desired(&m);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].path, "");
        assert_eq!(v[0].location("defaults.twin"), "defaults.twin");
        assert!(v[0].message.contains("32 KiB"));
    }
}

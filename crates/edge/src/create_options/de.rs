//! A `serde` deserializer over a borrowed `serde_json::Value` that reads struct fields the way
//! the runtime does, and says so: Docker (Go `encoding/json`) and edgeAgent (Newtonsoft.Json)
//! both match field names case-insensitively, so `"privileged": true` really does run a
//! privileged container. Every struct key is folded onto the model's field name (a warning),
//! repeated spellings keep the last value like both runtimes do (an error), and keys that
//! match no field are recorded (an error at the top level and in `HostConfig`, where
//! `checks.md` EC103 requires known fields; a warning deeper down, where Docker ignores them).
//!
//! It owns no knowledge of Docker's fields: those come from the bollard model itself, through
//! the `fields` list serde's derive hands to `deserialize_struct`. It does not collect type
//! errors: those come back as the `Err` of the deserialization, with `serde_path_to_error`
//! naming the path.

use std::cell::RefCell;

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

use super::{Issue, Level};

/// Structs whose unknown keys are errors (`checks.md` EC103: known top-level and `HostConfig`
/// fields); the names are the bollard type names serde's derive passes.
const STRICT_STRUCTS: &[&str] = &["ContainerCreateBody", "HostConfig"];

/// Docker fields that real manifests still carry although the current Engine API dropped them;
/// the unknown-field message says why they do nothing.
const RETIRED: &[(&str, &str)] = &[
    (
        "MacAddress",
        "deprecated at the top level since Engine API 1.44; set it per network in NetworkingConfig.EndpointsConfig",
    ),
    (
        "KernelMemory",
        "removed in Engine API 1.42; the engine ignores it",
    ),
    (
        "MaximumIOps",
        "not a field of the Engine API (it is IOMaximumIOps, Windows only)",
    ),
    (
        "MaximumIOBps",
        "not a field of the Engine API (it is IOMaximumBandwidth, Windows only)",
    ),
];

/// Appends `key` to a JSON path: `a.b`, `a[2]`; the root is the empty path.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// One JSON value being deserialized, with its path and the shared issue sink.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a> {
    value: &'a Value,
    path: &'a str,
    sink: &'a RefCell<Vec<Issue>>,
}

impl<'a> Node<'a> {
    pub(crate) fn new(value: &'a Value, path: &'a str, sink: &'a RefCell<Vec<Issue>>) -> Self {
        Node { value, path, sink }
    }
}

/// A child node owns its path string; `Node` borrows it, so children are built in two steps.
struct Child<'a> {
    value: &'a Value,
    path: String,
    sink: &'a RefCell<Vec<Issue>>,
}

impl<'de> IntoDeserializer<'de, Error> for Child<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Child<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        Node::new(self.value, &self.path, self.sink).deserialize_any(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        Node::new(self.value, &self.path, self.sink).deserialize_option(visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        Node::new(self.value, &self.path, self.sink).deserialize_struct(name, fields, visitor)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        Node::new(self.value, &self.path, self.sink).deserialize_enum(name, variants, visitor)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        Node::new(self.value, &self.path, self.sink).deserialize_newtype_struct(name, visitor)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier
    }
}

impl<'a> Node<'a> {
    fn child(&self, key: &str, value: &'a Value) -> Child<'a> {
        Child {
            value,
            path: join(self.path, key),
            sink: self.sink,
        }
    }

    fn item(&self, index: usize, value: &'a Value) -> Child<'a> {
        Child {
            value,
            path: format!("{}[{index}]", self.path),
            sink: self.sink,
        }
    }

    fn issue(&self, level: Level, path: String, message: String) {
        self.sink.borrow_mut().push(Issue {
            level,
            path,
            message,
        });
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => de::Unexpected::Unsigned(u),
            (_, Some(i)) => de::Unexpected::Signed(i),
            _ => de::Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for Node<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => {
                SeqDeserializer::new(items.iter().enumerate().map(|(i, v)| self.item(i, v)))
                    .deserialize_any(visitor)
            }
            Value::Object(map) => {
                MapDeserializer::new(map.iter().map(|(k, v)| (k.clone(), self.child(k, v))))
                    .deserialize_any(visitor)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Only an object: serde would also fill a struct from an array, positionally, which
        // neither Go nor Newtonsoft does.
        let Value::Object(map) = self.value else {
            return Err(de::Error::invalid_type(unexpected(self.value), &visitor));
        };
        let strict = STRICT_STRUCTS.contains(&name);
        let mut entries: Vec<(String, Child<'_>)> = Vec::with_capacity(map.len());
        for (key, value) in map {
            let field = fields
                .iter()
                .find(|f| **f == key.as_str())
                .or_else(|| fields.iter().find(|f| f.eq_ignore_ascii_case(key)));
            let Some(field) = field else {
                let why = RETIRED
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, why)| format!(": {why}"))
                    .unwrap_or_default();
                let (level, effect) = if strict {
                    (Level::Error, "")
                } else {
                    (Level::Warning, ", ignored by Docker")
                };
                self.issue(
                    level,
                    join(self.path, key),
                    format!("unknown field `{key}`{effect}{why}"),
                );
                continue;
            };
            if *field != key.as_str() {
                self.issue(
                    Level::Warning,
                    join(self.path, key),
                    format!(
                        "`{key}` is read as `{field}` (Docker and edgeAgent match names case-insensitively); write `{field}`"
                    ),
                );
            }
            if let Some(pos) = entries.iter().position(|(k, _)| k == field) {
                self.issue(
                    Level::Error,
                    join(self.path, key),
                    format!("`{field}` is given more than once; the runtime keeps the last value"),
                );
                entries.remove(pos);
            }
            entries.push(((*field).to_owned(), self.child(field, value)));
        }
        MapDeserializer::new(entries.into_iter()).deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_enum(s.clone().into_deserializer()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier
    }
}

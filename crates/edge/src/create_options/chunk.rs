//! Chunking: how a minified createOptions string is stored in a deployment manifest, and how
//! edgeAgent reads it back.
//!
//! Writing (iotedgedev, VS Code, edgeAgent itself): 512-character pieces under `createOptions`,
//! `createOptions01`, `createOptions02`, … (two-digit suffix); the tooling stops at 8 pieces
//! (4096 characters). Reading (edgeAgent's `JsonEx.ChunkedValue` behind `DockerConfig`): every
//! settings key that contains `createOptions` in any case, sorted case-insensitively; the first
//! must have no number, the n-th must carry the number n (any digits, `1` and `01` alike); at
//! most 100 are read; the values are concatenated.
//!
//! Pieces are cut at Unicode scalar values, never inside a character. The runtime and tooling
//! count UTF-16 units (C#, JavaScript) or code points (Python); all agree on the BMP text
//! createOptions contain in practice. Deliberately stricter than edgeAgent, which stringifies
//! whatever it finds: a chunk that is not a JSON string is an error here.

use serde_json::{Map, Value};

/// Characters per chunk.
pub const CHUNK_CHARS: usize = 512;
/// The tooling's limit (iotedgedev, VS Code, IoT Explorer): 8 chunks, 4096 characters.
pub const TOOLING_MAX_CHUNKS: usize = 8;
/// edgeAgent's limit: suffixes 01..99 after the unnumbered first chunk.
pub const RUNTIME_MAX_CHUNKS: usize = 100;

const BASE: &str = "createOptions";

/// One settings entry of a chunked createOptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// `createOptions`, `createOptions01`, …
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error(
        "createOptions is {chars} characters: {chunks} chunks of {CHUNK_CHARS}, more than the limit of {max}"
    )]
    TooLong {
        chars: usize,
        chunks: usize,
        max: usize,
    },
    #[error("{count} createOptions chunks: edgeAgent reads only the first {RUNTIME_MAX_CHUNKS}")]
    TooManyChunks { count: usize },
    #[error(
        "settings key `{key}` would be read as a createOptions chunk but is not `createOptions` or `createOptionsNN`"
    )]
    OddKey { key: String },
    #[error("chunk `{found}` is out of sequence: edgeAgent expects `{expected}` at this position")]
    OutOfSequence { expected: String, found: String },
    #[error("chunk `{key}` must be a string, found {found}")]
    NotAString { key: String, found: &'static str },
}

/// The settings key of chunk `index` (0 → `createOptions`, 1 → `createOptions01`).
pub fn chunk_key(index: usize) -> String {
    if index == 0 {
        BASE.to_owned()
    } else {
        format!("{BASE}{index:02}")
    }
}

/// Cuts a minified createOptions into chunks of [`CHUNK_CHARS`] characters, at most
/// `max_chunks` of them (use [`TOOLING_MAX_CHUNKS`] for manifests people will edit). An empty
/// string gives one empty `createOptions` chunk.
pub fn chunk(minified: &str, max_chunks: usize) -> Result<Vec<Chunk>, ChunkError> {
    let chars: Vec<char> = minified.chars().collect();
    let pieces: Vec<String> = if chars.is_empty() {
        vec![String::new()]
    } else {
        chars
            .chunks(CHUNK_CHARS)
            .map(|c| c.iter().collect())
            .collect()
    };
    let limit = max_chunks.min(RUNTIME_MAX_CHUNKS);
    if pieces.len() > limit {
        return Err(ChunkError::TooLong {
            chars: chars.len(),
            chunks: pieces.len(),
            max: limit,
        });
    }
    Ok(pieces
        .into_iter()
        .enumerate()
        .map(|(i, value)| Chunk {
            key: chunk_key(i),
            value,
        })
        .collect())
}

/// The number after `createOptions` in `key` (case-insensitive): `Some("")` for the first
/// chunk, `Some("01")` for the second, `None` when the key is not a chunk key at all.
fn suffix(key: &str) -> Option<&str> {
    let head = key.get(..BASE.len())?;
    let rest = &key[BASE.len()..];
    (head.eq_ignore_ascii_case(BASE) && rest.bytes().all(|b| b.is_ascii_digit())).then_some(rest)
}

/// Reassembles createOptions from a module's `settings` object the way edgeAgent does. No
/// chunk keys at all gives `""` (no createOptions).
pub fn unchunk(settings: &Map<String, Value>) -> Result<String, ChunkError> {
    let lower = BASE.to_ascii_lowercase();
    let mut keys: Vec<&String> = settings
        .keys()
        .filter(|k| k.to_ascii_lowercase().contains(&lower))
        .collect();
    // edgeAgent's pattern is unanchored: `mycreateOptions` would be taken as a chunk.
    if let Some(odd) = keys.iter().find(|k| suffix(k).is_none()) {
        return Err(ChunkError::OddKey {
            key: (*odd).clone(),
        });
    }
    if keys.len() > RUNTIME_MAX_CHUNKS {
        return Err(ChunkError::TooManyChunks { count: keys.len() });
    }
    // OrdinalIgnoreCase: compare upper-cased.
    keys.sort_by_key(|k| k.to_ascii_uppercase());
    let mut out = String::new();
    for (index, key) in keys.into_iter().enumerate() {
        let digits = suffix(key).unwrap_or_default();
        let in_sequence = if index == 0 {
            digits.is_empty()
        } else {
            // C#'s int.TryParse: `1`, `01` and `001` are all 1; overlong digit strings fail.
            digits.len() <= 9 && digits.parse::<usize>().ok() == Some(index)
        };
        if !in_sequence {
            return Err(ChunkError::OutOfSequence {
                expected: chunk_key(index),
                found: key.clone(),
            });
        }
        match &settings[key] {
            Value::String(s) => out.push_str(s),
            other => {
                return Err(ChunkError::NotAString {
                    key: key.clone(),
                    found: super::kind(other),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(chunks: &[Chunk]) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("image".into(), json!("x:1"));
        for c in chunks {
            m.insert(c.key.clone(), Value::String(c.value.clone()));
        }
        m
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keys_have_two_digit_suffixes() {
        assert_eq!(chunk_key(0), "createOptions");
        assert_eq!(chunk_key(1), "createOptions01");
        assert_eq!(chunk_key(7), "createOptions07");
        assert_eq!(chunk_key(99), "createOptions99");
    }

    #[test]
    fn round_trips_at_the_boundaries() {
        for len in [0usize, 1, 511, 512, 513, 1024, 1025, 4095, 4096] {
            let text: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let chunks = chunk(&text, TOOLING_MAX_CHUNKS).unwrap();
            assert_eq!(chunks.len(), len.div_ceil(CHUNK_CHARS).max(1), "{len}");
            assert!(
                chunks
                    .iter()
                    .all(|c| c.value.chars().count() <= CHUNK_CHARS)
            );
            assert_eq!(unchunk(&settings(&chunks)).unwrap(), text, "{len}");
        }
        let e = chunk(&"x".repeat(4097), TOOLING_MAX_CHUNKS).unwrap_err();
        assert_eq!(
            e,
            ChunkError::TooLong {
                chars: 4097,
                chunks: 9,
                max: 8
            }
        );
        assert_eq!(
            e.to_string(),
            "createOptions is 4097 characters: 9 chunks of 512, more than the limit of 8"
        );
        assert!(chunk(&"x".repeat(4097), RUNTIME_MAX_CHUNKS).is_ok());
        assert!(chunk(&"x".repeat(512 * 100 + 1), 1000).is_err());
    }

    #[test]
    fn never_splits_a_character() {
        let text = "é".repeat(600) + "😀";
        let chunks = chunk(&text, 8).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].value.chars().count(), 512);
        assert_eq!(unchunk(&settings(&chunks)).unwrap(), text);
    }

    #[test]
    fn round_trips_a_real_create_options() {
        let co = json!({"Env": (0..60).map(|i| format!("VARIABLE_{i}=value-{i}")).collect::<Vec<_>>(),
                        "HostConfig": {"Binds": ["/data:/data"], "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}});
        let minified = crate::create_options::minify(&co).unwrap();
        let chunks = chunk(&minified, TOOLING_MAX_CHUNKS).unwrap();
        assert!(chunks.len() > 2);
        let back = unchunk(&settings(&chunks)).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&back).unwrap(), co);
    }

    #[test]
    fn no_chunks_is_empty() {
        assert_eq!(unchunk(&obj(json!({"image": "x"}))).unwrap(), "");
    }

    #[test]
    fn keys_are_case_insensitive_and_sorted() {
        let s = obj(json!({"CREATEOPTIONS02": "c", "createoptions": "a", "CreateOptions01": "b"}));
        assert_eq!(unchunk(&s).unwrap(), "abc");
        // edgeAgent parses the number, so a one-digit suffix works too.
        let s = obj(json!({"createOptions": "a", "createOptions1": "b"}));
        assert_eq!(unchunk(&s).unwrap(), "ab");
    }

    #[test]
    fn bad_numbering_is_rejected() {
        // A gap (iotedgedev's own invalid test manifest has createOptions, 01, 03).
        let e = unchunk(&obj(
            json!({"createOptions": "a", "createOptions01": "b", "createOptions03": "c"}),
        ))
        .unwrap_err();
        assert_eq!(
            e,
            ChunkError::OutOfSequence {
                expected: "createOptions02".into(),
                found: "createOptions03".into()
            }
        );
        // No unnumbered first chunk.
        assert!(matches!(
            unchunk(&obj(json!({"createOptions01": "a"}))),
            Err(ChunkError::OutOfSequence { .. })
        ));
        // `00` is not the first chunk's name.
        assert!(unchunk(&obj(json!({"createOptions": "a", "createOptions00": "b"}))).is_err());
        // The same chunk twice in different case.
        assert!(unchunk(&obj(json!({"createOptions": "a", "CreateOptions": "b"}))).is_err());
        // One-digit suffixes sort as text, so the tenth chunk lands after the first.
        let mut m = Map::new();
        m.insert("createOptions".into(), json!("x"));
        for i in 1..=10 {
            m.insert(format!("createOptions{i}"), json!("x"));
        }
        assert!(matches!(
            unchunk(&m),
            Err(ChunkError::OutOfSequence { found, .. }) if found == "createOptions10"
        ));
    }

    #[test]
    fn odd_keys_too_many_and_non_strings() {
        assert_eq!(
            unchunk(&obj(json!({"createOptions": "a", "createOptionsX": "b"}))).unwrap_err(),
            ChunkError::OddKey {
                key: "createOptionsX".into()
            }
        );
        assert!(matches!(
            unchunk(&obj(
                json!({"createOptions": "a", "createOptions01": {"test": "value"}})
            )),
            Err(ChunkError::NotAString {
                found: "an object",
                ..
            })
        ));
        let mut m = Map::new();
        m.insert("createOptions".into(), json!("x"));
        for i in 1..=100 {
            m.insert(chunk_key(i), json!("x"));
        }
        assert_eq!(
            unchunk(&m).unwrap_err(),
            ChunkError::TooManyChunks { count: 101 }
        );
        m.remove("createOptions100");
        assert_eq!(unchunk(&m).unwrap().len(), 100);
    }
}

//! Content digests as the OCI image spec defines them (`algorithm ":" encoded`), for the two
//! registered algorithms a registry must verify: `sha256` (64 lower-case hex characters) and
//! `sha512` (128). Parsed once at the boundary; everything past it holds a [`Digest`].
//!
//! A digest the spec's grammar allows but whose algorithm we cannot verify is
//! [`DigestError::Unsupported`] (the distribution spec's `DIGEST_INVALID` too, but the message
//! says which). Hashing while streaming is [`Hasher`].

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A verified-form digest: known algorithm, encoded part of the right length in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("invalid digest {0:?}: expected algorithm:hex, e.g. sha256:<64 hex characters>")]
    Malformed(String),
    #[error("unsupported digest algorithm {0:?}: sha256 and sha512 are")]
    Unsupported(String),
    #[error("invalid {algorithm} digest {digest:?}: expected {len} lower-case hex characters")]
    Encoding {
        algorithm: &'static str,
        digest: String,
        len: usize,
    },
}

impl Digest {
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded part (lower-case hex).
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut h = Hasher::new(algorithm);
        h.update(bytes);
        h.finish()
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Grammar: algorithm ::= component ([+._-] component)*, encoded ::= [a-zA-Z0-9=_-]+
        let (alg, encoded) = s
            .split_once(':')
            .filter(|(a, e)| !a.is_empty() && !e.is_empty())
            .ok_or_else(|| DigestError::Malformed(s.to_owned()))?;
        let alg_ok = alg
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+._-".contains(&c));
        let enc_ok = encoded
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"=_-".contains(&c));
        if !alg_ok || !enc_ok {
            return Err(DigestError::Malformed(s.to_owned()));
        }
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => return Err(DigestError::Unsupported(other.to_owned())),
        };
        let hex_ok = encoded.len() == algorithm.hex_len()
            && encoded
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if !hex_ok {
            return Err(DigestError::Encoding {
                algorithm: algorithm.as_str(),
                digest: s.to_owned(),
                len: algorithm.hex_len(),
            });
        }
        Ok(Digest {
            algorithm,
            hex: encoded.to_owned(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

/// Streaming hash for one algorithm.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hasher::Sha256(_) => "Hasher(sha256)",
            Hasher::Sha512(_) => "Hasher(sha512)",
        })
    }
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_registered_algorithms() {
        let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            .parse()
            .unwrap();
        assert_eq!(d, Digest::of(Algorithm::Sha256, b""));
        let e = Digest::of(Algorithm::Sha512, b"");
        assert_eq!(e.to_string().parse::<Digest>().unwrap(), e);
        assert_eq!(e.hex().len(), 128);
    }

    #[test]
    fn rejects_what_the_spec_rejects() {
        let cases = [
            ("", "invalid digest"),
            ("sha256", "invalid digest"),
            ("sha256:", "invalid digest"),
            (":abc", "invalid digest"),
            ("SHA256:abc", "invalid digest"),
            ("sha256:ab/cd", "invalid digest"),
            (
                "md5:d41d8cd98f00b204e9800998ecf8427e",
                "unsupported digest algorithm \"md5\"",
            ),
            ("sha256:abc", "expected 64 lower-case hex"),
            (
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "expected 64 lower-case hex",
            ),
            ("sha512:00", "expected 128 lower-case hex"),
        ];
        for (input, want) in cases {
            let e = input.parse::<Digest>().unwrap_err().to_string();
            assert!(e.contains(want), "{input:?}: {e}");
        }
    }
}

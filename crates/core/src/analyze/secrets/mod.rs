//! The secrets analyzer (EC806): IoT Hub and Azure connection strings, SAS tokens, private keys,
//! cloud keys and API tokens, in every byte of every file of every layer.
//!
//! Every byte goes through one Aho-Corasick keyword prefilter (`rules::KEYWORDS`, small enough
//! for the SIMD "Teddy" searcher), so a file without keywords is touched once. Each keyword hit
//! is then checked by its format's precise rule on a bounded window around it (`rules::BACK`
//! bytes before, `rules::AHEAD` after). Chunks are searched in place: a keyword spanning two
//! chunks is found in a small join of the previous chunk's tail and the next chunk's head, and
//! a window that runs past the chunk is completed from the next chunks (or the end of the file).
//!
//! Facts never hold the secret: a kind, the byte offset, and a redacted hint (the first four
//! characters and the length, or a PEM label). Configs (env, labels, history) are scanned with
//! the same rules through [`find_secrets`]; config env entries also through
//! [`credential_in_env`] (passwords and tokens known only by their variable's name).

mod azure;
mod env;
pub mod public;
pub mod rules;

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::{Analyzer, FileFact, FileMeta, FileScan};
pub use env::credential_in_env;
pub use rules::SecretKind;
use rules::{AHEAD, BACK, KEYWORDS};

pub use crate::facts::file::SecretFact;

/// Facts kept per file: past this, the file is reported with what was found so far.
pub const MAX_PER_FILE: usize = 16;

/// Shortest file worth looking at: the shortest secret this analyzer knows is longer.
const MIN_FILE: u64 = 20;

struct Matcher {
    ac: AhoCorasick,
    /// Longest keyword.
    max_kw: usize,
}

fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| Matcher {
        ac: AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(KEYWORDS.iter().map(|(k, _)| k))
            .expect("the keyword list is a small constant set"),
        max_kw: KEYWORDS.iter().map(|(k, _)| k.len()).max().unwrap_or(1),
    })
}

/// Checks one candidate (keyword `kw` at `at` in `win`, whose first byte is file offset `base`).
fn check(kw: usize, win: &[u8], at: usize, base: u64, found: &mut Vec<SecretFact>) {
    let Some(&(text, rule)) = KEYWORDS.get(kw) else {
        return;
    };
    let Some(hit) = rules::verify(rule, win, at, text.len()) else {
        return;
    };
    let offset = base + hit.start as u64;
    // An AWS key pair is one finding, not a pair and a secret: the id rule looks this far.
    let near = |f: &SecretFact, kind| f.secret == kind && f.offset.abs_diff(offset) <= 320;
    match hit.kind {
        SecretKind::AwsSecretAccessKey
            if found.iter().any(|f| near(f, SecretKind::AwsAccessKeyPair)) =>
        {
            return;
        }
        SecretKind::AwsAccessKeyPair => {
            found.retain(|f| !near(f, SecretKind::AwsSecretAccessKey));
        }
        _ => {}
    }
    if found.len() < MAX_PER_FILE && !found.iter().any(|f| f.offset == offset) {
        found.push(SecretFact {
            secret: hit.kind,
            offset,
            hint: hit.hint,
            public: hit.public.map(|k| k.name.to_string()),
        });
    }
}

/// Secrets in a whole buffer (config env entries, labels, history lines).
pub fn find_secrets(text: &[u8]) -> Vec<SecretFact> {
    let m = matcher();
    let mut found = Vec::new();
    for hit in m.ac.find_iter(text) {
        let start = hit.start().saturating_sub(BACK);
        let end = text.len().min(hit.start() + hit.len() + AHEAD);
        let window = &text[start..end];
        check(
            hit.pattern().as_usize(),
            window,
            hit.start() - start,
            start as u64,
            &mut found,
        );
    }
    found
}

pub struct SecretsAnalyzer;

impl Analyzer for SecretsAnalyzer {
    fn name(&self) -> &'static str {
        "secrets"
    }

    fn start(&self, file: &FileMeta<'_>) -> Option<Box<dyn FileScan>> {
        (file.size >= MIN_FILE).then(|| {
            Box::new(SecretsScan {
                pos: 0,
                tail: Vec::new(),
                pending: Vec::new(),
                found: Vec::new(),
            }) as _
        })
    }
}

/// A candidate whose window runs past the bytes seen so far.
struct Pending {
    kw: usize,
    /// File offset of `bytes[0]`.
    base: u64,
    /// Keyword start in `bytes`.
    at: usize,
    bytes: Vec<u8>,
    /// Window length wanted.
    want: usize,
}

struct SecretsScan {
    /// File offset of the next chunk.
    pos: u64,
    /// The last `BACK + max_kw` bytes before `pos`.
    tail: Vec<u8>,
    pending: Vec<Pending>,
    found: Vec<SecretFact>,
}

impl SecretsScan {
    /// A keyword of pattern `kw`, `len` bytes, starting at file offset `abs`: checks it now if its
    /// window is complete within `tail` + `chunk`, else keeps it pending.
    fn candidate(&mut self, kw: usize, len: usize, abs: u64, chunk: &[u8]) {
        let tail_start = self.pos - self.tail.len() as u64;
        let chunk_end = self.pos + chunk.len() as u64;
        let start = abs.saturating_sub(BACK as u64).max(tail_start);
        let end = abs + (len + AHEAD) as u64;
        let at = (abs - start) as usize;
        if start >= self.pos && end <= chunk_end {
            let window = &chunk[(start - self.pos) as usize..(end - self.pos) as usize];
            check(kw, window, at, start, &mut self.found);
            return;
        }
        let mut bytes = Vec::with_capacity((end - start) as usize);
        if start < self.pos {
            bytes.extend_from_slice(&self.tail[(start - tail_start) as usize..]);
        }
        let from = start.saturating_sub(self.pos) as usize;
        bytes.extend_from_slice(&chunk[from..(end.min(chunk_end) - self.pos) as usize]);
        if end <= chunk_end {
            check(kw, &bytes, at, start, &mut self.found);
        } else {
            self.pending.push(Pending {
                kw,
                base: start,
                at,
                want: (end - start) as usize,
                bytes,
            });
        }
    }
}

impl FileScan for SecretsScan {
    fn update(&mut self, chunk: &[u8]) -> bool {
        let m = matcher();
        // Windows waiting for these bytes.
        let mut i = 0;
        while i < self.pending.len() {
            let p = &mut self.pending[i];
            let take = (p.want - p.bytes.len()).min(chunk.len());
            p.bytes.extend_from_slice(&chunk[..take]);
            if p.bytes.len() >= p.want {
                let p = self.pending.swap_remove(i);
                check(p.kw, &p.bytes, p.at, p.base, &mut self.found);
            } else {
                i += 1;
            }
        }
        // Keywords spanning the previous bytes and this chunk.
        let k = (m.max_kw - 1).min(self.tail.len());
        if k > 0 {
            let mut join = self.tail[self.tail.len() - k..].to_vec();
            join.extend_from_slice(&chunk[..(m.max_kw - 1).min(chunk.len())]);
            for hit in m.ac.find_iter(&join) {
                if hit.start() < k && hit.end() > k {
                    let abs = self.pos - (k - hit.start()) as u64;
                    self.candidate(hit.pattern().as_usize(), hit.len(), abs, chunk);
                }
            }
        }
        for hit in m.ac.find_iter(chunk) {
            let abs = self.pos + hit.start() as u64;
            self.candidate(hit.pattern().as_usize(), hit.len(), abs, chunk);
        }
        let keep = BACK + m.max_kw;
        if chunk.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.tail.extend_from_slice(chunk);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
        self.pos += chunk.len() as u64;
        self.found.len() < MAX_PER_FILE || !self.pending.is_empty()
    }

    fn finish(mut self: Box<Self>) -> Vec<FileFact> {
        for p in std::mem::take(&mut self.pending) {
            check(p.kw, &p.bytes, p.at, p.base, &mut self.found);
        }
        self.found.sort_by_key(|f| f.offset);
        self.found.into_iter().map(FileFact::Secret).collect()
    }
}

/// Samples and placeholders, shared with EC806's tests.
#[cfg(test)]
pub(crate) mod tests;

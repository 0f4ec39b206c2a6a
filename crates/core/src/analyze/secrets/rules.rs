//! The secret formats: the keywords the prefilter looks for and, for each, the precise check a
//! candidate must pass in a bounded window around the keyword (at most `BACK` bytes before it and
//! `AHEAD` bytes after it). Nothing here reads more than its window, so a file full of keywords
//! costs a bounded amount of work per byte.
//!
//! # What does not fire (placeholders and fakes)
//!
//! A value is only reported when it looks like the real thing:
//! - it is made only of the format's alphabet (base64, base62, URL-encoded base64 …) with the
//!   format's length; so `<KEY>`, `${KEY}`, `{your key}`, `***`, `...` never pass;
//! - base64 keys decode to a plausible key size (SharedAccessKey ≥ 16 bytes, AccountKey 64 bytes,
//!   SAS `sig` ≥ 16 bytes);
//! - its Shannon entropy reaches the format's threshold (3.5 bits per character for random
//!   tokens, 4.0 for AWS secrets and storage keys, 2.5 for the 16 characters of an AWS key id,
//!   3.0 for PEM bodies, whose DER structure repeats);
//! - it has no run of 6 identical characters (`xxxxxx`, `AAAAAA`; PEM bodies excepted) and none
//!   of the words `example`, `sample`, `dummy`, `placeholder`, `your`, `xxxx`, `changeme`,
//!   `redacted`, `fake`, `insert`, `replace`, `abcdefgh`, `12345678`, `00000000`
//!   (case-insensitive): AWS's documented `AKIAIOSFODNN7EXAMPLE` is a placeholder;
//! - prefixed tokens (`ghp_`, `AKIA`, `AIza`, `sk_live_` …) start at a word boundary.
//!
//! Generic JWTs (`eyJ…`) are deliberately not reported: they are short-lived bearer tokens, and
//! example JWTs ship in the docs and tests of every JWT library, so a blocking check on them
//! would mostly flag libraries.

use base64::Engine as _;

use super::azure;
use super::public::{self, PublicKey};

/// Bytes before a keyword a rule may look at (PEM `-----BEGIN RSA `, connection-string keys).
pub const BACK: usize = 256;
/// Bytes after a keyword's start a rule may look at (long SAS tokens, AWS key pairs).
pub const AHEAD: usize = 512;

pub use crate::facts::file::SecretKind;

impl SecretKind {
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::IotHubDeviceConnectionString => "IoT Hub device connection string",
            SecretKind::IotHubConnectionString => {
                "IoT Hub connection string (shared access policy)"
            }
            SecretKind::ServiceBusConnectionString => "Event Hubs / Service Bus connection string",
            SecretKind::SharedAccessKey => "Azure shared access key",
            SecretKind::SasToken => "shared access signature (SAS) token",
            SecretKind::StorageSasToken => "Azure Storage SAS token",
            SecretKind::StorageAccountKey => "Azure Storage account key",
            SecretKind::PrivateKey => "private key",
            SecretKind::AwsAccessKeyId => "AWS access key id",
            SecretKind::AwsAccessKeyPair => "AWS access key id with its secret access key",
            SecretKind::AwsSecretAccessKey => "AWS secret access key",
            SecretKind::GitHubToken => "GitHub token",
            SecretKind::SlackToken => "Slack token",
            SecretKind::SlackWebhook => "Slack webhook URL",
            SecretKind::GoogleApiKey => "Google API key",
            SecretKind::StripeLiveKey => "Stripe live key",
            SecretKind::GitLabToken => "GitLab personal access token",
            SecretKind::CredentialInEnv => "password or token in an environment variable",
        }
    }
}

/// How a keyword's candidates are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    SharedAccessKey,
    SasToken,
    StorageSas,
    Pem,
    AwsKeyId,
    AwsSecret,
    GitHub,
    GitHubPat,
    Slack,
    SlackWebhook,
    Google,
    Stripe,
    GitLab,
    AccountKey,
}

/// The prefilter's keywords (case-sensitive) and their rules.
pub const KEYWORDS: &[(&str, Rule)] = &[
    ("SharedAccessKey=", Rule::SharedAccessKey),
    ("SharedAccessSignature ", Rule::SasToken),
    ("&sig=", Rule::StorageSas),
    ("PRIVATE KEY-----", Rule::Pem),
    ("PRIVATE KEY BLOCK-----", Rule::Pem),
    ("AKIA", Rule::AwsKeyId),
    ("ASIA", Rule::AwsKeyId),
    ("aws_secret_access_key", Rule::AwsSecret),
    ("AWS_SECRET_ACCESS_KEY", Rule::AwsSecret),
    ("SecretAccessKey", Rule::AwsSecret),
    ("ghp_", Rule::GitHub),
    ("gho_", Rule::GitHub),
    ("ghs_", Rule::GitHub),
    ("ghu_", Rule::GitHub),
    ("ghr_", Rule::GitHub),
    ("github_pat_", Rule::GitHubPat),
    ("xoxa-", Rule::Slack),
    ("xoxb-", Rule::Slack),
    ("xoxp-", Rule::Slack),
    ("xoxr-", Rule::Slack),
    ("xoxs-", Rule::Slack),
    ("hooks.slack.com/services/", Rule::SlackWebhook),
    ("AIza", Rule::Google),
    ("sk_live_", Rule::Stripe),
    ("rk_live_", Rule::Stripe),
    ("glpat-", Rule::GitLab),
    ("AccountKey=", Rule::AccountKey),
];

/// A verified secret inside a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: SecretKind,
    /// Where the secret starts, relative to the window.
    pub start: usize,
    /// Redacted: at most the first 4 characters and the length, or a PEM label.
    pub hint: String,
    /// A key its owner publishes (test and emulator keys): information, not a leak.
    pub public: Option<&'static PublicKey>,
}

/// Checks the candidate whose keyword (`kw` bytes long) starts at `at` in `win`. The window
/// starts at the file's start or `BACK` bytes before the keyword, and ends at the file's end or
/// `AHEAD` bytes after the keyword's start.
pub fn verify(rule: Rule, win: &[u8], at: usize, kw: usize) -> Option<Hit> {
    let after = at + kw;
    match rule {
        Rule::SharedAccessKey => azure::shared_access_key(win, at, after),
        Rule::SasToken => azure::sas_token(win, after),
        Rule::StorageSas => azure::storage_sas(win, at, after),
        Rule::Pem => pem(win, at, after),
        Rule::AwsKeyId => aws_key_id(win, at),
        Rule::AwsSecret => aws_secret(win, after),
        Rule::GitHub => prefixed(win, at, after, SecretKind::GitHubToken, is_alnum, 36..=36),
        Rule::GitHubPat => prefixed(win, at, after, SecretKind::GitHubToken, is_word, 60..=255),
        Rule::Slack => slack(win, at, after),
        Rule::SlackWebhook => slack_webhook(win, after),
        Rule::Google => prefixed(win, at, after, SecretKind::GoogleApiKey, is_url64, 35..=35),
        Rule::Stripe => prefixed(
            win,
            at,
            after,
            SecretKind::StripeLiveKey,
            is_alnum,
            24..=247,
        ),
        Rule::GitLab => prefixed(win, at, after, SecretKind::GitLabToken, is_url64, 20..=64),
        Rule::AccountKey => azure::account_key(win, after),
    }
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}
pub(super) fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}
/// base64url and the token alphabets that use `-` and `_`.
fn is_url64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}
/// Ends a token: whitespace, quotes, NUL, angle brackets.
pub(super) fn is_delimiter(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`' | 0 | b'<' | b'>')
}

/// End of the run of `ok` bytes starting at `from`.
pub(super) fn run_end(win: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    let from = from.min(win.len());
    from + win[from..].iter().take_while(|&&c| ok(c)).count()
}

/// The token around `at`: bytes between delimiters, within the window.
pub(super) fn token(win: &[u8], at: usize) -> &[u8] {
    let at = at.min(win.len());
    let start = at
        - win[..at]
            .iter()
            .rev()
            .take_while(|&&c| !is_delimiter(c))
            .count();
    &win[start..run_end(win, at, |c| !is_delimiter(c))]
}

/// Whether `at` starts a word (the previous byte is not alphanumeric). `at == 0` is the start of
/// the file: windows start `BACK` bytes before a keyword unless the file starts later.
fn word_start(win: &[u8], at: usize) -> bool {
    at == 0 || win.get(at - 1).is_none_or(|c| !c.is_ascii_alphanumeric())
}

pub(super) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Shannon entropy in bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &c in s {
        counts[c as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

const FAKE_WORDS: &[&str] = &[
    "example",
    "sample",
    "dummy",
    "placeholder",
    "your",
    "xxxx",
    "changeme",
    "redacted",
    "fake",
    "insert",
    "replace",
    "abcdefgh",
    "12345678",
    "00000000",
];

fn has_fake_word(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    FAKE_WORDS.iter().any(|w| contains(&lower, w.as_bytes()))
}

fn has_run(v: &[u8], n: usize) -> bool {
    v.chunk_by(|a, b| a == b).any(|r| r.len() >= n)
}

/// The placeholder rules of the module docs.
pub(super) fn plausible(v: &[u8], min_entropy: f64) -> bool {
    !has_run(v, 6) && !has_fake_word(v) && entropy(v) >= min_entropy
}

pub(super) fn hint(v: &[u8]) -> String {
    let head: String = v.iter().take(4).map(|&c| c as char).collect();
    format!("{head}… ({} chars)", v.len())
}

/// Decoded length of canonical standard base64, if it is that.
pub(super) fn base64_len(v: &[u8]) -> Option<usize> {
    base64::engine::general_purpose::STANDARD
        .decode(v)
        .ok()
        .map(|d| d.len())
}

/// The base64 value at `from`, with up to two `=` of padding.
pub(super) fn base64_value(win: &[u8], from: usize) -> (usize, usize) {
    let body = run_end(win, from, is_b64);
    let padded = run_end(win, body, |c| c == b'=').min(body + 2);
    (body, padded)
}

/// Body characters a PEM rule collects: the first 64 decide plausibility, all of them
/// identify a published key (`public`).
const PEM_BODY: usize = 256;

const PEM_LABELS: &[&str] = &["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "];

fn pem(win: &[u8], at: usize, from: usize) -> Option<Hit> {
    let block = win[at..from].starts_with(b"PRIVATE KEY BLOCK");
    let labels: &[&str] = if block { &["PGP "] } else { PEM_LABELS };
    let label = labels.iter().find(|l| {
        let begin = [b"-----BEGIN ".as_slice(), l.as_bytes()].concat();
        win[..at].ends_with(&begin)
    })?;
    let start = at - "-----BEGIN ".len() - label.len();
    let body = pem_body(win, from);
    let head = &body[..body.len().min(64)];
    if head.len() < 48 || has_fake_word(head) || entropy(head) < 3.0 {
        return None;
    }
    let name = String::from_utf8_lossy(&win[at..from - "-----".len()]);
    Some(Hit {
        kind: SecretKind::PrivateKey,
        start,
        hint: format!("{label}{name}"),
        public: public::lookup(&body),
    })
}

/// Up to [`PEM_BODY`] base64 characters of a PEM body after its BEGIN line: header lines (`Proc-Type:`,
/// `DEK-Info:`, `Version:`) and blank lines are skipped, line breaks may be real or escaped
/// (`\n` inside a JSON or shell string).
fn pem_body(win: &[u8], mut i: usize) -> Vec<u8> {
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let skip_space = |mut i: usize| {
        loop {
            match (win.get(i), win.get(i + 1)) {
                (Some(&c), _) if is_space(c) => i += 1,
                (Some(b'\\'), Some(b'n' | b'r')) => i += 2,
                _ => return i,
            }
        }
    };
    for _ in 0..6 {
        i = skip_space(i);
        let line_end = run_end(win, i, |c| c != b'\n' && c != b'\\').min(i + 128);
        if !win[i..line_end.min(win.len())].contains(&b':') {
            break;
        }
        i = line_end;
    }
    let mut body = Vec::with_capacity(PEM_BODY);
    while body.len() < PEM_BODY {
        i = skip_space(i);
        match win.get(i) {
            Some(&c) if is_b64(c) => {
                body.push(c);
                i += 1;
            }
            _ => break,
        }
    }
    body
}

/// A 40-character AWS secret access key at a token boundary.
fn aws_secret_at(win: &[u8], from: usize) -> Option<&[u8]> {
    let end = run_end(win, from, is_b64);
    let v = &win[from..end];
    let bounded = from == 0 || !is_b64(win[from - 1]);
    let followed = win.get(end).is_none_or(|&c| c != b'=');
    (bounded && followed && v.len() == 40 && plausible(v, 4.0)).then_some(v)
}

fn aws_key_id(win: &[u8], at: usize) -> Option<Hit> {
    let end = at + 20;
    let id = win.get(at..end)?;
    let upper = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    if !word_start(win, at)
        || !id[4..].iter().all(|&c| upper(c))
        || win.get(end).is_some_and(|c| c.is_ascii_alphanumeric())
        || !plausible(&id[4..], 2.5)
    {
        return None;
    }
    // The secret usually sits next to the id (credentials files, env, JSON), either side.
    // Each base64 run of the range is looked at once: linear in the range.
    let near = |range: std::ops::Range<usize>| {
        let mut i = range.start;
        while i < range.end {
            if is_b64(win[i]) {
                if aws_secret_at(win, i).is_some() {
                    return true;
                }
                i = run_end(win, i, is_b64);
            } else {
                i += 1;
            }
        }
        false
    };
    let paired = near(end..win.len().min(end + 256)) || near(at.saturating_sub(256)..at);
    Some(Hit {
        kind: if paired {
            SecretKind::AwsAccessKeyPair
        } else {
            SecretKind::AwsAccessKeyId
        },
        start: at,
        hint: hint(id),
        public: None,
    })
}

fn aws_secret(win: &[u8], from: usize) -> Option<Hit> {
    let sep = run_end(win, from, |c| {
        matches!(c, b' ' | b'\t' | b'"' | b'\'' | b'=' | b':' | b'\\')
    });
    if sep - from > 8 {
        return None;
    }
    let v = aws_secret_at(win, sep)?;
    Some(Hit {
        kind: SecretKind::AwsSecretAccessKey,
        start: sep,
        hint: hint(v),
        public: None,
    })
}

/// `<prefix><value>` where the value is a run of `ok` bytes of a length in `len`.
fn prefixed(
    win: &[u8],
    at: usize,
    from: usize,
    kind: SecretKind,
    ok: fn(u8) -> bool,
    len: std::ops::RangeInclusive<usize>,
) -> Option<Hit> {
    let end = run_end(win, from, ok);
    let value = &win[from..end];
    let trailing_word = win.get(end).is_some_and(|&c| is_word(c));
    if !word_start(win, at) || trailing_word || !len.contains(&value.len()) {
        return None;
    }
    plausible(value, 3.5).then(|| Hit {
        kind,
        start: at,
        hint: hint(&win[at..end]),
        public: None,
    })
}

fn slack(win: &[u8], at: usize, from: usize) -> Option<Hit> {
    let end = run_end(win, from, |c| c.is_ascii_alphanumeric() || c == b'-');
    let value = &win[from..end];
    let digits = value
        .chunk_by(|a, b| a.is_ascii_digit() == b.is_ascii_digit())
        .any(|r| r.len() >= 8 && r[0].is_ascii_digit());
    let ok =
        word_start(win, at) && (20..=255).contains(&value.len()) && digits && plausible(value, 3.0);
    ok.then(|| Hit {
        kind: SecretKind::SlackToken,
        start: at,
        hint: hint(&win[at..end]),
        public: None,
    })
}

fn slack_webhook(win: &[u8], from: usize) -> Option<Hit> {
    let end = run_end(win, from, |c| c.is_ascii_alphanumeric() || c == b'/');
    let parts: Vec<&[u8]> = win[from..end].split(|&c| c == b'/').collect();
    let id = |p: &[u8], first: u8| {
        p.len() >= 7
            && p[0] == first
            && p.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let ok = parts.len() == 3
        && id(parts[0], b'T')
        && id(parts[1], b'B')
        && (20..=64).contains(&parts[2].len())
        && plausible(parts[2], 3.5);
    ok.then(|| Hit {
        kind: SecretKind::SlackWebhook,
        start: from,
        hint: hint(&win[from..end]),
        public: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_placeholders() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(!plausible(
            b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            3.5
        ));
        assert!(!plausible(b"IOSFODNN7EXAMPLE", 2.5));
        assert!(plausible(b"Q3b7Lm9ZkP2xWv8TnR4sYc6Hj1Fd0GaEuB5qK", 3.5));
    }

    #[test]
    fn tokens_and_boundaries() {
        let w = b"x=\"HostName=h;DeviceId=d;SharedAccessKey=k\" y";
        assert_eq!(token(w, 20), &w[3..42]);
        assert!(word_start(b" ghp_", 1) && !word_start(b"aghp_", 1) && word_start(b"ghp_", 0));
    }

    #[test]
    fn pem_bodies_with_headers_and_escapes() {
        let body = "MIIEowIBAAKCAQEAx1c9Qm7Zk2PwL8tR4vN6bYs0HjF3dGa5uE9qK2oXcV7lT1nBpW";
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\\nProc-Type: 4,ENCRYPTED\\nDEK-Info: AES\\n\\n{body}"
        );
        let at = pem.find("PRIVATE KEY-----").unwrap();
        let hit = verify(Rule::Pem, pem.as_bytes(), at, 16).unwrap();
        assert_eq!((hit.start, hit.hint.as_str()), (0, "RSA PRIVATE KEY"));
        let short = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg...\n-----END PRIVATE KEY-----";
        let at = short.find("PRIVATE KEY-----").unwrap();
        assert_eq!(verify(Rule::Pem, short.as_bytes(), at, 16), None);
        let no_begin = format!("const END = \"PRIVATE KEY-----\\n{body}\"");
        let at = no_begin.find("PRIVATE KEY-----").unwrap();
        assert_eq!(verify(Rule::Pem, no_begin.as_bytes(), at, 16), None);
    }
}

//! Credentials in environment variables whose value has no format of its own: a password or
//! token that `ENV DB_PASSWORD=…` bakes into the image config, where everyone who pulls the
//! image reads it. Recognised by the variable's name, and reported only when the value looks
//! like a real credential (same placeholder rules as the formats, `rules.rs`).
//!
//! # What fires
//! A name with one of the words `PASSWORD`, `PASSWD`, `PASSPHRASE`, `SECRET`, `TOKEN`,
//! `APIKEY` / `API_KEY`, `ACCESS_KEY`, `PRIVATE_KEY`, `AUTH_KEY` (case-insensitive, words split
//! at `_`, `-` and `.`), whose last word does not say the value is about the credential rather
//! than the credential (`_FILE`, `_PATH`, `_URL`, `_NAME`, `_TTL` …), with a value of at least 8
//! characters that is not a reference (`/run/secrets/x`, `${VAR}`, `<…>`, `{…}`, `%…%`), not a
//! number, and plausible (no placeholder word, no run of 6, entropy ≥ 3.0 bits per character).
//!
//! # What does not
//! `GPG_KEY` (the python images' release-signing key fingerprint is public), `PWD`, plain
//! `KEY` names, `POSTGRES_PASSWORD_FILE=/run/secrets/db`, `API_TOKEN=${TOKEN}`,
//! `ADMIN_PASSWORD=changeme`, `TOKEN_TTL=3600`.

use super::SecretFact;
use super::rules::{SecretKind, hint, plausible};

/// Name words that make a variable a credential; pairs match two consecutive words.
const WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
];
const PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("auth", "key"),
];
/// Last words of names that hold something about a credential, not the credential.
const ABOUT: &[&str] = &[
    "file",
    "path",
    "dir",
    "url",
    "uri",
    "name",
    "type",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "lifetime",
    "length",
    "len",
    "size",
    "header",
    "endpoint",
    "id",
    "env",
    "var",
    "source",
    "method",
    "mode",
    "enabled",
    "required",
    "policy",
    "prefix",
    "store",
    "provider",
];

const MIN_LEN: usize = 8;
const MIN_ENTROPY: f64 = 3.0;

fn credential_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    let Some(last) = words.last() else {
        return false;
    };
    if ABOUT.contains(last) {
        return false;
    }
    words.iter().any(|w| WORDS.contains(w))
        || words
            .windows(2)
            .any(|p| PAIRS.iter().any(|(a, b)| p[0] == *a && p[1] == *b))
}

fn reference(value: &str) -> bool {
    let v = value.trim();
    v.starts_with(['/', '$', '<', '{', '%', '~', '.'])
        || v.contains("${")
        || v.contains("://")
        || v.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// The credential in `NAME=value`, if the entry holds one.
pub fn credential_in_env(entry: &str) -> Option<SecretFact> {
    let (name, value) = entry.split_once('=')?;
    if !credential_name(name) || value.len() < MIN_LEN || reference(value) {
        return None;
    }
    plausible(value.as_bytes(), MIN_ENTROPY).then(|| SecretFact {
        secret: SecretKind::CredentialInEnv,
        offset: (name.len() + 1) as u64,
        hint: hint(value.as_bytes()),
        public: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_credentials_fire() {
        for entry in [
            "DB_PASSWORD=S3cr3t-Pa55w0rd!",
            "MQTT_TOKEN=q8Zt2WmXv4Lr9KpB",
            "SECRET_KEY_BASE=9f2c1e7ab3d84c6e5f0a1b2c3d4e5f60",
            "service.api-key=Zk3mQ9xV7tL2pR8w",
            "AZURE_CLIENT_SECRET=Xy7~Qp2.Lm9_Rt4-Vb8Nc3",
            "Passphrase=correct horse battery staple",
        ] {
            let f = credential_in_env(entry).unwrap_or_else(|| panic!("{entry}"));
            assert_eq!(f.secret, SecretKind::CredentialInEnv);
            let value = entry.split_once('=').unwrap().1;
            assert!(!f.hint.contains(value), "{entry}: hint {}", f.hint);
            assert_eq!(&entry[f.offset as usize..], value);
        }
    }

    #[test]
    fn references_placeholders_and_other_names_do_not() {
        for entry in [
            "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
            "PWD=/app/work/dir",
            "POSTGRES_PASSWORD_FILE=/run/secrets/db_password",
            "API_TOKEN=${TOKEN}",
            "ADMIN_PASSWORD=changeme123",
            "ADMIN_PASSWORD=<YOUR_PASSWORD>",
            "TOKEN_TTL=36000000",
            "SECRET_NAME=my-module-credentials",
            "PASSWORD=hunter2",
            "PASSWORD=aaaaaaaaaaaa",
            "TOKEN_URL=https://login.example.net/oauth2/token",
            "MONKEY=Zk3mQ9xV7tL2pR8w",
            "NO_EQUALS_SIGN",
            "PASSWORD=",
        ] {
            assert_eq!(credential_in_env(entry), None, "{entry}");
        }
    }
}

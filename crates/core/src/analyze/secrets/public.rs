//! Secrets that are public on purpose: test and emulator keys their owners publish, which ship
//! inside widely used libraries and so inside nearly every image. A finding of one of these is
//! information for EC806, never a blocking finding, because it grants nothing to anyone.
//!
//! Keys are known **by value**, through a fingerprint: the first 128 bits of the SHA-256 of the
//! key's identifying bytes, hex. The list holds fingerprints, not keys, so that edgecert's own
//! binary carries none of them (and its own secrets scan stays clean).
//! - For a PEM private key, the identifying bytes are the first 256 base64 characters of its
//!   body (header lines and line breaks, real or escaped, skipped; the whole body when
//!   shorter). The window a rule sees is bounded, so the whole body of an RSA key is out of
//!   reach; its first 256 characters hold ~150 bytes of the modulus, which no other key shares.
//!   (For DSA the first characters are the domain parameter `p`; the only DSA key listed,
//!   gnutls's, uses parameters generated for that test.)
//! - For a storage account key, the 88-character base64 value.
//!
//! Adding a key: name it, cite where its owner publishes it, and add a test that a file
//! carrying it (a real package's file where possible) gives an informational finding.

use sha2::{Digest as _, Sha256};

/// A key published by its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    /// What it is, for the finding.
    pub name: &'static str,
    /// Where its owner publishes it.
    pub source: &'static str,
    fingerprint: &'static str,
}

const GNUTLS_SELFTEST: &str = "GnuTLS FIPS 140 self-test key";
const GNUTLS_SOURCE: &str =
    "https://gitlab.com/gnutls/gnutls/-/blob/3.7.9/lib/crypto-selftests-pk.c";

const fn gnutls(fingerprint: &'static str) -> PublicKey {
    PublicKey {
        name: GNUTLS_SELFTEST,
        source: GNUTLS_SOURCE,
        fingerprint,
    }
}

/// The list: GnuTLS's self-test keys (in `libgnutls.so.30`, which apt depends on, so in nearly
/// every Debian and Ubuntu image), the Azure Storage emulator's account key (in every Azure
/// Storage SDK, `@azure/storage-blob` among the Node IoT SDK's dependencies), the Cosmos DB
/// emulator's key.
pub const KNOWN: &[PublicKey] = &[
    gnutls("bf552d2ff30b20f0b0ee2bcc357a5ab6"), // GOST R 34.10-2012 (512)
    gnutls("06b37a7e3254992b3ac83f4f08d269fb"), // GOST R 34.10-2012 (256)
    gnutls("2808649028d2fa88c4432c2961e94af8"), // GOST R 34.10-2001
    gnutls("b8cdb86def09b608e30c835a73554b5b"), // ECDSA P-521
    gnutls("df965cd79ecfbd95da9bc1c3bcd8bbb1"), // ECDSA P-384
    gnutls("9a5449e68775db802f5b822dabc19c3a"), // ECDSA P-224
    gnutls("f5e42bee7204054c83ce3bb55c887625"), // ECDSA P-192
    gnutls("e033bc87562a8915b620ab70eb5b9680"), // ECDSA P-256
    gnutls("fcaaafcd4be236f46a44ac7fc8223548"), // DSA 2048
    gnutls("ec0fcc15374d1457f0ef76b5e6c24528"), // RSA 2048
    PublicKey {
        name: "Azure Storage emulator (Azurite) account key of devstoreaccount1",
        source: "https://learn.microsoft.com/azure/storage/common/storage-use-azurite#http-connection-strings",
        fingerprint: "0011cc25eb4320717494d2703e8cba85",
    },
    PublicKey {
        name: "Azure Cosmos DB emulator key",
        source: "https://learn.microsoft.com/azure/cosmos-db/emulator#authentication",
        fingerprint: "aa6547439583c3a275d4542a0df6c1ad",
    },
];

/// The fingerprint of a key's identifying bytes (see the module docs).
pub fn fingerprint(value: &[u8]) -> String {
    hex::encode(&Sha256::digest(value)[..16])
}

/// The published key whose identifying bytes are `value`, if any.
pub fn lookup(value: &[u8]) -> Option<&'static PublicKey> {
    let fp = fingerprint(value);
    KNOWN.iter().find(|k| k.fingerprint == fp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_well_formed_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for k in KNOWN {
            assert_eq!(k.fingerprint.len(), 32, "{}", k.name);
            assert!(k.fingerprint.bytes().all(|c| c.is_ascii_hexdigit()));
            assert!(k.source.starts_with("https://"), "{}", k.name);
            assert!(seen.insert(k.fingerprint), "duplicate {}", k.fingerprint);
        }
    }

    #[test]
    fn other_values_are_not_public() {
        assert_eq!(lookup(b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), None);
        assert_eq!(lookup(b""), None);
    }
}

//! Per-file analyzers. The pure ones (ELF headers, secrets, inventory, package owners, SDK
//! fingerprints) and the `Analyzer` interface are `edgecert-core`'s, re-exported here; the
//! malware engines (YARA-X, clamd, the blocklist), which need a rule compiler and a socket,
//! are here.

pub use edgecert_core::analyze::*;

pub mod malware;

//! edgecert's pure core: what the certification engine knows and judges, with nothing that
//! reaches out. Facts (`facts`) are plain data written by image reading and analyzers and read
//! by checks; the offer model (`offer`), policies (`policy`), the checks (`checks`), the report
//! model with its machine renderers (`report`, `sbom`) and `evaluate`, which turns facts into a
//! report. Image reading that needs no network lives here too: OCI layouts and docker archives
//! on disk (`image`), the one streaming pass per layer and the pure per-file analyzers
//! (`analyze`).
//!
//! What this crate may depend on is the invariant: no network client, no async runtime, no
//! Moby client, no malware engine (`tests/purity.rs` asserts it with `cargo tree`). Registry
//! and Moby transports, YARA-X and clamd, and `certify` live in `edgecert-engine`.

pub mod analyze;
pub mod cancel;
pub mod catalog;
pub mod checks;
pub mod digest;
pub mod evaluate;
pub mod facts;
pub mod finding;
pub mod image;
pub mod ingest;
pub mod input;
pub mod location;
pub mod offer;
pub mod platform;
pub mod policy;
pub mod report;
pub mod sbom;

pub use digest::Digest;
pub use evaluate::evaluate;
pub use platform::Platform;

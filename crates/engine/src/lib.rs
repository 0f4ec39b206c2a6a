//! The edgecert certification engine: the façade both front doors (CLI, marketplace worker)
//! call (`certify`), over `edgecert-core` (facts, offer, policies, checks, reports, the local
//! image reading and the pure analyzers — re-exported here under the same paths) and what the
//! core may not do: reach a registry or the Moby engine (`image::remote`, `image::daemon`) and
//! run the malware engines (`analyze::malware`: YARA-X, clamd). No terminal code, no network
//! server, no database.

pub mod analyze;
pub mod cancel;
pub mod certify;
pub mod image;
pub mod moby;
pub mod private_dir;
pub mod scratch;

pub use edgecert_core::{
    Digest, Platform, checks, digest, evaluate, facts, ingest, input, offer, platform, policy,
    report, sbom,
};

pub use certify::{Certification, CertifyError, CertifyOptions, certify, default_image};

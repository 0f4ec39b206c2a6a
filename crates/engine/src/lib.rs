//! The edgecert certification engine: image reading (`image`), per-file analyzers
//! (`analyze`), the offer model (`offer`), policies, checks and the report model with its
//! machine renderers. No terminal code, no network server, no database: the CLI and the
//! marketplace are thin fronts over `certify`.

pub mod analyze;
pub mod cancel;
pub mod certify;
pub mod checks;
pub mod digest;
pub mod facts;
pub mod image;
pub mod ingest;
pub mod input;
pub mod offer;
pub mod platform;
pub mod policy;
pub mod private_dir;
pub mod report;
pub mod sbom;
pub mod scratch;

pub use certify::{Certification, CertifyError, CertifyOptions, certify, default_image, evaluate};
pub use digest::Digest;
pub use platform::Platform;

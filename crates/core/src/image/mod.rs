//! Reading container images from disk: the `store` trait and its local implementations (OCI
//! layouts through `files`/`layout`, `docker save` archives), the manifest walk (`resolve`),
//! the one streaming pass per layer (`layer`), the merged filesystem view (`merged`) and the
//! orchestration of all of it (`scan`). The registry and Moby transports are in
//! `edgecert-engine`.

pub mod docker_archive;
pub mod files;
pub mod hostile;
pub mod layer;
pub mod layout;
pub mod resolve;
pub mod scan;
pub mod store;

pub use crate::facts::merged;
pub use scan::{ScanOptions, scan};

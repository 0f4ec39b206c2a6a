//! Reading container images: transports (`source`, `store` and its implementations), the
//! manifest walk (`resolve`), the one streaming pass per layer (`layer`), the merged
//! filesystem view (`merged`) and the orchestration of all of it (`scan`).

pub mod daemon;
pub mod docker_archive;
pub mod files;
pub mod hostile;
pub mod layer;
pub mod layout;
pub mod merged;
pub mod registry_error;
pub mod remote;
pub mod resolve;
pub mod scan;
pub mod source;
pub mod store;

pub use scan::{ScanOptions, scan};
pub use source::ImageSource;

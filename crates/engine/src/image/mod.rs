//! Reading container images: the local stores and the streaming pass are `edgecert-core`'s
//! (re-exported here); the transports that reach out are here: a registry (`remote`, with its
//! error mapping in `registry_error`), the Moby engine (`daemon`), and `source`, which opens
//! whichever `--image` names.

pub use edgecert_core::image::*;

pub mod daemon;
pub mod registry_error;
pub mod remote;
pub mod source;

pub use source::ImageSource;

//! The ingestion test (`checks.md` EC4xx, EC302): each platform of a module image is loaded
//! into a real Moby engine from the bytes the scan already read, run the way the IoT Edge
//! runtime would run it (`iotedge.md`, "How the runtime starts a module") under the device
//! profile's limits, watched for the observation window, stopped with SIGTERM, and removed.
//! `MobyIngest` implements the engine's `Ingest` seam; what it observes is `RuntimeFacts`,
//! judged by the checks in `edgecert-engine`.
//!
//! It owns everything that talks to the engine. It deliberately does not judge (no pass/fail
//! here), download images (the scan's kept blobs are loaded), or touch anything in the engine
//! it did not create: containers, images and networks carry our `edgecert.run` label or name
//! and are removed on success, on error and on Ctrl-C.

mod archive;
mod binfmt;
mod cancel;
mod container;
pub mod edgehub;
mod errors;
pub mod gateway;
mod load;
mod moby;
mod network;
mod observe;
mod platform;
mod standins;
mod sweep;
pub mod workload;

pub use cancel::catch_signals;
pub use container::{NETWORK, RUN_LABEL};
pub use moby::{MobyIngest, Mode};

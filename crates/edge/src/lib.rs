//! IoT Edge domain knowledge, pure (no I/O beyond what `import` is asked to read): the edgeHub
//! routes language (`route`), createOptions as a Docker Engine `ContainerCreate` body with the
//! runtime's chunking (`create_options`), module twin and naming rules (`twin`, `names`),
//! deployment manifest generation (`manifest`) and iotedgedev solution import (`import`).
//! Facts come from `../shared/spec/iotedge.md`.

pub mod create_options;
pub mod import;
pub mod manifest;
pub mod names;
pub mod route;
pub mod twin;

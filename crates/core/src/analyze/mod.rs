//! Per-file analyzers: the extension point of the streaming pass.
//!
//! The layer walker (`image::layer`) hands every regular file of every layer to every analyzer
//! once, as a stream of chunks, while it decompresses: analyzers never open files, never seek
//! and never cause a second read. An analyzer says up front whether it wants a file
//! (`start` -> `None` costs nothing) and, while reading, when it has seen enough (`update` ->
//! `false`), so the walker stops feeding it; when no analyzer wants more, the rest of the file
//! is skipped without copying. Results are `FileFact`s attached to the file: plain data that
//! lives with the other facts (`facts::file`), so nothing below the checks imports an analyzer.
//!
//! A new analyzer adds a variant to `FileFact` (and its payload type in `facts::file`) and an
//! entry to `default_analyzers`; the malware engines are added by `edgecert-engine`.

pub mod header;
pub mod inventory;
pub mod malware;
pub mod owners;
pub mod sdk;
pub mod secrets;

/// The file being looked at.
#[derive(Debug, Clone, Copy)]
pub struct FileMeta<'a> {
    /// Layer digest.
    pub layer: &'a str,
    /// Normalised path inside the layer, without leading `/`.
    pub path: &'a str,
    pub size: u64,
    pub mode: u32,
}

pub trait Analyzer: Send + Sync {
    fn name(&self) -> &'static str;
    /// Begins looking at one file; `None` when this analyzer has no interest in it.
    fn start(&self, file: &FileMeta<'_>) -> Option<Box<dyn FileScan>>;

    /// Before a layer is read: this analyzer's facts for it when already known (a result cache
    /// keyed by the layer digest and whatever decides the results), as `(path, facts)`.
    /// `Some` means the layer's files are not fed to this analyzer at all; the facts are used
    /// only if the layer's digest and size then verify (`layer::read_layer`).
    fn cached(&self, _layer: &str) -> Option<Vec<(String, Vec<FileFact>)>> {
        None
    }

    /// After a layer was read completely and verified: the facts this analyzer produced for it,
    /// to remember for `cached`.
    fn remember(&self, _layer: &str, _facts: &[(String, Vec<FileFact>)]) {}
}

/// The state of one analyzer on one file.
pub trait FileScan: Send {
    /// The next chunk of the file; `false` when no more bytes are needed.
    fn update(&mut self, chunk: &[u8]) -> bool;
    /// End of the file (or of what was wanted).
    fn finish(self: Box<Self>) -> Vec<FileFact>;
}

pub use crate::facts::file::FileFact;

/// The analyzers every run uses.
pub fn default_analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(header::HeaderAnalyzer),
        Box::new(secrets::SecretsAnalyzer),
        Box::new(inventory::InventoryAnalyzer),
        Box::new(owners::OwnersAnalyzer),
        Box::new(sdk::SdkAnalyzer::new()),
    ]
}

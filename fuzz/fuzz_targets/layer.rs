//! Fuzzes the one streaming pass over a layer (`read_layer`): the input is a layer blob
//! (uncompressed tar, or gzip / zstd by the first byte's choice of media type) whose digest and
//! size are made to match, so every input reaches the decompressor, the tar walker, the hostile
//! entry rules and every default analyzer (ELF header, secrets, inventory, SDK fingerprints,
//! YARA-X). Nothing may panic; a problem is a `LayerProblem` (an `Err` is only for a failing
//! source reader, which an in-memory blob never is).

#![no_main]

use std::io::Read;

use edgecert_engine::Digest;
use edgecert_engine::analyze::default_analyzers;
use edgecert_engine::image::layer::{Limits, NoProgress, read_layer};
use edgecert_engine::image::resolve::LayerRef;
use edgecert_engine::image::store::{Root, Store, StoreError, TagMap};
use libfuzzer_sys::fuzz_target;

struct OneBlob(Vec<u8>);

impl Store for OneBlob {
    fn root(&self) -> Result<Root, StoreError> {
        Err(StoreError::Malformed("a layer alone has no root".into()))
    }
    fn manifest(&self, _: &Digest, _: u64) -> Result<Vec<u8>, StoreError> {
        Err(StoreError::Malformed(
            "a layer alone has no manifests".into(),
        ))
    }
    fn open_blob(&self, _: &Digest) -> Result<Box<dyn Read + Send>, StoreError> {
        Ok(Box::new(std::io::Cursor::new(self.0.clone())))
    }
    fn tags(&self, _: &[String]) -> Result<TagMap, StoreError> {
        Ok(TagMap::default())
    }
}

const MEDIA: [&str; 3] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, blob)) = data.split_first() else {
        return;
    };
    let layer = LayerRef {
        digest: Digest::of(blob),
        size: blob.len() as u64,
        media_type: MEDIA[usize::from(pick) % MEDIA.len()].to_owned(),
    };
    let limits = Limits {
        max_uncompressed: 64 << 20,
        max_ratio: 1000,
    };
    let store = OneBlob(blob.to_vec());
    let facts = read_layer(
        &store,
        &layer,
        &default_analyzers(),
        limits,
        &NoProgress,
        None,
        &Default::default(),
    )
    .expect("an in-memory blob never fails to read");
    assert!(facts.uncompressed_bytes <= limits.max_uncompressed + (1 << 20));
});

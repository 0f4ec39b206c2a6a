//! Promotes a manifest between repositories of an embedded-default data directory through the
//! library API, as the marketplace pipeline's go-live step will: for `bench/registry.sh`,
//! which needs a public repository to measure anonymous pulls before the pipeline exists.
//!
//! `cargo run -p edgecert-registry --example promote -- DATA FROM REFERENCE TO TAG`

use edgecert_registry::api::Registry;
use edgecert_registry::meta::Meta;
use edgecert_registry::store::FsStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, from, reference, to, tag] = args.as_slice() else {
        return Err("usage: promote DATA FROM REFERENCE TO TAG".into());
    };
    let data = std::path::Path::new(data);
    let url = format!("sqlite://{}?mode=rw", data.join("edgecert.db").display());
    let meta = Meta::connect(&url)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let store = FsStore::open(data.join("blobs"))
        .await
        .map_err(|e| format!("{}: {e}", data.display()))?;
    let reg = Registry::new(store, meta);
    let d = reg
        .promote(from, reference, to, tag)
        .await
        .map_err(|e| format!("{}: {}", e.code.as_str(), e.message))?;
    println!("{d}");
    Ok(())
}

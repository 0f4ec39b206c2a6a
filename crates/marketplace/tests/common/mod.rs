//! What the marketplace tests share.
//!
//! Deliberately panicking: test support.

#![allow(dead_code)]

use std::path::Path;

use edgecert_registry::api::Registry;
use edgecert_registry::digest::Digest;

pub fn blob(layout: &Path, d: &str) -> Vec<u8> {
    let (alg, hex) = d.split_once(':').unwrap();
    std::fs::read(layout.join("blobs").join(alg).join(hex)).unwrap()
}

/// Puts an OCI layout's image into `repo:tag` as a push does: blobs, platform manifests, the
/// index with the tag last. Returns the index digest.
pub async fn stage(reg: &Registry, layout: &Path, repo: &str, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let top = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let image_index: serde_json::Value = serde_json::from_slice(&blob(layout, &top)).unwrap();
    for m in image_index["manifests"].as_array().unwrap() {
        let md = m["digest"].as_str().unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&blob(layout, md)).unwrap();
        let mut blobs = vec![manifest["config"]["digest"].as_str().unwrap().to_owned()];
        for l in manifest["layers"].as_array().unwrap() {
            blobs.push(l["digest"].as_str().unwrap().to_owned());
        }
        for b in blobs {
            let d: Digest = b.parse().unwrap();
            let bytes = blob(layout, &b);
            reg.store.put(&d, None, bytes.as_slice()).await.unwrap();
            reg.link(repo, &d).await.unwrap();
        }
        reg.put_manifest_bytes(
            repo,
            m["mediaType"].as_str().unwrap(),
            &blob(layout, md),
            Some(md),
        )
        .await
        .unwrap();
    }
    let media = image_index["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.index.v1+json");
    reg.put_manifest_bytes(repo, media, &blob(layout, &top), Some(tag))
        .await
        .unwrap();
    top
}

/// Ingest (by the pipeline), a passing certification recorded by hand (the way the certify
/// step records it: Moby is the CLI tests' business), approval and the preview step: the
/// submission of `source` as `publish` finds it.
pub async fn to_preview(
    p: &edgecert_marketplace::pipeline::Pipeline,
    public: &str,
    source: &str,
) -> edgecert_marketplace::submissions::Submission {
    let s = p.market.submit(public, "contoso", source).await.unwrap();
    assert!(p.run_once().await.unwrap(), "ingest");
    let certify = p
        .market
        .claim("certifier", std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    p.market
        .transition(
            &s.id,
            edgecert_marketplace::submissions::State::Certifying,
            None,
        )
        .await
        .unwrap();
    p.market
        .store_report(&s.id, "{\"verdict\":\"pass\"}", None, "pass", None)
        .await
        .unwrap();
    p.market
        .transition(
            &s.id,
            edgecert_marketplace::submissions::State::InReview,
            None,
        )
        .await
        .unwrap();
    assert!(
        p.market
            .complete(&certify, "certifier", None)
            .await
            .unwrap()
    );
    p.market
        .transition_then(
            &s.id,
            edgecert_marketplace::submissions::State::Approved,
            None,
            Some(edgecert_marketplace::jobs::Step::Preview),
        )
        .await
        .unwrap();
    assert!(p.run_once().await.unwrap(), "preview");
    s
}

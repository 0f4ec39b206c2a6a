//! The SQL metadata through its public API, on SQLite and on PostgreSQL (the server
//! `EDGECERT_TEST_POSTGRES` names, which `scripts/setup.sh` starts): migrations applied once, blob links per
//! repository, manifests and tags, exact tags immutable under 32 concurrent writers,
//! pagination, referrers.
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::sync::Arc;

use common::postgres;

use edgecert_registry::digest::{Algorithm, Digest};
use edgecert_registry::meta::{Meta, MetaError, NewManifest};

fn d(s: &str) -> Digest {
    Digest::of(Algorithm::Sha256, s.as_bytes())
}

async fn sqlite(dir: &tempfile::TempDir) -> Meta {
    common::sqlite(dir.path()).await
}

/// Every metadata backend this machine has: SQLite always, PostgreSQL when set up.
async fn backends(dir: &tempfile::TempDir) -> Vec<(&'static str, Meta)> {
    let mut out = vec![("sqlite", sqlite(dir).await)];
    if let Some(url) = postgres().await {
        out.push(("postgres", Meta::connect(&url).await.unwrap()));
    }
    out
}

async fn manifest(meta: &Meta, repo: &str, name: &str) -> Digest {
    let digest = d(name);
    meta.put_manifest(
        repo,
        &NewManifest {
            digest: &digest,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            size: 123,
            subject: None,
            artifact_type: None,
            annotations: None,
            refs: &[d("config"), d("layer")],
        },
    )
    .await
    .unwrap();
    digest
}

#[tokio::test]
async fn migrations_apply_once_and_data_survives_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    {
        let meta = sqlite(&dir).await;
        meta.link_blob("staging/contoso/filter", &d("layer"), 42)
            .await
            .unwrap();
    }
    let meta = sqlite(&dir).await;
    assert_eq!(
        meta.linked_blob("staging/contoso/filter", &d("layer"))
            .await
            .unwrap(),
        Some(42)
    );
    assert_eq!(
        meta.linked_blob("staging/other/filter", &d("layer"))
            .await
            .unwrap(),
        None
    );
    assert!(
        meta.repository_exists("staging/contoso/filter")
            .await
            .unwrap()
    );
    if let Some(url) = postgres().await {
        Meta::connect(&url)
            .await
            .unwrap()
            .link_blob("staging/contoso/filter", &d("layer"), 42)
            .await
            .unwrap();
        let meta = Meta::connect(&url).await.unwrap();
        assert_eq!(
            meta.linked_blob("staging/contoso/filter", &d("layer"))
                .await
                .unwrap(),
            Some(42)
        );
    }
}

#[tokio::test]
async fn tags_resolve_paginate_and_move_unless_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, meta) in backends(&dir).await {
        eprintln!("backend {backend}");
        tags_on(&meta).await;
    }
}

async fn tags_on(meta: &Meta) {
    let meta = meta.clone();
    let repo = "contoso.tempfilter.standard";
    let (a, b) = (
        manifest(&meta, repo, "a").await,
        manifest(&meta, repo, "b").await,
    );
    for t in ["1.0.3", "1.0", "1", "latest", "1.0.3-arm32v7"] {
        meta.set_tag(repo, t, &a, true).await.unwrap();
    }
    assert_eq!(
        meta.tags(repo, None, None).await.unwrap(),
        ["1", "1.0", "1.0.3", "1.0.3-arm32v7", "latest"]
    );
    assert_eq!(meta.tags(repo, None, Some(2)).await.unwrap(), ["1", "1.0"]);
    assert_eq!(
        meta.tags(repo, Some("1.0"), Some(2)).await.unwrap(),
        ["1.0.3", "1.0.3-arm32v7"]
    );
    // Rolling tags move; the exact one does not, and setting it again to the same digest is fine.
    meta.set_tag(repo, "1.0", &b, true).await.unwrap();
    assert_eq!(meta.tag(repo, "1.0").await.unwrap(), Some(b.clone()));
    meta.set_tag(repo, "1.0.3", &a, true).await.unwrap();
    let e = meta.set_tag(repo, "1.0.3", &b, true).await.unwrap_err();
    assert!(matches!(e, MetaError::TagImmutable { .. }), "{e}");
    assert_eq!(meta.tag(repo, "1.0.3").await.unwrap(), Some(a.clone()));
    // Where exact tags are not frozen (staging), they move.
    meta.set_tag("staging/contoso/x", "1.0.3", &a, false)
        .await
        .unwrap();
    meta.set_tag("staging/contoso/x", "1.0.3", &b, false)
        .await
        .unwrap();
    assert_eq!(
        meta.tag("staging/contoso/x", "1.0.3").await.unwrap(),
        Some(b.clone())
    );
    // Deleting a manifest removes its tags.
    assert!(meta.delete_manifest(repo, &b).await.unwrap());
    assert_eq!(meta.tag(repo, "1.0").await.unwrap(), None);
    assert_eq!(meta.manifest(repo, &b).await.unwrap(), None);
    assert!(meta.manifest(repo, &a).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_writers_of_one_exact_tag_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, meta) in backends(&dir).await {
        eprintln!("backend {backend}");
        race_on(Arc::new(meta)).await;
    }
}

async fn race_on(meta: Arc<Meta>) {
    let repo = "contoso.race.standard";
    let mut tasks = Vec::new();
    for i in 0..32 {
        let meta = meta.clone();
        tasks.push(tokio::spawn(async move {
            let digest = manifest(&meta, repo, &format!("m{i}")).await;
            let r = meta.set_tag(repo, "2.0.0", &digest, true).await;
            (digest, r.is_ok())
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (digest, ok) = t.await.unwrap();
        if ok {
            winners.push(digest);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        meta.tag(repo, "2.0.0").await.unwrap().as_ref(),
        Some(&winners[0])
    );
}

#[tokio::test]
async fn referrers_by_subject() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, meta) in backends(&dir).await {
        eprintln!("backend {backend}");
        referrers_on(&meta).await;
    }
}

async fn referrers_on(meta: &Meta) {
    let meta = meta.clone();
    let repo = "contoso.tempfilter.standard";
    let subject = manifest(&meta, repo, "image").await;
    let sbom = d("sbom");
    meta.put_manifest(
        repo,
        &NewManifest {
            digest: &sbom,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            size: 500,
            subject: Some(&subject),
            artifact_type: Some("application/vnd.cyclonedx+json"),
            annotations: Some(r#"{"org.opencontainers.image.created":"2026-12-07T00:00:00Z"}"#),
            refs: &[],
        },
    )
    .await
    .unwrap();
    let r = meta.referrers(repo, &subject).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].digest, sbom);
    assert_eq!(
        r[0].artifact_type.as_deref(),
        Some("application/vnd.cyclonedx+json")
    );
    assert_eq!(
        r[0].annotations.as_deref(),
        Some(r#"{"org.opencontainers.image.created":"2026-12-07T00:00:00Z"}"#)
    );
    assert!(meta.referrers(repo, &sbom).await.unwrap().is_empty());
    let refs = meta.referenced().await.unwrap();
    for x in [&subject, &sbom, &d("config"), &d("layer")] {
        assert!(refs.contains(&x.to_string()), "{x}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_starting_at_once_on_one_postgres_database_all_start() {
    // A `serve` and its workers start together against a fresh database: each connects and
    // migrates; none fails on another's half-made tables.
    let Some(url) = postgres().await else {
        return;
    };
    let mut starting = Vec::new();
    for _ in 0..8 {
        let url = url.clone();
        starting.push(tokio::spawn(async move { Meta::connect(&url).await }));
    }
    for s in starting {
        let meta = s.await.unwrap().unwrap();
        meta.ensure_repository("contoso.x.standard").await.unwrap();
    }
}

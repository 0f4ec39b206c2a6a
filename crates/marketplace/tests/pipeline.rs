//! The pipeline's ingest step on a real registry (blob directory + SQLite, and PostgreSQL when
//! set up) with a 3-platform image from the fixture builder staged the way a publisher's push
//! leaves it: the submission's own copy has the same digests, the next step is queued, a re-run
//! (as after a lost lease) changes nothing, and a source that is not the publisher's staging
//! ends `incomplete` with the reason. A worker that dies in the middle of ingest or go-live
//! (its lease left to run out) loses nothing: the next worker finishes the step, once.
//!
//! Deliberately panicking: these are test assertions.

use std::path::Path;
use std::time::Duration;

mod common;

use common::{stage, to_preview};
use edgecert_fixtures::{Arch, ImageSpec, PlatformImage, write_oci_layout};
use edgecert_marketplace::Market;
use edgecert_marketplace::pipeline::{CONTENT_TAG, Pipeline};
use edgecert_marketplace::submissions::State;
use edgecert_registry::api::Registry;
use edgecert_registry::meta::Meta;
use edgecert_registry::store::FsStore;

async fn pipelines(dir: &Path) -> Vec<(&'static str, Pipeline)> {
    let mut urls = vec![(
        "sqlite",
        format!("sqlite://{}?mode=rwc", dir.join("m.db").display()),
    )];
    if let Some(url) = edgecert_registry::test_support::fresh_postgres().await {
        urls.push(("postgres", url));
    }
    let mut out = Vec::new();
    for (name, url) in urls {
        let meta = Meta::connect(&url).await.unwrap();
        let market = Market::open(&meta).await.unwrap();
        let store = FsStore::open(dir.join(format!("blobs-{name}")))
            .await
            .unwrap();
        out.push((
            name,
            Pipeline {
                market,
                registry: Registry::new(store, meta),
                owner: "worker-1".into(),
                lease: Duration::from_secs(60),
                certification: Default::default(),
                notifier: Default::default(),
            },
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_copies_the_staged_image_with_its_digests() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    let platforms = [Arch::Amd64, Arch::Armhf, Arch::Arm64]
        .into_iter()
        .map(|a| PlatformImage::busybox(a, &["/bin/sleep", "3600"]).unwrap())
        .collect();
    write_oci_layout(&layout, &ImageSpec::new(platforms)).unwrap();
    for (db, p) in pipelines(dir.path()).await {
        let staged = stage(&p.registry, &layout, "staging/contoso/tempfilter", "1.0.3").await;
        let s = p
            .market
            .submit(
                "contoso.tempfilter.standard",
                "contoso",
                "staging/contoso/tempfilter:1.0.3",
            )
            .await
            .unwrap();
        assert!(p.run_once().await.unwrap(), "{db}: the ingest job ran");
        let now = p.market.submission(&s.id).await.unwrap().unwrap();
        assert_eq!(now.state, State::Ingesting, "{db}");
        // The copy: same index digest, every platform manifest readable there.
        let content = Pipeline::content_repository(&s.id);
        let copied = p.registry.meta.tag(&content, CONTENT_TAG).await.unwrap();
        assert_eq!(copied.unwrap().to_string(), staged, "{db}");
        let events = p.market.events(&s.id, 0).await.unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.kind == "ingested" && e.data == staged),
            "{db}: {events:?}"
        );
        assert_eq!(
            steps(&p, &s.id).await,
            [
                ("ingest".to_owned(), "done".to_owned()),
                ("certify".into(), "ready".into())
            ],
            "{db}"
        );
        // Ingesting again (a re-run after a lost lease) is harmless: same copy, same digest.
        let again = p
            .registry
            .promote("staging/contoso/tempfilter", "1.0.3", &content, CONTENT_TAG)
            .await
            .unwrap();
        assert_eq!(again.to_string(), staged, "{db}");

        // A source outside the publisher's staging: incomplete, with the reason.
        let bad = p
            .market
            .submit(
                "contoso.tempfilter.standard",
                "contoso",
                "staging/fabrikam/tempfilter:1.0.3",
            )
            .await
            .unwrap();
        // (The certify job of the first is claimed first and put back; run until the ingest.)
        while p.market.submission(&bad.id).await.unwrap().unwrap().state == State::Queued {
            assert!(p.run_once().await.unwrap(), "{db}: a job was ready");
        }
        let ended = p.market.submission(&bad.id).await.unwrap().unwrap();
        assert_eq!(ended.state, State::Incomplete, "{db}");
        assert!(
            ended
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("staging/contoso/"),
            "{db}: {:?}",
            ended.reason
        );
        // A tag that is not in staging: incomplete too, naming the source.
        let missing = p
            .market
            .submit(
                "contoso.tempfilter.standard",
                "contoso",
                "staging/contoso/tempfilter:9.9.9",
            )
            .await
            .unwrap();
        while p
            .market
            .submission(&missing.id)
            .await
            .unwrap()
            .unwrap()
            .state
            == State::Queued
        {
            assert!(p.run_once().await.unwrap(), "{db}: a job was ready");
        }
        let ended = p.market.submission(&missing.id).await.unwrap().unwrap();
        assert_eq!(ended.state, State::Incomplete, "{db}");
        assert!(
            ended
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("9.9.9"),
            "{db}: {:?}",
            ended.reason
        );
    }
}

/// An offer for `contoso.tempfilter.standard` listing `tags`.
fn offer(tags: &[&str]) -> String {
    serde_json::json!({
        "schemaVersion": 1,
        "publisher": "contoso",
        "offer": "tempfilter",
        "plan": "standard",
        "name": "Tempfilter",
        "image": {"defaultTag": tags[1], "tags": tags},
        "defaults": {"moduleName": "tempfilter"},
    })
    .to_string()
}

/// The submission's jobs as (step, state), oldest first.
async fn steps(p: &Pipeline, id: &str) -> Vec<(String, String)> {
    let jobs = p.market.jobs(id).await.unwrap();
    jobs.iter()
        .map(|j| (j.step.as_str().to_owned(), j.state.as_str().to_owned()))
        .collect()
}

/// A worker that claims a job and dies: its lease (1 s) is left to run out.
async fn claim_and_die(p: &Pipeline) -> edgecert_marketplace::jobs::Job {
    p.market
        .claim("dead-worker", Duration::from_secs(1))
        .await
        .unwrap()
        .expect("a job was ready")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_cut_short_is_finished_by_the_next_worker() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    let platforms = vec![PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "3600"]).unwrap()];
    write_oci_layout(&layout, &ImageSpec::new(platforms)).unwrap();
    for (db, p) in pipelines(dir.path()).await {
        let staged = stage(&p.registry, &layout, "staging/contoso/tempfilter", "1.0.3").await;
        let s = p
            .market
            .submit(
                "contoso.tempfilter.standard",
                "contoso",
                "staging/contoso/tempfilter:1.0.3",
            )
            .await
            .unwrap();
        // The dead worker got as far as the state change.
        let job = claim_and_die(&p).await;
        p.market
            .transition(&s.id, State::Ingesting, None)
            .await
            .unwrap();
        assert!(
            !p.run_once().await.unwrap(),
            "{db}: the job is still leased"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            p.run_once().await.unwrap(),
            "{db}: the lapsed job was taken over"
        );
        let copied = p
            .registry
            .meta
            .tag(&Pipeline::content_repository(&s.id), CONTENT_TAG)
            .await
            .unwrap();
        assert_eq!(copied.map(|d| d.to_string()), Some(staged), "{db}");
        let jobs = p.market.jobs(&s.id).await.unwrap();
        let steps: Vec<(&str, &str, i64)> = jobs
            .iter()
            .map(|j| (j.step.as_str(), j.state.as_str(), j.attempts))
            .collect();
        assert_eq!(
            steps,
            [("ingest", "done", 2), ("certify", "ready", 0)],
            "{db}"
        );
        // The dead worker's late word changes nothing.
        assert!(
            !p.market.complete(&job, "dead-worker", None).await.unwrap(),
            "{db}"
        );
        let states: Vec<String> = p
            .market
            .events(&s.id, 0)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "state")
            .map(|e| e.data)
            .collect();
        assert_eq!(states, ["queued", "ingesting"], "{db}: one transition each");
    }
}

/// A certify worker that recorded its verdict (report stored, submission in review) and died
/// before completing its job: the next worker finds the submission past certification and
/// completes the job without certifying again (a reviewer may already be reading the report;
/// it must not change under them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certification_whose_verdict_was_recorded_is_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    let platforms = vec![PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "3600"]).unwrap()];
    write_oci_layout(&layout, &ImageSpec::new(platforms)).unwrap();
    let public = "contoso.tempfilter.standard";
    for (db, p) in pipelines(dir.path()).await {
        stage(&p.registry, &layout, "staging/contoso/tempfilter", "1.0.3").await;
        p.market
            .put_offer(public, "contoso", &offer(&["1.0.3", "1.0", "latest"]))
            .await
            .unwrap();
        let s = p
            .market
            .submit(public, "contoso", "staging/contoso/tempfilter:1.0.3")
            .await
            .unwrap();
        assert!(p.run_once().await.unwrap(), "{db}: ingest");
        let recorded = "{\"verdict\":\"pass\",\"by\":\"the dead worker\"}";
        let job = claim_and_die(&p).await;
        p.market
            .transition(&s.id, State::Certifying, None)
            .await
            .unwrap();
        p.market
            .store_report(&s.id, recorded, None, "pass", None)
            .await
            .unwrap();
        p.market
            .transition(&s.id, State::InReview, None)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(p.run_once().await.unwrap(), "{db}: the lapsed job taken");
        let (report, _) = p.market.report(&s.id).await.unwrap().unwrap();
        assert_eq!(report, recorded, "{db}: certified again");
        assert_eq!(
            p.market.submission(&s.id).await.unwrap().unwrap().state,
            State::InReview,
            "{db}"
        );
        assert_eq!(
            steps(&p, &s.id).await,
            [
                ("ingest".to_owned(), "done".to_owned()),
                ("certify".into(), "done".into())
            ],
            "{db}"
        );
        assert!(!p.run_once().await.unwrap(), "{db}: nothing left to do");
        assert!(
            !p.market.complete(&job, "dead-worker", None).await.unwrap(),
            "{db}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_live_cut_short_is_finished_by_the_next_worker() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    let platforms = vec![PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "3600"]).unwrap()];
    write_oci_layout(&layout, &ImageSpec::new(platforms)).unwrap();
    let public = "contoso.tempfilter.standard";
    for (db, p) in pipelines(dir.path()).await {
        let staged = stage(&p.registry, &layout, "staging/contoso/tempfilter", "1.0.3").await;
        p.market
            .put_offer(public, "contoso", &offer(&["1.0.3", "1.0", "latest"]))
            .await
            .unwrap();
        // Certification itself is the CLI tests' business (it needs Moby): `to_preview`
        // records it as a pass by hand, the way the certify step records it.
        let s = to_preview(&p, public, "staging/contoso/tempfilter:1.0.3").await;
        assert_eq!(s.version.as_deref(), Some("1.0.3"), "{db}");
        assert_eq!(
            p.market.submission(&s.id).await.unwrap().unwrap().state,
            State::Preview
        );
        let preview = p
            .registry
            .meta
            .tag(&format!("preview/{public}"), "1.0.3")
            .await
            .unwrap();
        assert_eq!(
            preview.map(|d| d.to_string()).as_deref(),
            Some(staged.as_str()),
            "{db}"
        );
        assert_eq!(p.market.request_go_live(&s.id).await.unwrap(), Ok(true));
        assert_eq!(
            p.market.request_go_live(&s.id).await.unwrap(),
            Ok(false),
            "{db}: once"
        );
        // The dead worker wrote the exact tag, then died before the rolling tags.
        let _job = claim_and_die(&p).await;
        p.registry
            .promote(&format!("preview/{public}"), "1.0.3", public, "1.0.3")
            .await
            .unwrap();
        assert!(
            p.registry
                .meta
                .tag(public, "latest")
                .await
                .unwrap()
                .is_none()
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(p.run_once().await.unwrap(), "{db}: go-live taken over");
        let now = p.market.submission(&s.id).await.unwrap().unwrap();
        assert_eq!(now.state, State::Live, "{db}");
        for tag in ["1.0.3", "1.0", "latest"] {
            let d = p.registry.meta.tag(public, tag).await.unwrap();
            assert_eq!(
                d.map(|d| d.to_string()).as_deref(),
                Some(staged.as_str()),
                "{db}: {tag}"
            );
        }
        let releases = p.market.releases(public).await.unwrap();
        assert_eq!(releases.len(), 1, "{db}");
        assert_eq!(releases[0].tags, ["1.0.3", "1.0", "latest"], "{db}");
        let listing = p.market.listing(public).await.unwrap().unwrap();
        assert_eq!(
            (listing.version.as_str(), listing.submission.as_str()),
            ("1.0.3", s.id.as_str())
        );
        assert_eq!(
            p.market.request_go_live(&s.id).await.unwrap(),
            Err("live".to_owned())
        );
    }
}

/// Two versions of one module going live at once, on two workers: the rolling tags and the
/// catalog end at the newer version whichever finishes first (each tag and the catalog entry
/// move by compare-and-set, forward only), and each exact tag names its own image.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_go_lives_of_one_module_leave_the_newest_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut layouts = Vec::new();
    for (version, arg) in [("1.0.3", "3600"), ("1.0.4", "3601")] {
        let layout = dir.path().join(version);
        let platforms = vec![PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", arg]).unwrap()];
        write_oci_layout(&layout, &ImageSpec::new(platforms)).unwrap();
        layouts.push((version, layout));
    }
    for (db, p) in pipelines(dir.path()).await {
        for round in 0..3 {
            let name = format!("staging/contoso/tempfilter{round}");
            let module = format!("contoso.tempfilter{round}.standard");
            let mut digests = Vec::new();
            let mut submissions = Vec::new();
            for (version, layout) in &layouts {
                digests.push(stage(&p.registry, layout, &name, version).await);
                let offer = offer(&[version, "1.0", "latest"])
                    .replace("\"tempfilter\"", &format!("\"tempfilter{round}\""));
                p.market
                    .put_offer(&module, "contoso", &offer)
                    .await
                    .unwrap();
                let s = to_preview(&p, &module, &format!("{name}:{version}")).await;
                submissions.push(s);
            }
            // Older first in the queue: the newer must still win.
            for s in &submissions {
                assert_eq!(p.market.request_go_live(&s.id).await.unwrap(), Ok(true));
            }
            let p2 = Pipeline {
                owner: "worker-2".into(),
                ..p.clone()
            };
            let (a, b) = tokio::join!(p.run_once(), p2.run_once());
            assert!(a.unwrap() && b.unwrap(), "{db}: both go-lives ran");
            for s in &submissions {
                let now = p.market.submission(&s.id).await.unwrap().unwrap();
                assert_eq!(now.state, State::Live, "{db}");
            }
            let at = |tag: &'static str| {
                let (p, module) = (&p, &module);
                async move {
                    p.registry
                        .meta
                        .tag(module, tag)
                        .await
                        .unwrap()
                        .map(|d| d.to_string())
                }
            };
            assert_eq!(at("1.0.3").await.as_ref(), Some(&digests[0]), "{db}");
            assert_eq!(at("1.0.4").await.as_ref(), Some(&digests[1]), "{db}");
            assert_eq!(
                at("1.0").await.as_ref(),
                Some(&digests[1]),
                "{db} round {round}"
            );
            assert_eq!(
                at("latest").await.as_ref(),
                Some(&digests[1]),
                "{db} round {round}"
            );
            let listing = p.market.listing(&module).await.unwrap().unwrap();
            assert_eq!(listing.version, "1.0.4", "{db} round {round}");
            // The compare-and-set itself: a mover that read a state that is gone misses.
            let older: edgecert_registry::digest::Digest = digests[0].parse().unwrap();
            let moved = p
                .registry
                .move_tag(&module, "latest", &older, Some(&older))
                .await
                .unwrap();
            assert!(!moved, "{db}: a stale compare-and-set moved the tag");
            assert_eq!(at("latest").await.as_ref(), Some(&digests[1]), "{db}");
        }
    }
}

//! Submissions and jobs on both databases (SQLite, and the PostgreSQL server
//! `scripts/setup.sh` starts): the lifecycle's edges enforced by the database under concurrent
//! transitions, and jobs claimed exactly once by concurrent workers, reclaimed after a lost
//! lease, with the presumed-dead worker's writes refused.
//!
//! Deliberately panicking: these are test assertions.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use edgecert_marketplace::Market;
use edgecert_marketplace::jobs::Step;
use edgecert_marketplace::submissions::{State, TransitionError};
use edgecert_registry::meta::Meta;

/// The marketplace on SQLite and, when set up, on a fresh PostgreSQL database.
async fn markets(dir: &tempfile::TempDir) -> Vec<(&'static str, Market)> {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let mut out = vec![(
        "sqlite",
        Market::open(&Meta::connect(&url).await.unwrap())
            .await
            .unwrap(),
    )];
    if let Some(url) = edgecert_registry::test_support::fresh_postgres().await {
        out.push((
            "postgres",
            Market::open(&Meta::connect(&url).await.unwrap())
                .await
                .unwrap(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lifecycle_is_enforced_by_the_database() {
    let dir = tempfile::tempdir().unwrap();
    for (db, m) in markets(&dir).await {
        let s = m
            .submit(
                "contoso.tempfilter.standard",
                "contoso",
                "staging/contoso/tempfilter:1.0.3",
            )
            .await
            .unwrap();
        assert_eq!(s.state, State::Queued);
        // The first job was enqueued with it.
        let jobs = m.jobs(&s.id).await.unwrap();
        assert_eq!(jobs.len(), 1, "{db}");
        assert_eq!(
            (jobs[0].step.as_str(), jobs[0].state.as_str()),
            ("ingest", "ready")
        );
        // Skipping a step is a conflict that names where it is.
        match m.transition(&s.id, State::InReview, None).await {
            Err(TransitionError::Conflict { current, wanted }) => {
                assert_eq!((current.as_str(), wanted.as_str()), ("queued", "in-review"));
            }
            other => panic!("{db}: {other:?}"),
        }
        for to in [State::Ingesting, State::Certifying, State::InReview] {
            m.transition(&s.id, to, None).await.unwrap();
        }
        // Rejecting needs a reason; unknown submissions are not found.
        assert!(matches!(
            m.transition(&s.id, State::Rejected, Some("  ")).await,
            Err(TransitionError::ReasonRequired)
        ));
        assert!(matches!(
            m.transition("nope", State::Approved, None).await,
            Err(TransitionError::NotFound(_))
        ));
        // Reviewers approving and rejecting at once: one wins, the others conflict, and the
        // state is the winner's.
        let m = Arc::new(m);
        let mut racers = Vec::new();
        for (to, reason) in [
            (State::Approved, None),
            (State::Rejected, Some("privileged without justification")),
        ] {
            for _ in 0..4 {
                let (m, id) = (m.clone(), s.id.clone());
                racers.push(tokio::spawn(async move {
                    (to, m.transition(&id, to, reason).await)
                }));
            }
        }
        let mut won = Vec::new();
        for r in racers {
            match r.await.unwrap() {
                (to, Ok(from)) => {
                    assert_eq!(from, State::InReview);
                    won.push(to);
                }
                (_, Err(TransitionError::Conflict { .. })) => {}
                (_, Err(e)) => panic!("{db}: {e}"),
            }
        }
        assert_eq!(won.len(), 1, "{db}: {won:?}");
        let now = m.submission(&s.id).await.unwrap().unwrap();
        assert_eq!(now.state, won[0], "{db}");
        // The publisher may withdraw an approved submission, not a rejected one.
        let withdrawn = m.transition(&s.id, State::Withdrawn, None).await;
        match won[0] {
            State::Approved => assert_eq!(withdrawn.unwrap(), State::Approved),
            _ => assert!(matches!(withdrawn, Err(TransitionError::Conflict { .. }))),
        }
        // The timeline: every state it went through, in order, once.
        let events = m.events(&s.id, 0).await.unwrap();
        let states: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        let mut expected = vec![
            "queued",
            "ingesting",
            "certifying",
            "in-review",
            won[0].as_str(),
        ];
        if won[0] == State::Approved {
            expected.push("withdrawn");
        }
        assert_eq!(states, expected, "{db}");
        assert_eq!(m.events(&s.id, 4).await.unwrap().len(), expected.len() - 4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_claim_each_job_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    for (db, m) in markets(&dir).await {
        let m = Arc::new(m);
        let mut ids = HashSet::new();
        for i in 0..48 {
            let s = m
                .submit(&format!("contoso.m{i}.standard"), "contoso", "x")
                .await
                .unwrap();
            ids.insert(s.id);
        }
        // 6 workers claim and complete (each completion enqueues the next step) until no job
        // is left; every submission's ingest and certify run exactly once.
        let mut workers = Vec::new();
        for w in 0..6 {
            let m = m.clone();
            workers.push(tokio::spawn(async move {
                let owner = format!("worker-{w}");
                let mut done = Vec::new();
                while let Some(job) = m.claim(&owner, Duration::from_secs(60)).await.unwrap() {
                    let next = (job.step == Step::Ingest).then_some(Step::Certify);
                    assert!(m.complete(&job, &owner, next).await.unwrap());
                    done.push((job.submission, job.step));
                }
                done
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        assert_eq!(all.len(), 96, "{db}");
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), 96, "{db}: a job ran twice");
        for id in &ids {
            let jobs = m.jobs(id).await.unwrap();
            assert_eq!(jobs.len(), 2, "{db}");
            assert!(
                jobs.iter().all(|j| j.state == "done" && j.attempts == 1),
                "{db}: {jobs:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_is_reclaimed_and_the_old_owner_is_fenced_off() {
    let dir = tempfile::tempdir().unwrap();
    for (db, m) in markets(&dir).await {
        let s = m
            .submit("contoso.lease.standard", "contoso", "x")
            .await
            .unwrap();
        // A worker claims, then "dies" (never renews); nothing else is claimable meanwhile.
        let first = m
            .claim("dead", Duration::from_millis(300))
            .await
            .unwrap()
            .expect("the ingest job");
        assert_eq!(
            (first.submission.as_str(), first.attempts),
            (s.id.as_str(), 1)
        );
        assert_eq!(
            m.claim("other", Duration::from_secs(60)).await.unwrap(),
            None
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        // After the lease: another worker gets the same job, a second attempt.
        let second = m
            .claim("alive", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("reclaimed");
        assert_eq!(
            (second.id.as_str(), second.attempts),
            (first.id.as_str(), 2),
            "{db}"
        );
        // The presumed-dead worker wakes up: its renew, completion and failure are refused.
        assert!(
            !m.renew(&first, "dead", Duration::from_secs(60))
                .await
                .unwrap()
        );
        assert!(
            !m.complete(&first, "dead", Some(Step::Certify))
                .await
                .unwrap()
        );
        assert!(!m.fail(&first, "dead", "late", None).await.unwrap());
        // The living one renews, fails with a retry, and the job comes back after the delay.
        assert!(
            m.renew(&second, "alive", Duration::from_secs(60))
                .await
                .unwrap()
        );
        assert!(
            m.fail(
                &second,
                "alive",
                "registry unreachable",
                Some(Duration::from_millis(200))
            )
            .await
            .unwrap()
        );
        assert_eq!(
            m.claim("alive", Duration::from_secs(60)).await.unwrap(),
            None
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let third = m
            .claim("alive", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("retried");
        assert_eq!(third.attempts, 3);
        assert!(m.complete(&third, "alive", None).await.unwrap());
        let jobs = m.jobs(&s.id).await.unwrap();
        assert_eq!(
            jobs.len(),
            1,
            "{db}: the dead worker's completion enqueued nothing"
        );
        assert_eq!(jobs[0].state, "done");
        assert_eq!(jobs[0].error.as_deref(), Some("registry unreachable"));
    }
}

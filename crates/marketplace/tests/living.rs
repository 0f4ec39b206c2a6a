//! Living modules on real parts (a real registry with a blob directory, SQLite and PostgreSQL,
//! the real certification engine, a loopback webhook receiver and a loopback SMTP sink):
//! publishing a policy version re-certifies every live version by digest; one that would fail
//! is recorded with its findings, its publisher gets an inbox message, an HMAC-signed webhook
//! (retried after a failed delivery) and an e-mail naming the checks and the date; after the
//! effective date the version leaves the catalog while its tags keep resolving.
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::{stage, to_preview};
use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage, write_oci_layout};
use edgecert_marketplace::Market;
use edgecert_marketplace::living::Notifier;
use edgecert_marketplace::model::PublisherSettings;
use edgecert_marketplace::pipeline::{Certification, Pipeline};
use edgecert_marketplace::submissions::State;
use edgecert_registry::api::Registry;
use edgecert_registry::auth::{self, Role};
use edgecert_registry::meta::Meta;
use edgecert_registry::store::FsStore;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const ID: &str = "contoso.tempfilter.standard";

/// The example module: busybox for amd64 and arm/v7 running a script as nobody.
fn image(dir: &Path) -> std::path::PathBuf {
    let script = b"#!/bin/sh\ntrap 'exit 0' TERM\nwhile true; do sleep 1; done\n".to_vec();
    let platforms = [Arch::Amd64, Arch::Armhf]
        .into_iter()
        .map(|arch| {
            let mut p = PlatformImage::busybox(arch, &[]).unwrap();
            p.layers
                .push(Layer::new().file("app/run.sh", script.clone(), 0o755));
            p.config.entrypoint = Some(vec!["/app/run.sh".into()]);
            p.config.user = Some("nobody".into());
            p
        })
        .collect();
    let mut spec = ImageSpec::new(platforms);
    spec.tags = vec!["1.0.3".into()];
    let layout = dir.join("image");
    write_oci_layout(&layout, &spec).unwrap();
    layout
}

/// A loopback webhook receiver: answers 500 to the first delivery, 200 after; keeps each
/// request's signature header and body.
/// What the receiver saw: (signature header, body) per request.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

async fn webhook() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    let sig = headers
                        .get("x-edgecert-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let mut all = kept.lock().unwrap();
                    all.push((sig, body.to_vec()));
                    if all.len() == 1 {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

/// A loopback SMTP sink: speaks enough SMTP for one client at a time and keeps each
/// message's DATA.
async fn smtp_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = mails.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let kept = kept.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(data.take().unwrap());
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            w.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    w.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (format!("smtp://{addr}"), mails)
}

async fn backends(dir: &Path) -> Vec<(&'static str, String)> {
    let mut urls = vec![(
        "sqlite",
        format!("sqlite://{}?mode=rwc", dir.join("m.db").display()),
    )];
    if let Some(url) = edgecert_registry::test_support::fresh_postgres().await {
        urls.push(("postgres", url));
    }
    urls
}

/// Runs ready jobs until none is left.
async fn drain(p: &Pipeline) {
    while p.run_once().await.unwrap() {}
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("Authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_owned()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_version_recertifies_live_modules_and_notifies_their_publishers() {
    let dir = tempfile::tempdir().unwrap();
    let layout = image(dir.path());
    for (db, url) in backends(dir.path()).await {
        let meta = Meta::connect(&url).await.unwrap();
        let market = Market::open(&meta).await.unwrap();
        let store = FsStore::open(dir.path().join(format!("blobs-{db}")))
            .await
            .unwrap();
        let registry = Registry::new(store, meta.clone());
        let admin = auth::create_account(&meta, "root", Role::Admin, None)
            .await
            .unwrap();
        let contoso = auth::create_publisher(&meta, "contoso").await.unwrap();
        let (hook, deliveries) = webhook().await;
        let (smtp, mails) = smtp_sink().await;
        let p = Pipeline {
            market: market.clone(),
            registry: registry.clone(),
            owner: "worker".into(),
            lease: Duration::from_secs(60),
            certification: Certification::default(),
            notifier: Notifier::new(Some((smtp, "edgecert <edgecert@localhost>".into()))),
        };
        let app = edgecert_marketplace::api::router(
            market.clone(),
            meta.clone(),
            None,
            edgecert_engine::policy::Policy::default(),
        );

        // A live version, taken there by the pipeline (certification recorded by hand: the
        // ingestion test needs Moby, which the CLI's end-to-end tests use).
        let mut offer: Value =
            serde_json::from_str(&edgecert_engine::offer::template("tempfilter")).unwrap();
        offer["offer"] = json!("tempfilter");
        offer["image"]["tags"] = json!(["1.0.3", "1.0", "latest"]);
        let staged = stage(&registry, &layout, "staging/contoso/tempfilter", "1.0.3").await;
        market
            .put_offer(ID, "contoso", &offer.to_string())
            .await
            .unwrap();
        let s = to_preview(&p, ID, "staging/contoso/tempfilter:1.0.3").await;
        assert_eq!(market.request_go_live(&s.id).await.unwrap(), Ok(true));
        drain(&p).await;
        assert_eq!(
            market.submission(&s.id).await.unwrap().unwrap().state,
            State::Live,
            "{db}"
        );
        assert!(market.listing(ID).await.unwrap().is_some(), "{db}: listed");

        // Where contoso's notifications go.
        let settings = PublisherSettings {
            webhook_url: Some(hook.clone()),
            webhook_secret: Some("s3cret".into()),
            email: Some("ops@contoso.example".into()),
        };
        let (status, body) = call(
            &app,
            "PUT",
            "/api/v1/publishers/contoso/settings",
            &contoso,
            &serde_json::to_string(&settings).unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{db}: {body}");
        assert_eq!(body["webhookSecret"], "***");

        // A policy version it passes: recorded, nobody notified.
        let (status, body) = call(
            &app,
            "POST",
            "/api/v1/policies",
            &admin,
            &json!({"version": "2027.1", "effectiveAt": "2026-01-01", "policy": {}}).to_string(),
        )
        .await;
        assert_eq!(
            (status, body["recertifying"].clone()),
            (201, json!(1)),
            "{db}: {body}"
        );
        drain(&p).await;
        let r = market.recertifications("2027.1").await.unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].verdict, "pass", "{db}: {r:?}");
        assert!(market.inbox("contoso").await.unwrap().is_empty(), "{db}");

        // Refused: an unknown check id; a publisher publishing; a version twice.
        let (status, body) = call(&app, "POST", "/api/v1/policies", &admin, &json!({"version": "x", "effectiveAt": "2027-01-01", "policy": {"severity": {"EC999": "blocking"}}}).to_string()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("EC999"),
            "{body}"
        );
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/policies",
            &contoso,
            &json!({"version": "y", "effectiveAt": "2027-01-01", "policy": {}}).to_string(),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/policies",
            &admin,
            &json!({"version": "2027.1", "effectiveAt": "2026-01-01", "policy": {}}).to_string(),
        )
        .await;
        assert_eq!(status, 409);

        // A policy version it fails (arm64 required), effective in 3 s.
        let effective = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 3000;
        let (status, body) = call(&app, "POST", "/api/v1/policies", &admin, &json!({"version": "2027.2", "effectiveAt": effective, "policy": {"requiredPlatforms": ["linux/amd64", "linux/arm/v7", "linux/arm64"]}}).to_string()).await;
        assert_eq!(status, 201, "{db}: {body}");
        drain(&p).await;
        let r = market.recertifications("2027.2").await.unwrap();
        assert_eq!(r[0].verdict, "fail", "{db}: {r:?}");
        assert!(r[0].failing.to_string().contains("EC201"), "{db}: {r:?}");
        // The webhook's first delivery got a 500: retried after the backoff.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        drain(&p).await;
        let inbox = market.inbox("contoso").await.unwrap();
        assert_eq!(inbox.len(), 1, "{db}: {inbox:?}");
        let n = &inbox[0];
        assert!(
            n.subject.contains("2027.2") && n.subject.contains(ID),
            "{}",
            n.subject
        );
        let states: Vec<(String, String, i64)> = n
            .deliveries
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["channel"].as_str().unwrap().to_owned(),
                    d["state"].as_str().unwrap().to_owned(),
                    d["attempts"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [
                ("email".into(), "sent".into(), 1),
                ("webhook".into(), "sent".into(), 2)
            ],
            "{db}"
        );
        let got = deliveries.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "{db}: delivered twice (500, then 200)");
        for (sig, body) in &got {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
            let hex = sig.strip_prefix("sha256=").expect("sha256= signature");
            let mac: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            ring::hmac::verify(&key, body, &mac).expect("the signature verifies with the secret");
            let v: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(v["policyVersion"], "2027.2");
            assert!(v["failing"].to_string().contains("EC201"), "{v}");
        }
        let mails = mails.lock().unwrap().clone();
        assert_eq!(mails.len(), 1, "{db}");
        assert!(
            mails[0].contains("To: ops@contoso.example") && mails[0].contains("EC201"),
            "{}",
            mails[0]
        );
        assert!(
            mails[0].contains(&edgecert_marketplace::living::date(effective)),
            "{}",
            mails[0]
        );
        // The inbox through the API, for the publisher only.
        let (status, body) = call(
            &app,
            "GET",
            "/api/v1/publishers/contoso/inbox",
            &contoso,
            "",
        )
        .await;
        assert_eq!(
            (status, body["items"].as_array().map(Vec::len)),
            (200, Some(1)),
            "{body}"
        );
        let (status, _) = call(&app, "GET", "/api/v1/publishers/contoso/inbox", &admin, "").await;
        assert_eq!(status, 200);

        // Still listed until the effective date; gone after it; the tags still resolve.
        assert!(
            market.listing(ID).await.unwrap().is_some(),
            "{db}: listed before the date"
        );
        let wait = effective
            - std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
        tokio::time::sleep(Duration::from_millis(wait.max(0) as u64 + 100)).await;
        assert!(
            market.listing(ID).await.unwrap().is_none(),
            "{db}: left the catalog"
        );
        assert!(market.listings().await.unwrap().is_empty(), "{db}");
        let tag = registry.meta.tag(ID, "1.0").await.unwrap();
        assert_eq!(
            tag.map(|d| d.to_string()),
            Some(staged.clone()),
            "{db}: pulls keep working"
        );
        // New submissions are certified against the policy in effect.
        let (status, body) = call(&app, "GET", "/api/v1/policies", &admin, "").await;
        assert_eq!(
            (status, body["items"].as_array().map(Vec::len)),
            (200, Some(2)),
            "{body}"
        );
    }
}

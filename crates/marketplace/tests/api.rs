//! The `/api/v1` router in-process (the real router over a real SQLite database and the
//! registry's real accounts and tokens): the authorization matrix — every role × every
//! endpoint, expected status — and the error statuses the spec names.
//!
//! Deliberately panicking: these are test assertions.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use edgecert_marketplace::Market;
use edgecert_marketplace::submissions::State;
use edgecert_registry::auth::{self, Role};
use edgecert_registry::meta::Meta;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

const OFFER: &str = "contoso.tempfilter.standard";
const OFFER_JSON: &str = r#"{"publisher": "contoso", "offer": "tempfilter", "plan": "standard"}"#;

struct World {
    app: axum::Router,
    market: Market,
    /// (role name, bearer token or None for anonymous)
    roles: Vec<(&'static str, Option<String>)>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let meta = Meta::connect(&url).await.unwrap();
    let market = Market::open(&meta).await.unwrap();
    let admin = auth::create_account(&meta, "root", Role::Admin, None)
        .await
        .unwrap();
    let contoso = auth::create_publisher(&meta, "contoso").await.unwrap();
    let fabrikam = auth::create_publisher(&meta, "fabrikam").await.unwrap();
    let reviewer = auth::create_account(&meta, "rita", Role::Reviewer, None)
        .await
        .unwrap();
    World {
        app: edgecert_marketplace::api::router(
            market.clone(),
            meta,
            None,
            edgecert_engine::policy::Policy::default(),
        ),
        market,
        roles: vec![
            ("anonymous", None),
            ("contoso", Some(contoso)),
            ("fabrikam", Some(fabrikam)),
            ("reviewer", Some(reviewer)),
            ("admin", Some(admin)),
        ],
        _dir: dir,
    }
}

impl World {
    fn token(&self, role: &str) -> Option<&str> {
        self.roles
            .iter()
            .find(|(r, _)| *r == role)
            .and_then(|(_, t)| t.as_deref())
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json)
    }

    /// A submission of contoso's offer, moved to `state`.
    async fn submission_in(&self, state: State) -> String {
        let s = self.market.submit(OFFER, "contoso", "x").await.unwrap();
        let path: &[State] = match state {
            State::Queued => &[],
            State::InReview => &[State::Ingesting, State::Certifying, State::InReview],
            State::Preview => &[
                State::Ingesting,
                State::Certifying,
                State::InReview,
                State::Approved,
                State::Preview,
            ],
            other => panic!("not prepared: {other:?}"),
        };
        for to in path {
            self.market.transition(&s.id, *to, None).await.unwrap();
        }
        s.id
    }
}

#[tokio::test]
async fn every_role_on_every_endpoint() {
    let w = world().await;
    let (status, _) = w
        .call(
            "PUT",
            &format!("/api/v1/offers/{OFFER}"),
            w.token("contoso"),
            OFFER_JSON,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let any = w.submission_in(State::Queued).await;
    let certified = w.submission_in(State::InReview).await;
    w.market
        .store_report(&certified, "{}", Some("{}"), "pass", None)
        .await
        .unwrap();
    // A live version, so the catalog has an entry.
    let release = edgecert_marketplace::releases::Release {
        identifier: OFFER.into(),
        version: "1.0.3".into(),
        submission: certified.clone(),
        digest: format!("sha256:{}", "0".repeat(64)),
        tags: vec!["1.0.3".into()],
        live_at: 1,
    };
    w.market
        .release(&release, OFFER_JSON, "{}", "contoso")
        .await
        .unwrap();
    // Expected status per role: anonymous, contoso, fabrikam, reviewer, admin.
    let matrix: &[(&str, &str, &str, [u16; 5])] = &[
        (
            "PUT",
            "/api/v1/offers/{offer}",
            OFFER_JSON,
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/offers/{offer}",
            "",
            [401, 200, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/offers/{offer}/submissions",
            r#"{"image": "staging/contoso/tempfilter:1.0.3"}"#,
            [401, 202, 403, 403, 202],
        ),
        (
            "GET",
            "/api/v1/submissions/{any}",
            "",
            [401, 200, 403, 200, 200],
        ),
        (
            "GET",
            "/api/v1/submissions/{any}/events",
            "",
            [401, 200, 403, 200, 200],
        ),
        ("GET", "/api/v1/review", "", [401, 403, 403, 200, 200]),
        (
            "POST",
            "/api/v1/submissions/{in-review}/approve",
            "",
            [401, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/submissions/{in-review}/reject",
            r#"{"reason": "privileged without a justification"}"#,
            [401, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/submissions/{queued}/withdraw",
            "",
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/submissions/{certified}/report",
            "",
            [401, 200, 403, 200, 200],
        ),
        (
            "GET",
            "/api/v1/submissions/{certified}/sbom",
            "",
            [401, 200, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/submissions/{preview}/go-live",
            "",
            [401, 202, 403, 403, 202],
        ),
        ("GET", "/api/v1/catalog", "", [200; 5]),
        ("GET", "/api/v1/catalog?q=temp&page=1", "", [200; 5]),
        ("GET", "/api/v1/catalog/{offer}", "", [200; 5]),
        (
            "POST",
            "/api/v1/publishers",
            r#"{"name": "newpub{n}"}"#,
            [401, 403, 403, 403, 201],
        ),
        (
            "POST",
            "/api/v1/publishers/contoso/members",
            r#"{"name": "member{n}"}"#,
            [401, 201, 403, 403, 201],
        ),
        (
            "PUT",
            "/api/v1/publishers/contoso/settings",
            r#"{"email": "ops@contoso.example"}"#,
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/publishers/contoso/inbox",
            "",
            [401, 200, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/reviewers",
            r#"{"name": "rev{n}"}"#,
            [401, 403, 403, 403, 201],
        ),
        ("POST", "/api/v1/tokens", "", [401, 201, 201, 201, 201]),
        (
            "POST",
            "/api/v1/policies",
            r#"{"version": "p{n}", "effectiveAt": "2030-01-01", "policy": {}}"#,
            [401, 403, 403, 403, 201],
        ),
        ("GET", "/api/v1/policies", "", [200; 5]),
        (
            "GET",
            "/api/v1/policies/none/recertifications",
            "",
            [401, 403, 403, 404, 404],
        ),
        // Not a live tag (nothing is in the registry here): the same answer for everyone.
        (
            "GET",
            "/api/v1/catalog/{offer}/deployment?tag=9.9.9",
            "",
            [404; 5],
        ),
        ("GET", "/api/v1/openapi.json", "", [200; 5]),
    ];
    // Every route the router declares has a row: a new endpoint cannot skip the matrix.
    for (method, route) in declared_routes() {
        let covered = matrix.iter().any(|(m, template, _, _)| {
            let path = template.split('?').next().unwrap_or(template);
            m.eq_ignore_ascii_case(&method) && matches_route(&route, path)
        });
        assert!(covered, "{method} {route} has no row in the matrix");
    }
    let mut wrong = Vec::new();
    let mut counter = 0;
    for (method, template, body, expected) in matrix {
        for ((role, token), want) in w.roles.iter().zip(expected) {
            // Transitions get a submission of their own per role, in the state they leave.
            let path = template
                .replace("{offer}", OFFER)
                .replace("{any}", &any)
                .replace("{in-review}", &w.submission_in(State::InReview).await)
                .replace("{queued}", &w.submission_in(State::Queued).await)
                .replace("{certified}", &certified)
                .replace("{preview}", &w.submission_in(State::Preview).await);
            // Names made by a request are new each time.
            counter += 1;
            let body = body.replace("{n}", &counter.to_string());
            let (status, json) = w.call(method, &path, token.as_deref(), &body).await;
            if status.as_u16() != *want {
                wrong.push(format!(
                    "{method} {template} as {role}: {status} (want {want}) {json}"
                ));
            }
            if status.is_client_error() {
                assert!(json["error"]["code"].is_string(), "{json}");
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every (method, path template) the API's router declares, read from its source.
fn declared_routes() -> Vec<(String, String)> {
    let source = include_str!("../src/api.rs");
    let start = source.find("Router::new()").expect("the router");
    let end = start
        + source[start..]
            .find(".with_state")
            .expect("the router's end");
    let mut out = Vec::new();
    for part in source[start..end].split(".route(").skip(1) {
        let path = part.split('"').nth(1).expect("a path literal").to_owned();
        let calls = &part[part.find(',').unwrap_or(0)..];
        for method in ["get", "post", "put", "delete", "patch"] {
            let call = format!("{method}(");
            let declared = calls.match_indices(&call).any(|(i, _)| {
                i == 0
                    || !calls[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if declared {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(out.len() >= 24, "the router was not read: {out:?}");
    out
}

/// Whether the concrete or placeholder `path` is one of `route`'s (`{x}`: one segment).
fn matches_route(route: &str, path: &str) -> bool {
    let (r, p): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
    r.len() == p.len()
        && r.iter()
            .zip(&p)
            .all(|(a, b)| a == b || (a.starts_with('{') && !b.is_empty()))
}

#[tokio::test]
async fn bad_requests_get_the_status_and_place_they_deserve() {
    let w = world().await;
    let contoso = w.token("contoso");
    let offer = format!("/api/v1/offers/{OFFER}");
    // (method, path, token, body, expected status, what the message says)
    type Case<'a> = (&'a str, String, Option<&'a str>, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "PUT",
            offer.clone(),
            Some("ect_nope"),
            OFFER_JSON.into(),
            401,
            "unknown API token",
        ),
        (
            "PUT",
            "/api/v1/offers/Contoso.x".into(),
            contoso,
            OFFER_JSON.into(),
            400,
            "publisher.offer.plan",
        ),
        (
            "PUT",
            offer.clone(),
            contoso,
            "{\"publisher\": ".into(),
            400,
            "not valid JSON",
        ),
        (
            "PUT",
            offer.clone(),
            contoso,
            r#"{"publisher": 7}"#.into(),
            400,
            "at $.publisher",
        ),
        (
            "PUT",
            offer.clone(),
            contoso,
            r#"{"publisher": "contoso", "offer": "other", "plan": "standard"}"#.into(),
            422,
            "contoso.other.standard",
        ),
        (
            "PUT",
            offer.clone(),
            contoso,
            " ".repeat(1024 * 1024 + 1),
            413,
            "over",
        ),
        (
            "POST",
            format!("{offer}/submissions"),
            contoso,
            r#"{"image": "x"}"#.into(),
            404,
            "PUT /api/v1/offers",
        ),
    ];
    for (method, path, token, body, want, says) in cases {
        let (status, json) = w.call(method, &path, token, &body).await;
        assert_eq!(status.as_u16(), want, "{method} {path}: {json}");
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{method} {path}: {message}");
    }
    // With the offer stored: a submission needs an image; review transitions need the right
    // state and a reason.
    let (status, _) = w.call("PUT", &offer, contoso, OFFER_JSON).await;
    assert_eq!(status, StatusCode::OK);
    let (status, json) = w
        .call("POST", &format!("{offer}/submissions"), contoso, "{}")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$.image")
    );
    let (status, json) = w
        .call(
            "POST",
            &format!("{offer}/submissions"),
            contoso,
            r#"{"image": "staging/contoso/tempfilter:1.0.3"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    assert_eq!(json["state"], "queued");
    let queued = json["id"].as_str().unwrap().to_owned();
    let reviewer = w.token("reviewer");
    let (status, json) = w
        .call(
            "POST",
            &format!("/api/v1/submissions/{queued}/approve"),
            reviewer,
            "",
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("queued")
    );
    let id = w.submission_in(State::InReview).await;
    let (status, json) = w
        .call(
            "POST",
            &format!("/api/v1/submissions/{id}/reject"),
            reviewer,
            "{}",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$.reason")
    );
    let (status, json) = w.call("GET", "/api/v1/review", reviewer, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["items"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["items"][0]["id"], id.as_str());
    let (status, _) = w
        .call("GET", "/api/v1/submissions/nothing-here", reviewer, "")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The offer and its versions.
    let (_, json) = w.call("GET", &offer, contoso, "").await;
    assert_eq!(json["offer"]["offer"], "tempfilter");
    assert_eq!(json["submissions"].as_array().unwrap().len(), 2, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_as_server_sent_events_until_a_final_state() {
    let w = world().await;
    let id = w.submission_in(State::Queued).await;
    let contoso = w.token("contoso").unwrap().to_owned();
    let stream = |last: Option<&str>| {
        let mut req = Request::builder()
            .uri(format!("/api/v1/submissions/{id}/events"))
            .header("Authorization", format!("Bearer {contoso}"))
            .header("Accept", "text/event-stream");
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l);
        }
        w.app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let res = stream(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    // The pipeline moves it on while the client listens; the stream ends at `failed`.
    let market = w.market.clone();
    let mover = id.clone();
    tokio::spawn(async move {
        for to in [State::Ingesting, State::Certifying, State::Failed] {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            market.transition(&mover, to, None).await.unwrap();
        }
    });
    let body = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        res.into_body().collect(),
    )
    .await
    .expect("the stream ends at a final state")
    .unwrap()
    .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let events: Vec<(String, String)> = text
        .split("\n\n")
        .filter(|e| e.contains("data:"))
        .map(|e| {
            let field = |name: &str| {
                e.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            (field("id"), field("data"))
        })
        .collect();
    let expected: Vec<(String, String)> = ["queued", "ingesting", "certifying", "failed"]
        .iter()
        .enumerate()
        .map(|(i, s)| ((i + 1).to_string(), (*s).to_owned()))
        .collect();
    assert_eq!(events, expected, "{text}");
    // Reconnecting with Last-Event-ID: only what came after, then the end.
    let res = stream(Some("2")).await.unwrap();
    let text =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        !text.contains("data: queued") && !text.contains("data: ingesting"),
        "{text}"
    );
    assert!(
        text.contains("id: 3") && text.contains("data: failed"),
        "{text}"
    );
}

/// The OpenAPI document is the checked-in snapshot (`EDGECERT_UPDATE_SNAPSHOTS=1` rewrites
/// it), it is what `/api/v1/openapi.json` serves, and every operation it lists is routed.
#[tokio::test]
async fn the_openapi_document_matches_its_snapshot_and_the_routes() {
    let generated = edgecert_marketplace::openapi::document();
    let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
    let snapshot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var("EDGECERT_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&snapshot, &text).unwrap();
    }
    let kept = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        kept == text,
        "the API changed: review the difference and run with EDGECERT_UPDATE_SNAPSHOTS=1 to \
         accept it ({})",
        snapshot.display()
    );
    let w = world().await;
    let (status, served) = w.call("GET", "/api/v1/openapi.json", None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, generated);
    let mut operations = 0;
    for (path, methods) in generated["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            operations += 1;
            let concrete = path
                .replace("{identifier}", OFFER)
                .replace("{id}", "0123456789abcdef0123456789abcdef")
                .replace("{publisher}", "contoso")
                .replace("{version}", "none");
            let admin = w.token("admin");
            let (status, body) = w.call(&method.to_uppercase(), &concrete, admin, "{}").await;
            // Our handlers answer every failure with an error body; the router's own 404/405
            // for an unknown route has none.
            assert!(
                status.is_success() || body["error"]["code"].is_string(),
                "{method} {path}: {status} {body}"
            );
        }
    }
    assert_eq!(operations, 25);
    // Every declared route is documented, with its method.
    for (method, route) in declared_routes() {
        assert!(
            generated["paths"][&route][method.to_lowercase()].is_object(),
            "{method} {route} is not in the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn an_offer_put_answers_with_the_checks_findings_at_once() {
    let w = world().await;
    let contoso = w.token("contoso");
    let path = format!("/api/v1/offers/{OFFER}");
    // `edgecert init`'s template: complete, nothing to find.
    let mut offer: Value =
        serde_json::from_str(&edgecert_engine::offer::template("tempfilter")).unwrap();
    let (status, body) = w.call("PUT", &path, contoso, &offer.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = body["findings"].as_array().unwrap().len();
    assert_eq!(before, 0, "{body}");
    // No privacy policy: EC902 names the field.
    offer["legal"]
        .as_object_mut()
        .unwrap()
        .remove("privacyPolicyUrl");
    let (status, body) = w.call("PUT", &path, contoso, &offer.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let findings = body["findings"].as_array().unwrap();
    assert_eq!(findings.len(), before + 1, "{body}");
    let privacy = findings
        .iter()
        .find(|f| f["check"] == "EC902")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(privacy["path"], "legal.privacyPolicyUrl", "{body}");
    assert_eq!(privacy["severity"], "blocking", "{body}");
}

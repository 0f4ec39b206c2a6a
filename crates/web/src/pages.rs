//! The pages and their forms. Every page is one round trip of server-rendered HTML; every POST
//! carries the session's CSRF token or is refused (403) before anything happens; every action
//! is decided by the marketplace API's own authorization (`api::allowed`).

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use edgecert_engine::policy::Policy;
use edgecert_marketplace::Market;
use edgecert_marketplace::api::{Action, allowed};
use edgecert_marketplace::catalog::Catalog;
use edgecert_marketplace::model::{CatalogDetail, CatalogItem, SubmissionView};
use edgecert_marketplace::submissions::{Event, State};
use edgecert_registry::auth::{Principal, Role};
use edgecert_registry::meta::Meta;
use serde::Deserialize;
use serde_json::Value;

use crate::session::{self, COOKIE, LOGIN_COOKIE, Session};

#[derive(Debug, Clone)]
pub(crate) struct Web {
    pub(crate) market: Market,
    pub(crate) meta: Meta,
    /// The operator's policy; published versions in effect take its place.
    pub(crate) policy: Policy,
    /// `host:port` pulls go to; `None`: the request's `Host`.
    registry_host: Option<String>,
    /// `Secure` cookies (the public URL is https).
    secure: bool,
}

/// The pages' router. `public_url` and `policy` as for the API.
pub fn router(market: Market, meta: Meta, public_url: Option<&str>, policy: Policy) -> Router {
    let registry_host = public_url.map(|u| {
        u.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    });
    Router::new()
        .route("/", get(home))
        .route("/modules/{identifier}", get(module))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/portal", get(portal))
        .route(
            "/portal/offers/new",
            get(crate::portal::new_offer_form).post(crate::portal::new_offer),
        )
        .route(
            "/portal/offers/{identifier}",
            get(crate::portal::editor).post(crate::portal::save),
        )
        .route(
            "/portal/offers/{identifier}/submit",
            post(crate::portal::submit),
        )
        .route("/admin", get(crate::admin::page))
        .route("/admin/publishers", post(crate::admin::create_publisher))
        .route("/admin/members", post(crate::admin::add_member))
        .route("/admin/reviewers", post(crate::admin::create_reviewer))
        .route("/admin/policies", post(crate::admin::publish_policy))
        .route("/modules/{identifier}/sbom", get(module_sbom))
        .route("/portal/submissions/{id}", get(submission))
        .route("/portal/submissions/{id}/events", get(events))
        .route("/portal/submissions/{id}/sbom", get(sbom))
        .route("/portal/submissions/{id}/go-live", post(go_live))
        .route("/review", get(review_queue))
        .route("/review/{id}", get(submission))
        .route("/review/{id}/approve", post(approve))
        .route("/review/{id}/reject", post(reject))
        .with_state(Web {
            market,
            meta,
            policy,
            secure: public_url.is_some_and(|u| u.starts_with("https://")),
            registry_host,
        })
}

/// The signed-in visitor as the header shows them.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub csrf: String,
    pub publisher: bool,
    pub reviewer: bool,
    pub admin: bool,
}

pub(crate) fn user_of(s: &Option<Session>) -> Option<User> {
    let s = s.as_ref()?;
    let Principal::Account { role, .. } = &s.principal else {
        return None;
    };
    Some(User {
        name: s.account.clone(),
        csrf: s.csrf.clone(),
        publisher: matches!(role, Role::Publisher),
        reviewer: matches!(role, Role::Reviewer | Role::Admin),
        admin: matches!(role, Role::Admin),
    })
}

/// A page that could not be shown: status and a sentence.
pub(crate) struct Failure(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let title = match self.0 {
            StatusCode::NOT_FOUND => "Page not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::BAD_REQUEST => "There is a problem",
            _ => "Something went wrong",
        };
        let page = Message {
            user: None,
            title: title.to_owned(),
            text: self.1,
        };
        (self.0, render(&page)).into_response()
    }
}

pub(crate) fn oops(e: impl std::fmt::Display) -> Failure {
    Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template: {e}")).into_response(),
    }
}

impl Web {
    fn host(&self, headers: &HeaderMap) -> String {
        self.registry_host.clone().unwrap_or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost")
                .to_owned()
        })
    }

    pub(crate) async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, Failure> {
        let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
        match session::cookie(cookies, COOKIE) {
            Some(id) => session::session(&self.meta, id).await.map_err(oops),
            None => Ok(None),
        }
    }

    /// The session, which must exist (else a redirect to sign in) and, for a POST, must
    /// match `csrf`.
    pub(crate) async fn signed_in(
        &self,
        headers: &HeaderMap,
        csrf: Option<&str>,
    ) -> Result<Session, Response> {
        let s = self
            .session(headers)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(s) = s else {
            return Err(Redirect::to("/login").into_response());
        };
        if let Some(given) = csrf
            && !session::same(given, &s.csrf)
        {
            return Err(Failure(
                StatusCode::FORBIDDEN,
                "This form is out of date or did not come from this site (CSRF token missing or wrong). Reload the page and try again.".into(),
            )
            .into_response());
        }
        Ok(s)
    }

    fn catalog(&self) -> Catalog<'_> {
        Catalog {
            market: &self.market,
            meta: &self.meta,
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct Message {
    pub(crate) user: Option<User>,
    pub(crate) title: String,
    pub(crate) text: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    user: Option<User>,
    q: String,
    categories: Vec<String>,
    items: Vec<CatalogItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HomeQuery {
    q: Option<String>,
    sub_category: Option<String>,
}

async fn home(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Query(query): Query<HomeQuery>,
) -> Result<Response, Failure> {
    let session = web.session(&headers).await?;
    let host = web.host(&headers);
    let q = query.q.unwrap_or_default();
    let all = web.catalog().matching("", None).await.map_err(oops)?;
    let mut categories: Vec<String> = all
        .iter()
        .filter_map(|l| {
            serde_json::from_str::<Value>(&l.offer).ok()?["subCategory"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    categories.sort();
    categories.dedup();
    let matching = web
        .catalog()
        .matching(&q, query.sub_category.as_deref())
        .await
        .map_err(oops)?;
    let mut items = Vec::new();
    for l in &matching {
        items.push(web.catalog().item(l, &host).await.map_err(oops)?);
    }
    Ok(render(&Home {
        user: user_of(&session),
        q,
        categories,
        items,
    }))
}

#[derive(Template)]
#[template(path = "module.html")]
struct ModulePage {
    user: Option<User>,
    m: CatalogDetail,
    certified: String,
    chart: Chart,
    by_tag: Vec<(String, u64)>,
    device: Vec<(String, String)>,
    description: String,
    manifest_tag: String,
    manifest: String,
    safety: Vec<String>,
    docs: Vec<(String, String, String)>,
    verdict: String,
    policy: String,
    engines: String,
    links: Vec<(String, String)>,
}

/// The safety summary of a report: what the module asks for, the elevated first (the highest
/// level wins: every elevated finding, then at most three plain ones).
pub(crate) fn safety(report: &Value) -> Vec<String> {
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let summary = |id: &str| {
        checks.iter().find(|c| c["id"] == id).map(|c| {
            (
                c["status"].as_str().unwrap_or("").to_owned(),
                c["summary"].as_str().unwrap_or("").to_owned(),
            )
        })
    };
    let mut elevated = Vec::new();
    let mut plain = Vec::new();
    for id in [
        "EC801", "EC803", "EC804", "EC808", "EC802", "EC810", "EC809", "EC805",
    ] {
        if let Some((status, text)) = summary(id) {
            if status == "pass" {
                plain.push(text);
            } else {
                elevated.push(text);
            }
        }
    }
    let mut safety = elevated.clone();
    if elevated.is_empty() {
        safety.push(
            "No elevated access: not privileged, no host namespaces, mounts, devices or ports."
                .into(),
        );
    }
    safety.extend(plain.into_iter().take(3));
    safety
}

/// Downloads per day over the last 30 days as bars of an inline SVG (no script, no library).
#[derive(Debug, Clone, Default)]
pub(crate) struct Chart {
    /// (x, y, height, day, pulls) of each bar, oldest first.
    pub bars: Vec<(u32, u32, u32, String, u64)>,
    pub total: u64,
    pub max: u64,
}

impl Chart {
    const DAYS: i64 = 30;
    const HEIGHT: u64 = 60;

    fn of(by_day: &std::collections::BTreeMap<String, u64>, now_ms: i64) -> Chart {
        let days: Vec<String> = (0..Self::DAYS)
            .rev()
            .map(|back| edgecert_marketplace::living::date(now_ms - back * 86_400_000))
            .collect();
        let counts: Vec<u64> = days
            .iter()
            .map(|d| by_day.get(d).copied().unwrap_or(0))
            .collect();
        let max = counts.iter().copied().max().unwrap_or(0);
        let bars = days
            .into_iter()
            .zip(counts.iter())
            .enumerate()
            .map(|(i, (day, &n))| {
                let h = if max == 0 {
                    0
                } else {
                    (n * Self::HEIGHT).div_ceil(max) as u32
                };
                (i as u32 * 10, Self::HEIGHT as u32 - h, h, day, n)
            })
            .collect();
        Chart {
            bars,
            total: counts.iter().sum(),
            max,
        }
    }
}

/// An http(s) or mailto link the page may show, else `None`.
fn safe_link(href: &str) -> Option<String> {
    let h = href.trim();
    let lower = h.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        .then(|| h.to_owned())
}

async fn module(
    Extract(web): Extract<Web>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let session = web.session(&headers).await?;
    let host = web.host(&headers);
    let m = web
        .catalog()
        .detail(&identifier, &host)
        .await
        .map_err(oops)?
        .ok_or_else(|| {
            Failure(
                StatusCode::NOT_FOUND,
                format!("{identifier} is not in the catalog."),
            )
        })?;
    let (manifest_tag, manifest) = match web.catalog().deployment(&identifier, None, &host).await {
        Ok((tag, v)) => (tag, serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(e) => (String::new(), format!("(no manifest: {})", e.2)),
    };
    let listing = web.market.listing(&identifier).await.map_err(oops)?;
    let report: Value = listing
        .as_ref()
        .and_then(|l| serde_json::from_str(&l.report).ok())
        .unwrap_or(Value::Null);
    let safety = safety(&report);
    let chart = Chart::of(&m.downloads.by_day, edgecert_marketplace::db::now_ms());
    let mut device = Vec::new();
    for (key, label) in [
        ("minMemoryMiB", "Memory (MiB)"),
        ("minStorageMiB", "Storage (MiB)"),
        ("minCpus", "CPUs"),
        ("gpu", "GPU"),
        ("notes", "Notes"),
    ] {
        let v = &m.device[key];
        if !v.is_null() {
            let text = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            device.push((label.to_owned(), text));
        }
    }
    let mut docs = Vec::new();
    for (key, kind) in [
        ("env", "environment variable"),
        ("twin", "desired property"),
        ("routes", "route"),
    ] {
        if let Some(map) = m.documentation[key].as_object() {
            for (name, doc) in map {
                docs.push((
                    name.clone(),
                    kind.to_owned(),
                    doc.as_str().unwrap_or("").to_owned(),
                ));
            }
        }
    }
    if let Some(c) = m.documentation["createOptions"].as_str() {
        docs.push((
            "createOptions".into(),
            "container settings".into(),
            c.to_owned(),
        ));
    }
    let mut links = Vec::new();
    for (key, label) in [
        ("termsOfUseUrl", "Terms of use"),
        ("privacyPolicyUrl", "Privacy policy"),
        ("thirdPartyNoticeUrl", "Third-party notices"),
    ] {
        if let Some(h) = m.legal[key].as_str().and_then(safe_link) {
            links.push((label.to_owned(), h));
        }
    }
    for s in m.support.as_array().into_iter().flatten() {
        let value = s["value"].as_str().unwrap_or("");
        let href = match s["type"].as_str() {
            Some("email") => safe_link(&format!("mailto:{value}")),
            Some("url") => safe_link(value),
            _ => None,
        };
        if let Some(h) = href {
            links.push((format!("Support: {value}"), h));
        }
    }
    let description =
        edgecert_engine::checks::sanitize_description(m.description.as_str().unwrap_or(""));
    let engines = m.certification.engines.as_array().map(|es| {
        es.iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["name"].as_str().unwrap_or(""),
                    e["version"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let page = ModulePage {
        user: user_of(&session),
        certified: edgecert_marketplace::living::date(m.certification.certified_at),
        by_tag: m
            .downloads
            .by_tag
            .iter()
            .map(|(t, n)| (t.clone(), *n))
            .collect(),
        chart,
        device,
        description,
        manifest_tag,
        manifest,
        safety,
        docs,
        verdict: m.certification.verdict.as_str().unwrap_or("").to_owned(),
        policy: format!(
            "{} {}",
            m.certification.policy["id"].as_str().unwrap_or(""),
            m.certification.policy["version"].as_str().unwrap_or("")
        ),
        engines: engines.unwrap_or_default(),
        links,
        m,
    };
    Ok(render(&page))
}

/// The listed version's SBOM, for anyone: what a customer deploys, component by component.
async fn module_sbom(Extract(web): Extract<Web>, Path(identifier): Path<String>) -> Response {
    let listing = match web.market.listing(&identifier).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            return Failure(
                StatusCode::NOT_FOUND,
                format!("{identifier} is not in the catalog."),
            )
            .into_response();
        }
        Err(e) => return oops(e).into_response(),
    };
    sbom_response(&web, &listing.submission, &identifier).await
}

async fn sbom_response(web: &Web, submission: &str, identifier: &str) -> Response {
    match web.market.report(submission).await {
        Ok(Some((_, Some(sbom)))) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.cyclonedx+json".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{identifier}-sbom.cdx.json\""),
                ),
            ],
            sbom,
        )
            .into_response(),
        Ok(_) => Failure(StatusCode::NOT_FOUND, "No SBOM yet.".into()).into_response(),
        Err(e) => oops(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login {
    user: Option<User>,
    csrf: String,
    error: Option<String>,
}

fn login_page(secure: bool, error: Option<String>, status: StatusCode) -> Response {
    // Double submit: the same random value in a short-lived cookie and in the form.
    let csrf = edgecert_registry::auth::new_token();
    let cookie = format!(
        "{LOGIN_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800{}",
        if secure { "; Secure" } else { "" }
    );
    let mut r = render(&Login {
        user: None,
        csrf,
        error,
    });
    *r.status_mut() = status;
    if let Ok(v) = cookie.parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_form(Extract(web): Extract<Web>) -> Response {
    login_page(web.secure, None, StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let expected = session::cookie(cookies, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !session::same(expected, &form.csrf) {
        return Failure(StatusCode::FORBIDDEN, "The sign-in form is out of date or did not come from this site (CSRF token missing or wrong). Reload it and try again.".into()).into_response();
    }
    match session::sign_in(&web.meta, form.name.trim(), &form.password).await {
        Ok(Some((id, _))) => {
            let cookie = format!(
                "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                session::LIFETIME_MS / 1000,
                if web.secure { "; Secure" } else { "" }
            );
            let role = edgecert_registry::auth::principal_for_account(&web.meta, form.name.trim())
                .await
                .ok()
                .flatten();
            let to = match role {
                Some(Principal::Account {
                    role: Role::Reviewer,
                    ..
                }) => "/review",
                Some(Principal::Account {
                    role: Role::Publisher,
                    ..
                }) => "/portal",
                Some(Principal::Account {
                    role: Role::Admin, ..
                }) => "/admin",
                _ => "/",
            };
            let mut r = Redirect::to(to).into_response();
            if let Ok(v) = cookie.parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(None) => login_page(
            web.secure,
            Some("The account name or password is wrong.".into()),
            StatusCode::UNAUTHORIZED,
        ),
        Err(e) => oops(e).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn logout(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = web.signed_in(&headers, Some(&form.csrf)).await {
        return r;
    }
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    if let Some(id) = session::cookie(cookies, COOKIE) {
        let _ = session::sign_out(&web.meta, id).await;
    }
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0").parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Template)]
#[template(path = "portal.html")]
struct Portal {
    user: Option<User>,
    publisher: String,
    /// (identifier, name)
    offers: Vec<(String, String)>,
    submissions: Vec<SubmissionView>,
    inbox: Vec<InboxItem>,
}

/// A policy notification as the inbox shows it.
struct InboxItem {
    subject: String,
    date: String,
    effective: String,
    /// `EC903: summary` per failing check.
    failing: Vec<String>,
    consequence: String,
}

async fn portal(Extract(web): Extract<Web>, headers: HeaderMap) -> Response {
    let s = match web.signed_in(&headers, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Principal::Account {
        publisher: Some(publisher),
        ..
    } = &s.principal
    else {
        return Failure(
            StatusCode::FORBIDDEN,
            "The portal is for publishers' members.".into(),
        )
        .into_response();
    };
    let submissions = match web.market.submissions_of_publisher(publisher).await {
        Ok(list) => list.iter().map(SubmissionView::from).collect(),
        Err(e) => return oops(e).into_response(),
    };
    let inbox = web
        .market
        .inbox(publisher)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|n| InboxItem {
            date: edgecert_marketplace::living::date(n.created_at),
            effective: n.body["effectiveDate"].as_str().unwrap_or("").to_owned(),
            failing: n.body["failing"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}: {}",
                        f["id"].as_str().unwrap_or(""),
                        f["summary"].as_str().unwrap_or("")
                    )
                })
                .collect(),
            consequence: n.body["consequence"].as_str().unwrap_or("").to_owned(),
            subject: n.subject,
        })
        .collect();
    let offers = web
        .market
        .offers_of_publisher(publisher)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            let name = serde_json::from_str::<Value>(&o.offer)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_owned));
            (o.identifier, name.unwrap_or_default())
        })
        .collect();
    render(&Portal {
        user: user_of(&Some(s.clone())),
        offers,
        publisher: publisher.clone(),
        submissions,
        inbox,
    })
}

/// A report line: (id, status, summary, help), grouped by area on the page.
type CheckRow = (String, String, String, String);

#[derive(Template)]
#[template(path = "submission.html")]
struct SubmissionPage {
    user: Option<User>,
    s: SubmissionView,
    back: String,
    back_label: String,
    host: String,
    csrf: String,
    can_publish: bool,
    can_review: bool,
    events: Vec<Event>,
    checks: Vec<(String, Vec<CheckRow>)>,
    live_updates: bool,
    evidence: Evidence,
}

/// What a reviewer weighs besides the report.
#[derive(Debug, Default)]
struct Evidence {
    use_case: String,
    justification: String,
    safety: Vec<String>,
    /// The ingestion test's observations (EC401–EC404 findings: exit codes, log tails, edgeHub).
    logs: Vec<String>,
    /// `Some(live version)` for an update of a listed module.
    update_of: Option<String>,
    /// (field, live, submitted) where they differ.
    diff: Vec<(String, String, String)>,
}

/// Fields a reviewer compares between the live version and an update.
const DIFF_FIELDS: &[&str] = &[
    "defaults.createOptions",
    "image.platforms",
    "privileges.justification",
    "device",
    "name",
    "summary",
    "description",
    "subCategory",
    "legal",
    "support",
];

fn dotted<'v>(v: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(v, |v, k| &v[k])
}

fn shown(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn submission(
    Extract(web): Extract<Web>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let session = match web.signed_in(&headers, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let sub = match web.market.submission(&id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Failure(StatusCode::NOT_FOUND, format!("No submission {id}.")).into_response();
        }
        Err(e) => return oops(e).into_response(),
    };
    if !allowed(&session.principal, Action::ReadSubmission(&sub.publisher)) {
        return Failure(
            StatusCode::FORBIDDEN,
            "This submission is not yours to see.".into(),
        )
        .into_response();
    }
    let events = web.market.events(&id, 0).await.unwrap_or_default();
    let mut checks: Vec<(String, Vec<CheckRow>)> = Vec::new();
    let offer: Value = sub
        .offer
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or(Value::Null);
    let mut evidence = Evidence {
        use_case: offer["useCase"].as_str().unwrap_or("").to_owned(),
        justification: offer["privileges"]["justification"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        ..Evidence::default()
    };
    if let Ok(Some(live)) = web.market.listing(&sub.identifier).await
        && live.submission != sub.id
    {
        let before: Value = serde_json::from_str(&live.offer).unwrap_or(Value::Null);
        for f in DIFF_FIELDS {
            let (a, b) = (dotted(&before, f), dotted(&offer, f));
            if a != b {
                evidence.diff.push(((*f).to_owned(), shown(a), shown(b)));
            }
        }
        evidence.update_of = Some(live.version);
    }
    if let Ok(Some((report, _))) = web.market.report(&id).await {
        let report: Value = serde_json::from_str(&report).unwrap_or(Value::Null);
        evidence.safety = safety(&report);
        for c in report["checks"].as_array().into_iter().flatten() {
            if ["EC401", "EC402", "EC403", "EC404"].contains(&c["id"].as_str().unwrap_or("")) {
                for f in c["findings"].as_array().into_iter().flatten() {
                    let platform = f["platform"]
                        .as_str()
                        .map(|p| format!("[{p}] "))
                        .unwrap_or_default();
                    evidence.logs.push(format!(
                        "{} {platform}{}",
                        c["id"].as_str().unwrap_or(""),
                        f["message"].as_str().unwrap_or("")
                    ));
                }
            }
        }
        for c in report["checks"].as_array().into_iter().flatten() {
            let area = c["area"].as_str().unwrap_or("other").to_owned();
            let help = c["findings"]
                .as_array()
                .and_then(|f| f.iter().find_map(|f| f["help"].as_str()))
                .unwrap_or("")
                .to_owned();
            let row = (
                c["id"].as_str().unwrap_or("").to_owned(),
                c["status"].as_str().unwrap_or("").to_owned(),
                c["summary"].as_str().unwrap_or("").to_owned(),
                help,
            );
            match checks.iter_mut().find(|(a, _)| *a == area) {
                Some((_, rows)) => rows.push(row),
                None => checks.push((area, vec![row])),
            }
        }
    }
    // The same page in the reviewer's part of the site leads back to the queue.
    let reviewing = uri.path().starts_with("/review");
    let page = SubmissionPage {
        user: user_of(&Some(session.clone())),
        back: if reviewing {
            "/review".into()
        } else {
            "/portal".into()
        },
        back_label: if reviewing {
            "Review queue".into()
        } else {
            "Portal".into()
        },
        host: web.host(&headers),
        csrf: session.csrf.clone(),
        can_publish: allowed(&session.principal, Action::GoLive(&sub.publisher)),
        can_review: allowed(&session.principal, Action::Review),
        live_updates: !sub.state.is_final(),
        evidence,
        events,
        checks,
        s: SubmissionView::from(&sub),
    };
    render(&page)
}

async fn events(
    Extract(web): Extract<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = match web.signed_in(&headers, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match web.market.submission(&id).await {
        Ok(Some(s)) if allowed(&session.principal, Action::ReadSubmission(&s.publisher)) => {
            edgecert_marketplace::api::event_stream(web.market.clone(), id, 0).into_response()
        }
        Ok(_) => Failure(StatusCode::NOT_FOUND, format!("No submission {id}.")).into_response(),
        Err(e) => oops(e).into_response(),
    }
}

async fn sbom(Extract(web): Extract<Web>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let session = match web.signed_in(&headers, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(Some(sub)) = web.market.submission(&id).await else {
        return Failure(StatusCode::NOT_FOUND, format!("No submission {id}.")).into_response();
    };
    if !allowed(&session.principal, Action::ReadSubmission(&sub.publisher)) {
        return Failure(StatusCode::NOT_FOUND, format!("No submission {id}.")).into_response();
    }
    sbom_response(&web, &id, &sub.identifier).await
}

/// What a POST on a submission needs to be allowed.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// The owner's sign-off.
    GoLive,
    /// A reviewer's decision.
    Review,
}

/// A POST that changes a submission: signed in, the CSRF token right, allowed.
async fn act(
    web: &Web,
    headers: &HeaderMap,
    csrf: &str,
    id: &str,
    need: Need,
) -> Result<(Session, edgecert_marketplace::submissions::Submission), Response> {
    let session = web.signed_in(headers, Some(csrf)).await?;
    let sub = match web.market.submission(id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(
                Failure(StatusCode::NOT_FOUND, format!("No submission {id}.")).into_response(),
            );
        }
        Err(e) => return Err(oops(e).into_response()),
    };
    let action = match need {
        Need::GoLive => Action::GoLive(&sub.publisher),
        Need::Review => Action::Review,
    };
    if !allowed(&session.principal, action) {
        return Err(Failure(StatusCode::FORBIDDEN, "You may not do this.".into()).into_response());
    }
    Ok((session, sub))
}

async fn go_live(
    Extract(web): Extract<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = act(&web, &headers, &form.csrf, &id, Need::GoLive).await {
        return r;
    }
    match web.market.request_go_live(&id).await {
        Ok(Ok(_)) => Redirect::to(&format!("/portal/submissions/{id}")).into_response(),
        Ok(Err(state)) => Failure(
            StatusCode::CONFLICT,
            format!("The submission is {state}: only a preview goes live."),
        )
        .into_response(),
        Err(e) => oops(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "review.html")]
struct Review {
    user: Option<User>,
    queue: Vec<SubmissionView>,
}

async fn review_queue(Extract(web): Extract<Web>, headers: HeaderMap) -> Response {
    let s = match web.signed_in(&headers, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !allowed(&s.principal, Action::Review) {
        return Failure(
            StatusCode::FORBIDDEN,
            "The review queue is for reviewers.".into(),
        )
        .into_response();
    }
    match web.market.review_queue().await {
        Ok(q) => render(&Review {
            user: user_of(&Some(s)),
            queue: q.iter().map(SubmissionView::from).collect(),
        }),
        Err(e) => oops(e).into_response(),
    }
}

async fn approve(
    Extract(web): Extract<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = act(&web, &headers, &form.csrf, &id, Need::Review).await {
        return r;
    }
    match web
        .market
        .transition_then(
            &id,
            State::Approved,
            None,
            Some(edgecert_marketplace::jobs::Step::Preview),
        )
        .await
    {
        Ok(_) => Redirect::to("/review").into_response(),
        Err(e) => Failure(StatusCode::CONFLICT, e.to_string()).into_response(),
    }
}

async fn reject(
    Extract(web): Extract<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = act(&web, &headers, &form.csrf, &id, Need::Review).await {
        return r;
    }
    match web
        .market
        .transition(&id, State::Rejected, Some(&form.reason))
        .await
    {
        Ok(_) => Redirect::to("/review").into_response(),
        Err(e) => Failure(StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

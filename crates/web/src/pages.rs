//! The pages and their forms. Every page is one round trip of server-rendered HTML; every POST
//! carries the session's CSRF token or is refused (403) before anything happens; every action
//! is decided by the marketplace API's own authorization (`api::allowed`).

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
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
struct Web {
    market: Market,
    meta: Meta,
    /// `host:port` pulls go to; `None`: the request's `Host`.
    registry_host: Option<String>,
    /// `Secure` cookies (the public URL is https).
    secure: bool,
}

/// The pages' router. `public_url` as for the API.
pub fn router(market: Market, meta: Meta, public_url: Option<&str>) -> Router {
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
}

fn user_of(s: &Option<Session>) -> Option<User> {
    let s = s.as_ref()?;
    let Principal::Account { role, .. } = &s.principal else {
        return None;
    };
    Some(User {
        name: s.account.clone(),
        csrf: s.csrf.clone(),
        publisher: matches!(role, Role::Publisher | Role::Admin),
        reviewer: matches!(role, Role::Reviewer | Role::Admin),
    })
}

/// A page that could not be shown: status and a sentence.
struct Failure(StatusCode, String);

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

fn oops(e: impl std::fmt::Display) -> Failure {
    Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn render(t: &impl Template) -> Response {
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

    async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, Failure> {
        let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
        match session::cookie(cookies, COOKIE) {
            Some(id) => session::session(&self.meta, id).await.map_err(oops),
            None => Ok(None),
        }
    }

    /// The session, which must exist (else a redirect to sign in) and, for a POST, must
    /// match `csrf`.
    async fn signed_in(
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
struct Message {
    user: Option<User>,
    title: String,
    text: String,
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
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let summary = |id: &str| {
        checks.iter().find(|c| c["id"] == id).map(|c| {
            (
                c["status"].as_str().unwrap_or("").to_owned(),
                c["summary"].as_str().unwrap_or("").to_owned(),
            )
        })
    };
    // Least privilege: what the module asks for, the elevated first.
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
    submissions: Vec<SubmissionView>,
    inbox: Vec<String>,
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
        .map(|n| n.subject)
        .collect();
    render(&Portal {
        user: user_of(&Some(s.clone())),
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
    if let Ok(Some((report, _))) = web.market.report(&id).await {
        let report: Value = serde_json::from_str(&report).unwrap_or(Value::Null);
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
    match web.market.report(&id).await {
        Ok(Some((_, Some(sbom)))) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.cyclonedx+json".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}-sbom.cdx.json\"", sub.identifier),
                ),
            ],
            sbom,
        )
            .into_response(),
        _ => Failure(StatusCode::NOT_FOUND, "No SBOM yet.".into()).into_response(),
    }
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

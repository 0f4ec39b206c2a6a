//! The marketplace HTTP API under `/api/v1` (`spec/marketplace.md`): offers, submissions and
//! their lifecycle transitions, reports and SBOMs, the review queue, the publisher's sign-off
//! (go-live), and the public catalog with deployment manifests.
//!
//! One authorization decision for every route ([`allowed`]): API clients send
//! `Authorization: Bearer <API token>` (the registry's accounts and tokens); no credentials is
//! anonymous (`401` where an account is needed), the wrong account is `403`. Errors are
//! `{"error": {"code", "message"}}` with the status the spec names (400 with the JSON path of a
//! bad field, 401, 403, 404, 409 for a state conflict, 413, 422).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use edgecert_engine::policy::Policy;
use edgecert_registry::auth::{self, Principal, Role};
use edgecert_registry::meta::Meta;
use serde_json::Value;

use crate::Market;
use crate::model::{EventView, OfferStored, OfferView, Page, SubmissionView};
use crate::offers::OfferRejected;
use crate::submissions::{State, Submission, TransitionError};

/// Largest `offer.json` accepted.
pub const MAX_OFFER: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub(crate) market: Market,
    meta: Meta,
    /// `host:port` clients pull from (for pull commands and manifests); `None`: the request's
    /// `Host`.
    registry_host: Option<String>,
    /// The operator's policy (`--policy`, or the built-in one), under published versions.
    policy: Policy,
}

impl Api {
    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Where clients pull from: `--public-url`'s host, else the request's `Host`.
    pub(crate) fn registry_host(&self, headers: &HeaderMap) -> String {
        if let Some(h) = &self.registry_host {
            return h.clone();
        }
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost")
            .to_owned()
    }
}

/// The `/api/v1` router over the marketplace and the registry's accounts. `public_url` is the
/// URL clients reach this server at (`http://host:port`), for the pull commands it shows.
/// `policy`: the operator's (`--policy`, or the built-in one); published policy versions in
/// effect take its place for offer findings, as they do for certification.
pub fn router(market: Market, meta: Meta, public_url: Option<&str>, policy: Policy) -> Router {
    let registry_host = public_url.map(|u| {
        u.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    });
    Router::new()
        .route("/api/v1/offers/{identifier}", put(put_offer).get(get_offer))
        .route("/api/v1/offers/{identifier}/submissions", post(submit))
        .route("/api/v1/submissions/{id}", get(get_submission))
        .route("/api/v1/submissions/{id}/events", get(events))
        .route("/api/v1/submissions/{id}/approve", post(approve))
        .route("/api/v1/submissions/{id}/reject", post(reject))
        .route("/api/v1/submissions/{id}/withdraw", post(withdraw))
        .route("/api/v1/submissions/{id}/go-live", post(go_live))
        .route("/api/v1/submissions/{id}/report", get(report))
        .route("/api/v1/submissions/{id}/sbom", get(sbom))
        .route("/api/v1/review", get(review))
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/api/v1/publishers",
            post(crate::accounts::create_publisher),
        )
        .route(
            "/api/v1/publishers/{publisher}/members",
            post(crate::accounts::add_member),
        )
        .route(
            "/api/v1/publishers/{publisher}/settings",
            put(crate::accounts::put_settings),
        )
        .route(
            "/api/v1/publishers/{publisher}/inbox",
            get(crate::living::inbox),
        )
        .route("/api/v1/reviewers", post(crate::accounts::create_reviewer))
        .route("/api/v1/tokens", post(crate::accounts::new_token))
        .route(
            "/api/v1/policies",
            post(crate::living::post_policy).get(crate::living::list_policies),
        )
        .route(
            "/api/v1/policies/{version}/recertifications",
            get(crate::living::recertifications),
        )
        .route("/api/v1/catalog", get(crate::catalog::list))
        .route("/api/v1/catalog/{identifier}", get(crate::catalog::detail))
        .route(
            "/api/v1/catalog/{identifier}/deployment",
            get(crate::catalog::deployment),
        )
        .with_state(Api {
            market,
            meta,
            registry_host,
            policy,
        })
}

/// An API error: status, code, message.
#[derive(Debug)]
pub struct Error(pub StatusCode, pub &'static str, pub String);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = crate::model::ErrorBody {
            error: crate::model::ErrorDetail {
                code: self.1.to_owned(),
                message: self.2,
            },
        };
        (self.0, axum::Json(body)).into_response()
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Error {
    Error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        format!("marketplace database: {e}"),
    )
}

pub(crate) fn not_found(what: String) -> Error {
    Error(StatusCode::NOT_FOUND, "NOT_FOUND", what)
}

/// What a request asks to do, and to whose things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Create or replace an offer of this publisher.
    WriteOffer(&'a str),
    /// Read an offer of this publisher and its submissions.
    ReadOffer(&'a str),
    /// Submit a version of an offer of this publisher.
    Submit(&'a str),
    /// Read a submission of this publisher (state, timeline).
    ReadSubmission(&'a str),
    /// Withdraw a submission of this publisher.
    Withdraw(&'a str),
    /// Sign off on a preview of this publisher: go live.
    GoLive(&'a str),
    /// Approve or reject; read the review queue and re-certification results.
    Review,
    /// Make publishers and reviewers; publish policy versions.
    ManageAccounts,
    /// Add members to this publisher, set its notification channels, read its inbox.
    ManagePublisher(&'a str),
    /// Make another token for oneself.
    OwnToken,
}

/// The one authorization decision: may `who` do `action`? Admins do everything; publisher
/// members work on their publisher's offers and submissions; reviewers read everything and
/// review; anonymous clients do none of this.
pub fn allowed(who: &Principal, action: Action<'_>) -> bool {
    let Principal::Account {
        role, publisher, ..
    } = who
    else {
        return false;
    };
    let member_of = |p: &str| *role == Role::Publisher && publisher.as_deref() == Some(p);
    match (role, action) {
        (Role::Admin, _) => true,
        (Role::Reviewer, Action::ReadOffer(_) | Action::ReadSubmission(_) | Action::Review) => true,
        (_, Action::OwnToken) => true,
        (Role::Reviewer, _) => false,
        (Role::Publisher, Action::Review | Action::ManageAccounts) => false,
        (
            Role::Publisher,
            Action::WriteOffer(p)
            | Action::ReadOffer(p)
            | Action::Submit(p)
            | Action::ReadSubmission(p)
            | Action::Withdraw(p)
            | Action::GoLive(p)
            | Action::ManagePublisher(p),
        ) => member_of(p),
    }
}

impl Api {
    async fn principal(&self, headers: &HeaderMap) -> Result<Principal, Error> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(Principal::Anonymous);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Error(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "Authorization must be `Bearer <API token>`".into(),
                )
            })?;
        auth::principal_for_token(&self.meta, token)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                Error(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "unknown API token".into(),
                )
            })
    }

    /// The principal, if it may do `action`: else 401 (anonymous) or 403.
    pub(crate) async fn authorize(
        &self,
        headers: &HeaderMap,
        action: Action<'_>,
    ) -> Result<Principal, Error> {
        let who = self.principal(headers).await?;
        if allowed(&who, action) {
            return Ok(who);
        }
        Err(match who {
            Principal::Anonymous => Error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "sign in: send Authorization: Bearer <API token>".into(),
            ),
            Principal::Account { name, .. } => Error(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                format!("{name} may not do this"),
            ),
        })
    }

    async fn submission(&self, id: &str) -> Result<Submission, Error> {
        self.market
            .submission(id)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("no submission {id}")))
    }
}

/// `publisher.offer.plan`: the publisher, or 400.
fn publisher_of(identifier: &str) -> Result<&str, Error> {
    let parts: Vec<&str> = identifier.split('.').collect();
    let valid = parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !valid {
        return Err(Error(
            StatusCode::BAD_REQUEST,
            "IDENTIFIER_INVALID",
            format!("{identifier:?} is not publisher.offer.plan (lower-case letters, digits, '-')"),
        ));
    }
    Ok(parts[0])
}

fn submission_json(s: &Submission) -> SubmissionView {
    SubmissionView::from(s)
}

async fn put_offer(
    Extract(api): Extract<Api>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let publisher = publisher_of(&identifier)?;
    api.authorize(&headers, Action::WriteOffer(publisher))
        .await?;
    if body.len() > MAX_OFFER {
        return Err(Error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_LARGE",
            format!("offer.json is over {MAX_OFFER} bytes"),
        ));
    }
    let text = std::str::from_utf8(&body).map_err(|e| {
        Error(
            StatusCode::BAD_REQUEST,
            "OFFER_INVALID",
            format!("offer.json is not UTF-8: {e}"),
        )
    })?;
    let offer = crate::offers::parse_offer_for(&identifier, text).map_err(|e| match e {
        OfferRejected::Invalid { .. } => {
            Error(StatusCode::BAD_REQUEST, "OFFER_INVALID", e.to_string())
        }
        OfferRejected::Mismatch { .. } => Error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDENTIFIER_MISMATCH",
            format!("{e}, the path says {identifier}"),
        ),
    })?;
    let policy = api
        .market
        .policy_in_effect(&api.policy)
        .await
        .map_err(internal)?;
    let findings = crate::offers::offer_findings(&offer, &policy);
    let stored = api
        .market
        .put_offer(&identifier, publisher, text)
        .await
        .map_err(internal)?;
    Ok(axum::Json(OfferStored {
        identifier: stored.identifier,
        updated_at: stored.updated_at,
        findings,
    })
    .into_response())
}

async fn get_offer(
    Extract(api): Extract<Api>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let publisher = publisher_of(&identifier)?;
    api.authorize(&headers, Action::ReadOffer(publisher))
        .await?;
    let offer = api
        .market
        .offer(&identifier)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("no offer {identifier}")))?;
    let submissions = api
        .market
        .submissions_of(&identifier)
        .await
        .map_err(internal)?;
    let offer_json: Value = serde_json::from_str(&offer.offer).unwrap_or(Value::Null);
    Ok(axum::Json(OfferView {
        identifier: offer.identifier,
        offer: offer_json,
        updated_at: offer.updated_at,
        submissions: submissions.iter().map(submission_json).collect(),
    })
    .into_response())
}

async fn submit(
    Extract(api): Extract<Api>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let publisher = publisher_of(&identifier)?;
    api.authorize(&headers, Action::Submit(publisher)).await?;
    let request: Value = serde_json::from_slice(&body).map_err(|e| {
        Error(
            StatusCode::BAD_REQUEST,
            "REQUEST_INVALID",
            format!("not JSON: {e}"),
        )
    })?;
    let image = request["image"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error(
                StatusCode::BAD_REQUEST,
                "REQUEST_INVALID",
                "at $.image: the image source is required".into(),
            )
        })?;
    if api
        .market
        .offer(&identifier)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(not_found(format!(
            "no offer {identifier}: PUT /api/v1/offers/{identifier} first"
        )));
    }
    let s = api
        .market
        .submit(&identifier, publisher, image)
        .await
        .map_err(internal)?;
    Ok((StatusCode::ACCEPTED, axum::Json(submission_json(&s))).into_response())
}

async fn get_submission(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let s = api.submission(&id).await?;
    api.authorize(&headers, Action::ReadSubmission(&s.publisher))
        .await?;
    Ok(axum::Json(submission_json(&s)).into_response())
}

/// The submission's timeline: JSON (`{"items", "next"}`), or with `Accept: text/event-stream`
/// server-sent events — each event once, with its `seq` as the SSE id (a reconnecting client's
/// `Last-Event-ID` resumes after it) — ending when the submission reaches a final state.
async fn events(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let s = api.submission(&id).await?;
    api.authorize(&headers, Action::ReadSubmission(&s.publisher))
        .await?;
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if wants_stream {
        let after = headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        return Ok(event_stream(api.market.clone(), id, after).into_response());
    }
    let events = api.market.events(&id, 0).await.map_err(internal)?;
    let items: Vec<EventView> = events
        .into_iter()
        .map(|e| EventView {
            seq: e.seq,
            at: e.at,
            kind: e.kind,
            data: e.data,
        })
        .collect();
    Ok(axum::Json(Page { items, next: None }).into_response())
}

/// How often a stream looks for new events.
const POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// A submission's timeline as server-sent events after `after` (see [`events`]).
pub fn event_stream(
    market: Market,
    id: String,
    after: i64,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    struct Follow {
        market: Market,
        id: String,
        after: i64,
        pending: std::collections::VecDeque<crate::submissions::Event>,
        over: bool,
    }
    let start = Follow {
        market,
        id,
        after,
        pending: Default::default(),
        over: false,
    };
    let stream = futures_util::stream::unfold(start, |mut f| async move {
        loop {
            if let Some(e) = f.pending.pop_front() {
                f.after = e.seq;
                let event = Event::default()
                    .id(e.seq.to_string())
                    .event(e.kind.clone())
                    .data(e.data.clone());
                return Some((Ok(event), f));
            }
            if f.over {
                return None;
            }
            // Final state first, then the events: nothing written before the state is missed.
            let final_state = match f.market.submission(&f.id).await {
                Ok(Some(s)) => s.state.is_final(),
                Ok(None) | Err(_) => true,
            };
            match f.market.events(&f.id, f.after).await {
                Ok(new) => f.pending.extend(new),
                Err(_) => return None,
            }
            if final_state {
                f.over = true;
            } else if f.pending.is_empty() {
                tokio::time::sleep(POLL).await;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn transition(
    api: &Api,
    id: &str,
    to: State,
    reason: Option<&str>,
) -> Result<Response, Error> {
    match api.market.transition(id, to, reason).await {
        Ok(_) => Ok(axum::Json(submission_json(&api.submission(id).await?)).into_response()),
        Err(e) => Err(transition_error(id, e)),
    }
}

fn transition_error(id: &str, e: TransitionError) -> Error {
    match e {
        TransitionError::NotFound(_) => not_found(format!("no submission {id}")),
        e @ TransitionError::Conflict { .. } => {
            Error(StatusCode::CONFLICT, "STATE_CONFLICT", e.to_string())
        }
        e @ TransitionError::ReasonRequired => Error(
            StatusCode::BAD_REQUEST,
            "REASON_REQUIRED",
            format!("at $.reason: {e}"),
        ),
        TransitionError::Db(e) => internal(e),
    }
}

async fn approve(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::Review).await?;
    // Approval queues the preview step in the same transaction.
    match api
        .market
        .transition_then(&id, State::Approved, None, Some(crate::jobs::Step::Preview))
        .await
    {
        Ok(_) => Ok(axum::Json(submission_json(&api.submission(&id).await?)).into_response()),
        Err(e) => Err(transition_error(&id, e)),
    }
}

/// The publisher's sign-off on the preview: queues go-live (once); `202`.
async fn go_live(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let s = api.submission(&id).await?;
    api.authorize(&headers, Action::GoLive(&s.publisher))
        .await?;
    match api.market.request_go_live(&id).await.map_err(internal)? {
        Ok(_) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(submission_json(&api.submission(&id).await?)),
        )
            .into_response()),
        Err(state) => Err(Error(
            StatusCode::CONFLICT,
            "STATE_CONFLICT",
            format!("submission is {state}: only a preview goes live"),
        )),
    }
}

/// The report JSON as `edgecert check --format json` writes it.
async fn report(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let s = api.submission(&id).await?;
    api.authorize(&headers, Action::ReadSubmission(&s.publisher))
        .await?;
    let (report, _) = api
        .market
        .report(&id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            not_found(format!(
                "submission {id} is {} and has no report yet",
                s.state.as_str()
            ))
        })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], report).into_response())
}

/// The SBOM (CycloneDX JSON).
async fn sbom(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let s = api.submission(&id).await?;
    api.authorize(&headers, Action::ReadSubmission(&s.publisher))
        .await?;
    let sbom = api
        .market
        .report(&id)
        .await
        .map_err(internal)?
        .and_then(|(_, sbom)| sbom)
        .ok_or_else(|| not_found(format!("submission {id} has no SBOM")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.cyclonedx+json")],
        sbom,
    )
        .into_response())
}

async fn reject(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::Review).await?;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    transition(&api, &id, State::Rejected, request["reason"].as_str()).await
}

async fn withdraw(
    Extract(api): Extract<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let s = api.submission(&id).await?;
    api.authorize(&headers, Action::Withdraw(&s.publisher))
        .await?;
    transition(&api, &id, State::Withdrawn, None).await
}

async fn review(Extract(api): Extract<Api>, headers: HeaderMap) -> Result<Response, Error> {
    api.authorize(&headers, Action::Review).await?;
    let queue = api.market.review_queue().await.map_err(internal)?;
    let items: Vec<SubmissionView> = queue.iter().map(submission_json).collect();
    Ok(axum::Json(Page { items, next: None }).into_response())
}

/// The OpenAPI document, generated once.
async fn openapi() -> Response {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    axum::Json(DOCUMENT.get_or_init(crate::openapi::document).clone()).into_response()
}

//! The partner portal's offers: a new offer from the `edgecert init` template, the offer editor
//! (the listing as labelled fields, each with the checks' offer-level findings beside it, from
//! the same engine and policy the pipeline certifies with), and submitting a version from the
//! browser.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use edgecert_marketplace::api::{Action, allowed};
use edgecert_marketplace::model::OfferFinding;
use edgecert_marketplace::offers::{OfferRejected, offer_findings, parse_offer_for};
use edgecert_registry::auth::Principal;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::pages::{Failure, User, Web, oops, render, user_of};
use crate::session::Session;

/// How a field is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One line of text.
    Text,
    /// Several lines of text.
    Area,
    /// A list of strings, one per line (commas also separate).
    List,
    /// A JSON value (objects and arrays the listing fields do not cover).
    Json,
}

/// One field of the editor: its place in `offer.json`, its label and a hint.
struct Spec {
    path: &'static str,
    label: &'static str,
    kind: Kind,
    hint: &'static str,
}

const FIELDS: &[Spec] = &[
    Spec {
        path: "name",
        label: "Name",
        kind: Kind::Text,
        hint: "1 to 200 characters.",
    },
    Spec {
        path: "summary",
        label: "Summary",
        kind: Kind::Text,
        hint: "1 to 100 characters: one line for the catalog.",
    },
    Spec {
        path: "description",
        label: "Description",
        kind: Kind::Area,
        hint: "Basic HTML (p, ul, li, a, strong, em …), up to 3000 characters.",
    },
    Spec {
        path: "subCategory",
        label: "Sub-category",
        kind: Kind::Text,
        hint: "One of the marketplace's sub-categories (see EC905).",
    },
    Spec {
        path: "useCase",
        label: "Use case",
        kind: Kind::Area,
        hint: "The real-world IoT Edge scenario this module serves; the reviewer reads it.",
    },
    Spec {
        path: "image.repository",
        label: "Image repository",
        kind: Kind::Text,
        hint: "Where the image is published, e.g. registry.example.com/contoso/tempfilter.",
    },
    Spec {
        path: "image.defaultTag",
        label: "Default tag",
        kind: Kind::Text,
        hint: "One of the tags below.",
    },
    Spec {
        path: "image.tags",
        label: "Tags",
        kind: Kind::List,
        hint: "Every tag submitted with this version, one per line: the exact version (1.0.3) and rolling tags (1.0, latest).",
    },
    Spec {
        path: "image.platforms",
        label: "Platforms",
        kind: Kind::List,
        hint: "One per line, e.g. linux/amd64, linux/arm/v7.",
    },
    Spec {
        path: "defaults",
        label: "Defaults (JSON)",
        kind: Kind::Json,
        hint: "moduleName, createOptions, env, twin (desired properties) and routes a deployment starts with.",
    },
    Spec {
        path: "documentation",
        label: "Configuration documentation (JSON)",
        kind: Kind::Json,
        hint: "url, and one entry per env variable, desired property and route; createOptions explained.",
    },
    Spec {
        path: "device",
        label: "Device requirements (JSON)",
        kind: Kind::Json,
        hint: "minMemoryMiB, minStorageMiB, minCpus, gpu, notes. Empty: a Raspberry Pi class device.",
    },
    Spec {
        path: "privileges.justification",
        label: "Why the module needs elevated access",
        kind: Kind::Area,
        hint: "Only when createOptions asks for privileges, host namespaces, devices or mounts.",
    },
    Spec {
        path: "legal.termsOfUseUrl",
        label: "Terms of use URL",
        kind: Kind::Text,
        hint: "https://…",
    },
    Spec {
        path: "legal.privacyPolicyUrl",
        label: "Privacy policy URL",
        kind: Kind::Text,
        hint: "https://…",
    },
    Spec {
        path: "legal.thirdPartyNoticeUrl",
        label: "Third-party notices URL",
        kind: Kind::Text,
        hint: "https://…, or leave empty when the notices are a file in the image.",
    },
    Spec {
        path: "support",
        label: "Support (JSON)",
        kind: Kind::Json,
        hint: "A list of {\"type\": \"email\" | \"url\" | \"phone\", \"value\"}.",
    },
];

/// A field as the page shows it.
pub struct Field {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: String,
    /// `text`, `area`, `list`, `json`.
    pub kind: &'static str,
    pub value: String,
    pub findings: Vec<OfferFinding>,
    /// Why the value was not accepted (the offer was not saved).
    pub error: Option<String>,
}

fn field_id(path: &str) -> String {
    format!("f-{}", path.replace('.', "-"))
}

fn at<'v>(offer: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(offer, |v, key| v.get(key))
}

/// Sets (or with `None` removes) the value at a dotted path, making objects on the way.
fn set(offer: &mut Value, path: &str, value: Option<Value>) {
    let keys: Vec<&str> = path.split('.').collect();
    let mut here = offer;
    for key in &keys[..keys.len() - 1] {
        if !here.get(*key).is_some_and(Value::is_object) {
            if value.is_none() {
                return;
            }
            here[*key] = Value::Object(Map::new());
        }
        here = &mut here[*key];
    }
    let last = keys[keys.len() - 1];
    match (value, here.as_object_mut()) {
        (Some(v), Some(map)) => {
            map.insert(last.to_owned(), v);
        }
        (None, Some(map)) => {
            map.remove(last);
        }
        _ => {}
    }
}

fn shown(kind: Kind, v: Option<&Value>) -> String {
    let Some(v) = v else {
        return String::new();
    };
    match (kind, v) {
        (Kind::Json, v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        (Kind::List, Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// The field a location (`legal.privacyPolicyUrl`, `support[0].value`, `$.image.tags[1]`)
/// belongs to: the longest field path it starts with.
fn owner(location: &str) -> Option<usize> {
    let loc = location.trim_start_matches("$.").trim_start_matches('$');
    FIELDS
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            loc == f.path
                || loc
                    .strip_prefix(f.path)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
        .max_by_key(|(_, f)| f.path.len())
        .map(|(i, _)| i)
}

#[derive(Template)]
#[template(path = "offer.html")]
struct Editor {
    user: Option<User>,
    identifier: String,
    publisher: String,
    csrf: String,
    fields: Vec<Field>,
    /// Findings (and errors) no field shows: (link target, text).
    other: Vec<String>,
    /// Every problem, for the summary at the top: (field id, text).
    summary: Vec<(String, String)>,
    saved: bool,
    invalid: bool,
    submissions: Vec<edgecert_marketplace::model::SubmissionView>,
    can_submit: bool,
}

/// The editor for `offer` (as stored or as just posted), with findings or errors placed.
fn editor_page(
    session: &Session,
    identifier: &str,
    values: &HashMap<String, String>,
    findings: Vec<OfferFinding>,
    errors: Vec<(Option<usize>, String)>,
    saved: bool,
    submissions: Vec<edgecert_marketplace::model::SubmissionView>,
) -> Editor {
    let mut fields: Vec<Field> = FIELDS
        .iter()
        .map(|f| Field {
            id: field_id(f.path),
            name: f.path.to_owned(),
            label: f.label.to_owned(),
            hint: f.hint.to_owned(),
            kind: match f.kind {
                Kind::Text => "text",
                Kind::Area => "area",
                Kind::List => "list",
                Kind::Json => "json",
            },
            value: values.get(f.path).cloned().unwrap_or_default(),
            findings: Vec::new(),
            error: None,
        })
        .collect();
    let mut other = Vec::new();
    let mut summary = Vec::new();
    let invalid = !errors.is_empty();
    for (field, text) in errors {
        match field {
            Some(i) => {
                summary.push((fields[i].id.clone(), format!("{}: {text}", fields[i].label)));
                fields[i].error = Some(text);
            }
            None => {
                summary.push(("others".into(), text.clone()));
                other.push(text);
            }
        }
    }
    for f in findings {
        let text = format!("{} ({}): {}", f.check, f.severity, f.message);
        match owner(&f.path) {
            Some(i) => {
                summary.push((fields[i].id.clone(), format!("{}: {text}", fields[i].label)));
                fields[i].findings.push(f);
            }
            None => {
                summary.push(("others".into(), format!("{} — {text}", f.path)));
                other.push(format!("{} — {text}", f.path));
            }
        }
    }
    let can_submit = allowed(
        &session.principal,
        Action::Submit(identifier.split('.').next().unwrap_or("")),
    );
    Editor {
        user: user_of(&Some(session.clone())),
        identifier: identifier.to_owned(),
        publisher: publisher_of(identifier).to_owned(),
        csrf: session.csrf.clone(),
        fields,
        other,
        summary,
        saved,
        invalid,
        submissions,
        can_submit,
    }
}

fn values_of(offer: &Value) -> HashMap<String, String> {
    FIELDS
        .iter()
        .map(|f| (f.path.to_owned(), shown(f.kind, at(offer, f.path))))
        .collect()
}

/// The publisher of an identifier (`contoso.tempfilter.standard` → `contoso`).
fn publisher_of(identifier: &str) -> &str {
    identifier.split('.').next().unwrap_or("")
}

async fn offer_or_404(
    web: &Web,
    identifier: &str,
) -> Result<edgecert_marketplace::offers::StoredOffer, Response> {
    match web.market.offer(identifier).await {
        Ok(Some(o)) => Ok(o),
        Ok(None) => {
            Err(Failure(StatusCode::NOT_FOUND, format!("No offer {identifier}.")).into_response())
        }
        Err(e) => Err(oops(e).into_response()),
    }
}

async fn submissions(
    web: &Web,
    identifier: &str,
) -> Vec<edgecert_marketplace::model::SubmissionView> {
    web.market
        .submissions_of(identifier)
        .await
        .unwrap_or_default()
        .iter()
        .map(edgecert_marketplace::model::SubmissionView::from)
        .collect()
}

async fn findings_for(
    web: &Web,
    offer: &edgecert_engine::offer::Offer,
) -> Result<Vec<OfferFinding>, Response> {
    let policy = web
        .market
        .policy_in_effect(&web.policy)
        .await
        .map_err(|e| oops(e).into_response())?;
    Ok(offer_findings(offer, &policy))
}

/// `GET /portal/offers/{identifier}`: the editor with the stored offer's findings.
pub(crate) async fn editor(
    Extract(web): Extract<Web>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = match web.signed_in(&headers, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !allowed(
        &session.principal,
        Action::ReadOffer(publisher_of(&identifier)),
    ) {
        return Failure(
            StatusCode::FORBIDDEN,
            "This offer is not yours to see.".into(),
        )
        .into_response();
    }
    let stored = match offer_or_404(&web, &identifier).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let value: Value = serde_json::from_str(&stored.offer).unwrap_or(Value::Null);
    let (findings, errors) = match parse_offer_for(&identifier, &stored.offer) {
        Ok(offer) => match findings_for(&web, &offer).await {
            Ok(f) => (f, Vec::new()),
            Err(r) => return r,
        },
        Err(e) => (Vec::new(), vec![(rejected_field(&e), e.to_string())]),
    };
    let subs = submissions(&web, &identifier).await;
    render(&editor_page(
        &session,
        &identifier,
        &values_of(&value),
        findings,
        errors,
        false,
        subs,
    ))
}

fn rejected_field(e: &OfferRejected) -> Option<usize> {
    match e {
        OfferRejected::Invalid { path, .. } => owner(path),
        OfferRejected::Mismatch { .. } => None,
    }
}

/// `POST /portal/offers/{identifier}`: the fields into the stored offer (keys the editor does
/// not show are kept as they were), checked by the API's parser; saved when it parses, the
/// findings shown beside their fields either way.
pub(crate) async fn save(
    Extract(web): Extract<Web>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let csrf = form.get("csrf").map(String::as_str).unwrap_or("");
    let session = match web.signed_in(&headers, Some(csrf)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !allowed(
        &session.principal,
        Action::WriteOffer(publisher_of(&identifier)),
    ) {
        return Failure(
            StatusCode::FORBIDDEN,
            "This offer is not yours to change.".into(),
        )
        .into_response();
    }
    let stored = match offer_or_404(&web, &identifier).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut offer: Value =
        serde_json::from_str(&stored.offer).unwrap_or_else(|_| Value::Object(Map::new()));
    let mut values = HashMap::new();
    let mut errors = Vec::new();
    for (i, f) in FIELDS.iter().enumerate() {
        let raw = form.get(f.path).cloned().unwrap_or_default();
        let raw = raw.replace("\r\n", "\n");
        values.insert(f.path.to_owned(), raw.clone());
        let new = match f.kind {
            Kind::Text => Some(raw.trim().to_owned())
                .filter(|s| !s.is_empty())
                .map(Value::String),
            Kind::Area => Some(raw.trim_end().to_owned())
                .filter(|s| !s.trim().is_empty())
                .map(Value::String),
            Kind::List => {
                let items: Vec<Value> = raw
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            Kind::Json if raw.trim().is_empty() => None,
            Kind::Json => match serde_json::from_str::<Value>(&raw) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push((
                        Some(i),
                        format!("not JSON: {e} (line {}, column {})", e.line(), e.column()),
                    ));
                    continue;
                }
            },
        };
        set(&mut offer, f.path, new);
    }
    let subs = submissions(&web, &identifier).await;
    let bad = |errors| {
        let mut r = render(&editor_page(
            &session,
            &identifier,
            &values,
            Vec::new(),
            errors,
            false,
            subs.clone(),
        ));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    if !errors.is_empty() {
        return bad(errors);
    }
    let text = serde_json::to_string_pretty(&offer).unwrap_or_default();
    let parsed = match parse_offer_for(&identifier, &text) {
        Ok(p) => p,
        Err(e) => return bad(vec![(rejected_field(&e), e.to_string())]),
    };
    if let Err(e) = web
        .market
        .put_offer(&identifier, publisher_of(&identifier), &text)
        .await
    {
        return oops(e).into_response();
    }
    let findings = match findings_for(&web, &parsed).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    render(&editor_page(
        &session,
        &identifier,
        &values_of(&offer),
        findings,
        Vec::new(),
        true,
        subs,
    ))
}

#[derive(Template)]
#[template(path = "offer-new.html")]
struct NewOffer {
    user: Option<User>,
    csrf: String,
    publisher: String,
    error: Option<String>,
    offer: String,
    plan: String,
}

fn publisher_member(session: &Session) -> Option<String> {
    match &session.principal {
        Principal::Account {
            publisher: Some(p), ..
        } => Some(p.clone()),
        _ => None,
    }
}

/// `GET /portal/offers/new`.
pub(crate) async fn new_offer_form(Extract(web): Extract<Web>, headers: HeaderMap) -> Response {
    let session = match web.signed_in(&headers, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(publisher) = publisher_member(&session) else {
        return Failure(
            StatusCode::FORBIDDEN,
            "Offers belong to publishers: sign in as a publisher's member.".into(),
        )
        .into_response();
    };
    render(&NewOffer {
        user: user_of(&Some(session.clone())),
        csrf: session.csrf.clone(),
        publisher,
        error: None,
        offer: String::new(),
        plan: "standard".into(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewOfferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    offer: String,
    #[serde(default)]
    plan: String,
}

fn valid_part(s: &str) -> bool {
    (2..=50).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// `POST /portal/offers/new`: an offer from `edgecert init`'s template, then its editor.
pub(crate) async fn new_offer(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Form(form): Form<NewOfferForm>,
) -> Response {
    let session = match web.signed_in(&headers, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(publisher) = publisher_member(&session) else {
        return Failure(
            StatusCode::FORBIDDEN,
            "Offers belong to publishers: sign in as a publisher's member.".into(),
        )
        .into_response();
    };
    let (offer, plan) = (form.offer.trim(), form.plan.trim());
    let again = |error: String| {
        let mut r = render(&NewOffer {
            user: user_of(&Some(session.clone())),
            csrf: session.csrf.clone(),
            publisher: publisher.clone(),
            error: Some(error),
            offer: offer.to_owned(),
            plan: plan.to_owned(),
        });
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    for (what, v) in [("offer", offer), ("plan", plan)] {
        if !valid_part(v) {
            return again(format!(
                "The {what} name {v:?} must be 2 to 50 lower-case letters, digits or '-'."
            ));
        }
    }
    let identifier = format!("{publisher}.{offer}.{plan}");
    match web.market.offer(&identifier).await {
        Ok(Some(_)) => return again(format!("{identifier} exists: open it from the portal.")),
        Ok(None) => {}
        Err(e) => return oops(e).into_response(),
    }
    let mut value: Value =
        serde_json::from_str(&edgecert_engine::offer::template(offer)).unwrap_or(Value::Null);
    value["publisher"] = Value::String(publisher.clone());
    value["offer"] = Value::String(offer.to_owned());
    value["plan"] = Value::String(plan.to_owned());
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    if let Err(e) = parse_offer_for(&identifier, &text) {
        return oops(format!("the template does not parse: {e}")).into_response();
    }
    match web.market.put_offer(&identifier, &publisher, &text).await {
        Ok(_) => Redirect::to(&format!("/portal/offers/{identifier}")).into_response(),
        Err(e) => oops(e).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SubmitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    image: String,
}

/// `POST /portal/offers/{identifier}/submit`: a submission of the stored offer with the image
/// the form names (`staging/…` of this registry, or `docker://HOST/REPO:TAG`), then its
/// timeline.
pub(crate) async fn submit(
    Extract(web): Extract<Web>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SubmitForm>,
) -> Response {
    let session = match web.signed_in(&headers, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let publisher = publisher_of(&identifier).to_owned();
    if !allowed(&session.principal, Action::Submit(&publisher)) {
        return Failure(
            StatusCode::FORBIDDEN,
            "This offer is not yours to submit.".into(),
        )
        .into_response();
    }
    if let Err(r) = offer_or_404(&web, &identifier).await {
        return r;
    }
    let image = form.image.trim();
    if image.is_empty() {
        return Failure(
            StatusCode::BAD_REQUEST,
            "Name the image to certify: staging/<publisher>/<name>:<tag> or docker://HOST/REPO:TAG.".into(),
        )
        .into_response();
    }
    match web.market.submit(&identifier, &publisher, image).await {
        Ok(s) => Redirect::to(&format!("/portal/submissions/{}", s.id)).into_response(),
        Err(e) => oops(e).into_response(),
    }
}

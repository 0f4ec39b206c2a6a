//! The OpenAPI 3.0 document of `/api/v1` (served at `/api/v1/openapi.json`), generated from
//! the types the handlers take and answer ([`crate::model`], and the engine's `Report`) and
//! one table of operations: method, path, who may call it, what it takes and answers. The
//! test suite compares it with the checked-in `openapi.json` snapshot, so any change to the
//! public API shows up in review.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::living::{NewPolicy, Notification, PolicyVersion, Recertification};
use crate::model::{
    CatalogDetail, CatalogPage, ErrorBody, EventView, NewAccount, OfferStored, OfferView, Page,
    PublisherSettings, RejectRequest, SubmissionView, SubmitRequest,
};

/// `{"name"}` of the account requests.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct NameRequest {
    /// 2-50 lower-case letters, digits, dashes.
    name: String,
}

/// `POST /policies`'s answer.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PolicyPublished {
    version: String,
    effective_at: i64,
    /// Live versions queued for re-certification.
    recertifying: usize,
}

/// A body: its media type and schema.
type Body = fn(&mut SchemaGenerator) -> (&'static str, Value);

fn json_of<T: JsonSchema>(g: &mut SchemaGenerator) -> (&'static str, Value) {
    ("application/json", g.subschema_for::<T>().to_value())
}

fn any_json(_: &mut SchemaGenerator) -> (&'static str, Value) {
    ("application/json", json!({}))
}

fn offer_json(g: &mut SchemaGenerator) -> (&'static str, Value) {
    (
        "application/json",
        g.subschema_for::<edgecert_engine::offer::Offer>()
            .to_value(),
    )
}

fn event_stream(_: &mut SchemaGenerator) -> (&'static str, Value) {
    ("text/event-stream", json!({"type": "string"}))
}

struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// Who may call it (the authorization layer's decision, for readers).
    who: &'static str,
    request: Option<Body>,
    status: u16,
    response: Body,
    /// Error statuses it may answer with (all carry [`ErrorBody`]).
    errors: &'static [u16],
}

const OPERATIONS: &[Operation] = &[
    Operation {
        method: "put",
        path: "/api/v1/offers/{identifier}",
        summary: "Create or replace an offer (offer.json); the identifier must be the offer's publisher.offer.plan",
        who: "that publisher's members, admins",
        request: Some(offer_json),
        status: 200,
        response: json_of::<OfferStored>,
        errors: &[400, 401, 403, 413, 422],
    },
    Operation {
        method: "get",
        path: "/api/v1/offers/{identifier}",
        summary: "The offer and its submissions, newest first",
        who: "that publisher's members, reviewers, admins",
        request: None,
        status: 200,
        response: json_of::<OfferView>,
        errors: &[400, 401, 403, 404],
    },
    Operation {
        method: "post",
        path: "/api/v1/offers/{identifier}/submissions",
        summary: "Submit a version: the image in the publisher's staging repository",
        who: "that publisher's members, admins",
        request: Some(json_of::<SubmitRequest>),
        status: 202,
        response: json_of::<SubmissionView>,
        errors: &[400, 401, 403, 404],
    },
    Operation {
        method: "get",
        path: "/api/v1/submissions/{id}",
        summary: "A submission: state, verdict, digest, reason",
        who: "the owner's members, reviewers, admins",
        request: None,
        status: 200,
        response: json_of::<SubmissionView>,
        errors: &[401, 403, 404],
    },
    Operation {
        method: "get",
        path: "/api/v1/submissions/{id}/events",
        summary: "The timeline: JSON, or with Accept: text/event-stream server-sent events (id = seq, resumable with Last-Event-ID) until a final state",
        who: "the owner's members, reviewers, admins",
        request: None,
        status: 200,
        response: json_of::<Page<EventView>>,
        errors: &[401, 403, 404],
    },
    Operation {
        method: "get",
        path: "/api/v1/submissions/{id}/report",
        summary: "The certification report, as edgecert check --format json writes it",
        who: "the owner's members, reviewers, admins",
        request: None,
        status: 200,
        response: json_of::<edgecert_engine::report::Report>,
        errors: &[401, 403, 404],
    },
    Operation {
        method: "get",
        path: "/api/v1/submissions/{id}/sbom",
        summary: "The image's component inventory, CycloneDX 1.5 JSON",
        who: "the owner's members, reviewers, admins",
        request: None,
        status: 200,
        response: any_json,
        errors: &[401, 403, 404],
    },
    Operation {
        method: "post",
        path: "/api/v1/submissions/{id}/approve",
        summary: "Approve a submission in review: the image goes to preview",
        who: "reviewers, admins",
        request: None,
        status: 200,
        response: json_of::<SubmissionView>,
        errors: &[401, 403, 404, 409],
    },
    Operation {
        method: "post",
        path: "/api/v1/submissions/{id}/reject",
        summary: "Reject a submission in review, with the reason the publisher sees",
        who: "reviewers, admins",
        request: Some(json_of::<RejectRequest>),
        status: 200,
        response: json_of::<SubmissionView>,
        errors: &[400, 401, 403, 404, 409],
    },
    Operation {
        method: "post",
        path: "/api/v1/submissions/{id}/withdraw",
        summary: "Withdraw a submission before it is live",
        who: "the owner's members, admins",
        request: None,
        status: 200,
        response: json_of::<SubmissionView>,
        errors: &[401, 403, 404, 409],
    },
    Operation {
        method: "post",
        path: "/api/v1/submissions/{id}/go-live",
        summary: "Sign off on the preview: exact tag, rolling tags (forward only), latest, catalog entry",
        who: "the owner's members, admins",
        request: None,
        status: 202,
        response: json_of::<SubmissionView>,
        errors: &[401, 403, 404, 409],
    },
    Operation {
        method: "get",
        path: "/api/v1/review",
        summary: "The review queue, oldest first",
        who: "reviewers, admins",
        request: None,
        status: 200,
        response: json_of::<Page<SubmissionView>>,
        errors: &[401, 403],
    },
    Operation {
        method: "get",
        path: "/api/v1/openapi.json",
        summary: "This document (OpenAPI 3.0)",
        who: "anyone",
        request: None,
        status: 200,
        response: any_json,
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/api/v1/catalog",
        summary: "Live modules; q searches name, summary, identifier and publisher; subCategory filters; 20 a page",
        who: "anyone",
        request: None,
        status: 200,
        response: json_of::<CatalogPage>,
        errors: &[400],
    },
    Operation {
        method: "get",
        path: "/api/v1/catalog/{identifier}",
        summary: "A live module: listing, tags (exact or rolling), pull command, docs, certification, versions, downloads",
        who: "anyone",
        request: None,
        status: 200,
        response: json_of::<CatalogDetail>,
        errors: &[404],
    },
    Operation {
        method: "get",
        path: "/api/v1/catalog/{identifier}/deployment",
        summary: "The IoT Edge deployment manifest for a live tag (?tag=, default: the offer's default tag), pulling from this registry",
        who: "anyone",
        request: None,
        status: 200,
        response: any_json,
        errors: &[404, 422],
    },
    Operation {
        method: "post",
        path: "/api/v1/publishers",
        summary: "Create a publisher and its first member (both named name); the token is in the answer, once",
        who: "admins",
        request: Some(json_of::<NameRequest>),
        status: 201,
        response: json_of::<NewAccount>,
        errors: &[400, 401, 403, 409],
    },
    Operation {
        method: "post",
        path: "/api/v1/publishers/{publisher}/members",
        summary: "Add a member account to a publisher",
        who: "that publisher's members, admins",
        request: Some(json_of::<NameRequest>),
        status: 201,
        response: json_of::<NewAccount>,
        errors: &[400, 401, 403, 404, 409],
    },
    Operation {
        method: "put",
        path: "/api/v1/publishers/{publisher}/settings",
        summary: "Where the publisher's notifications go: signed webhook, e-mail",
        who: "that publisher's members, admins",
        request: Some(json_of::<PublisherSettings>),
        status: 200,
        response: json_of::<PublisherSettings>,
        errors: &[400, 401, 403, 404],
    },
    Operation {
        method: "get",
        path: "/api/v1/publishers/{publisher}/inbox",
        summary: "The publisher's notifications (policy versions its live modules would fail), newest first, with each channel's delivery state",
        who: "that publisher's members, admins",
        request: None,
        status: 200,
        response: json_of::<Page<Notification>>,
        errors: &[401, 403],
    },
    Operation {
        method: "post",
        path: "/api/v1/reviewers",
        summary: "Create a reviewer account",
        who: "admins",
        request: Some(json_of::<NameRequest>),
        status: 201,
        response: json_of::<NewAccount>,
        errors: &[400, 401, 403, 409],
    },
    Operation {
        method: "post",
        path: "/api/v1/tokens",
        summary: "Another API token for the calling account",
        who: "any account",
        request: None,
        status: 201,
        response: json_of::<NewAccount>,
        errors: &[401],
    },
    Operation {
        method: "post",
        path: "/api/v1/policies",
        summary: "Publish a policy version with its effective date: every live version is re-certified against it, publishers of failing ones notified; after the date those leave the catalog (pulls keep working)",
        who: "admins",
        request: Some(json_of::<NewPolicy>),
        status: 201,
        response: json_of::<PolicyPublished>,
        errors: &[400, 401, 403, 409],
    },
    Operation {
        method: "get",
        path: "/api/v1/policies",
        summary: "Policy versions, by effective date",
        who: "anyone",
        request: None,
        status: 200,
        response: json_of::<Page<PolicyVersion>>,
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/api/v1/policies/{version}/recertifications",
        summary: "Every live version judged against a policy version",
        who: "reviewers, admins",
        request: None,
        status: 200,
        response: json_of::<Page<Recertification>>,
        errors: &[401, 403, 404],
    },
];

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad request: the message names the JSON path",
        401 => "No or unknown credentials",
        403 => "Not allowed for this account",
        404 => "Not found",
        409 => "The submission's state does not allow this",
        413 => "Too large",
        422 => "Valid JSON that cannot be accepted",
        _ => "",
    }
}

/// The document.
pub fn document() -> Value {
    let mut g = SchemaSettings::openapi3().into_generator();
    let mut paths = Map::new();
    for op in OPERATIONS {
        let mut parameters = Vec::new();
        for name in ["identifier", "id", "publisher", "version"] {
            if op.path.contains(&format!("{{{name}}}")) {
                parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        if op.path == "/api/v1/catalog" {
            for name in ["q", "subCategory", "page"] {
                parameters.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}));
            }
        }
        if op.path.ends_with("/deployment") {
            parameters.push(json!({"name": "tag", "in": "query", "required": false, "schema": {"type": "string"}}));
        }
        let mut responses = Map::new();
        let (media, schema) = (op.response)(&mut g);
        let mut content = Map::new();
        content.insert(media.to_owned(), json!({"schema": schema}));
        if op.path.ends_with("/events") {
            let (m, s) = event_stream(&mut g);
            content.insert(m.to_owned(), json!({"schema": s}));
        }
        responses.insert(
            op.status.to_string(),
            json!({"description": reason(op.status), "content": content}),
        );
        let error = g.subschema_for::<ErrorBody>().to_value();
        for e in op.errors {
            responses.insert(
                e.to_string(),
                json!({"description": reason(*e), "content": {"application/json": {"schema": error}}}),
            );
        }
        let mut operation = json!({
            "summary": op.summary,
            "description": format!("Who: {}.", op.who),
            "parameters": parameters,
            "responses": responses,
        });
        if op.who != "anyone" && !op.path.starts_with("/api/v1/catalog") {
            operation["security"] = json!([{"token": []}]);
        }
        if let Some(request) = op.request {
            let (media, schema) = request(&mut g);
            operation["requestBody"] =
                json!({"required": true, "content": {media: {"schema": schema}}});
        }
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "edgecert marketplace API",
            "version": "1",
            "description": "Offers, submissions and their certification, review, go-live and the public catalog. The registry (OCI Distribution 1.1) is at /v2/ on the same port.",
        },
        "paths": paths,
        "components": {
            "schemas": g.take_definitions(true),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer", "description": "An API token (edgecert admin prints them)"}},
        },
    })
}

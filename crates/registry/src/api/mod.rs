//! OCI Distribution 1.1 over HTTP: the pull, push, content-discovery and content-management
//! workflows at `/v2/`, as an axum [`Router`] over a [`Registry`] (blob store + metadata).
//!
//! Who may write where is the [`Access`] policy's call; [`Namespaces`] is the marketplace's
//! (`spec/marketplace.md`): clients push only to `staging/…`, `preview/…` and public
//! repositories are written through the library API ([`Registry::put_manifest_bytes`],
//! [`Registry::tag`]) by the pipeline, and exact `X.Y.Z` tags never change outside staging.
//! Accounts and tokens (who the client is) come next; this layer only knows repositories.

mod blobs;
pub mod error;
mod manifests;
pub mod route;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::meta::Meta;
use crate::store::FsStore;
use error::{ApiError, Code};
use route::Target;

/// Largest manifest accepted (the spec's suggested limit, which clients rely on).
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// Who may write which repository.
pub trait Access: Send + Sync + std::fmt::Debug {
    /// Whether a client's push (blob upload, manifest or tag, delete) may write `repository`.
    fn client_may_write(&self, repository: &str) -> bool;
    /// Whether exact version tags in `repository` never change once written.
    fn exact_tags_immutable(&self, repository: &str) -> bool;
}

/// The marketplace's namespaces: `staging/<publisher>/<name>` is written by clients and its
/// tags move; `preview/<identifier>` and `<identifier>` only through the library API, with
/// exact tags immutable.
#[derive(Debug, Clone, Copy, Default)]
pub struct Namespaces;

impl Access for Namespaces {
    fn client_may_write(&self, repository: &str) -> bool {
        repository.starts_with("staging/") && repository.split('/').count() >= 3
    }

    fn exact_tags_immutable(&self, repository: &str) -> bool {
        !repository.starts_with("staging/")
    }
}

/// The registry: blobs, metadata and the access policy.
#[derive(Debug, Clone)]
pub struct Registry {
    pub store: Arc<FsStore>,
    pub meta: Meta,
    pub access: Arc<dyn Access>,
}

impl Registry {
    pub fn new(store: FsStore, meta: Meta, access: impl Access + 'static) -> Registry {
        Registry {
            store: Arc::new(store),
            meta,
            access: Arc::new(access),
        }
    }

    /// The `/v2/` router.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v2", axum::routing::any(dispatch))
            .route("/v2/", axum::routing::any(dispatch))
            .route("/v2/{*rest}", axum::routing::any(dispatch))
            .with_state(self)
    }
}

pub(crate) fn header_str<'a>(req: &'a Request, name: &header::HeaderName) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn location(path: &str) -> HeaderValue {
    HeaderValue::from_str(path).unwrap_or_else(|_| HeaderValue::from_static("/v2/"))
}

fn ping() -> Response {
    let mut r = (StatusCode::OK, axum::Json(serde_json::json!({}))).into_response();
    r.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    r
}

async fn dispatch(State(reg): State<Registry>, req: Request<Body>) -> Response {
    match route(reg, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn route(reg: Registry, req: Request<Body>) -> Result<Response, ApiError> {
    let path = req.uri().path().to_owned();
    let rest = path
        .strip_prefix("/v2")
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or("");
    let Some((name, target)) = route::parse(rest) else {
        return Err(
            ApiError::new(Code::NameUnknown, format!("no such endpoint: {path}"))
                .with_status(StatusCode::NOT_FOUND),
        );
    };
    if target == Target::Base {
        return Ok(ping());
    }
    if !route::valid_name(&name) {
        return Err(ApiError::new(
            Code::NameInvalid,
            format!("invalid repository name {name:?}"),
        ));
    }
    let method = req.method().clone();
    let writes = !matches!(method, Method::GET | Method::HEAD);
    if writes && !reg.access.client_may_write(&name) {
        return Err(ApiError::new(
            Code::Denied,
            format!(
                "repository {name} is not writable by clients: push to staging/<publisher>/<name>"
            ),
        ));
    }
    match (method, target) {
        (Method::GET | Method::HEAD, Target::Blob(d)) => blobs::get(&reg, &name, &d, req).await,
        (Method::DELETE, Target::Blob(d)) => blobs::delete(&reg, &name, &d).await,
        (Method::POST, Target::Upload(None)) => blobs::start(&reg, &name, req).await,
        (Method::PATCH, Target::Upload(Some(id))) => blobs::patch(&reg, &name, &id, req).await,
        (Method::PUT, Target::Upload(Some(id))) => blobs::finish(&reg, &name, &id, req).await,
        (Method::GET, Target::Upload(Some(id))) => blobs::status(&reg, &name, &id).await,
        (Method::DELETE, Target::Upload(Some(id))) => blobs::cancel(&reg, &name, &id).await,
        (Method::GET | Method::HEAD, Target::Manifest(r)) => {
            manifests::get(&reg, &name, &r, req).await
        }
        (Method::PUT, Target::Manifest(r)) => manifests::put(&reg, &name, &r, req).await,
        (Method::DELETE, Target::Manifest(r)) => manifests::delete(&reg, &name, &r).await,
        (Method::GET, Target::Tags) => manifests::tags(&reg, &name, req).await,
        (Method::GET, Target::Referrers(d)) => manifests::referrers(&reg, &name, &d, req).await,
        (m, _) => Err(ApiError::new(
            Code::Unsupported,
            format!("method {m} is not supported on {path}"),
        )
        .with_status(StatusCode::METHOD_NOT_ALLOWED)),
    }
}

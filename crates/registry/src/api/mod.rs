//! OCI Distribution 1.1 over HTTP: the pull, push, content-discovery and content-management
//! workflows at `/v2/`, as an axum [`Router`] over a [`Registry`] (blob store + metadata).
//!
//! Who may read and write where is `auth`'s namespace table (`spec/marketplace.md`): clients
//! push only to their publisher's `staging/…`; `preview/…` and public repositories are
//! written through the library API ([`Registry::put_manifest_bytes`], [`Registry::link`]) by
//! the pipeline; exact `X.Y.Z` tags never change outside staging. A client without
//! credentials gets `401` with the Bearer challenge registries use (`realm=…/v2/token`), so
//! `docker login`, `docker push` and `skopeo --creds` work unchanged; public repositories are
//! read without any.

mod blobs;
pub mod cache;
pub mod error;
mod manifests;
pub mod route;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod token;

use crate::auth::{Namespace, Principal};
use crate::meta::Meta;
use crate::store::BlobStore;
use error::{ApiError, Code};
use route::Target;

/// Largest manifest accepted (the spec's suggested limit, which clients rely on).
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// The registry: blobs and metadata (accounts included).
#[derive(Debug, Clone)]
pub struct Registry {
    pub store: Arc<BlobStore>,
    pub meta: Meta,
    /// The URL clients reach this registry at (`http://host:port`), for the token realm;
    /// `None`: taken from each request's `Host`.
    pub public_url: Option<String>,
    /// Pulls counted since the last flush.
    pub pulls: Arc<crate::pulls::PullCounter>,
    /// Manifests recently served.
    pub manifests: Arc<cache::ManifestCache>,
}

impl Registry {
    pub fn new(store: impl Into<BlobStore>, meta: Meta) -> Registry {
        Registry {
            store: Arc::new(store.into()),
            meta,
            public_url: None,
            pulls: Arc::default(),
            manifests: Arc::default(),
        }
    }

    /// The `/v2/` router (with the token endpoint at `/v2/token`). Every request gets an id
    /// (`X-Request-Id`: the client's, when it sent a sane one) and one log event when answered
    /// (see [`observe`]).
    pub fn router(self) -> Router {
        Router::new()
            .route("/v2", axum::routing::any(dispatch))
            .route("/v2/", axum::routing::any(dispatch))
            .route("/v2/{*rest}", axum::routing::any(dispatch))
            .with_state(self)
            .layer(axum::middleware::from_fn(observe))
    }

    /// Garbage collection: blobs no repository links or refers to, and upload sessions, each
    /// untouched for `grace`, are removed. Safe while clients push: a blob is linked to its
    /// repository as its upload completes, and one pushed (or pushed again) within the grace
    /// period is kept even before it is linked; the store serializes a removal with the
    /// publishing of the same blob.
    pub async fn collect_garbage(
        &self,
        grace: std::time::Duration,
    ) -> Result<crate::store::GcReport, ApiError> {
        let referenced = self.meta.referenced().await?;
        let report = self
            .store
            .gc(&|d| referenced.contains(&d.to_string()), grace)
            .await?;
        for id in self.meta.uploads_older_than(grace.as_secs()).await? {
            let gone = match crate::store::UploadId::parse(&id) {
                Some(u) => self.store.upload_size(&u).await?.is_none(),
                None => true,
            };
            if gone {
                self.meta.remove_upload(&id).await?;
            }
        }
        Ok(report)
    }

    /// Whether exact version tags in `repository` never change once written: everywhere but
    /// staging.
    pub fn exact_tags_immutable(repository: &str) -> bool {
        !matches!(Namespace::of(repository), Namespace::Staging { .. })
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
    let creds = token::Credentials::of(&req);
    if rest == "token" {
        return token::issue(&reg, &creds).await;
    }
    let Some((name, target)) = route::parse(rest) else {
        return Err(
            ApiError::new(Code::NameUnknown, format!("no such endpoint: {path}"))
                .with_status(StatusCode::NOT_FOUND),
        );
    };
    let principal = token::principal(&reg, &creds).await?;
    if target == Target::Base {
        // Without credentials: the challenge, so that `docker login` checks them and anonymous
        // clients fetch the anonymous token.
        return match principal {
            Some(_) => Ok(ping()),
            None => Err(token::challenge(&reg, &creds, None)),
        };
    }
    if !route::valid_name(&name) {
        return Err(ApiError::new(
            Code::NameInvalid,
            format!("invalid repository name {name:?}"),
        ));
    }
    let method = req.method().clone();
    let writes = !matches!(method, Method::GET | Method::HEAD);
    let who = principal.clone().unwrap_or(Principal::Anonymous);
    let allowed = if writes {
        who.may_write(&name)
    } else {
        who.may_read(&name)
    };
    if !allowed {
        if who == Principal::Anonymous {
            let action = if writes { "pull,push" } else { "pull" };
            return Err(token::challenge(&reg, &creds, Some((&name, action))));
        }
        let why = if writes {
            format!("you may not write {name}: clients push to staging/<your publisher>/<name>")
        } else {
            format!("you may not read {name}")
        };
        return Err(ApiError::new(Code::Denied, why));
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

/// Gives each request an id and logs it when answered: one `tracing` event with the id,
/// method, path, status, error code (for errors) and time taken. The id comes back in
/// `X-Request-Id`; a client's own id is kept when it is short and printable, so one id can
/// follow a request through proxies.
pub async fn observe(mut req: Request, next: axum::middleware::Next) -> Response {
    let start = std::time::Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let value = HeaderValue::from_str(&id).expect("checked: printable ASCII");
    req.headers_mut().insert("x-request-id", value.clone());
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let mut res = next.run(req).await;
    res.headers_mut().insert("x-request-id", value);
    let status = res.status().as_u16();
    let logged = res.extensions().get::<error::Logged>();
    let code = logged.map(|l| l.code.as_str());
    let ms = (start.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    if status >= 500 {
        let error = logged.map(|l| l.message.as_str());
        tracing::error!(request_id = %id, %method, path, status, code, error, ms, "request failed");
    } else {
        tracing::info!(request_id = %id, %method, path, status, code, ms, "request");
    }
    res
}

//! Who the client is: `Authorization: Bearer <token>` or `Basic <account:token>`, the
//! `WWW-Authenticate` challenge for clients without credentials, and the token endpoint
//! (`GET /v2/token`) that `docker login` and every registry client call after a challenge.
//!
//! The endpoint hands back the API token it was given (checked against the account), or the
//! anonymous token without credentials: tokens are long-lived API tokens the client already
//! holds, so there is nothing to mint and no signing key to keep.

use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::Registry;
use super::error::{ApiError, Code};
use crate::auth::{self, ANONYMOUS_TOKEN, Principal};

const SERVICE: &str = "edgecert";

/// The challenge for a client without (valid) credentials; `scope` is (repository, actions).
pub(super) fn challenge(
    reg: &Registry,
    creds: &Credentials,
    scope: Option<(&str, &str)>,
) -> ApiError {
    let base = reg.public_url.clone().unwrap_or_else(|| {
        let host = creds.host.as_deref().unwrap_or("localhost");
        format!("http://{host}")
    });
    let mut value = format!("Bearer realm=\"{base}/v2/token\",service=\"{SERVICE}\"");
    if let Some((name, actions)) = scope {
        value.push_str(&format!(",scope=\"repository:{name}:{actions}\""));
    }
    let mut e = ApiError::new(Code::Unauthorized, "authentication required");
    e.headers.push((header::WWW_AUTHENTICATE, value));
    e
}

fn unauthorized(why: &str) -> ApiError {
    ApiError::new(Code::Unauthorized, why.to_owned())
}

/// `Basic` credentials: (account, token).
fn basic(value: &str) -> Result<(String, String), ApiError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| unauthorized("malformed Basic credentials"))?;
    let text =
        String::from_utf8(decoded).map_err(|_| unauthorized("malformed Basic credentials"))?;
    let (account, token) = text
        .split_once(':')
        .ok_or_else(|| unauthorized("malformed Basic credentials"))?;
    Ok((account.to_owned(), token.to_owned()))
}

/// What of a request says who sent it, owned (a `Request` is not held across awaits).
#[derive(Debug, Clone, Default)]
pub(super) struct Credentials {
    authorization: Option<String>,
    host: Option<String>,
}

impl Credentials {
    pub(super) fn of(req: &Request) -> Credentials {
        Credentials {
            authorization: super::header_str(req, &header::AUTHORIZATION).map(str::to_owned),
            host: super::header_str(req, &header::HOST).map(str::to_owned),
        }
    }
}

/// The request's principal: `None` without an `Authorization` header; invalid credentials
/// are an error (401).
pub(super) async fn principal(
    reg: &Registry,
    creds: &Credentials,
) -> Result<Option<Principal>, ApiError> {
    let Some(value) = creds.authorization.as_deref() else {
        return Ok(None);
    };
    let found = if let Some(token) = value.strip_prefix("Bearer ") {
        auth::principal_for_token(&reg.meta, token.trim()).await?
    } else if let Some(b) = value.strip_prefix("Basic ") {
        let (account, token) = basic(b)?;
        auth::principal_for_basic(&reg.meta, &account, &token).await?
    } else {
        return Err(unauthorized(
            "unsupported Authorization scheme: Bearer or Basic",
        ));
    };
    match found {
        Some(p) => Ok(Some(p)),
        None => Err(challenge(reg, creds, None)),
    }
}

/// `GET /v2/token`.
pub(super) async fn issue(reg: &Registry, creds: &Credentials) -> Result<Response, ApiError> {
    let token = match creds.authorization.as_deref() {
        None => ANONYMOUS_TOKEN.to_owned(),
        Some(value) => {
            let b = value
                .strip_prefix("Basic ")
                .ok_or_else(|| unauthorized("the token endpoint takes Basic account:token"))?;
            let (account, token) = basic(b)?;
            if auth::principal_for_basic(&reg.meta, &account, &token)
                .await?
                .is_none()
            {
                return Err(unauthorized("unknown account or token"));
            }
            token
        }
    };
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": 3600,
    });
    Ok(axum::Json(body).into_response())
}

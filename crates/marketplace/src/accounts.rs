//! Accounts through the API (the same accounts and tokens as `edgecert admin`): an admin makes
//! publishers (with their first member) and reviewers, a publisher's member adds members, any
//! account makes itself another token, and a publisher's member sets where notifications go
//! (webhook URL and secret, e-mail address). Each new token is in the answer, once; only its
//! hash is kept.

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edgecert_registry::auth::{self, AccountError, Principal, Role};
use serde_json::Value;

use crate::api::{Action, Api, Error, internal};
use crate::model::{NewAccount, PublisherSettings};

fn account_error(e: AccountError) -> Error {
    match e {
        AccountError::Exists(_) => Error(StatusCode::CONFLICT, "EXISTS", e.to_string()),
        AccountError::InvalidName(_) => Error(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!("at $.name: {e}"),
        ),
        AccountError::NoPublisher(_) => Error(StatusCode::NOT_FOUND, "NOT_FOUND", e.to_string()),
        AccountError::Meta(e) => internal(e),
    }
}

/// `$.name` of a JSON body.
fn name_of(body: &Bytes) -> Result<String, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        Error(
            StatusCode::BAD_REQUEST,
            "REQUEST_INVALID",
            format!("not JSON: {e}"),
        )
    })?;
    v["name"].as_str().map(str::to_owned).ok_or_else(|| {
        Error(
            StatusCode::BAD_REQUEST,
            "REQUEST_INVALID",
            "at $.name: required".into(),
        )
    })
}

fn created(name: String, publisher: Option<String>, role: Role, token: String) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(NewAccount {
            name,
            role: role.as_str().to_owned(),
            publisher,
            token,
        }),
    )
        .into_response()
}

/// `POST /publishers {"name"}`: the publisher and its first member, both named `name`.
pub(crate) async fn create_publisher(
    Extract(api): Extract<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::ManageAccounts).await?;
    let name = name_of(&body)?;
    let token = auth::create_publisher(api.meta(), &name)
        .await
        .map_err(account_error)?;
    Ok(created(name.clone(), Some(name), Role::Publisher, token))
}

/// `POST /reviewers {"name"}`.
pub(crate) async fn create_reviewer(
    Extract(api): Extract<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::ManageAccounts).await?;
    let name = name_of(&body)?;
    let token = auth::create_account(api.meta(), &name, Role::Reviewer, None)
        .await
        .map_err(account_error)?;
    Ok(created(name, None, Role::Reviewer, token))
}

/// `POST /publishers/{publisher}/members {"name"}`.
pub(crate) async fn add_member(
    Extract(api): Extract<Api>,
    Path(publisher): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::ManagePublisher(&publisher))
        .await?;
    let name = name_of(&body)?;
    let token = auth::add_member(api.meta(), &publisher, &name)
        .await
        .map_err(account_error)?;
    Ok(created(name, Some(publisher), Role::Publisher, token))
}

/// `POST /tokens`: another token for the calling account.
pub(crate) async fn new_token(
    Extract(api): Extract<Api>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let who = api.authorize(&headers, Action::OwnToken).await?;
    let Principal::Account {
        name,
        role,
        publisher,
    } = who
    else {
        unreachable!("authorize lets accounts only");
    };
    let token = auth::new_token();
    api.meta()
        .add_token(&auth::token_hash(&token), &name)
        .await
        .map_err(internal)?;
    Ok(created(name, publisher, role, token))
}

/// `PUT /publishers/{publisher}/settings`: where notifications go.
pub(crate) async fn put_settings(
    Extract(api): Extract<Api>,
    Path(publisher): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::ManagePublisher(&publisher))
        .await?;
    let settings: PublisherSettings =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body))
            .map_err(|e| {
                Error(
                    StatusCode::BAD_REQUEST,
                    "REQUEST_INVALID",
                    format!("at $.{}: {}", e.path(), e.inner()),
                )
            })?;
    if let Some(url) = &settings.webhook_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Error(
            StatusCode::BAD_REQUEST,
            "REQUEST_INVALID",
            format!("at $.webhookUrl: {url:?} is not an http(s) URL"),
        ));
    }
    if settings.webhook_url.is_some()
        && settings.webhook_secret.as_deref().is_none_or(str::is_empty)
    {
        return Err(Error(
            StatusCode::BAD_REQUEST,
            "REQUEST_INVALID",
            "at $.webhookSecret: a webhook needs a secret to sign its deliveries".into(),
        ));
    }
    if !api
        .meta()
        .publisher_exists(&publisher)
        .await
        .map_err(internal)?
    {
        return Err(Error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no publisher {publisher}"),
        ));
    }
    api.market
        .put_settings(&publisher, &settings)
        .await
        .map_err(internal)?;
    Ok(axum::Json(settings.redacted()).into_response())
}

//! The admin's pages: publishers and their members, reviewers (each new account's API token
//! shown once, a password for the pages when given), and policy versions with their effective
//! dates (checked by the CLI's policy parser, then every live version re-certified).

use askama::Template;
use axum::extract::{Form, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edgecert_marketplace::api::{Action, allowed};
use edgecert_marketplace::living::{PolicyVersion, checked_policy, date, parse_instant};
use edgecert_registry::auth::{self, AccountError, Role};
use edgecert_registry::meta::AccountRow;
use serde::Deserialize;
use serde_json::Value;

use crate::pages::{Failure, Message, User, Web, oops, render, user_of};
use crate::session::{self, Session};

#[derive(Template)]
#[template(path = "admin.html")]
struct Admin {
    user: Option<User>,
    csrf: String,
    accounts: Vec<AccountRow>,
    publishers: Vec<String>,
    /// (version, effective date, published date, in effect)
    policies: Vec<(String, String, String, bool)>,
    error: Option<String>,
}

async fn admin_session(
    web: &Web,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<Session, Response> {
    let s = web.signed_in(headers, csrf).await?;
    if !allowed(&s.principal, Action::ManageAccounts) {
        return Err(Failure(
            StatusCode::FORBIDDEN,
            "The admin pages are for admins.".into(),
        )
        .into_response());
    }
    Ok(s)
}

async fn admin_page(web: &Web, s: &Session, error: Option<String>) -> Response {
    let accounts = match web.meta.accounts().await {
        Ok(a) => a,
        Err(e) => return oops(e).into_response(),
    };
    let mut publishers: Vec<String> = accounts
        .iter()
        .filter_map(|a| a.publisher.clone())
        .collect();
    publishers.dedup();
    let policies: Vec<PolicyVersion> = match web.market.policies().await {
        Ok(p) => p,
        Err(e) => return oops(e).into_response(),
    };
    let now = edgecert_marketplace::db::now_ms();
    let current = policies
        .iter()
        .filter(|p| p.effective_at <= now)
        .max_by_key(|p| (p.effective_at, p.created_at))
        .map(|p| p.version.clone());
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut r = render(&Admin {
        user: user_of(&Some(s.clone())),
        csrf: s.csrf.clone(),
        publishers,
        policies: policies
            .iter()
            .map(|p| {
                (
                    p.version.clone(),
                    date(p.effective_at),
                    date(p.created_at),
                    current.as_deref() == Some(p.version.as_str()),
                )
            })
            .collect(),
        accounts,
        error,
    });
    *r.status_mut() = status;
    r
}

/// `GET /admin`.
pub(crate) async fn page(Extract(web): Extract<Web>, headers: HeaderMap) -> Response {
    match admin_session(&web, &headers, None).await {
        Ok(s) => admin_page(&web, &s, None).await,
        Err(r) => r,
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    publisher: String,
    #[serde(default)]
    password: String,
}

/// The new account's token, once, and its password when one was given.
async fn created(
    web: &Web,
    s: &Session,
    made: Result<String, AccountError>,
    name: &str,
    password: &str,
    what: &str,
) -> Response {
    let token = match made {
        Ok(t) => t,
        Err(AccountError::Meta(e)) => return oops(e).into_response(),
        Err(e) => return admin_page(web, s, Some(e.to_string())).await,
    };
    let mut text = format!(
        "{what} {name} exists. Its API token (shown once; also the registry password for docker login): {token}"
    );
    if !password.is_empty() {
        match session::set_password(&web.meta, name, password).await {
            Ok(()) => text.push_str(" It signs in to these pages with the password given."),
            Err(e) => text.push_str(&format!(" The password was not set: {e}.")),
        }
    }
    let mut r = render(&Message {
        user: user_of(&Some(s.clone())),
        title: format!("{what} created"),
        text,
    });
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        "no-store".parse().expect("valid"),
    );
    r
}

/// `POST /admin/publishers`: a publisher and its first member, both `name`.
pub(crate) async fn create_publisher(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Form(f): Form<AccountForm>,
) -> Response {
    let s = match admin_session(&web, &headers, Some(&f.csrf)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let name = f.name.trim();
    let made = auth::create_publisher(&web.meta, name).await;
    created(&web, &s, made, name, &f.password, "Publisher").await
}

/// `POST /admin/members`: another member of `publisher`.
pub(crate) async fn add_member(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Form(f): Form<AccountForm>,
) -> Response {
    let s = match admin_session(&web, &headers, Some(&f.csrf)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let name = f.name.trim();
    let made = auth::add_member(&web.meta, f.publisher.trim(), name).await;
    created(&web, &s, made, name, &f.password, "Member").await
}

/// `POST /admin/reviewers`.
pub(crate) async fn create_reviewer(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Form(f): Form<AccountForm>,
) -> Response {
    let s = match admin_session(&web, &headers, Some(&f.csrf)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let name = f.name.trim();
    let made = auth::create_account(&web.meta, name, Role::Reviewer, None).await;
    created(&web, &s, made, name, &f.password, "Reviewer").await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    effective: String,
    #[serde(default)]
    policy: String,
}

/// `POST /admin/policies`: a policy version (a policy file, TOML or JSON) from a date on.
pub(crate) async fn publish_policy(
    Extract(web): Extract<Web>,
    headers: HeaderMap,
    Form(f): Form<PolicyForm>,
) -> Response {
    let s = match admin_session(&web, &headers, Some(&f.csrf)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let text = f.policy.trim();
    let policy: Result<Value, String> = if text.starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("the policy is not JSON: {e}"))
    } else {
        toml::from_str(text).map_err(|e| format!("the policy is not TOML: {e}"))
    };
    let policy = match policy {
        Ok(p) => p,
        Err(e) => return admin_page(&web, &s, Some(e)).await,
    };
    let effective_at = match parse_instant(&Value::String(f.effective.trim().to_owned())) {
        Ok(t) => t,
        Err(e) => return admin_page(&web, &s, Some(format!("Effective date: {e}"))).await,
    };
    let (version, text) = match checked_policy(&f.version, &policy) {
        Ok(v) => v,
        Err(e) => return admin_page(&web, &s, Some(e)).await,
    };
    match web
        .market
        .publish_policy(&version, &text, effective_at)
        .await
    {
        Ok(Some(n)) => render(&Message {
            user: user_of(&Some(s.clone())),
            title: format!("Policy {version} published"),
            text: format!(
                "In effect from {}. {n} live version(s) are being re-certified against it; publishers whose modules would fail are notified.",
                date(effective_at)
            ),
        }),
        Ok(None) => {
            admin_page(
                &web,
                &s,
                Some(format!(
                    "Policy version {version} exists; versions are immutable."
                )),
            )
            .await
        }
        Err(e) => oops(e).into_response(),
    }
}

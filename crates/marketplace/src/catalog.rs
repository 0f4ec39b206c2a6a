//! The public catalog (`GET /api/v1/catalog…`, anyone): live modules, each with its listing,
//! platforms, tags (exact or rolling, and what they resolve to), the pull command, the
//! configuration docs, the certification summary, download counts and the deployment manifest
//! for a chosen tag — the generator `edgecert manifest` uses, pointing at this registry.

use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edgecert_engine::offer::Offer;
use edgecert_registry::meta::is_exact_version;
use serde_json::{Value, json};

use crate::api::{Api, Error, internal, not_found};
use crate::releases::Listing;

/// Catalog items per page.
pub const PAGE: usize = 20;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    q: Option<String>,
    sub_category: Option<String>,
    page: Option<usize>,
}

/// An offer field as text (`""` when absent).
fn text<'a>(offer: &'a Value, field: &str) -> &'a str {
    offer[field].as_str().unwrap_or("")
}

/// One catalog item: what a list shows.
async fn item(api: &Api, l: &Listing, host: &str) -> Result<Value, Error> {
    let offer: Value = serde_json::from_str(&l.offer).unwrap_or(Value::Null);
    let report: Value = serde_json::from_str(&l.report).unwrap_or(Value::Null);
    let tags = api
        .meta()
        .tags(&l.identifier, None, None)
        .await
        .map_err(internal)?;
    let platforms: Vec<Value> = report["image"]["platforms"]
        .as_array()
        .map(|ps| ps.iter().map(|p| p["platform"].clone()).collect())
        .unwrap_or_default();
    let pull_tag = offer["image"]["defaultTag"]
        .as_str()
        .filter(|t| tags.iter().any(|x| x == t))
        .unwrap_or(&l.version);
    Ok(json!({
        "identifier": l.identifier,
        "publisher": l.publisher,
        "name": text(&offer, "name"),
        "summary": text(&offer, "summary"),
        "subCategory": text(&offer, "subCategory"),
        "version": l.version,
        "tags": tags,
        "platforms": platforms,
        "pull": format!("docker pull {host}/{}:{pull_tag}", l.identifier),
        "updatedAt": l.updated_at,
    }))
}

/// `GET /catalog?q=&subCategory=&page=`: live modules matching a search (name, summary,
/// identifier, publisher; case-insensitive) and a sub-category, by identifier, 20 a page.
pub(crate) async fn list(
    Extract(api): Extract<Api>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Error> {
    let host = api.registry_host(&headers);
    let q = query.q.unwrap_or_default().to_lowercase();
    let page = query.page.unwrap_or(1).max(1);
    let listings = api.market.listings().await.map_err(internal)?;
    let matching: Vec<&Listing> = listings
        .iter()
        .filter(|l| {
            let offer: Value = serde_json::from_str(&l.offer).unwrap_or(Value::Null);
            let in_category = query
                .sub_category
                .as_deref()
                .is_none_or(|c| c.is_empty() || text(&offer, "subCategory") == c);
            let found = q.is_empty()
                || [
                    text(&offer, "name"),
                    text(&offer, "summary"),
                    &l.identifier,
                    &l.publisher,
                ]
                .iter()
                .any(|f| f.to_lowercase().contains(&q));
            in_category && found
        })
        .collect();
    let mut items = Vec::new();
    for l in matching.iter().skip((page - 1) * PAGE).take(PAGE) {
        items.push(item(&api, l, &host).await?);
    }
    let next = (matching.len() > page * PAGE).then(|| (page + 1).to_string());
    Ok(axum::Json(json!({"items": items, "next": next, "total": matching.len()})).into_response())
}

/// `GET /catalog/{identifier}`: everything the module page shows.
pub(crate) async fn detail(
    Extract(api): Extract<Api>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let host = api.registry_host(&headers);
    let l = listing(&api, &identifier).await?;
    let mut out = item(&api, &l, &host).await?;
    let offer: Value = serde_json::from_str(&l.offer).unwrap_or(Value::Null);
    let report: Value = serde_json::from_str(&l.report).unwrap_or(Value::Null);
    let releases = api.market.releases(&identifier).await.map_err(internal)?;
    // Each tag: exact or rolling, and the version and digest it resolves to now.
    let mut tags = Vec::new();
    for tag in api
        .meta()
        .tags(&identifier, None, None)
        .await
        .map_err(internal)?
    {
        let digest = api
            .meta()
            .tag(&identifier, &tag)
            .await
            .map_err(internal)?
            .map(|d| d.to_string());
        let version = releases
            .iter()
            .find(|r| Some(&r.digest) == digest.as_ref())
            .map(|r| r.version.clone());
        tags.push(json!({
            "tag": tag,
            "kind": if is_exact_version(&tag) { "exact" } else { "rolling" },
            "version": version,
            "digest": digest,
            "pull": format!("docker pull {host}/{identifier}:{tag}"),
        }));
    }
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let count = |status: &str| checks.iter().filter(|c| c["status"] == status).count();
    let pulls = api.meta().pulls(&identifier).await.map_err(internal)?;
    let mut by_tag = serde_json::Map::new();
    let mut by_day = std::collections::BTreeMap::<String, u64>::new();
    for (tag, day, n) in &pulls {
        let t = by_tag.entry(tag.clone()).or_insert(json!(0));
        *t = json!(t.as_u64().unwrap_or(0) + n);
        *by_day.entry(day.clone()).or_default() += n;
    }
    let o = out.as_object_mut().expect("an item is an object");
    o.insert("description".into(), offer["description"].clone());
    o.insert("useCase".into(), offer["useCase"].clone());
    o.insert("tags".into(), json!(tags));
    o.insert("documentation".into(), offer["documentation"].clone());
    o.insert("defaults".into(), offer["defaults"].clone());
    o.insert("device".into(), offer["device"].clone());
    o.insert("legal".into(), offer["legal"].clone());
    o.insert("support".into(), offer["support"].clone());
    o.insert(
        "certification".into(),
        json!({
            "verdict": report["verdict"],
            "policy": report["policy"],
            "engines": report["engines"],
            "tool": report["tool"],
            "passed": count("pass"),
            "failed": count("fail"),
            "warnings": checks.iter().filter(|c| c["status"] == "fail" && c["severity"] != "blocking").count(),
            "review": report["review"],
            "certifiedAt": l.updated_at,
        }),
    );
    o.insert(
        "versions".into(),
        json!(releases
            .iter()
            .map(|r| json!({"version": r.version, "digest": r.digest, "tags": r.tags, "liveAt": r.live_at}))
            .collect::<Vec<_>>()),
    );
    o.insert(
        "downloads".into(),
        json!({
            "total": pulls.iter().map(|p| p.2).sum::<u64>(),
            "byTag": by_tag,
            "byDay": by_day,
        }),
    );
    Ok(axum::Json(out).into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DeploymentQuery {
    tag: Option<String>,
}

/// `GET /catalog/{identifier}/deployment?tag=`: the deployment manifest for a live tag
/// (default: the offer's default tag), pulling from this registry.
pub(crate) async fn deployment(
    Extract(api): Extract<Api>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    Query(query): Query<DeploymentQuery>,
) -> Result<Response, Error> {
    let host = api.registry_host(&headers);
    let l = listing(&api, &identifier).await?;
    let offer = Offer::parse(&l.offer, "offer.json").map_err(internal)?;
    let tags = api
        .meta()
        .tags(&identifier, None, None)
        .await
        .map_err(internal)?;
    let tag = query
        .tag
        .or_else(|| offer.default_tag().map(str::to_owned))
        .filter(|t| tags.contains(t))
        .or_else(|| tags.contains(&l.version).then(|| l.version.clone()))
        .ok_or_else(|| not_found(format!("{identifier} has no such live tag")))?;
    if !tags.contains(&tag) {
        return Err(not_found(format!("{identifier}:{tag} is not live")));
    }
    let manifest = edgecert_engine::offer::deployment::manifest_json(
        &offer,
        "offer.json",
        Some(&tag),
        Some(&host),
        false,
    )
    .map_err(|e| Error(StatusCode::UNPROCESSABLE_ENTITY, "MANIFEST_INVALID", e))?;
    Ok(axum::Json(manifest).into_response())
}

async fn listing(api: &Api, identifier: &str) -> Result<Listing, Error> {
    api.market
        .listing(identifier)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("{identifier} is not in the catalog")))
}

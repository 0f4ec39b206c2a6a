//! The public catalog (`GET /api/v1/catalog…`, anyone): live modules, each with its listing,
//! platforms, tags (exact or rolling, and what they resolve to), the pull command, the
//! configuration docs, the certification summary, download counts and the deployment manifest
//! for a chosen tag — the generator `edgecert manifest` uses, pointing at this registry.

use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edgecert_engine::offer::Offer;
use edgecert_registry::meta::is_exact_version;
use serde_json::Value;

use crate::Market;
use crate::api::{Api, Error, internal, not_found};
use crate::model::{
    CatalogDetail, CatalogItem, CatalogPage, CertificationSummary, Downloads, TagView, VersionView,
};
use crate::releases::Listing;
use edgecert_registry::meta::Meta;

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

/// The catalog over the marketplace's listings and the registry's tags and pull counts: what
/// the API answers and the web pages show.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    pub market: &'a Market,
    pub meta: &'a Meta,
}

impl Catalog<'_> {
    /// Live modules matching a search (name, summary, identifier, publisher; case-insensitive)
    /// and a sub-category, by identifier.
    pub async fn matching(
        &self,
        q: &str,
        sub_category: Option<&str>,
    ) -> Result<Vec<Listing>, String> {
        let q = q.trim().to_lowercase();
        let listings = self.market.listings().await.map_err(|e| e.to_string())?;
        Ok(listings
            .into_iter()
            .filter(|l| {
                let offer: Value = serde_json::from_str(&l.offer).unwrap_or(Value::Null);
                let in_category =
                    sub_category.is_none_or(|c| c.is_empty() || text(&offer, "subCategory") == c);
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
            .collect())
    }

    /// One catalog item: what a list shows.
    pub async fn item(&self, l: &Listing, host: &str) -> Result<CatalogItem, String> {
        item(self.meta, l, host).await.map_err(|e| e.2)
    }

    /// Everything a module page shows; `None` when it is not in the catalog.
    pub async fn detail(
        &self,
        identifier: &str,
        host: &str,
    ) -> Result<Option<CatalogDetail>, String> {
        let Some(l) = self
            .market
            .listing(identifier)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        detail_of(self.market, self.meta, &l, host)
            .await
            .map(Some)
            .map_err(|e| e.2)
    }

    /// The deployment manifest of a live tag (default: the offer's default tag, else the
    /// listed version), pulling from `host`: (tag, manifest). `Err` names what is missing.
    pub async fn deployment(
        &self,
        identifier: &str,
        tag: Option<&str>,
        host: &str,
    ) -> Result<(String, Value), Error> {
        let l = self
            .market
            .listing(identifier)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("{identifier} is not in the catalog")))?;
        let newest = Offer::parse(&l.offer, "offer.json").map_err(internal)?;
        let tags = self
            .meta
            .tags(identifier, None, None)
            .await
            .map_err(internal)?;
        let tag = match tag {
            Some(t) if tags.iter().any(|x| x == t) => t.to_owned(),
            Some(t) => return Err(not_found(format!("{identifier}:{t} is not live"))),
            None => newest
                .default_tag()
                .filter(|t| tags.iter().any(|x| x == t))
                .map(str::to_owned)
                .or_else(|| tags.contains(&l.version).then(|| l.version.clone()))
                .ok_or_else(|| not_found(format!("{identifier} has no live tag")))?,
        };
        // The offer of the version the tag names (an older exact tag keeps its own defaults),
        // else the listed one.
        let digest = self
            .meta
            .tag(identifier, &tag)
            .await
            .map_err(internal)?
            .map(|d| d.to_string());
        let releases = self.market.releases(identifier).await.map_err(internal)?;
        let release = releases.iter().find(|r| Some(&r.digest) == digest.as_ref());
        let offer = match release {
            Some(r) if r.submission != l.submission => {
                let text = self
                    .market
                    .submission(&r.submission)
                    .await
                    .map_err(internal)?
                    .and_then(|s| s.offer);
                match text {
                    Some(t) => Offer::parse(&t, "offer.json").map_err(internal)?,
                    None => newest,
                }
            }
            _ => newest,
        };
        let manifest = edgecert_engine::offer::deployment::manifest_json(
            &offer,
            "offer.json",
            Some(&tag),
            Some(host),
            false,
        )
        .map_err(|e| Error(StatusCode::UNPROCESSABLE_ENTITY, "MANIFEST_INVALID", e))?;
        Ok((tag, manifest))
    }
}

/// One catalog item: what a list shows.
async fn item(meta: &Meta, l: &Listing, host: &str) -> Result<CatalogItem, Error> {
    let offer: Value = serde_json::from_str(&l.offer).unwrap_or(Value::Null);
    let report: Value = serde_json::from_str(&l.report).unwrap_or(Value::Null);
    let tags = meta
        .tags(&l.identifier, None, None)
        .await
        .map_err(internal)?;
    let platforms: Vec<String> = report["image"]["platforms"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["platform"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let pull_tag = offer["image"]["defaultTag"]
        .as_str()
        .filter(|t| tags.iter().any(|x| x == t))
        .unwrap_or(&l.version);
    Ok(CatalogItem {
        identifier: l.identifier.clone(),
        publisher: l.publisher.clone(),
        name: text(&offer, "name").to_owned(),
        summary: text(&offer, "summary").to_owned(),
        sub_category: text(&offer, "subCategory").to_owned(),
        version: l.version.clone(),
        pull: format!("docker pull {host}/{}:{pull_tag}", l.identifier),
        tags,
        platforms,
        updated_at: l.updated_at,
    })
}

/// `GET /catalog?q=&subCategory=&page=`: live modules matching a search (name, summary,
/// identifier, publisher; case-insensitive) and a sub-category, by identifier, 20 a page.
pub(crate) async fn list(
    Extract(api): Extract<Api>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Error> {
    let host = api.registry_host(&headers);
    let page = query.page.unwrap_or(1).max(1);
    let catalog = Catalog {
        market: &api.market,
        meta: api.meta(),
    };
    let matching = catalog
        .matching(
            query.q.as_deref().unwrap_or(""),
            query.sub_category.as_deref(),
        )
        .await
        .map_err(internal)?;
    let mut items = Vec::new();
    for l in matching.iter().skip((page - 1) * PAGE).take(PAGE) {
        items.push(item(api.meta(), l, &host).await?);
    }
    let next = (matching.len() > page * PAGE).then(|| (page + 1).to_string());
    Ok(axum::Json(CatalogPage {
        items,
        next,
        total: matching.len(),
    })
    .into_response())
}

/// `GET /catalog/{identifier}`: everything the module page shows.
pub(crate) async fn detail(
    Extract(api): Extract<Api>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let host = api.registry_host(&headers);
    let l = listing(&api, &identifier).await?;
    let detail = detail_of(&api.market, api.meta(), &l, &host).await?;
    Ok(axum::Json(detail).into_response())
}

async fn detail_of(
    market: &Market,
    meta: &Meta,
    l: &Listing,
    host: &str,
) -> Result<CatalogDetail, Error> {
    let identifier = l.identifier.clone();
    let item = item(meta, l, host).await?;
    let offer: Value = serde_json::from_str(&l.offer).unwrap_or(Value::Null);
    let report: Value = serde_json::from_str(&l.report).unwrap_or(Value::Null);
    let releases = market.releases(&identifier).await.map_err(internal)?;
    // Each tag: exact or rolling, and the version and digest it resolves to now.
    let mut tags = Vec::new();
    for tag in &item.tags {
        let digest = meta
            .tag(&identifier, tag)
            .await
            .map_err(internal)?
            .map(|d| d.to_string());
        let version = releases
            .iter()
            .find(|r| Some(&r.digest) == digest.as_ref())
            .map(|r| r.version.clone());
        tags.push(TagView {
            tag: tag.clone(),
            kind: if is_exact_version(tag) {
                "exact"
            } else {
                "rolling"
            }
            .to_owned(),
            version,
            digest,
            pull: format!("docker pull {host}/{identifier}:{tag}"),
        });
    }
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let count = |f: &dyn Fn(&Value) -> bool| checks.iter().filter(|c| f(c)).count();
    let pulls = meta.pulls(&identifier).await.map_err(internal)?;
    let mut downloads = Downloads {
        total: 0,
        by_tag: Default::default(),
        by_day: Default::default(),
    };
    for (tag, day, n) in &pulls {
        downloads.total += n;
        *downloads.by_tag.entry(tag.clone()).or_default() += n;
        *downloads.by_day.entry(day.clone()).or_default() += n;
    }
    let detail = CatalogDetail {
        identifier: item.identifier,
        publisher: item.publisher,
        name: item.name,
        summary: item.summary,
        sub_category: item.sub_category,
        version: item.version,
        tags,
        platforms: item.platforms,
        pull: item.pull,
        updated_at: item.updated_at,
        description: offer["description"].clone(),
        use_case: offer["useCase"].clone(),
        documentation: offer["documentation"].clone(),
        defaults: offer["defaults"].clone(),
        device: offer["device"].clone(),
        legal: offer["legal"].clone(),
        support: offer["support"].clone(),
        certification: CertificationSummary {
            verdict: report["verdict"].clone(),
            policy: report["policy"].clone(),
            engines: report["engines"].clone(),
            tool: report["tool"].clone(),
            passed: count(&|c| c["status"] == "pass"),
            failed: count(&|c| c["status"] == "fail" && c["severity"] == "blocking"),
            warnings: count(&|c| c["status"] == "fail" && c["severity"] != "blocking"),
            review: report["review"].clone(),
            certified_at: l.updated_at,
        },
        versions: releases
            .iter()
            .map(|r| VersionView {
                version: r.version.clone(),
                digest: r.digest.clone(),
                tags: r.tags.clone(),
                live_at: r.live_at,
            })
            .collect(),
        downloads,
    };
    Ok(detail)
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
    let catalog = Catalog {
        market: &api.market,
        meta: api.meta(),
    };
    let (_, manifest) = catalog
        .deployment(&identifier, query.tag.as_deref(), &host)
        .await?;
    Ok(axum::Json(manifest).into_response())
}

async fn listing(api: &Api, identifier: &str) -> Result<Listing, Error> {
    api.market
        .listing(identifier)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("{identifier} is not in the catalog")))
}

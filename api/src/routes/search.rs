//! `GET /ipam/search`: regions and hosts in one ordered, paginated result.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use ipam_core::domain::{DeviceType, OctetRange, OwnerLabel, RegionStatus, SearchText};
use ipam_core::service::{SearchKind, SearchQuery};
use ipam_core::storage::SearchHit;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::dto::{HostResponse, PageResponse, RegionResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppQuery, QueryParser};
use crate::routes::preferences::AbsorbsCriteria;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// Search conditions (all must hold). Text is matched literally and ignoring case.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// Apply the criteria of this saved filter (explicit parameters win).
    pub(crate) filter_id: Option<String>,
    /// An address (`10.1.2.3`) or block (`10.1.0.0/16`): hosts inside it, regions overlapping it.
    ip_address: Option<String>,
    /// Hostname contains (hosts only).
    hostname: Option<String>,
    /// Region name contains (regions, and hosts by their region's name).
    region_name: Option<String>,
    /// Country code or name.
    country: Option<String>,
    /// Continent.
    continent: Option<String>,
    /// `Active` or `Reserved`.
    status: Option<String>,
    /// Device type (hosts only).
    device_type: Option<String>,
    /// Owner label or owner id (exact).
    owner: Option<String>,
    /// `region` or `host` to return one kind only.
    resource_type: Option<String>,
    /// Created at or after (RFC 3339 or `YYYY-MM-DD`).
    created_after: Option<String>,
    /// Created at or before (RFC 3339 or `YYYY-MM-DD`).
    created_before: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
    /// `true` searches anew instead of serving the result from the cache (default `false`).
    fresh: Option<String>,
    /// `tag.<key>=<value>` conditions.
    #[serde(flatten)]
    #[param(ignore)]
    extra: BTreeMap<String, String>,
}

/// One search result, tagged with its kind.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "resource_type", rename_all = "lowercase")]
pub(crate) enum SearchResult {
    /// A region.
    Region(RegionResponse),
    /// A host.
    Host(HostResponse),
}

fn kind(s: &str) -> Result<SearchKind, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "region" => Ok(SearchKind::Region),
        "host" => Ok(SearchKind::Host),
        _ => Err("must be region or host".into()),
    }
}

/// Says whether a search was served from the result cache (`hit`) or computed (`miss`); the
/// page envelope is the same as every list's, so the flag travels in a header.
const CACHE_HEADER: &str = "x-ipam-cache";

/// Searches your regions and hosts, newest first, with real totals. Results are cached for
/// 5 minutes, never stale after a change of yours (`?fresh=true` searches anew).
#[utoipa::path(get, path = "/ipam/search", tag = "search", params(SearchParams),
    responses((status = 200, body = PageResponse<SearchResult>,
        headers(("x-ipam-cache" = String, description = "`hit` (served from the cache) or `miss`"))),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn search(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(mut q): AppQuery<SearchParams>,
) -> ApiResult<([(&'static str, &'static str); 1], Json<PageResponse<SearchResult>>)> {
    if let Some(id) = q.filter_id.take() {
        q.absorb(crate::routes::preferences::saved_criteria(&s, &actor, &id).await?);
    }
    let mut p = QueryParser::new();
    let query = SearchQuery {
        kind: p.opt("resource_type", q.resource_type.as_ref(), kind),
        within: p.opt("ip_address", q.ip_address.as_ref(), OctetRange::parse),
        hostname: p.opt("hostname", q.hostname.as_ref(), SearchText::parse),
        region_name: p.opt("region_name", q.region_name.as_ref(), SearchText::parse),
        country: p.text("country", q.country.as_ref()),
        continent: p.text("continent", q.continent.as_ref()),
        status: p.opt("status", q.status.as_ref(), RegionStatus::parse),
        device_type: p.opt("device_type", q.device_type.as_ref(), DeviceType::parse),
        owner: p.opt("owner", q.owner.as_ref(), OwnerLabel::parse),
        tags: p.tags(
            &q.extra,
            "ip_address, hostname, region_name, country, continent, status, device_type, owner, resource_type, \
             created_after, created_before, filter_id, page, page_size, fresh",
        ),
        created: p
            .time_range(("created_after", q.created_after.as_ref()), ("created_before", q.created_before.as_ref())),
    };
    let page = p.page(q.page.as_ref(), q.page_size.as_ref());
    let fresh = p.flag("fresh", q.fresh.as_ref()).unwrap_or(false);
    p.finish()?;
    let catalog = s.ipam.catalog();
    let found = s
        .ipam
        .cached_search(&actor, &query, page, fresh, |hits| {
            PageResponse::from_page(hits, |hit| match hit {
                SearchHit::Region(r) => SearchResult::Region(RegionResponse::new(r, catalog)),
                SearchHit::Host(h) => SearchResult::Host(HostResponse::new(h, catalog)),
            })
        })
        .await?;
    Ok(([(CACHE_HEADER, if found.cached { "hit" } else { "miss" })], Json(found.value)))
}

impl AbsorbsCriteria for SearchParams {
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "ip_address" => &mut self.ip_address,
            "hostname" => &mut self.hostname,
            "region_name" => &mut self.region_name,
            "country" => &mut self.country,
            "continent" => &mut self.continent,
            "status" => &mut self.status,
            "device_type" => &mut self.device_type,
            "owner" => &mut self.owner,
            "resource_type" => &mut self.resource_type,
            "created_after" => &mut self.created_after,
            "created_before" => &mut self.created_before,
            _ => return None,
        })
    }

    fn tags(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.extra
    }
}

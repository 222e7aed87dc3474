//! Region request bodies and query strings, and their parsing into domain values.

use std::collections::BTreeMap;

use ipam_core::domain::{
    Description, NewRegion, OwnerLabel, Reason, RegionName, RegionPatch, RegionStatus, SearchText, TagChange, Tags,
};
use ipam_core::error::FieldErrors;
use ipam_core::service::RegionQuery;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::QueryParser;
use crate::routes::preferences::AbsorbsCriteria;

/// Allocate the lowest free `/24` of a country.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRegionRequest {
    /// Country code or name, case-insensitive (e.g. `USA`, `united states`).
    #[schema(example = "USA")]
    country: String,
    /// Name, 2–100 characters without `< > & " '`; unique per country, ignoring case.
    #[schema(example = "us-east-prod")]
    region_name: String,
    /// Free text, up to 500 characters.
    description: Option<String>,
    /// Tags: up to 50 keys of `[A-Za-z0-9_-]`, string values up to 500 characters.
    #[schema(value_type = Option<HashMap<String, String>>)]
    tags: Option<Value>,
    /// Owner label (default: your username).
    owner: Option<String>,
}

fn owner(e: &mut FieldErrors, raw: Option<String>) -> Option<OwnerLabel> {
    raw.and_then(|o| e.check("owner", OwnerLabel::parse(&o)))
}

impl CreateRegionRequest {
    /// The country key and the new region.
    pub(crate) fn parse(self) -> Result<(String, NewRegion), ApiError> {
        let mut e = FieldErrors::new();
        if self.country.trim().is_empty() {
            e.add("country", "must not be empty");
        }
        let name = e.check("region_name", RegionName::parse(&self.region_name));
        let description = match &self.description {
            Some(d) => e.check("description", Description::parse(d)),
            None => Some(Description::empty()),
        };
        let tags = match &self.tags {
            Some(t) => e.check("tags", Tags::parse(t)),
            None => Some(Tags::empty()),
        };
        let owner = owner(&mut e, self.owner);
        match (name, description, tags) {
            (Some(name), Some(description), Some(tags)) if e.is_empty() => {
                Ok((self.country, NewRegion { name, description, owner, tags }))
            }
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// Change some fields of a region. Absent (or `null`) fields are left alone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRegionRequest {
    /// New name.
    region_name: Option<String>,
    /// New description (`""` clears it).
    description: Option<String>,
    /// New owner label.
    owner: Option<String>,
    /// `Active` or `Reserved` (regions are retired with DELETE).
    status: Option<String>,
    /// New tags; replace all existing tags.
    #[schema(value_type = Option<HashMap<String, String>>)]
    tags: Option<Value>,
    /// Why (kept in the audit trail), 5–500 characters.
    reason: Option<String>,
}

impl UpdateRegionRequest {
    /// The patch and the optional reason.
    pub(crate) fn parse(self) -> Result<(RegionPatch, Option<Reason>), ApiError> {
        let mut e = FieldErrors::new();
        let patch = RegionPatch {
            name: self.region_name.and_then(|v| e.check("region_name", RegionName::parse(&v))),
            description: self.description.and_then(|v| e.check("description", Description::parse(&v))),
            owner: owner(&mut e, self.owner),
            status: self.status.and_then(|v| e.check("status", RegionStatus::parse(&v))),
            tags: self.tags.and_then(|v| e.check("tags", Tags::parse(&v))).map(TagChange::replace),
        };
        let reason = self.reason.and_then(|v| e.check("reason", Reason::parse(&v)));
        if e.is_empty() { Ok((patch, reason)) } else { Err(ApiError::fields(e)) }
    }
}

/// Why and how to retire a region (query string or JSON body).
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetireParams {
    /// Why (kept in the audit trail), 5–500 characters. Required.
    reason: Option<String>,
    /// `true` to release the region's hosts as well; without it a region with hosts is refused.
    #[param(value_type = Option<bool>)]
    #[schema(value_type = Option<bool>)]
    cascade: Option<Value>,
}

impl RetireParams {
    /// The reason and the cascade flag; body values win over query values.
    pub(crate) fn parse(query: Self, body: Option<Self>) -> Result<(Reason, bool), ApiError> {
        let body = body.unwrap_or_default();
        let mut e = FieldErrors::new();
        let reason = match body.reason.or(query.reason) {
            Some(r) => e.check("reason", Reason::parse(&r)),
            None => {
                e.add("reason", "is required (why the region is retired)");
                None
            }
        };
        let cascade = match body.cascade.or(query.cascade) {
            None => false,
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(_) => {
                e.add("cascade", "must be true or false");
                false
            }
        };
        match reason {
            Some(r) if e.is_empty() => Ok((r, cascade)),
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// Filters and pagination of the region list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RegionListParams {
    /// Apply the criteria of this saved filter (explicit parameters win).
    pub(crate) filter_id: Option<String>,
    /// Country code or name.
    country: Option<String>,
    /// Continent, e.g. `Europe`.
    continent: Option<String>,
    /// `Active` or `Reserved`.
    status: Option<String>,
    /// Owner label or owner id (exact).
    owner: Option<String>,
    /// Name contains this text (case-insensitive, literal).
    name: Option<String>,
    /// Created at or after (RFC 3339 or `YYYY-MM-DD`).
    created_after: Option<String>,
    /// Created at or before (RFC 3339 or `YYYY-MM-DD`).
    created_before: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
    /// `tag.<key>=<value>` conditions (all must hold).
    #[serde(flatten)]
    #[param(ignore)]
    extra: BTreeMap<String, String>,
}

impl RegionListParams {
    pub(crate) fn parse(self) -> Result<(RegionQuery, ipam_core::domain::PageRequest), ApiError> {
        let mut p = QueryParser::new();
        let query = RegionQuery {
            country: p.text("country", self.country.as_ref()),
            continent: p.text("continent", self.continent.as_ref()),
            status: p.opt("status", self.status.as_ref(), RegionStatus::parse),
            owner: p.opt("owner", self.owner.as_ref(), OwnerLabel::parse),
            name_contains: p.opt("name", self.name.as_ref(), SearchText::parse),
            tags: p.tags(
                &self.extra,
                "country, continent, status, owner, name, created_after, created_before, filter_id, page, page_size",
            ),
            created: p.time_range(
                ("created_after", self.created_after.as_ref()),
                ("created_before", self.created_before.as_ref()),
            ),
        };
        let page = p.page(self.page.as_ref(), self.page_size.as_ref());
        p.finish()?;
        Ok((query, page))
    }
}

/// `?country=` of the preview.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewParams {
    /// Country code or name.
    pub(crate) country: Option<String>,
}

impl AbsorbsCriteria for RegionListParams {
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "country" => &mut self.country,
            "continent" => &mut self.continent,
            "status" => &mut self.status,
            "owner" => &mut self.owner,
            "name" => &mut self.name,
            "created_after" => &mut self.created_after,
            "created_before" => &mut self.created_before,
            _ => return None,
        })
    }

    fn tags(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.extra
    }
}

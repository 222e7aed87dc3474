//! Host request bodies and query strings, and their parsing into domain values.

use std::collections::BTreeMap;

use ipam_core::domain::{
    Application, CostCenter, DeviceType, HostDetails, HostId, HostPatch, HostStatus, Hostname, HostnamePrefix, NewHost,
    Notes, OsType, OwnerLabel, PageRequest, Purpose, Reason, RegionId, SearchText, TagChange, Tags,
};
use ipam_core::error::FieldErrors;
use ipam_core::service::{BatchRequest, HostQuery};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::dto::double_option;
use crate::error::ApiError;
use crate::extract::{QueryParser, known_id, shorten};
use crate::routes::preferences::AbsorbsCriteria;

/// The optional descriptive fields shared by create and batch (inlined in both bodies, since
/// serde cannot combine `flatten` with `deny_unknown_fields`).
macro_rules! detail_fields {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        $vis struct $name {
            $($body)*
            /// `VM`, `Container`, `Physical`, `Network`, `Storage` or `Other`.
            device_type: Option<String>,
            /// Operating system, up to 100 characters.
            os_type: Option<String>,
            /// Application, up to 200 characters.
            application: Option<String>,
            /// Cost center, up to 100 characters.
            cost_center: Option<String>,
            /// Purpose, up to 500 characters.
            purpose: Option<String>,
            /// Notes, up to 2000 characters.
            notes: Option<String>,
        }

        impl $name {
            fn details(&self) -> DetailFields<'_> {
                DetailFields {
                    device_type: self.device_type.as_ref(),
                    os_type: self.os_type.as_ref(),
                    application: self.application.as_ref(),
                    cost_center: self.cost_center.as_ref(),
                    purpose: self.purpose.as_ref(),
                    notes: self.notes.as_ref(),
                }
            }
        }
    };
}

struct DetailFields<'a> {
    device_type: Option<&'a String>,
    os_type: Option<&'a String>,
    application: Option<&'a String>,
    cost_center: Option<&'a String>,
    purpose: Option<&'a String>,
    notes: Option<&'a String>,
}

fn optional<T>(
    e: &mut FieldErrors,
    field: &str,
    raw: Option<&String>,
    parse: fn(&str) -> Result<Option<T>, String>,
) -> Option<T> {
    raw.and_then(|v| e.check(field, parse(v)).flatten())
}

impl DetailFields<'_> {
    fn parse(&self, e: &mut FieldErrors) -> HostDetails {
        HostDetails {
            device_type: optional(e, "device_type", self.device_type, parse_device),
            os_type: optional(e, "os_type", self.os_type, OsType::parse_optional),
            application: optional(e, "application", self.application, Application::parse_optional),
            cost_center: optional(e, "cost_center", self.cost_center, CostCenter::parse_optional),
            purpose: optional(e, "purpose", self.purpose, Purpose::parse_optional),
            notes: optional(e, "notes", self.notes, Notes::parse_optional),
        }
    }
}

fn tags(e: &mut FieldErrors, raw: Option<&Value>) -> Tags {
    raw.and_then(|t| e.check("tags", Tags::parse(t))).unwrap_or_default()
}

detail_fields! {
    /// Allocate the lowest free address of a region.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct CreateHostRequest {
        /// Parent region (must be Active).
        region_id: String,
        /// RFC 1123 hostname (lower-cased), unique in the region.
        #[schema(example = "web-01")]
        hostname: String,
        /// Owner label (default: your username).
        owner: Option<String>,
        /// Tags.
        #[schema(value_type = Option<HashMap<String, String>>)]
        tags: Option<Value>,
    }
}

impl CreateHostRequest {
    pub(crate) fn parse(self) -> Result<(RegionId, NewHost), ApiError> {
        let region = known_id::<RegionId>(&self.region_id)?;
        let mut e = FieldErrors::new();
        let hostname = e.check("hostname", Hostname::parse(&self.hostname));
        let details = self.details().parse(&mut e);
        let owner = self.owner.and_then(|o| e.check("owner", OwnerLabel::parse(&o)));
        let tags = tags(&mut e, self.tags.as_ref());
        match hostname {
            Some(hostname) if e.is_empty() => Ok((region, NewHost { hostname, details, owner, tags })),
            _ => Err(ApiError::fields(e)),
        }
    }
}

detail_fields! {
    /// Allocate up to 100 hosts at once, named `{hostname_prefix}-{NNN}` (all or nothing).
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct BatchHostRequest {
        /// Parent region (must be Active).
        region_id: String,
        /// How many hosts, 1–100.
        count: u32,
        /// Name prefix: one label of `a-z 0-9 -`; numbering continues after existing `{prefix}-NNN` names.
        #[schema(example = "web")]
        hostname_prefix: String,
        /// Owner label (default: your username).
        owner: Option<String>,
        /// Tags for every host.
        #[schema(value_type = Option<HashMap<String, String>>)]
        tags: Option<Value>,
    }
}

impl BatchHostRequest {
    pub(crate) fn parse(self) -> Result<BatchRequest, ApiError> {
        let region = known_id::<RegionId>(&self.region_id)?;
        let mut e = FieldErrors::new();
        if !(1..=100).contains(&self.count) {
            e.add("count", "must be between 1 and 100");
        }
        let prefix = e.check("hostname_prefix", HostnamePrefix::parse(&self.hostname_prefix));
        let details = self.details().parse(&mut e);
        let owner = self.owner.and_then(|o| e.check("owner", OwnerLabel::parse(&o)));
        let tags = tags(&mut e, self.tags.as_ref());
        match prefix {
            Some(prefix) if e.is_empty() => {
                Ok(BatchRequest { region_id: region, count: self.count, prefix, details, owner, tags })
            }
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// Change some fields of a host. Absent fields are left alone; `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateHostRequest {
    /// New hostname (unique in the region).
    hostname: Option<String>,
    /// New device type, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    device_type: Option<Option<String>>,
    /// New OS, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    os_type: Option<Option<String>>,
    /// New application, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    application: Option<Option<String>>,
    /// New cost center, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    cost_center: Option<Option<String>>,
    /// New purpose, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    purpose: Option<Option<String>>,
    /// New notes, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    notes: Option<Option<String>>,
    /// New owner label.
    owner: Option<String>,
    /// `Active` or `Reserved` (hosts are released with DELETE).
    status: Option<String>,
    /// New tags; replace all existing tags.
    #[schema(value_type = Option<HashMap<String, String>>)]
    tags: Option<Value>,
    /// Why (kept in the audit trail), 5–500 characters.
    reason: Option<String>,
}

fn clearable<T>(
    e: &mut FieldErrors,
    field: &str,
    raw: Option<Option<String>>,
    parse: fn(&str) -> Result<Option<T>, String>,
) -> Option<Option<T>> {
    match raw {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => e.check(field, parse(&v)),
    }
}

fn parse_device(raw: &str) -> Result<Option<DeviceType>, String> {
    if raw.trim().is_empty() { Ok(None) } else { DeviceType::parse(raw).map(Some) }
}

impl UpdateHostRequest {
    pub(crate) fn parse(self) -> Result<(HostPatch, Option<Reason>), ApiError> {
        let mut e = FieldErrors::new();
        let patch = HostPatch {
            hostname: self.hostname.and_then(|v| e.check("hostname", Hostname::parse(&v))),
            device_type: clearable(&mut e, "device_type", self.device_type, parse_device),
            os_type: clearable(&mut e, "os_type", self.os_type, OsType::parse_optional),
            application: clearable(&mut e, "application", self.application, Application::parse_optional),
            cost_center: clearable(&mut e, "cost_center", self.cost_center, CostCenter::parse_optional),
            purpose: clearable(&mut e, "purpose", self.purpose, Purpose::parse_optional),
            notes: clearable(&mut e, "notes", self.notes, Notes::parse_optional),
            owner: self.owner.and_then(|v| e.check("owner", OwnerLabel::parse(&v))),
            status: self.status.and_then(|v| e.check("status", HostStatus::parse(&v))),
            tags: self.tags.and_then(|v| e.check("tags", Tags::parse(&v))).map(TagChange::replace),
        };
        let reason = self.reason.and_then(|v| e.check("reason", Reason::parse(&v)));
        if e.is_empty() { Ok((patch, reason)) } else { Err(ApiError::fields(e)) }
    }
}

/// Why a host is released (query string or JSON body).
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseParams {
    /// Why (kept in the audit trail), 5–500 characters. Required.
    reason: Option<String>,
}

impl ReleaseParams {
    pub(crate) fn parse(query: Self, body: Option<Self>) -> Result<Reason, ApiError> {
        match body.and_then(|b| b.reason).or(query.reason) {
            Some(r) => Reason::parse(&r).map_err(|e| ApiError::invalid("reason", e)),
            None => Err(ApiError::invalid("reason", "is required (why the host is released)")),
        }
    }
}

/// Look up to 100 addresses at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkLookupRequest {
    /// Addresses inside 10.0.0.0/8 (1–100).
    pub(crate) ip_addresses: Vec<String>,
}

/// Release up to 100 hosts at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkReleaseRequest {
    /// Host ids (1–100; duplicates are released once).
    host_ids: Vec<String>,
    /// Why (kept in the audit trail), 5–500 characters.
    reason: String,
}

/// A parsed bulk release: valid ids, ids that cannot exist, the reason.
pub(crate) struct BulkRelease {
    pub(crate) ids: Vec<HostId>,
    pub(crate) malformed: Vec<String>,
    pub(crate) reason: Reason,
    pub(crate) requested: usize,
}

impl BulkReleaseRequest {
    pub(crate) fn parse(self) -> Result<BulkRelease, ApiError> {
        let mut e = FieldErrors::new();
        if self.host_ids.is_empty() || self.host_ids.len() > 100 {
            e.add("host_ids", format!("must hold 1 to 100 ids (got {})", self.host_ids.len()));
        }
        let reason = e.check("reason", Reason::parse(&self.reason));
        let (mut ids, mut malformed) = (Vec::new(), Vec::new());
        for raw in &self.host_ids {
            match HostId::parse(raw) {
                // Repeats are the service's to drop (`Ipam::bulk_release`), in request order.
                Some(id) => ids.push(id),
                None if !malformed.contains(&shorten(raw)) => malformed.push(shorten(raw)),
                None => {}
            }
        }
        match reason {
            Some(reason) if e.is_empty() => Ok(BulkRelease { requested: self.host_ids.len(), ids, malformed, reason }),
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// Filters and pagination of the host list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HostListParams {
    /// Apply the criteria of this saved filter (explicit parameters win).
    pub(crate) filter_id: Option<String>,
    /// Only hosts of this region.
    region_id: Option<String>,
    /// `Active` or `Reserved`.
    status: Option<String>,
    /// Hostname contains this text (case-insensitive, literal).
    hostname: Option<String>,
    /// Device type.
    device_type: Option<String>,
    /// Owner label or owner id (exact).
    owner: Option<String>,
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

impl HostListParams {
    pub(crate) fn parse(self) -> Result<(HostQuery, PageRequest), ApiError> {
        let mut p = QueryParser::new();
        let query = HostQuery {
            region_id: p.opt("region_id", self.region_id.as_ref(), |s| {
                RegionId::parse(s).ok_or_else(|| "is not a region id".to_owned())
            }),
            status: p.opt("status", self.status.as_ref(), HostStatus::parse),
            hostname_contains: p.opt("hostname", self.hostname.as_ref(), SearchText::parse),
            device_type: p.opt("device_type", self.device_type.as_ref(), DeviceType::parse),
            owner: p.opt("owner", self.owner.as_ref(), OwnerLabel::parse),
            tags: p.tags(
                &self.extra,
                "region_id, status, hostname, device_type, owner, created_after, created_before, filter_id, page, page_size",
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

/// `?region_id=` of the preview.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewParams {
    /// Region id.
    pub(crate) region_id: Option<String>,
}

impl AbsorbsCriteria for HostListParams {
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "region_id" => &mut self.region_id,
            "status" => &mut self.status,
            "hostname" => &mut self.hostname,
            "device_type" => &mut self.device_type,
            "owner" => &mut self.owner,
            "created_after" => &mut self.created_after,
            "created_before" => &mut self.created_before,
            _ => return None,
        })
    }

    fn tags(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.extra
    }
}

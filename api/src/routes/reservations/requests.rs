//! Reservation request bodies and query strings.

use ipam_core::domain::{
    Application, Description, DeviceType, HostDetails, Hostname, NewHost, NewRegion, NewReservation, OsType,
    OwnerLabel, PageRequest, Purpose, RegionName, ReservationKind, ReservationReason, ReservationStatus, Tags,
};
use ipam_core::error::FieldErrors;
use ipam_core::storage::ReservationFilter;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::QueryParser;

/// Reserve a `/24` block or one host address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateReservationRequest {
    /// `region` (a `/24`) or `host` (one address).
    #[schema(example = "region")]
    resource_type: String,
    /// Second octet, 0–255 (must belong to a non-reserved country).
    #[schema(example = 99)]
    x_octet: i64,
    /// Third octet, 0–255.
    #[schema(example = 99)]
    y_octet: i64,
    /// Fourth octet, 1–254; hosts only.
    z_octet: Option<i64>,
    /// Why, 1–500 characters.
    #[schema(example = "Migration test")]
    reason: String,
    /// Days until it expires, 1–90; absent: never.
    expires_in_days: Option<i64>,
}

fn octet(e: &mut FieldErrors, field: &str, v: i64, lo: i64, hi: i64) -> Option<u8> {
    if (lo..=hi).contains(&v) {
        u8::try_from(v).ok()
    } else {
        e.add(field, format!("must be between {lo} and {hi}"));
        None
    }
}

impl CreateReservationRequest {
    pub(crate) fn parse(self) -> Result<NewReservation, ApiError> {
        let mut e = FieldErrors::new();
        let kind = e.check("resource_type", ReservationKind::parse(&self.resource_type));
        let x = octet(&mut e, "x_octet", self.x_octet, 0, 255);
        let y = octet(&mut e, "y_octet", self.y_octet, 0, 255);
        let z = match (kind, self.z_octet) {
            (Some(ReservationKind::Host), Some(z)) => octet(&mut e, "z_octet", z, 1, 254),
            (Some(ReservationKind::Host), None) => {
                e.add("z_octet", "is required for host reservations (1-254)");
                None
            }
            (Some(ReservationKind::Region), Some(_)) => {
                e.add("z_octet", "must not be given for region reservations");
                None
            }
            _ => None,
        };
        let reason = e.check("reason", ReservationReason::parse(&self.reason));
        let days = match self.expires_in_days {
            None => None,
            Some(d) if (1..=90).contains(&d) => u32::try_from(d).ok(),
            Some(_) => {
                e.add("expires_in_days", "must be between 1 and 90 (omit it for no expiry)");
                None
            }
        };
        match (kind, x, y, reason) {
            (Some(kind), Some(x), Some(y), Some(reason)) if e.is_empty() => {
                Ok(NewReservation { kind, x, y, z, reason, expires_in_days: days })
            }
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// Filters and pagination of the reservation list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReservationListParams {
    /// `active`, `expired` or `converted` (evaluated now: an overdue reservation is expired).
    status: Option<String>,
    /// `region` or `host`.
    resource_type: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

impl ReservationListParams {
    pub(crate) fn parse(self) -> Result<(ReservationFilter, PageRequest), ApiError> {
        let mut p = QueryParser::new();
        let filter = ReservationFilter {
            status: p.opt("status", self.status.as_ref(), ReservationStatus::parse),
            kind: p.opt("resource_type", self.resource_type.as_ref(), ReservationKind::parse),
        };
        let page = p.page(self.page.as_ref(), self.page_size.as_ref());
        p.finish()?;
        Ok((filter, page))
    }
}

/// The body of a conversion, by the reservation's type (documentation only: the handler reads
/// the reservation first and then parses the body as the one its type needs).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum ConvertRequest {
    /// For a region reservation.
    Region(ConvertRegionRequest),
    /// For a host reservation.
    Host(ConvertHostRequest),
}

/// Convert a region reservation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConvertRegionRequest {
    /// Name of the new region.
    region_name: String,
    /// Description.
    description: Option<String>,
    /// Owner label (default: your username).
    owner: Option<String>,
    /// Tags.
    #[schema(value_type = Option<HashMap<String, String>>)]
    tags: Option<Value>,
}

impl ConvertRegionRequest {
    pub(crate) fn parse(self) -> Result<NewRegion, ApiError> {
        let mut e = FieldErrors::new();
        let name = e.check("region_name", RegionName::parse(&self.region_name));
        let description = match &self.description {
            Some(d) => e.check("description", Description::parse(d)),
            None => Some(Description::empty()),
        };
        let owner = self.owner.and_then(|o| e.check("owner", OwnerLabel::parse(&o)));
        let tags = self.tags.map(|t| e.check("tags", Tags::parse(&t))).unwrap_or(Some(Tags::empty()));
        match (name, description, tags) {
            (Some(name), Some(description), Some(tags)) if e.is_empty() => {
                Ok(NewRegion { name, description, owner, tags })
            }
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// Convert a host reservation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConvertHostRequest {
    /// Hostname of the new host.
    hostname: String,
    /// Device type.
    device_type: Option<String>,
    /// Operating system.
    os_type: Option<String>,
    /// Application.
    application: Option<String>,
    /// Owner label (default: your username).
    owner: Option<String>,
    /// Purpose.
    purpose: Option<String>,
    /// Tags.
    #[schema(value_type = Option<HashMap<String, String>>)]
    tags: Option<Value>,
}

impl ConvertHostRequest {
    pub(crate) fn parse(self) -> Result<NewHost, ApiError> {
        let mut e = FieldErrors::new();
        let hostname = e.check("hostname", Hostname::parse(&self.hostname));
        let details = HostDetails {
            device_type: self.device_type.and_then(|v| e.check("device_type", DeviceType::parse(&v))),
            os_type: self.os_type.and_then(|v| e.check("os_type", OsType::parse_optional(&v)).flatten()),
            application: self
                .application
                .and_then(|v| e.check("application", Application::parse_optional(&v)).flatten()),
            purpose: self.purpose.and_then(|v| e.check("purpose", Purpose::parse_optional(&v)).flatten()),
            ..HostDetails::default()
        };
        let owner = self.owner.and_then(|o| e.check("owner", OwnerLabel::parse(&o)));
        let tags = self.tags.map(|t| e.check("tags", Tags::parse(&t))).unwrap_or(Some(Tags::empty()));
        match (hostname, tags) {
            (Some(hostname), Some(tags)) if e.is_empty() => Ok(NewHost { hostname, details, owner, tags }),
            _ => Err(ApiError::fields(e)),
        }
    }
}

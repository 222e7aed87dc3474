//! Reservations: an address (a /24 block or one host address) set aside by a user. While a
//! reservation is active and unexpired the allocator never hands its address out; it can be
//! converted into the real allocation.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::address::{host_ip, region_cidr};
use super::audit::{AuditAction, AuditEvent};
use super::ids::{ReservationId, UserId, Username};
use super::text::ReservationReason;
use crate::auth::Actor;

/// Longest reservation.
pub const MAX_DAYS: u32 = 90;

/// What is reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationKind {
    /// A `/24` block `10.X.Y.0/24`.
    Region,
    /// One address `10.X.Y.Z`.
    Host,
}

impl ReservationKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Host => "host",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "region" => Ok(Self::Region),
            "host" => Ok(Self::Host),
            _ => Err("must be region or host".into()),
        }
    }
}

/// Lifecycle of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationStatus {
    /// Holds its address.
    Active,
    /// Past its expiry; holds nothing.
    Expired,
    /// Turned into an allocation.
    Converted,
}

impl ReservationStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Converted => "converted",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(Self::Active),
            "expired" => Ok(Self::Expired),
            "converted" => Ok(Self::Converted),
            _ => Err("must be one of: active, expired, converted".into()),
        }
    }
}

/// What a client asks to reserve.
#[derive(Debug, Clone)]
pub struct NewReservation {
    /// Block or address.
    pub kind: ReservationKind,
    /// Second octet.
    pub x: u8,
    /// Third octet.
    pub y: u8,
    /// Fourth octet (hosts only, 1..=254).
    pub z: Option<u8>,
    /// Why.
    pub reason: ReservationReason,
    /// Days until it expires (1..=90); `None` never expires.
    pub expires_in_days: Option<u32>,
}

/// The audit reason of an automatic expiry.
pub const EXPIRED_AUTOMATICALLY: &str = "Reservation expired automatically";

/// A conversion decided: the reservation as it is afterwards, and the audit event that records
/// it (and so raises `reservation.converted`). A backend persists both in one unit of work.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// The reservation, converted.
    pub reservation: Reservation,
    /// Its `convert` audit event; the snapshot names the allocation it became (`converted_to`).
    pub audit: AuditEvent,
}

/// A stored reservation.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// Identifier.
    pub id: ReservationId,
    /// Namespace.
    pub user_id: UserId,
    /// Block or address.
    pub kind: ReservationKind,
    /// Second octet.
    pub x: u8,
    /// Third octet.
    pub y: u8,
    /// Fourth octet (hosts only).
    pub z: Option<u8>,
    /// Why.
    pub reason: ReservationReason,
    /// Stored status (see [`Reservation::status_at`] for the effective one).
    pub status: ReservationStatus,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Username of the creator.
    pub created_by: Username,
    /// When it was converted.
    pub converted_at: Option<DateTime<Utc>>,
    /// The allocation it became.
    pub converted_to: Option<String>,
    /// Free-form metadata (always an object).
    pub metadata: Value,
}

impl Reservation {
    /// A new active reservation.
    pub fn new(user: &UserId, by: &Username, r: &NewReservation, now: DateTime<Utc>) -> Self {
        Self {
            id: ReservationId::generate(),
            user_id: user.clone(),
            kind: r.kind,
            x: r.x,
            y: r.y,
            z: if r.kind == ReservationKind::Host { r.z } else { None },
            reason: r.reason.clone(),
            status: ReservationStatus::Active,
            expires_at: r.expires_in_days.map(|d| now + Duration::days(i64::from(d))),
            created_at: now,
            created_by: by.clone(),
            converted_at: None,
            converted_to: None,
            metadata: json!({}),
        }
    }

    /// The status at `now`: an active reservation past its expiry is expired, even before the
    /// hourly job records it.
    pub fn status_at(&self, now: DateTime<Utc>) -> ReservationStatus {
        match (self.status, self.expires_at) {
            (ReservationStatus::Active, Some(t)) if t <= now => ReservationStatus::Expired,
            (s, _) => s,
        }
    }

    /// True when it keeps its address from being allocated at `now`.
    pub fn blocks(&self, now: DateTime<Utc>) -> bool {
        self.status_at(now) == ReservationStatus::Active
    }

    /// Refuses a conversion into a `kind` allocation unless this reservation is active at `now`
    /// and of that kind.
    pub fn check_convertible(&self, kind: ReservationKind, now: DateTime<Utc>) -> Result<(), crate::IpamError> {
        let status = self.status_at(now);
        if status != ReservationStatus::Active {
            return Err(crate::IpamError::conflict(
                crate::error::ConflictKind::Conflict,
                format!("reservation {} is {}; only active reservations can be converted", self.id, status.as_str()),
                json!({ "reservation_id": self.id, "status": status.as_str() }),
            ));
        }
        if self.kind != kind {
            return Err(crate::IpamError::invalid(
                "resource_type",
                format!("reservation {} is a {} reservation", self.id, self.kind.as_str()),
            ));
        }
        Ok(())
    }

    /// Converts this reservation into the allocation `to` (a region or host id) at `now`, by
    /// `actor`. The caller has checked it with [`Reservation::check_convertible`].
    pub fn convert(&self, to: &str, actor: &Actor, now: DateTime<Utc>) -> Conversion {
        let mut converted = self.clone();
        converted.status = ReservationStatus::Converted;
        converted.converted_at = Some(now);
        converted.converted_to = Some(to.to_owned());
        let mut audit = AuditEvent::reservation(AuditAction::Convert, &converted, actor, None, now);
        audit.snapshot["converted_to"] = json!(to);
        Conversion { reservation: converted, audit }
    }

    /// The audit event of its creation by `actor` (the reason is the reservation's own), which
    /// raises `reservation.created`.
    pub fn reserve_event(&self, actor: &Actor, now: DateTime<Utc>) -> AuditEvent {
        AuditEvent::reservation(AuditAction::Reserve, self, actor, Some(self.reason.to_string()), now)
    }

    /// The audit event of its cancellation by `actor` (it shows the reservation as it was).
    pub fn cancel_event(&self, actor: &Actor, now: DateTime<Utc>) -> AuditEvent {
        AuditEvent::reservation(AuditAction::Cancel, self, actor, None, now)
    }

    /// The audit event of its automatic expiry at `now` (by `system`), which raises
    /// `reservation.expired`. The snapshot shows the reservation as it was when it lapsed,
    /// whatever status the sweep has already stored.
    pub fn expiry_event(&self, now: DateTime<Utc>) -> AuditEvent {
        let mut lapsed = self.clone();
        lapsed.status = ReservationStatus::Active;
        let reason = Some(EXPIRED_AUTOMATICALLY.to_owned());
        AuditEvent::reservation(AuditAction::Expire, &lapsed, &Actor::system(), reason, now)
    }

    /// `10.X.Y.0/24` or `10.X.Y.Z`.
    pub fn address(&self) -> String {
        match (self.kind, self.z) {
            (ReservationKind::Host, Some(z)) => host_ip(self.x, self.y, z),
            _ => region_cidr(self.x, self.y),
        }
    }

    /// The public fields, as kept in audit snapshots.
    pub fn snapshot(&self, now: DateTime<Utc>) -> Value {
        json!({
            "reservation_id": self.id,
            "resource_type": self.kind.as_str(),
            "x_octet": self.x,
            "y_octet": self.y,
            "z_octet": self.z,
            "reserved_address": self.address(),
            "reason": self.reason,
            "status": self.status_at(now).as_str(),
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(days: Option<u32>, now: DateTime<Utc>) -> Reservation {
        let r = NewReservation {
            kind: ReservationKind::Host,
            x: 5,
            y: 23,
            z: Some(100),
            reason: ReservationReason::parse("for the new db").unwrap(),
            expires_in_days: days,
        };
        Reservation::new(&UserId::parse("u1").unwrap(), &Username::parse("alice").unwrap(), &r, now)
    }

    #[test]
    fn expiry_is_evaluated_at_read_time() {
        let now = Utc::now();
        let r = sample(Some(1), now);
        assert_eq!(r.status_at(now), ReservationStatus::Active);
        assert!(r.blocks(now + Duration::hours(23)));
        assert_eq!(r.status_at(now + Duration::days(1)), ReservationStatus::Expired);
        assert!(!r.blocks(now + Duration::days(2)));
        assert!(sample(None, now).blocks(now + Duration::days(10_000)), "no expiry means never");
    }

    #[test]
    fn a_conversion_records_where_the_reservation_went_and_audits_it() {
        let now = Utc::now();
        let r = sample(Some(7), now - Duration::hours(1));
        let actor = Actor::system();
        let Conversion { reservation, audit } = r.convert("H1", &actor, now);
        assert_eq!(reservation.status, ReservationStatus::Converted);
        assert_eq!(reservation.converted_at, Some(now));
        assert_eq!(reservation.converted_to.as_deref(), Some("H1"));
        assert_eq!((reservation.id.clone(), reservation.reason.clone()), (r.id.clone(), r.reason.clone()));
        assert_eq!(audit.action, AuditAction::Convert);
        assert_eq!(audit.resource_id, r.id.to_string());
        assert_eq!(audit.snapshot["status"], "converted");
        assert_eq!(audit.snapshot["converted_to"], "H1");
        assert_eq!(audit.reason, None);
        assert_eq!(audit.timestamp, now);
        let event = crate::domain::DomainEvent::from_audit(&audit).unwrap();
        assert_eq!(event.event_type, crate::domain::EventType::ReservationConverted);
        assert_eq!(event.data["status"], "converted");
    }

    #[test]
    fn lifecycle_audits_carry_their_reasons() {
        let now = Utc::now();
        let r = sample(Some(1), now - Duration::days(2));
        let actor = Actor::system();
        let reserved = r.reserve_event(&actor, now);
        assert_eq!((reserved.action, reserved.reason.as_deref()), (AuditAction::Reserve, Some("for the new db")));
        let cancelled = r.cancel_event(&actor, now);
        assert_eq!((cancelled.action, cancelled.reason), (AuditAction::Cancel, None));
        let mut stored = r.clone();
        stored.status = ReservationStatus::Expired;
        let expired = stored.expiry_event(now);
        assert_eq!(expired.action, AuditAction::Expire);
        assert_eq!(expired.reason.as_deref(), Some(EXPIRED_AUTOMATICALLY));
        assert_eq!(expired.actor_id.as_str(), "system");
        assert_eq!(expired.snapshot["status"], "expired", "lapsed at its expiry, evaluated at the sweep");
    }

    #[test]
    fn addresses_render_by_kind() {
        let now = Utc::now();
        assert_eq!(sample(None, now).address(), "10.5.23.100");
        let mut block = sample(None, now);
        block.kind = ReservationKind::Region;
        block.z = None;
        assert_eq!(block.address(), "10.5.23.0/24");
    }
}

//! Reservations: an address (a /24 block or one host address) set aside by a user. While a
//! reservation is active and unexpired the allocator never hands its address out; it can be
//! converted into the real allocation.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::address::{host_ip, region_cidr};
use super::ids::{ReservationId, UserId, Username};
use super::text::ReservationReason;

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
    fn addresses_render_by_kind() {
        let now = Utc::now();
        assert_eq!(sample(None, now).address(), "10.5.23.100");
        let mut block = sample(None, now);
        block.kind = ReservationKind::Region;
        block.z = None;
        assert_eq!(block.address(), "10.5.23.0/24");
    }
}

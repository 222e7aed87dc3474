//! Host allocation rules, decided once for every backend: which host addresses an allocation
//! may take, which reservation it may convert, and whose name the new hosts carry.
//!
//! A backend reads the state these rules need (the region's occupancy bitmap, the active
//! reservations), asks here, and persists the answer; it never restates a rule.

use std::collections::HashSet;

use super::country::{FIRST_HOST_Z, HOST_Z, LAST_HOST_Z};
use super::region::Region;
use super::reservation::Reservation;
use super::slots::SlotMap;
use super::text::OwnerLabel;
use crate::auth::Actor;
use crate::error::IpamError;

/// Refuses to convert `reservation` into a host of `region` unless it lies in the region's
/// block (a validation error on `region_id`).
pub fn reservation_in_region(reservation: &Reservation, region: &Region) -> Result<(), IpamError> {
    if (reservation.x, reservation.y) == (region.x, region.y) {
        return Ok(());
    }
    Err(IpamError::invalid("region_id", format!("reservation {} is not in region {}", reservation.id, region.cidr())))
}

/// True when the address a host reservation holds is already allocated in `hosts` (the
/// region's occupancy bitmap), so converting it can only fail.
pub fn reserved_address_taken(hosts: &SlotMap, reservation: &Reservation) -> bool {
    reservation.z.is_some_and(|z| hosts.is_set(z))
}

/// The host addresses a conversion must skip: every one but the reserved address, so the
/// ordinary "lowest free address" search can only land on it.
pub fn blocked_for_conversion(reserved_z: Option<u8>) -> HashSet<u8> {
    HOST_Z.filter(|z| Some(*z) != reserved_z).collect()
}

/// The owner label of what an allocation creates: the one requested, else the caller's
/// username.
pub fn owner_or_caller(requested: Option<&OwnerLabel>, actor: &Actor) -> OwnerLabel {
    requested.cloned().unwrap_or_else(|| OwnerLabel::from_stored(actor.username.to_string()))
}

/// The lowest free host address of a region's bitmap that `blocked` does not veto.
pub fn lowest_free_host(hosts: &SlotMap, blocked: impl Fn(u8) -> bool) -> Option<u8> {
    hosts.lowest_free(FIRST_HOST_Z, LAST_HOST_Z, blocked)
}

/// The `n` lowest free host addresses of a region's bitmap that `blocked` does not veto
/// (fewer when the region has not that many).
pub fn lowest_free_hosts(hosts: &SlotMap, n: usize, blocked: impl Fn(u8) -> bool) -> Vec<u8> {
    hosts.lowest_free_n(FIRST_HOST_Z, LAST_HOST_Z, n, blocked)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::auth::{Permission, Permissions};
    use crate::domain::{
        CountryCode, Description, NewRegion, NewReservation, RegionName, ReservationKind, ReservationReason, Tags,
        UserId, Username,
    };
    use crate::error::FieldErrors;

    fn alice() -> Actor {
        Actor {
            user_id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            permissions: Permissions::of(&[Permission::Allocate]),
        }
    }

    fn region_at(x: u8, y: u8) -> Region {
        let new = NewRegion {
            name: RegionName::parse("dc").unwrap(),
            description: Description::empty(),
            owner: None,
            tags: Tags::empty(),
        };
        Region::allocated(&alice(), &CountryCode::from_stored("USA".into()), &new, (x, y), Utc::now())
    }

    fn host_reservation(x: u8, y: u8, z: u8) -> Reservation {
        let new = NewReservation {
            kind: ReservationKind::Host,
            x,
            y,
            z: Some(z),
            reason: ReservationReason::parse("for the new database server").unwrap(),
            expires_in_days: None,
        };
        let actor = alice();
        Reservation::new(&actor.user_id, &actor.username, &new, Utc::now())
    }

    #[test]
    fn a_reservation_converts_only_into_the_region_of_its_block() {
        let region = region_at(153, 7);
        assert!(reservation_in_region(&host_reservation(153, 7, 9), &region).is_ok());
        for elsewhere in [host_reservation(153, 8, 9), host_reservation(154, 7, 9)] {
            let IpamError::Validation(fields) = reservation_in_region(&elsewhere, &region).unwrap_err() else {
                panic!("a validation error");
            };
            let message = format!("reservation {} is not in region 10.153.7.0/24", elsewhere.id);
            assert_eq!(fields, FieldErrors::one("region_id", message));
        }
    }

    #[test]
    fn a_conversion_may_take_only_the_reserved_address() {
        let blocked = blocked_for_conversion(Some(9));
        assert_eq!(blocked.len(), 253);
        assert!(!blocked.contains(&9));
        assert_eq!(lowest_free_host(&SlotMap::empty(), |z| blocked.contains(&z)), Some(9));
        assert_eq!(blocked_for_conversion(None).len(), 254, "no address at all without a Z");
    }

    #[test]
    fn a_reserved_address_already_allocated_cannot_be_converted() {
        let mut hosts = SlotMap::empty();
        let r = host_reservation(153, 7, 9);
        assert!(!reserved_address_taken(&hosts, &r));
        hosts.set(9);
        assert!(reserved_address_taken(&hosts, &r));
        assert!(!reserved_address_taken(&hosts, &Reservation { z: None, ..r }));
    }

    #[test]
    fn new_hosts_belong_to_the_requested_owner_or_else_the_caller() {
        let bob = OwnerLabel::parse("bob").unwrap();
        assert_eq!(owner_or_caller(Some(&bob), &alice()), bob);
        assert_eq!(owner_or_caller(None, &alice()).as_str(), "alice");
    }

    #[test]
    fn host_addresses_run_from_1_to_254() {
        let mut hosts = SlotMap::empty();
        assert_eq!(lowest_free_host(&hosts, |_| false), Some(1), ".0 names the network");
        assert_eq!(lowest_free_hosts(&hosts, 3, |z| z == 2), vec![1, 3, 4]);
        for z in 1..=253 {
            hosts.set(z);
        }
        assert_eq!(lowest_free_host(&hosts, |_| false), Some(254));
        assert_eq!(lowest_free_hosts(&hosts, 2, |_| false), vec![254], ".255 is the broadcast address");
        hosts.set(254);
        assert_eq!(lowest_free_host(&hosts, |_| false), None);
    }
}

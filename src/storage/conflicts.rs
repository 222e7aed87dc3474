//! The domain errors a store reports, built in one place so every backend says the same thing
//! (message and details) for the same situation.

use std::collections::BTreeMap;

use serde_json::json;

use crate::domain::country::HOSTS_PER_REGION;
use crate::domain::{Country, DeliveryId, Host, Hostname, Region, Reservation, SlotMap, Webhook};
use crate::error::{ConflictKind, IpamError};

/// A region name already used in the country.
pub(crate) fn duplicate_region_name(name: &str, country: &str) -> IpamError {
    IpamError::conflict(
        ConflictKind::DuplicateName,
        format!("a region named '{name}' already exists in {country}"),
        json!({ "region_name": name, "country": country }),
    )
}

/// A hostname already used in the region.
pub(crate) fn duplicate_hostname(name: &Hostname, region: &Region) -> IpamError {
    IpamError::conflict(
        ConflictKind::DuplicateName,
        format!("hostname '{name}' already exists in region {}", region.cidr()),
        json!({ "hostname": name, "region_id": region.id }),
    )
}

/// A host renamed to a hostname another host of its region already has.
pub(crate) fn duplicate_hostname_on_rename(host: &Host) -> IpamError {
    IpamError::conflict(
        ConflictKind::DuplicateName,
        format!("hostname '{}' already exists in the region", host.hostname),
        json!({ "hostname": host.hostname, "region_id": host.region_id }),
    )
}

/// Every block of the country is taken (`used`: the Y bitmaps per X).
pub(crate) fn country_full(c: &Country, used: &BTreeMap<u8, SlotMap>) -> IpamError {
    let allocated: u32 = used.values().map(SlotMap::count).sum();
    IpamError::conflict(
        ConflictKind::CapacityExhausted,
        format!("no free /24 is left in {} ({} of {} regions allocated)", c.name, allocated, c.region_capacity()),
        json!({ "country": c.name, "country_code": c.code, "capacity": c.region_capacity(), "allocated": allocated }),
    )
}

/// The region is not Active.
pub(crate) fn region_not_active(region: &Region) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!("region {} has status {}; only Active regions receive new hosts", region.cidr(), region.status),
        json!({ "region_id": region.id, "status": region.status }),
    )
}

/// The region has fewer free addresses (`free`) than `requested`.
pub(crate) fn region_full(region: &Region, free: usize, requested: u32) -> IpamError {
    let message = if free == 0 {
        format!("region {} is full ({} hosts allocated)", region.cidr(), region.allocated_hosts)
    } else {
        format!("region {} has only {free} free address(es); {requested} requested", region.cidr())
    };
    IpamError::conflict(
        ConflictKind::CapacityExhausted,
        message,
        json!({ "region_id": region.id, "capacity": HOSTS_PER_REGION, "allocated": region.allocated_hosts, "requested": requested }),
    )
}

/// `address` is already allocated.
pub(crate) fn already_allocated(address: &str) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!("{address} is already allocated"),
        json!({ "reserved_address": address }),
    )
}

/// The reservation's address is already allocated or (`what` = "reserved") actively reserved.
pub(crate) fn address_taken(what: &str, r: &Reservation) -> IpamError {
    let address = r.address();
    IpamError::conflict(
        ConflictKind::Conflict,
        format!("{address} is already {what}"),
        json!({ "reserved_address": address, "resource_type": r.kind.as_str() }),
    )
}

/// A converted reservation is part of its allocation's history and cannot be cancelled.
pub(crate) fn not_cancellable(r: &Reservation) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!(
            "reservation {} was converted into {}; release or retire that allocation instead",
            r.id,
            r.converted_to.as_deref().unwrap_or("an allocation")
        ),
        json!({ "reservation_id": r.id, "status": "converted", "converted_to": r.converted_to }),
    )
}

/// A lock-free retry loop gave up (MongoDB under heavy contention).
pub(crate) fn contention() -> IpamError {
    IpamError::conflict(ConflictKind::Conflict, "too many concurrent allocations; retry", json!({}))
}

/// The region still holds hosts and the caller did not ask for a cascade.
pub(crate) fn region_has_hosts(region: &Region, hosts: usize) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!(
            "region {} still has {hosts} host(s); retire it with cascade=true to release them as well",
            region.cidr()
        ),
        json!({ "region_id": region.id, "allocated_hosts": hosts }),
    )
}

/// A user already holds the most webhooks allowed.
pub(crate) fn too_many_webhooks(max: u32) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!("at most {max} webhooks are allowed; delete one first"),
        json!({ "limit": max }),
    )
}

/// Only a dead delivery can be retried by hand.
pub(crate) fn delivery_not_dead(id: &DeliveryId, state: &str) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!("delivery {id} is {state}, not dead; only dead deliveries can be retried"),
        json!({ "delivery_id": id, "state": state }),
    )
}

/// A disabled webhook is sent nothing, not even a test or a retry.
pub(crate) fn webhook_disabled(w: &Webhook) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!("webhook {} is disabled; enable it with PATCH {{\"is_active\": true}} first", w.id),
        json!({ "webhook_id": w.id, "is_active": false, "disabled_reason": w.disabled_reason }),
    )
}

/// A user already holds the most notification rules allowed.
pub(crate) fn too_many_rules(max: u32) -> IpamError {
    IpamError::conflict(
        ConflictKind::Conflict,
        format!("at most {max} notification rules are allowed; delete one first"),
        json!({ "limit": max }),
    )
}

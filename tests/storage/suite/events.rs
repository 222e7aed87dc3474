//! The payloads of the domain events each unit of work writes to the outbox, observed the way
//! receivers see them: a webhook subscribed to the events, a dispatch, and the deliveries'
//! bodies. Every `data` object is asserted whole, so a backend that builds an event its own way
//! (a field missing, renamed or valued differently) fails here.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use ipam_core::auth::Actor;
use ipam_core::domain::{
    Country, Host, HostDetails, HostPatch, NewReservation, Region, RegionName, RegionPatch, RegionStatus, Reservation,
    ReservationKind, ReservationReason, Tags, Webhook, WebhookEvents, WebhookUrl,
};
use ipam_core::storage::{AllocateHosts, AllocateRegion, HostNames, Placement, Store};
use serde_json::{Value, json};

use super::{at, batch, country, first_100, host, hostname, new_region, region, release, retire, roomy, user};

/// One day, in seconds.
const DAY: i64 = 86_400;

/// A webhook of `owner` that hears some event types, and the deliveries it already reported.
struct Tap {
    hook: Webhook,
    seen: HashSet<String>,
}

impl Tap {
    /// Subscribes a new webhook of `owner` to `events`.
    async fn new(s: &dyn Store, owner: &Actor, events: &[&str]) -> Self {
        let url = WebhookUrl::parse("https://hooks.example.com/events").expect("url");
        let events = WebhookEvents::parse(events).expect("events");
        let hook = Webhook::new(owner.user_id.clone(), url, events, None, at(0));
        s.create_webhook(&hook, 10).await.expect("create_webhook");
        Self { hook, seen: HashSet::new() }
    }

    /// Dispatches every waiting event at `when` and returns `(event type, data)` of each one
    /// that reached this webhook since the last call, sorted. Each body must be the owner's
    /// and stamped with `when`, the time of the unit of work that wrote it.
    async fn heard(&mut self, s: &dyn Store, when: DateTime<Utc>) -> Vec<(String, Value)> {
        while s.dispatch_events(500, when).await.expect("dispatch_events").events > 0 {}
        let page = s.list_deliveries(&self.hook.user_id, &self.hook.id, first_100()).await.expect("list_deliveries");
        let mut heard = Vec::new();
        for d in page.expect("the webhook exists").items {
            if !self.seen.insert(d.id.as_str().to_owned()) {
                continue;
            }
            let body: Value = serde_json::from_str(&d.body).expect("the body is JSON");
            assert_eq!(body["user_id"], json!(self.hook.user_id), "the owner's event");
            assert_eq!(body["timestamp"], json!(when.to_rfc3339_opts(SecondsFormat::Millis, true)), "occurred_at");
            heard.push((body["event_type"].as_str().expect("event_type").to_owned(), body["data"].clone()));
        }
        sorted(heard)
    }
}

/// Events in a stable order (by type, then data), for comparisons that ignore order.
fn sorted(mut events: Vec<(String, Value)>) -> Vec<(String, Value)> {
    events.sort_by_key(|(t, data)| (t.clone(), data.to_string()));
    events
}

/// `(event type, data)`.
fn event(t: &str, data: Value) -> (String, Value) {
    (t.to_owned(), data)
}

/// The data of a `region.*` event.
fn region_data(r: &Region) -> Value {
    json!({
        "region_id": r.id, "region_name": r.name, "cidr": r.cidr(), "country_code": r.country_code, "status": r.status,
    })
}

/// The data of a `host.*` event.
fn host_data(h: &Host) -> Value {
    json!({ "host_id": h.id, "hostname": h.hostname, "ip_address": h.ip_address(), "region_id": h.region_id })
}

/// A reservation of `10.X.Y.0/24` (no `z`) or `10.X.Y.Z` for `days`, stored at `now`.
async fn reserve(
    s: &dyn Store,
    actor: &Actor,
    (x, y, z): (u8, u8, Option<u8>),
    days: u32,
    now: DateTime<Utc>,
) -> Reservation {
    let new = NewReservation {
        kind: if z.is_some() { ReservationKind::Host } else { ReservationKind::Region },
        x,
        y,
        z,
        reason: ReservationReason::parse("held for the rollout").expect("reason"),
        expires_in_days: Some(days),
    };
    let r = Reservation::new(&actor.user_id, &actor.username, &new, now);
    s.create_reservation(actor, &r, now).await.expect("create_reservation");
    r
}

/// `country` narrowed to its first X octet (256 blocks), so that filling it past a threshold
/// takes a few hundred allocations instead of thousands; the stores take a country's range
/// from the value they are given.
fn one_x(country: &Country) -> Country {
    Country { x_end: country.x_start, ..country.clone() }
}

pub async fn region_events_carry_the_regions_public_fields_as_they_are_after_the_change(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let mut tap = Tap::new(s, &alice, &["region.created", "region.updated", "region.retired"]).await;

    let created = region(s, &alice, &are, "edge-1", at(1)).await;
    assert_eq!(
        tap.heard(s, at(1)).await,
        [event(
            "region.created",
            json!({ "region_id": created.id, "region_name": "edge-1", "cidr": "10.30.0.0/24", "country_code": "ARE",
                    "status": "Active" })
        )]
    );

    let patch = RegionPatch {
        name: Some(RegionName::parse("edge-east").expect("name")),
        status: Some(RegionStatus::Reserved),
        ..Default::default()
    };
    s.update_region(&alice, &created.id, &patch, None, at(2)).await.expect("update_region");
    let updated = json!({ "region_id": created.id, "region_name": "edge-east", "cidr": "10.30.0.0/24",
                          "country_code": "ARE", "status": "Reserved" });
    assert_eq!(tap.heard(s, at(2)).await, [event("region.updated", updated.clone())]);

    retire(s, &alice, &created.id, false, at(3)).await.expect("retire");
    assert_eq!(tap.heard(s, at(3)).await, [event("region.retired", updated)], "the region as it was retired");
}

pub async fn host_events_carry_the_hosts_public_fields_as_they_are_after_the_change(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let parent = region(s, &alice, &are, "edge-1", at(1)).await;
    let mut tap = Tap::new(s, &alice, &["host.allocated", "host.updated", "host.released"]).await;

    let web = host(s, &alice, &parent.id, "web-1", at(2)).await;
    let allocated =
        json!({ "host_id": web.id, "hostname": "web-1", "ip_address": "10.30.0.1", "region_id": parent.id });
    assert_eq!(tap.heard(s, at(2)).await, [event("host.allocated", allocated)]);

    let pair = batch(s, &alice, &parent.id, "db", 2, at(3)).await;
    let expected: Vec<_> = pair.iter().map(|h| event("host.allocated", host_data(h))).collect();
    assert_eq!(tap.heard(s, at(3)).await, sorted(expected), "one event per host of a batch");
    assert_eq!(pair.iter().map(Host::ip_address).collect::<Vec<_>>(), ["10.30.0.2", "10.30.0.3"]);

    let rename = HostPatch { hostname: Some(hostname("web-renamed")), ..Default::default() };
    s.update_host(&alice, &web.id, &rename, None, at(4)).await.expect("update_host");
    let renamed =
        json!({ "host_id": web.id, "hostname": "web-renamed", "ip_address": "10.30.0.1", "region_id": parent.id });
    assert_eq!(tap.heard(s, at(4)).await, [event("host.updated", renamed.clone())]);

    release(s, &alice, std::slice::from_ref(&web.id), at(5)).await;
    assert_eq!(tap.heard(s, at(5)).await, [event("host.released", renamed)], "the host as it was released");
}

pub async fn a_cascade_retirement_releases_each_host_and_retires_the_region(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let parent = region(s, &alice, &are, "edge-1", at(1)).await;
    let hosts = batch(s, &alice, &parent.id, "node", 3, at(2)).await;
    let mut tap = Tap::new(s, &alice, &["host.released", "region.retired"]).await;

    retire(s, &alice, &parent.id, true, at(3)).await.expect("retire with cascade");

    let mut expected: Vec<_> = hosts.iter().map(|h| event("host.released", host_data(h))).collect();
    expected.push(event("region.retired", region_data(&parent)));
    assert_eq!(tap.heard(s, at(3)).await, sorted(expected));
}

pub async fn reservation_events_carry_the_reserved_address_its_kind_expiry_and_status(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let parent = region(s, &alice, &are, "edge-1", at(1)).await;
    let reservations = ["reservation.created", "reservation.converted", "reservation.expired"];
    let mut tap = Tap::new(s, &alice, &[&reservations[..], &["region.created", "host.allocated"]].concat()).await;
    tap.heard(s, at(1)).await; // the parent region's creation

    let held = reserve(s, &alice, (30, 0, Some(7)), 7, at(2)).await;
    let held_data = |status: &str| {
        json!({ "reservation_id": held.id, "resource_type": "host", "reserved_address": "10.30.0.7",
                "expires_at": "2026-03-21T09:26:55.589Z", "status": status })
    };
    assert_eq!(tap.heard(s, at(2)).await, [event("reservation.created", held_data("active"))]);

    let name = hostname("db-1");
    let converted = s
        .allocate_hosts(AllocateHosts {
            actor: &alice,
            region_id: &parent.id,
            names: HostNames::One(&name),
            details: &HostDetails::default(),
            owner: None,
            tags: &Tags::empty(),
            placement: Placement::Reserved(&held.id),
            quotas: roomy(),
            now: at(3),
        })
        .await
        .expect("convert the host reservation");
    assert_eq!(
        tap.heard(s, at(3)).await,
        sorted(vec![
            event("host.allocated", host_data(&converted[0])),
            event("reservation.converted", held_data("converted")),
        ])
    );

    let block = reserve(s, &alice, (30, 9, None), 1, at(4)).await;
    let block_data = |status: &str| {
        json!({ "reservation_id": block.id, "resource_type": "region", "reserved_address": "10.30.9.0/24",
                "expires_at": "2026-03-15T09:26:57.589Z", "status": status })
    };
    assert_eq!(tap.heard(s, at(4)).await, [event("reservation.created", block_data("active"))]);
    let placed = AllocateRegion {
        actor: &alice,
        country: &are,
        region: &new_region("edge-9"),
        placement: Placement::Reserved(&block.id),
        quotas: roomy(),
        now: at(5),
    };
    let from_block = s.allocate_region(placed).await.expect("convert the block reservation");
    assert_eq!(
        tap.heard(s, at(5)).await,
        sorted(vec![
            event("region.created", region_data(&from_block)),
            event("reservation.converted", block_data("converted")),
        ])
    );
    assert_eq!(from_block.cidr(), "10.30.9.0/24");

    let lapsing = reserve(s, &alice, (30, 10, None), 1, at(6)).await;
    tap.heard(s, at(6)).await;
    assert_eq!(s.expire_reservations(at(6 + 2 * DAY), 10).await.expect("expire_reservations"), 1);
    assert_eq!(
        tap.heard(s, at(6 + 2 * DAY)).await,
        [event(
            "reservation.expired",
            json!({ "reservation_id": lapsing.id, "resource_type": "region", "reserved_address": "10.30.10.0/24",
                    "expires_at": "2026-03-15T09:26:59.589Z", "status": "expired" })
        )]
    );
}

pub async fn filling_a_region_past_80_and_95_percent_raises_capacity_warning_then_critical(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let parent = region(s, &alice, &are, "edge-1", at(1)).await;
    let mut tap = Tap::new(s, &alice, &["capacity.warning", "capacity.critical"]).await;
    let resource = |used: u32| {
        json!({ "kind": "region", "region_id": parent.id, "region_name": "edge-1", "cidr": "10.30.0.0/24",
                "used": used, "capacity": 254 })
    };

    // Batches up to one host short of each threshold, then the single host that crosses it, so
    // the event's usage is that host's whatever a backend does inside a batch.
    for (i, n) in [100, 100, 3].into_iter().enumerate() {
        batch(s, &alice, &parent.id, &format!("fill{i}"), n, at(2)).await;
    }
    assert_eq!(tap.heard(s, at(2)).await, [], "203 of 254 hosts (79.9%) is below the warning");
    host(s, &alice, &parent.id, "crosses-80", at(3)).await;
    let warning = json!({ "resource": resource(204), "utilization": 80.31, "threshold": 80.0 });
    assert_eq!(tap.heard(s, at(3)).await, [event("capacity.warning", warning)]);

    batch(s, &alice, &parent.id, "fill3", 37, at(4)).await;
    assert_eq!(tap.heard(s, at(4)).await, [], "241 of 254 hosts (94.9%) is below the critical threshold");
    host(s, &alice, &parent.id, "crosses-95", at(5)).await;
    let critical = json!({ "resource": resource(242), "utilization": 95.28, "threshold": 95.0 });
    assert_eq!(tap.heard(s, at(5)).await, [event("capacity.critical", critical)]);

    batch(s, &alice, &parent.id, "fill4", 12, at(6)).await;
    assert_eq!(tap.heard(s, at(6)).await, [], "a full region crosses nothing more");
}

pub async fn filling_a_country_past_80_and_95_percent_raises_capacity_warning_then_critical(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let small = one_x(&country(s, "ARE").await);
    let mut tap = Tap::new(s, &alice, &["capacity.warning", "capacity.critical"]).await;
    let resource = |used: u32| json!({ "kind": "country", "country_code": "ARE", "country": "UAE", "used": used, "capacity": 256 });

    for i in 0..204 {
        region(s, &alice, &small, &format!("r-{i}"), at(2)).await;
    }
    assert_eq!(tap.heard(s, at(2)).await, [], "204 of 256 blocks (79.7%) is below the warning");
    region(s, &alice, &small, "crosses-80", at(3)).await;
    let warning = json!({ "resource": resource(205), "utilization": 80.08, "threshold": 80.0 });
    assert_eq!(tap.heard(s, at(3)).await, [event("capacity.warning", warning)]);

    for i in 205..243 {
        region(s, &alice, &small, &format!("r-{i}"), at(4)).await;
    }
    assert_eq!(tap.heard(s, at(4)).await, [], "243 of 256 blocks (94.9%) is below the critical threshold");
    region(s, &alice, &small, "crosses-95", at(5)).await;
    let critical = json!({ "resource": resource(244), "utilization": 95.31, "threshold": 95.0 });
    assert_eq!(tap.heard(s, at(5)).await, [event("capacity.critical", critical)]);
}

//! Reservation use cases: reserve, read, cancel, and convert into an allocation.

use serde_json::json;

use super::Ipam;
use crate::auth::Actor;
use crate::domain::{
    Country, Host, NewHost, NewRegion, NewReservation, Page, PageRequest, Region, Reservation, ReservationId,
    ReservationKind,
};
use crate::error::{ConflictKind, IpamError, Result};
use crate::storage::{AllocateHosts, AllocateRegion, HostNames, Placement, ReservationFilter};

impl Ipam {
    fn unreserved_country(&self, x: u8) -> Result<&Country> {
        let country = self.catalog.by_x(x).ok_or_else(|| IpamError::internal(format!("no country covers X = {x}")))?;
        if country.is_reserved {
            return Err(IpamError::conflict(
                ConflictKind::CountryReserved,
                format!(
                    "10.{x}.0.0/16 lies in {}, which is reserved and cannot be allocated or reserved",
                    country.name
                ),
                json!({ "country": country.name, "country_code": country.code }),
            ));
        }
        Ok(country)
    }

    /// Reserves a block or an address for the caller.
    pub async fn reserve(&self, actor: &Actor, new: &NewReservation) -> Result<Reservation> {
        self.unreserved_country(new.x)?;
        let now = self.now();
        let reservation = Reservation::new(&actor.user_id, &actor.username, new, now);
        self.store.create_reservation(actor, &reservation, now).await?;
        Ok(reservation)
    }

    /// One of the caller's reservations.
    pub async fn reservation(&self, actor: &Actor, id: &ReservationId) -> Result<Reservation> {
        self.store
            .reservation(&actor.user_id, id)
            .await?
            .ok_or_else(|| IpamError::not_found("reservation", id.as_str()))
    }

    /// A page of the caller's reservations, newest first.
    pub async fn reservations(
        &self,
        actor: &Actor,
        filter: &ReservationFilter,
        page: PageRequest,
    ) -> Result<Page<Reservation>> {
        self.store.list_reservations(&actor.user_id, filter, page, self.now()).await
    }

    /// Cancels (deletes) a reservation.
    pub async fn cancel_reservation(&self, actor: &Actor, id: &ReservationId) -> Result<Reservation> {
        self.store.cancel_reservation(actor, id, self.now()).await
    }

    /// Turns an active region reservation into a region at the reserved block (atomically).
    pub async fn convert_to_region(&self, actor: &Actor, id: &ReservationId, region: NewRegion) -> Result<Region> {
        let r = self.reservation(actor, id).await?;
        if r.kind != ReservationKind::Region {
            return Err(IpamError::invalid("resource_type", format!("reservation {id} is a host reservation")));
        }
        let country = self.unreserved_country(r.x)?;
        let req = AllocateRegion {
            actor,
            country,
            region: &region,
            placement: Placement::Reserved(id),
            quotas: self.quotas,
            now: self.now(),
        };
        self.store.allocate_region(req).await
    }

    /// Turns an active host reservation into a host at the reserved address (atomically); its
    /// region must exist and be Active.
    pub async fn convert_to_host(&self, actor: &Actor, id: &ReservationId, host: NewHost) -> Result<Host> {
        let r = self.reservation(actor, id).await?;
        if r.kind != ReservationKind::Host {
            return Err(IpamError::invalid("resource_type", format!("reservation {id} is a region reservation")));
        }
        let cidr = crate::domain::address::region_cidr(r.x, r.y);
        let region = self.store.region_at(&actor.user_id, r.x, r.y).await?.ok_or_else(|| {
            IpamError::conflict(
                ConflictKind::Conflict,
                format!(
                    "region {cidr} is not allocated; allocate (or convert) it before converting this host reservation"
                ),
                json!({ "cidr": cidr }),
            )
        })?;
        let req = AllocateHosts {
            actor,
            region_id: &region.id,
            names: HostNames::One(&host.hostname),
            details: &host.details,
            owner: host.owner.as_ref(),
            tags: &host.tags,
            placement: Placement::Reserved(id),
            quotas: self.quotas,
            now: self.now(),
        };
        let mut hosts = self.store.allocate_hosts(req).await?;
        hosts.pop().ok_or_else(|| IpamError::internal("conversion returned no host"))
    }
}

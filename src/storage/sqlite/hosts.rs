//! Hosts: allocation of the lowest free addresses of a region, reads, updates and release.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::audit::insert_audit;
use super::errors::{Unique, db, unique_violation, write};
use super::filters::{push_host_where, push_page, total};
use super::outbox::insert_event;
use super::quotas;
use super::regions::{MAX_REPAIRS, fetch_region};
use super::reservations;
use super::rows::{HostRow, host_columns, tags_text, ts};
use crate::auth::Actor;
use crate::domain::allocation::{
    blocked_for_conversion, lowest_free_host, lowest_free_hosts, owner_or_caller, reservation_in_region,
    reserved_address_taken,
};
use crate::domain::{
    AuditAction, AuditEvent, DomainEvent, Host, HostId, HostPatch, HostTemplate, Hostname, Page, PageRequest, Reason,
    Region, RegionId, RegionStatus, ReservationKind, SlotMap, TenAddress, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{
    already_allocated, duplicate_hostname, duplicate_hostname_on_rename, region_full, region_not_active,
};
use crate::storage::{AllocateHosts, HostFilter, HostNames, HostStore, Placement, ReleaseOutcome};

/// Every host of a region, by address.
pub(super) async fn hosts_of_region(
    conn: &mut SqliteConnection,
    user: &UserId,
    region: &RegionId,
) -> Result<Vec<Host>> {
    let rows: Vec<HostRow> = sqlx::query_as(concat!(
        "SELECT ",
        host_columns!(),
        " FROM ipam_hosts WHERE user_id = ?1 AND region_id = ?2 ORDER BY z_octet"
    ))
    .bind(user.as_str())
    .bind(region.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter().map(Host::try_from).collect()
}

pub(super) async fn fetch_host(conn: &mut SqliteConnection, user: &UserId, id: &HostId) -> Result<Option<Host>> {
    let row: Option<HostRow> =
        sqlx::query_as(concat!("SELECT ", host_columns!(), " FROM ipam_hosts WHERE user_id = ?1 AND host_id = ?2"))
            .bind(user.as_str())
            .bind(id.as_str())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    row.map(Host::try_from).transpose()
}

async fn save_host_slots(conn: &mut SqliteConnection, region: &RegionId, map: SlotMap) -> Result<()> {
    sqlx::query("UPDATE ipam_regions SET host_slots = ?1, allocated_hosts = ?2 WHERE region_id = ?3")
        .bind(map.to_bytes().to_vec())
        .bind(i64::from(map.count()))
        .bind(region.as_str())
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

async fn insert_host(conn: &mut SqliteConnection, h: &Host) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ipam_hosts (host_id, user_id, region_id, x_octet, y_octet, z_octet, hostname, device_type,
             os_type, application, cost_center, purpose, notes, owner, owner_id, status, tags,
             created_at, updated_at, created_by, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19, ?19)",
    )
    .bind(h.id.as_str())
    .bind(h.user_id.as_str())
    .bind(h.region_id.as_str())
    .bind(i64::from(h.x))
    .bind(i64::from(h.y))
    .bind(i64::from(h.z))
    .bind(h.hostname.as_str())
    .bind(h.details.device_type.map(|d| d.as_str()))
    .bind(h.details.os_type.as_ref().map(|v| v.as_str()))
    .bind(h.details.application.as_ref().map(|v| v.as_str()))
    .bind(h.details.cost_center.as_ref().map(|v| v.as_str()))
    .bind(h.details.purpose.as_ref().map(|v| v.as_str()))
    .bind(h.details.notes.as_ref().map(|v| v.as_str()))
    .bind(h.owner.as_str())
    .bind(h.owner_id.as_str())
    .bind(h.status.as_str())
    .bind(tags_text(&h.tags))
    .bind(ts(h.created_at))
    .bind(h.created_by.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

async fn hostname_taken(
    conn: &mut SqliteConnection,
    user: &UserId,
    region: &RegionId,
    name: &Hostname,
    except: Option<&HostId>,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM ipam_hosts WHERE user_id = ?1 AND region_id = ?2 AND hostname = ?3 AND host_id != ?4",
    )
    .bind(user.as_str())
    .bind(region.as_str())
    .bind(name.as_str())
    .bind(except.map(|i| i.as_str()).unwrap_or(""))
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(found.is_some())
}

/// The names of a batch: `{prefix}-{NNN}` numbered after the highest such name in the region.
async fn batch_names(
    conn: &mut SqliteConnection,
    user: &UserId,
    region: &RegionId,
    prefix: &crate::domain::HostnamePrefix,
    count: u32,
) -> Result<Vec<Hostname>> {
    let stem = format!("{prefix}-");
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT hostname FROM ipam_hosts WHERE user_id = ?1 AND region_id = ?2 AND substr(hostname, 1, ?3) = ?4",
    )
    .bind(user.as_str())
    .bind(region.as_str())
    .bind(i64::try_from(stem.len()).unwrap_or(i64::MAX))
    .bind(&stem)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    prefix.batch_after(existing.iter().map(String::as_str), count)
}

#[async_trait]
impl HostStore for SqliteStore {
    async fn allocate_hosts(&self, req: AllocateHosts<'_>) -> Result<Vec<Host>> {
        let actor = req.actor;
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let (region, mut zmap) = fetch_region(&mut tx, user, req.region_id)
            .await?
            .ok_or_else(|| IpamError::not_found("region", req.region_id.as_str()))?;
        let reservation = match req.placement {
            Placement::Lowest => None,
            Placement::Reserved(id) => {
                let r = reservations::convertible(&mut tx, user, id, ReservationKind::Host, req.now).await?;
                reservation_in_region(&r, &region)?;
                Some(r)
            }
        };
        if region.status != RegionStatus::Active {
            return Err(region_not_active(&region));
        }
        let count = req.names.count();
        quotas::load(&mut tx, user).await?.check_hosts(count, req.quotas)?;
        // Addresses held by active reservations are not free; a conversion may take its own.
        let blocked = match &reservation {
            None => reservations::blocked_hosts(&mut tx, user, region.x, region.y, req.now).await?,
            Some(r) if reserved_address_taken(&zmap, r) => return Err(already_allocated(&r.address())),
            Some(r) => blocked_for_conversion(r.z),
        };
        let wanted = usize::try_from(count).unwrap_or(usize::MAX);
        let free = lowest_free_hosts(&zmap, wanted, |z| blocked.contains(&z)).len();
        if free < wanted {
            return Err(region_full(&region, free, count));
        }
        let names = match req.names {
            HostNames::One(name) => {
                if hostname_taken(&mut tx, user, &region.id, name, None).await? {
                    return Err(duplicate_hostname(name, &region));
                }
                vec![name.clone()]
            }
            HostNames::Batch { prefix, count } => batch_names(&mut tx, user, &region.id, prefix, count).await?,
        };
        let owner = owner_or_caller(req.owner, actor);
        let used_before = zmap.count();
        let mut hosts = Vec::with_capacity(names.len());
        let mut repairs = 0;
        for hostname in names {
            loop {
                let Some(z) = lowest_free_host(&zmap, |z| blocked.contains(&z)) else {
                    return Err(region_full(&region, hosts.len(), count));
                };
                let template = HostTemplate { details: req.details, owner: &owner, tags: req.tags };
                let host = Host::allocated(actor, &region, z, hostname.clone(), &template, req.now);
                match insert_host(&mut tx, &host).await {
                    Ok(()) => {
                        zmap.set(z);
                        hosts.push(host);
                        break;
                    }
                    Err(e) if unique_violation(&e) == Some(Unique::HostAddress) && repairs < MAX_REPAIRS => {
                        // The bitmap is derived data and missed this row: record the truth, try the next.
                        tracing::warn!(region = %region.id, z, "host bitmap was stale; repairing");
                        repairs += 1;
                        zmap.set(z);
                    }
                    Err(e) if unique_violation(&e) == Some(Unique::Hostname) => {
                        return Err(duplicate_hostname(&hostname, &region));
                    }
                    Err(e) => return Err(write(e)),
                }
            }
        }
        save_host_slots(&mut tx, &region.id, zmap).await?;
        quotas::bump(&mut tx, user, 0, i64::try_from(hosts.len()).unwrap_or(i64::MAX), req.now).await?;
        for h in &hosts {
            insert_audit(&mut tx, &AuditEvent::host(AuditAction::Create, h, actor, None, vec![], req.now)).await?;
        }
        let counts = used_before + 1..=zmap.count();
        if let Some(event) = DomainEvent::region_capacity(&region, counts, req.now) {
            insert_event(&mut tx, &event).await?;
        }
        if let (Some(r), Some(h)) = (&reservation, hosts.first()) {
            reservations::mark_converted(&mut tx, actor, r, h.id.as_str(), req.now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(hosts)
    }

    async fn next_free_host(
        &self,
        user: &UserId,
        region: &RegionId,
        now: DateTime<Utc>,
    ) -> Result<Option<(Region, Option<u8>)>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let Some((r, map)) = fetch_region(&mut conn, user, region).await? else { return Ok(None) };
        let blocked = reservations::blocked_hosts(&mut conn, user, r.x, r.y, now).await?;
        let z = lowest_free_host(&map, |z| blocked.contains(&z));
        Ok(Some((r, z)))
    }

    async fn host(&self, user: &UserId, id: &HostId) -> Result<Option<Host>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch_host(&mut conn, user, id).await
    }

    async fn hosts_at(&self, user: &UserId, addresses: &[TenAddress]) -> Result<Vec<Host>> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb =
            QueryBuilder::<Sqlite>::new(concat!("SELECT ", host_columns!(), " FROM ipam_hosts WHERE user_id = "));
        qb.push_bind(user.to_string()).push(" AND (");
        for (i, a) in addresses.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("(x_octet = ").push_bind(i64::from(a.x));
            qb.push(" AND y_octet = ").push_bind(i64::from(a.y));
            qb.push(" AND z_octet = ").push_bind(i64::from(a.z)).push(")");
        }
        qb.push(")");
        let rows: Vec<HostRow> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        rows.into_iter().map(Host::try_from).collect()
    }

    async fn list_hosts(&self, user: &UserId, filter: &HostFilter, page: PageRequest) -> Result<Page<Host>> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM ipam_hosts");
        push_host_where(&mut count, user, filter);
        let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await.map_err(db)?;
        let mut qb = QueryBuilder::<Sqlite>::new(concat!("SELECT ", host_columns!(), " FROM ipam_hosts"));
        push_host_where(&mut qb, user, filter);
        qb.push(" ORDER BY created_at DESC, host_id DESC");
        push_page(&mut qb, page);
        let rows: Vec<HostRow> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        let items = rows.into_iter().map(Host::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total(n), request: page })
    }

    async fn update_host(
        &self,
        actor: &Actor,
        id: &HostId,
        patch: &HostPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Host> {
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let mut host = fetch_host(&mut tx, user, id).await?.ok_or_else(|| IpamError::not_found("host", id.as_str()))?;
        let before = host.clone();
        let changes = host.apply(patch)?;
        if changes.is_empty() {
            return Ok(host);
        }
        if host.hostname != before.hostname
            && hostname_taken(&mut tx, user, &host.region_id, &host.hostname, Some(id)).await?
        {
            return Err(duplicate_hostname_on_rename(&host));
        }
        host.updated_at = now;
        host.updated_by = user.clone();
        sqlx::query(
            "UPDATE ipam_hosts SET hostname = ?1, device_type = ?2, os_type = ?3, application = ?4, cost_center = ?5,
                 purpose = ?6, notes = ?7, owner = ?8, status = ?9, tags = ?10, updated_at = ?11, updated_by = ?12
             WHERE user_id = ?13 AND host_id = ?14",
        )
        .bind(host.hostname.as_str())
        .bind(host.details.device_type.map(|d| d.as_str()))
        .bind(host.details.os_type.as_ref().map(|v| v.as_str()))
        .bind(host.details.application.as_ref().map(|v| v.as_str()))
        .bind(host.details.cost_center.as_ref().map(|v| v.as_str()))
        .bind(host.details.purpose.as_ref().map(|v| v.as_str()))
        .bind(host.details.notes.as_ref().map(|v| v.as_str()))
        .bind(host.owner.as_str())
        .bind(host.status.as_str())
        .bind(tags_text(&host.tags))
        .bind(ts(now))
        .bind(user.as_str())
        .bind(user.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(write)?;
        let event = AuditEvent::host(AuditAction::Update, &before, actor, reason.map(|r| r.to_string()), changes, now);
        insert_audit(&mut tx, &event).await?;
        tx.commit().await.map_err(db)?;
        Ok(host)
    }

    async fn release_hosts(
        &self,
        actor: &Actor,
        ids: &[HostId],
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReleaseOutcome>> {
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let mut outcomes = Vec::new();
        let mut maps: HashMap<RegionId, SlotMap> = HashMap::new();
        let mut released: i64 = 0;
        for id in ids {
            let Some(host) = fetch_host(&mut tx, user, id).await? else {
                outcomes.push(ReleaseOutcome::NotFound(id.clone()));
                continue;
            };
            let event = AuditEvent::host(AuditAction::Release, &host, actor, Some(reason.to_string()), vec![], now);
            insert_audit(&mut tx, &event).await?;
            sqlx::query("DELETE FROM ipam_comments WHERE user_id = ?1 AND resource_id = ?2")
                .bind(user.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query("DELETE FROM ipam_hosts WHERE user_id = ?1 AND host_id = ?2")
                .bind(user.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            if !maps.contains_key(&host.region_id)
                && let Some((_, map)) = fetch_region(&mut tx, user, &host.region_id).await?
            {
                maps.insert(host.region_id.clone(), map);
            }
            if let Some(map) = maps.get_mut(&host.region_id) {
                map.clear(host.z);
            }
            released += 1;
            outcomes.push(ReleaseOutcome::Released(Box::new(host)));
        }
        for (region, map) in maps {
            save_host_slots(&mut tx, &region, map).await?;
        }
        if released > 0 {
            quotas::bump(&mut tx, user, 0, -released, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(outcomes)
    }
}

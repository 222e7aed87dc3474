//! Regions: allocation of the lowest free block, reads, updates and retirement.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::audit::insert_audit;
use super::errors::{Unique, db, unique_violation, write};
use super::filters::{push_page, push_region_where, total};
use super::hosts::hosts_of_region;
use super::outbox::insert_event;
use super::quotas;
use super::reservations;
use super::rows::{RegionRow, region_columns, slots, tags_text, ts};
use crate::auth::Actor;
use crate::domain::slots::first_free_block;
use crate::domain::{
    AuditAction, AuditEvent, Country, DomainEvent, Page, PageRequest, Reason, Region, RegionId, RegionPatch,
    ReservationKind, SlotMap, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{already_allocated, country_full, duplicate_region_name, region_has_hosts};
use crate::storage::{AllocateRegion, Placement, RegionFilter, RegionStore, RetiredRegion};

/// How many stale bitmap entries one allocation repairs before giving up.
pub(super) const MAX_REPAIRS: usize = 16;

#[derive(sqlx::FromRow)]
struct RegionSlotsRow {
    #[sqlx(flatten)]
    region: RegionRow,
    host_slots: Vec<u8>,
}

/// The region and its host bitmap.
pub(super) async fn fetch_region(
    conn: &mut SqliteConnection,
    user: &UserId,
    id: &RegionId,
) -> Result<Option<(Region, SlotMap)>> {
    let row: Option<RegionSlotsRow> = sqlx::query_as(concat!(
        "SELECT ",
        region_columns!(),
        ", host_slots FROM ipam_regions WHERE user_id = ?1 AND region_id = ?2"
    ))
    .bind(user.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    match row {
        Some(r) => Ok(Some((r.region.try_into()?, slots(&r.host_slots)?))),
        None => Ok(None),
    }
}

/// The Y bitmaps of every X in `lo..=hi` where the user holds a region.
async fn load_region_slots(
    conn: &mut SqliteConnection,
    user: &UserId,
    lo: u8,
    hi: u8,
) -> Result<BTreeMap<u8, SlotMap>> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT x_octet, y_slots FROM ipam_region_slots WHERE user_id = ?1 AND x_octet BETWEEN ?2 AND ?3",
    )
    .bind(user.as_str())
    .bind(i64::from(lo))
    .bind(i64::from(hi))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter()
        .map(|(x, bytes)| Ok((u8::try_from(x).map_err(|_| super::rows::corrupt("x_octet"))?, slots(&bytes)?)))
        .collect()
}

/// Marks Y of X as used or free in the user's region bitmap.
async fn set_region_slot(conn: &mut SqliteConnection, user: &UserId, x: u8, y: u8, used: bool) -> Result<()> {
    let mut map = load_region_slots(&mut *conn, user, x, x).await?.remove(&x).unwrap_or_default();
    if used {
        map.set(y)
    } else {
        map.clear(y)
    }
    if map.count() == 0 {
        sqlx::query("DELETE FROM ipam_region_slots WHERE user_id = ?1 AND x_octet = ?2")
            .bind(user.as_str())
            .bind(i64::from(x))
            .execute(conn)
            .await
            .map_err(db)?;
    } else {
        sqlx::query(
            "INSERT INTO ipam_region_slots (user_id, x_octet, y_slots, used_count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, x_octet) DO UPDATE SET y_slots = ?3, used_count = ?4",
        )
        .bind(user.as_str())
        .bind(i64::from(x))
        .bind(map.to_bytes().to_vec())
        .bind(i64::from(map.count()))
        .execute(conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

async fn insert_region(conn: &mut SqliteConnection, r: &Region) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ipam_regions (region_id, user_id, owner_id, owner, country_code, x_octet, y_octet, region_name,
             name_key, description, status, tags, host_slots, allocated_hosts, created_at, updated_at, created_by, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?14, ?15, ?15)",
    )
    .bind(r.id.as_str())
    .bind(r.user_id.as_str())
    .bind(r.owner_id.as_str())
    .bind(r.owner.as_str())
    .bind(r.country_code.as_str())
    .bind(i64::from(r.x))
    .bind(i64::from(r.y))
    .bind(r.name.as_str())
    .bind(r.name.key())
    .bind(r.description.as_str())
    .bind(r.status.as_str())
    .bind(tags_text(&r.tags))
    .bind(SlotMap::empty().to_bytes().to_vec())
    .bind(ts(r.created_at))
    .bind(r.created_by.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

async fn name_taken(
    conn: &mut SqliteConnection,
    user: &UserId,
    country: &str,
    key: &str,
    except: Option<&RegionId>,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM ipam_regions WHERE user_id = ?1 AND country_code = ?2 AND name_key = ?3 AND region_id != ?4",
    )
    .bind(user.as_str())
    .bind(country)
    .bind(key)
    .bind(except.map(|i| i.as_str()).unwrap_or(""))
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(found.is_some())
}

#[async_trait]
impl RegionStore for SqliteStore {
    async fn allocate_region(&self, req: AllocateRegion<'_>) -> Result<Region> {
        let (actor, c) = (req.actor, req.country);
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let reservation = match req.placement {
            Placement::Lowest => None,
            Placement::Reserved(id) => {
                Some(reservations::convertible(&mut tx, user, id, ReservationKind::Region, req.now).await?)
            }
        };
        quotas::load(&mut tx, user).await?.check_regions(1, req.quotas)?;
        if name_taken(&mut tx, user, c.code.as_str(), &req.region.name.key(), None).await? {
            return Err(duplicate_region_name(req.region.name.as_str(), &c.name));
        }
        let mut used = load_region_slots(&mut tx, user, c.x_start, c.x_end).await?;
        let blocked = match &reservation {
            None => reservations::blocked_blocks(&mut tx, user, c.x_start, c.x_end, req.now).await?,
            Some(_) => Default::default(),
        };
        for _ in 0..MAX_REPAIRS {
            let (x, y) = match &reservation {
                Some(r) if used.get(&r.x).is_some_and(|m| m.is_set(r.y)) => {
                    return Err(already_allocated(&r.address()));
                }
                Some(r) => (r.x, r.y),
                None => first_free_block(c.x_start, c.x_end, &used, |x, y| blocked.contains(&(x, y)))
                    .ok_or_else(|| country_full(c, &used))?,
            };
            let region = Region::allocated(actor, &c.code, req.region, (x, y), req.now);
            match insert_region(&mut tx, &region).await {
                Ok(()) => {
                    set_region_slot(&mut tx, user, x, y, true).await?;
                    quotas::bump(&mut tx, user, 1, 0, req.now).await?;
                    let event = AuditEvent::region(AuditAction::Create, &region, actor, None, vec![], req.now);
                    insert_audit(&mut tx, &event).await?;
                    let before: u32 = used.values().map(SlotMap::count).sum();
                    if let Some(event) = DomainEvent::country_capacity(user, c, [before + 1], req.now) {
                        insert_event(&mut tx, &event).await?;
                    }
                    if let Some(r) = &reservation {
                        reservations::mark_converted(&mut tx, actor, r, region.id.as_str(), req.now).await?;
                    }
                    tx.commit().await.map_err(db)?;
                    return Ok(region);
                }
                Err(e) if unique_violation(&e) == Some(Unique::RegionAddress) => {
                    // The bitmap is derived data and missed this row: record the truth, try the next.
                    tracing::warn!(x, y, "region bitmap was stale; repairing");
                    set_region_slot(&mut tx, user, x, y, true).await?;
                    used.entry(x).or_default().set(y);
                }
                Err(e) => return Err(write(e)),
            }
        }
        Err(IpamError::internal("region bitmap could not be repaired"))
    }

    async fn next_free_region(&self, user: &UserId, c: &Country, now: DateTime<Utc>) -> Result<Option<(u8, u8)>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let used = load_region_slots(&mut conn, user, c.x_start, c.x_end).await?;
        let blocked = reservations::blocked_blocks(&mut conn, user, c.x_start, c.x_end, now).await?;
        Ok(first_free_block(c.x_start, c.x_end, &used, |x, y| blocked.contains(&(x, y))))
    }

    async fn region(&self, user: &UserId, id: &RegionId) -> Result<Option<Region>> {
        let row: Option<RegionRow> = sqlx::query_as(concat!(
            "SELECT ",
            region_columns!(),
            " FROM ipam_regions WHERE user_id = ?1 AND region_id = ?2"
        ))
        .bind(user.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(Region::try_from).transpose()
    }

    async fn region_at(&self, user: &UserId, x: u8, y: u8) -> Result<Option<Region>> {
        let row: Option<RegionRow> = sqlx::query_as(concat!(
            "SELECT ",
            region_columns!(),
            " FROM ipam_regions WHERE user_id = ?1 AND x_octet = ?2 AND y_octet = ?3"
        ))
        .bind(user.as_str())
        .bind(i64::from(x))
        .bind(i64::from(y))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(Region::try_from).transpose()
    }

    async fn list_regions(&self, user: &UserId, filter: &RegionFilter, page: PageRequest) -> Result<Page<Region>> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM ipam_regions");
        push_region_where(&mut count, user, filter);
        let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await.map_err(db)?;
        let mut qb = QueryBuilder::<Sqlite>::new(concat!("SELECT ", region_columns!(), " FROM ipam_regions"));
        push_region_where(&mut qb, user, filter);
        qb.push(" ORDER BY created_at DESC, region_id DESC");
        push_page(&mut qb, page);
        let rows: Vec<RegionRow> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        let items = rows.into_iter().map(Region::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total(n), request: page })
    }

    async fn update_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        patch: &RegionPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Region> {
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let (mut region, _) =
            fetch_region(&mut tx, user, id).await?.ok_or_else(|| IpamError::not_found("region", id.as_str()))?;
        let before = region.clone();
        let changes = region.apply(patch)?;
        if changes.is_empty() {
            return Ok(region);
        }
        if region.name != before.name
            && name_taken(&mut tx, user, region.country_code.as_str(), &region.name.key(), Some(id)).await?
        {
            return Err(duplicate_region_name(region.name.as_str(), region.country_code.as_str()));
        }
        region.updated_at = now;
        region.updated_by = user.clone();
        sqlx::query(
            "UPDATE ipam_regions SET region_name = ?1, name_key = ?2, description = ?3, owner = ?4, status = ?5,
                 tags = ?6, updated_at = ?7, updated_by = ?8
             WHERE user_id = ?9 AND region_id = ?10",
        )
        .bind(region.name.as_str())
        .bind(region.name.key())
        .bind(region.description.as_str())
        .bind(region.owner.as_str())
        .bind(region.status.as_str())
        .bind(tags_text(&region.tags))
        .bind(ts(now))
        .bind(user.as_str())
        .bind(user.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(write)?;
        let event =
            AuditEvent::region(AuditAction::Update, &before, actor, reason.map(|r| r.to_string()), changes, now);
        insert_audit(&mut tx, &event).await?;
        tx.commit().await.map_err(db)?;
        Ok(region)
    }

    async fn retire_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        cascade: bool,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<RetiredRegion> {
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let (region, _) =
            fetch_region(&mut tx, user, id).await?.ok_or_else(|| IpamError::not_found("region", id.as_str()))?;
        let hosts = hosts_of_region(&mut tx, user, id).await?;
        if !hosts.is_empty() && !cascade {
            return Err(region_has_hosts(&region, hosts.len()));
        }
        sqlx::query(
            "DELETE FROM ipam_comments WHERE user_id = ?1
             AND (resource_id = ?2 OR resource_id IN (SELECT host_id FROM ipam_hosts WHERE user_id = ?1 AND region_id = ?2))",
        )
        .bind(user.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM ipam_hosts WHERE user_id = ?1 AND region_id = ?2")
            .bind(user.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM ipam_regions WHERE user_id = ?1 AND region_id = ?2")
            .bind(user.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        set_region_slot(&mut tx, user, region.x, region.y, false).await?;
        let host_count = i64::try_from(hosts.len()).unwrap_or(i64::MAX);
        quotas::bump(&mut tx, user, -1, -host_count, now).await?;
        for event in AuditEvent::retirement(&region, &hosts, actor, reason, now) {
            insert_audit(&mut tx, &event).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(RetiredRegion { region, hosts })
    }
}

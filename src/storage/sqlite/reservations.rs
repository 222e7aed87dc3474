//! Reservations: creation (conflicts checked in the same write transaction as allocations, so
//! a reservation and an allocation of one address can never both succeed), the addresses they
//! block, and their consumption by a conversion.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::audit::insert_audit;
use super::errors::db;
use super::filters::{push_page, total};
use super::rows::{corrupt, parse_ts, ts};
use crate::auth::Actor;
use crate::domain::{
    Conversion, Page, PageRequest, Reservation, ReservationId, ReservationKind, ReservationReason, ReservationStatus,
    UserId, Username,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{address_taken, not_cancellable};
use crate::storage::{ReservationFilter, ReservationStore};

macro_rules! reservation_columns {
    () => {
        "reservation_id, user_id, resource_type, x_octet, y_octet, z_octet, reason, status, expires_at, created_at, \
         created_by, converted_at, converted_to, metadata"
    };
}

#[derive(sqlx::FromRow)]
struct ReservationRow {
    reservation_id: String,
    user_id: String,
    resource_type: String,
    x_octet: i64,
    y_octet: i64,
    z_octet: Option<i64>,
    reason: String,
    status: String,
    expires_at: Option<String>,
    created_at: String,
    created_by: String,
    converted_at: Option<String>,
    converted_to: Option<String>,
    metadata: String,
}

impl TryFrom<ReservationRow> for Reservation {
    type Error = IpamError;

    fn try_from(r: ReservationRow) -> Result<Self> {
        let octet = |v: i64| u8::try_from(v).map_err(|_| corrupt("reservation octet"));
        Ok(Reservation {
            id: ReservationId::from_stored(r.reservation_id),
            user_id: UserId::from_stored(r.user_id),
            kind: ReservationKind::parse(&r.resource_type).map_err(corrupt)?,
            x: octet(r.x_octet)?,
            y: octet(r.y_octet)?,
            z: r.z_octet.map(octet).transpose()?,
            reason: ReservationReason::from_stored(r.reason),
            status: ReservationStatus::parse(&r.status).map_err(corrupt)?,
            expires_at: r.expires_at.as_deref().map(parse_ts).transpose()?,
            created_at: parse_ts(&r.created_at)?,
            created_by: Username::from_stored(r.created_by),
            converted_at: r.converted_at.as_deref().map(parse_ts).transpose()?,
            converted_to: r.converted_to,
            metadata: serde_json::from_str(&r.metadata).map_err(|e| corrupt(format!("metadata: {e}")))?,
        })
    }
}

/// Blocks of X in `lo..=hi` held by active region reservations.
pub(super) async fn blocked_blocks(
    conn: &mut SqliteConnection,
    user: &UserId,
    lo: u8,
    hi: u8,
    now: DateTime<Utc>,
) -> Result<HashSet<(u8, u8)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(concat!(
        "SELECT x_octet, y_octet FROM ipam_reservations WHERE user_id = ?1 AND resource_type = 'region' AND x_octet BETWEEN ?2 AND ?4 AND ",
        "status = 'active' AND (expires_at IS NULL OR expires_at > ?3)"
    ))
    .bind(user.as_str())
    .bind(i64::from(lo))
    .bind(ts(now))
    .bind(i64::from(hi))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(rows.into_iter().filter_map(|(x, y)| Some((u8::try_from(x).ok()?, u8::try_from(y).ok()?))).collect())
}

/// Z octets of block X.Y held by active host reservations.
pub(super) async fn blocked_hosts(
    conn: &mut SqliteConnection,
    user: &UserId,
    x: u8,
    y: u8,
    now: DateTime<Utc>,
) -> Result<HashSet<u8>> {
    let rows: Vec<(i64,)> = sqlx::query_as(concat!(
        "SELECT z_octet FROM ipam_reservations WHERE user_id = ?1 AND resource_type = 'host' AND x_octet = ?2 AND y_octet = ?4 AND ",
        "status = 'active' AND (expires_at IS NULL OR expires_at > ?3)"
    ))
    .bind(user.as_str())
    .bind(i64::from(x))
    .bind(ts(now))
    .bind(i64::from(y))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(rows.into_iter().filter_map(|(z,)| u8::try_from(z).ok()).collect())
}

/// One of the user's reservations.
pub(super) async fn fetch(
    conn: &mut SqliteConnection,
    user: &UserId,
    id: &ReservationId,
) -> Result<Option<Reservation>> {
    let row: Option<ReservationRow> = sqlx::query_as(concat!(
        "SELECT ",
        reservation_columns!(),
        " FROM ipam_reservations WHERE user_id = ?1 AND reservation_id = ?2"
    ))
    .bind(user.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Reservation::try_from).transpose()
}

/// The caller's reservation `id`, checked to be an active reservation of `kind` that a
/// conversion may consume.
/// Marks up to `limit` overdue active reservations expired, each with its audit record (and so
/// its `reservation.expired` event), inside the caller's transaction.
pub(super) async fn expire_overdue(conn: &mut SqliteConnection, now: DateTime<Utc>, limit: u32) -> Result<u64> {
    let rows: Vec<ReservationRow> = sqlx::query_as(concat!(
        "UPDATE ipam_reservations SET status = 'expired', updated_at = ?1
         WHERE reservation_id IN (SELECT reservation_id FROM ipam_reservations
                                  WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= ?1
                                  ORDER BY expires_at LIMIT ?2)
         RETURNING ",
        reservation_columns!()
    ))
    .bind(ts(now))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let n = rows.len();
    for row in rows {
        insert_audit(&mut *conn, &Reservation::try_from(row)?.expiry_event(now)).await?;
    }
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Up to `limit` active reservations expiring in `(now, until]`, after the `(expires_at, id)`
/// cursor, in that order.
pub(super) async fn expiring(
    conn: &mut SqliteConnection,
    (now, until): (DateTime<Utc>, DateTime<Utc>),
    after: Option<&(String, String)>,
    limit: u32,
) -> Result<Vec<Reservation>> {
    let (at, id) = after.cloned().unwrap_or_default();
    let rows: Vec<ReservationRow> = sqlx::query_as(concat!(
        "SELECT ",
        reservation_columns!(),
        " FROM ipam_reservations WHERE status = 'active' AND expires_at > ?1 AND expires_at <= ?2
           AND (expires_at > ?3 OR (expires_at = ?3 AND reservation_id > ?4))
         ORDER BY expires_at, reservation_id LIMIT ?5"
    ))
    .bind(ts(now))
    .bind(ts(until))
    .bind(at)
    .bind(id)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter().map(Reservation::try_from).collect()
}

pub(super) async fn convertible(
    conn: &mut SqliteConnection,
    user: &UserId,
    id: &ReservationId,
    kind: ReservationKind,
    now: DateTime<Utc>,
) -> Result<Reservation> {
    let r = fetch(conn, user, id).await?.ok_or_else(|| IpamError::not_found("reservation", id.as_str()))?;
    r.check_convertible(kind, now)?;
    Ok(r)
}

/// Marks a reservation converted into `to` (inside the allocation's transaction) and audits it.
pub(super) async fn mark_converted(
    conn: &mut SqliteConnection,
    actor: &Actor,
    r: &Reservation,
    to: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Conversion { reservation: converted, audit } = r.convert(to, actor, now);
    sqlx::query(
        "UPDATE ipam_reservations SET status = ?2, converted_at = ?3, converted_to = ?4, updated_at = ?5
         WHERE reservation_id = ?1 AND status = 'active'",
    )
    .bind(r.id.as_str())
    .bind(converted.status.as_str())
    .bind(converted.converted_at.map(ts))
    .bind(converted.converted_to.as_deref())
    .bind(ts(now))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    insert_audit(conn, &audit).await
}

#[async_trait]
impl ReservationStore for SqliteStore {
    async fn create_reservation(&self, actor: &Actor, r: &Reservation, now: DateTime<Utc>) -> Result<()> {
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let allocated: Option<i64> = match r.z {
            Some(z) => sqlx::query_scalar(
                "SELECT 1 FROM ipam_hosts WHERE user_id = ?1 AND x_octet = ?2 AND y_octet = ?3 AND z_octet = ?4",
            )
            .bind(user.as_str())
            .bind(i64::from(r.x))
            .bind(i64::from(r.y))
            .bind(i64::from(z))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?,
            None => {
                sqlx::query_scalar("SELECT 1 FROM ipam_regions WHERE user_id = ?1 AND x_octet = ?2 AND y_octet = ?3")
                    .bind(user.as_str())
                    .bind(i64::from(r.x))
                    .bind(i64::from(r.y))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?
            }
        };
        if allocated.is_some() {
            return Err(address_taken("allocated", r));
        }
        // An overdue reservation of the same address no longer holds it: record that first.
        sqlx::query(
            "UPDATE ipam_reservations SET status = 'expired', updated_at = ?5
             WHERE user_id = ?1 AND resource_type = ?2 AND x_octet = ?3 AND y_octet = ?4 AND z_octet IS ?6
               AND status = 'active' AND expires_at IS NOT NULL AND expires_at <= ?5",
        )
        .bind(user.as_str())
        .bind(r.kind.as_str())
        .bind(i64::from(r.x))
        .bind(i64::from(r.y))
        .bind(ts(now))
        .bind(r.z.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO ipam_reservations (reservation_id, user_id, resource_type, x_octet, y_octet, z_octet, reason,
                 status, expires_at, created_at, created_by, updated_at, metadata)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9, ?10, ?9, ?11)",
        )
        .bind(r.id.as_str())
        .bind(user.as_str())
        .bind(r.kind.as_str())
        .bind(i64::from(r.x))
        .bind(i64::from(r.y))
        .bind(r.z.map(i64::from))
        .bind(r.reason.as_str())
        .bind(r.expires_at.map(ts))
        .bind(ts(r.created_at))
        .bind(r.created_by.as_str())
        .bind(r.metadata.to_string())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                return Err(address_taken("reserved", r));
            }
            Err(e) => return Err(db(e)),
        }
        insert_audit(&mut tx, &r.reserve_event(actor, now)).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn reservation(&self, user: &UserId, id: &ReservationId) -> Result<Option<Reservation>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch(&mut conn, user, id).await
    }

    async fn list_reservations(
        &self,
        user: &UserId,
        f: &ReservationFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<Reservation>> {
        let push_where = |qb: &mut QueryBuilder<Sqlite>| {
            qb.push(" WHERE user_id = ").push_bind(user.to_string());
            if let Some(kind) = f.kind {
                qb.push(" AND resource_type = ").push_bind(kind.as_str());
            }
            match f.status {
                None => {}
                Some(ReservationStatus::Active) => {
                    qb.push(" AND status = 'active' AND (expires_at IS NULL OR expires_at > ")
                        .push_bind(ts(now))
                        .push(")");
                }
                Some(ReservationStatus::Expired) => {
                    qb.push(" AND (status = 'expired' OR (status = 'active' AND expires_at <= ")
                        .push_bind(ts(now))
                        .push("))");
                }
                Some(ReservationStatus::Converted) => {
                    qb.push(" AND status = 'converted'");
                }
            }
        };
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM ipam_reservations");
        push_where(&mut count);
        let n: i64 = count.build_query_scalar().fetch_one(&mut *tx).await.map_err(db)?;
        let mut qb = QueryBuilder::<Sqlite>::new(concat!("SELECT ", reservation_columns!(), " FROM ipam_reservations"));
        push_where(&mut qb);
        qb.push(" ORDER BY created_at DESC, reservation_id DESC");
        push_page(&mut qb, page);
        let rows: Vec<ReservationRow> = qb.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
        let items = rows.into_iter().map(Reservation::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total(n), request: page })
    }

    async fn cancel_reservation(&self, actor: &Actor, id: &ReservationId, now: DateTime<Utc>) -> Result<Reservation> {
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let r = fetch(&mut tx, user, id).await?.ok_or_else(|| IpamError::not_found("reservation", id.as_str()))?;
        if r.status == ReservationStatus::Converted {
            return Err(not_cancellable(&r));
        }
        sqlx::query("DELETE FROM ipam_reservations WHERE user_id = ?1 AND reservation_id = ?2")
            .bind(user.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut tx, &r.cancel_event(actor, now)).await?;
        tx.commit().await.map_err(db)?;
        Ok(r)
    }
}

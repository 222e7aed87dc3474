//! Search across regions and hosts: one ordered, paginated result set with a real total.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use super::errors::db;
use super::filters::{push_host_where, push_page, push_region_where, total};
use super::rows::{HostRow, RegionRow, host_columns, region_columns};
use crate::domain::{Host, Page, PageRequest, Region, UserId};
use crate::error::{IpamError, Result};
use crate::storage::{SearchFilter, SearchHit, SearchStore};

/// `SELECT kind, id, created_at FROM … UNION ALL …` over the kinds the filter includes.
fn push_union(qb: &mut QueryBuilder<Sqlite>, user: &UserId, f: &SearchFilter) {
    let mut first = true;
    if let Some(rf) = &f.regions {
        qb.push("SELECT 'region' AS kind, region_id AS id, created_at FROM ipam_regions");
        push_region_where(qb, user, rf);
        first = false;
    }
    if let Some(hf) = &f.hosts {
        if !first {
            qb.push(" UNION ALL ");
        }
        qb.push("SELECT 'host' AS kind, host_id AS id, created_at FROM ipam_hosts");
        push_host_where(qb, user, hf);
    }
}

#[async_trait]
impl SearchStore for SqliteStore {
    async fn search(&self, user: &UserId, f: &SearchFilter, page: PageRequest) -> Result<Page<SearchHit>> {
        if f.regions.is_none() && f.hosts.is_none() {
            return Ok(Page { items: vec![], total: 0, request: page });
        }
        // One read transaction: the count, the page and the rows come from the same snapshot.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM (");
        push_union(&mut count, user, f);
        count.push(")");
        let n: i64 = count.build_query_scalar().fetch_one(&mut *tx).await.map_err(db)?;

        let mut qb = QueryBuilder::<Sqlite>::new("SELECT kind, id FROM (");
        push_union(&mut qb, user, f);
        qb.push(") ORDER BY created_at DESC, id DESC");
        push_page(&mut qb, page);
        let keys: Vec<(String, String)> = qb.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;

        let ids_of = |kind: &str| keys.iter().filter(|(k, _)| k == kind).map(|(_, id)| id.clone()).collect::<Vec<_>>();
        let mut regions: HashMap<String, Region> = HashMap::new();
        let region_ids = ids_of("region");
        if !region_ids.is_empty() {
            let mut q = QueryBuilder::<Sqlite>::new(concat!(
                "SELECT ",
                region_columns!(),
                " FROM ipam_regions WHERE user_id = "
            ));
            q.push_bind(user.to_string()).push(" AND region_id IN (");
            let mut list = q.separated(", ");
            for id in region_ids {
                list.push_bind(id);
            }
            q.push(")");
            let rows: Vec<RegionRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
            for row in rows {
                let r = Region::try_from(row)?;
                regions.insert(r.id.to_string(), r);
            }
        }
        let mut hosts: HashMap<String, Host> = HashMap::new();
        let host_ids = ids_of("host");
        if !host_ids.is_empty() {
            let mut q =
                QueryBuilder::<Sqlite>::new(concat!("SELECT ", host_columns!(), " FROM ipam_hosts WHERE user_id = "));
            q.push_bind(user.to_string()).push(" AND host_id IN (");
            let mut list = q.separated(", ");
            for id in host_ids {
                list.push_bind(id);
            }
            q.push(")");
            let rows: Vec<HostRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
            for row in rows {
                let h = Host::try_from(row)?;
                hosts.insert(h.id.to_string(), h);
            }
        }
        let items = keys
            .into_iter()
            .map(|(kind, id)| match kind.as_str() {
                "region" => regions.remove(&id).map(SearchHit::Region),
                _ => hosts.remove(&id).map(SearchHit::Host),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| IpamError::internal("search snapshot was inconsistent"))?;
        Ok(Page { items, total: total(n), request: page })
    }
}

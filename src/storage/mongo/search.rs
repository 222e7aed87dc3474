//! Search across regions and hosts: one `$unionWith` aggregation gives the ordered page of
//! ids and the real total; the documents are then fetched by id.

use std::collections::HashMap;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use super::filters::{host_filter, region_filter};
use super::{MongoStore, errors, find_all};
use crate::domain::{Host, Page, PageRequest, Region, UserId};
use crate::error::{IpamError, Result};
use crate::storage::{SearchFilter, SearchHit, SearchStore};

/// The aggregation over `regions` (the collection it runs on) and `hosts`, either optional.
pub(super) fn pipeline(regions: Option<Document>, hosts: Option<Document>, page: PageRequest) -> Vec<Document> {
    let project = |kind: &str| doc! { "$project": { "_id": 1, "created_at": 1, "kind": kind } };
    let mut stages = vec![match regions {
        Some(f) => doc! { "$match": f },
        // Regions left out: start from an empty selection of the same collection.
        None => doc! { "$match": { "_id": { "$exists": false } } },
    }];
    stages.push(project("region"));
    if let Some(f) = hosts {
        stages.push(doc! { "$unionWith": { "coll": "ipam_hosts", "pipeline": [ { "$match": f }, project("host") ] } });
    }
    stages.push(doc! { "$sort": { "created_at": -1, "_id": -1 } });
    stages.push(doc! { "$facet": {
        "total": [ { "$count": "n" } ],
        "page": [ { "$skip": i64::try_from(page.offset()).unwrap_or(i64::MAX) },
                  { "$limit": i64::try_from(page.limit()).unwrap_or(i64::MAX) } ],
    }});
    stages
}

#[async_trait]
impl SearchStore for MongoStore {
    async fn search(&self, user: &UserId, f: &SearchFilter, page: PageRequest) -> Result<Page<SearchHit>> {
        if f.regions.is_none() && f.hosts.is_none() {
            return Ok(Page { items: vec![], total: 0, request: page });
        }
        let host_query = match &f.hosts {
            Some(hf) => Some(host_filter(user, hf, self.regions_named(user, hf).await?)),
            None => None,
        };
        let region_query = f.regions.as_ref().map(|rf| region_filter(user, rf));
        let stages = pipeline(region_query, host_query, page);
        let mut cursor = self.regions().aggregate(stages).await.map_err(errors::db)?;
        let facet: Document = cursor.try_next().await.map_err(errors::db)?.unwrap_or_default();
        let total = facet
            .get_array("total")
            .ok()
            .and_then(|t| t.first())
            .and_then(Bson::as_document)
            .and_then(|d| d.get("n"))
            .and_then(|n| n.as_i32().map(i64::from).or_else(|| n.as_i64()))
            .unwrap_or(0);
        let keys: Vec<(String, String)> = facet
            .get_array("page")
            .map(|a| {
                a.iter()
                    .filter_map(Bson::as_document)
                    .filter_map(|d| Some((d.get_str("kind").ok()?.to_owned(), d.get_str("_id").ok()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let ids_of = |kind: &str| keys.iter().filter(|(k, _)| k == kind).map(|(_, id)| id.clone()).collect::<Vec<_>>();
        let mut regions: HashMap<String, Region> = HashMap::new();
        for d in find_all(&self.regions(), doc! { "user_id": user.as_str(), "_id": { "$in": ids_of("region") } }, None)
            .await?
        {
            regions.insert(d.id.clone(), Region::try_from(d)?);
        }
        let mut hosts: HashMap<String, Host> = HashMap::new();
        for d in
            find_all(&self.hosts(), doc! { "user_id": user.as_str(), "_id": { "$in": ids_of("host") } }, None).await?
        {
            hosts.insert(d.id.clone(), Host::try_from(d)?);
        }
        // A document deleted between the two reads is left out of the page.
        let items = keys
            .into_iter()
            .filter_map(|(kind, id)| match kind.as_str() {
                "region" => regions.remove(&id).map(SearchHit::Region),
                _ => hosts.remove(&id).map(SearchHit::Host),
            })
            .collect();
        let total = u64::try_from(total).map_err(|_| IpamError::internal("negative count"))?;
        Ok(Page { items, total, request: page })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_are_unioned_sorted_and_paged_in_one_aggregation() {
        let page = PageRequest::new(Some(3), Some(10)).unwrap();
        let stages = pipeline(Some(doc! { "user_id": "u1" }), Some(doc! { "user_id": "u1", "hostname": "x" }), page);
        assert_eq!(stages[0], doc! { "$match": { "user_id": "u1" } });
        assert_eq!(stages[1], doc! { "$project": { "_id": 1, "created_at": 1, "kind": "region" } });
        assert_eq!(
            stages[2],
            doc! { "$unionWith": { "coll": "ipam_hosts", "pipeline": [
                { "$match": { "user_id": "u1", "hostname": "x" } },
                { "$project": { "_id": 1, "created_at": 1, "kind": "host" } },
            ]}}
        );
        assert_eq!(stages[3], doc! { "$sort": { "created_at": -1, "_id": -1 } });
        assert_eq!(
            stages[4],
            doc! { "$facet": { "total": [{ "$count": "n" }], "page": [{ "$skip": 20_i64 }, { "$limit": 10_i64 }] } }
        );
    }

    #[test]
    fn hosts_only_starts_from_an_empty_region_selection() {
        let stages = pipeline(None, Some(doc! { "user_id": "u1" }), PageRequest::default());
        assert_eq!(stages[0], doc! { "$match": { "_id": { "$exists": false } } });
        assert!(stages[2].contains_key("$unionWith"));
    }
}

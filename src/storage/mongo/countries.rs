//! The country table and per-X region counts.

use async_trait::async_trait;
use mongodb::Database;
use mongodb::bson::doc;

use super::documents::{CountryDoc, SlotsDoc};
use super::{MongoStore, find_all};
use crate::domain::country_table::COUNTRY_TABLE;
use crate::domain::{Country, UserId};
use crate::error::Result;
use crate::storage::CountryStore;

/// Inserts the countries of the table that are missing (first start).
pub(super) async fn seed(db: &Database) -> anyhow::Result<()> {
    let coll = db.collection::<CountryDoc>("continent_country_mapping");
    for c in COUNTRY_TABLE {
        let d = CountryDoc {
            code: c.code.to_owned(),
            country: c.name.to_owned(),
            country_key: c.name.to_lowercase(),
            continent: c.continent.to_owned(),
            x_start: c.x_start.into(),
            x_end: c.x_end.into(),
            is_reserved: c.is_reserved,
        };
        let set = mongodb::bson::to_document(&d)?;
        coll.update_one(doc! { "_id": c.code }, doc! { "$setOnInsert": set }).upsert(true).await?;
    }
    Ok(())
}

#[async_trait]
impl CountryStore for MongoStore {
    async fn countries(&self) -> Result<Vec<Country>> {
        let docs = find_all(&self.countries(), doc! {}, Some(doc! { "x_start": 1 })).await?;
        docs.into_iter().map(Country::try_from).collect()
    }

    async fn regions_per_x(&self, user: &UserId, lo: u8, hi: u8) -> Result<Vec<(u8, u32)>> {
        let filter = doc! {
            "user_id": user.as_str(),
            "x_octet": { "$gte": i32::from(lo), "$lte": i32::from(hi) },
            "used_count": { "$gt": 0 },
        };
        let docs: Vec<SlotsDoc> = find_all(&self.slots(), filter, Some(doc! { "x_octet": 1 })).await?;
        docs.into_iter()
            .map(|d| {
                let x = u8::try_from(d.x_octet).map_err(|_| super::documents::corrupt("x_octet"))?;
                let n = u32::try_from(d.used_count).map_err(|_| super::documents::corrupt("used_count"))?;
                Ok((x, n))
            })
            .collect()
    }
}

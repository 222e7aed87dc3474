//! Occupancy bitmaps in documents: claiming and releasing one slot with a single conditional
//! update, so two racing allocations can never both get it. A claim returns the counter as it
//! left it, so each value of the counter is seen by exactly one claim (capacity events rely on
//! that to fire once per threshold crossing).

use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;

use super::MongoStore;
use super::documents::SlotsDoc;
use super::errors;
use super::tx::{Tx, run};
use crate::domain::{RegionId, UserId};
use crate::error::Result;

/// The array element and bit holding `slot` (`SlotMap::to_words` layout).
pub(super) fn position(slot: u8) -> (String, u32) {
    (format!("{}", slot / 64), u32::from(slot % 64))
}

/// The 64-bit mask of `bit` (bit 63 is the sign bit; `$bit` works on the bit pattern).
pub(super) fn mask(bit: u32) -> i64 {
    i64::from_le_bytes((1u64 << bit).to_le_bytes())
}

/// Filter and update that set `slot` in `field` only if it is clear, adding 1 to `counter`.
pub(super) fn claim(field: &str, slot: u8, counter: &str) -> (Document, Document) {
    let (word, bit) = position(slot);
    let path = format!("{field}.{word}");
    (
        doc! { path.clone(): { "$bitsAllClear": [Bson::Int32(i32::try_from(bit).unwrap_or(0))] } },
        doc! { "$bit": { path: { "or": mask(bit) } }, "$inc": { counter: 1 } },
    )
}

/// Filter and update that clear `slot` in `field` only if it is set, taking 1 from `counter`.
pub(super) fn release(field: &str, slot: u8, counter: &str) -> (Document, Document) {
    let (word, bit) = position(slot);
    let path = format!("{field}.{word}");
    (
        doc! { path.clone(): { "$bitsAllSet": [Bson::Int32(i32::try_from(bit).unwrap_or(0))] } },
        doc! { "$bit": { path: { "and": !mask(bit) } }, "$inc": { counter: -1 } },
    )
}

/// A stored occupancy counter (never negative in a sound document).
fn counter(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn merge(mut a: Document, b: Document) -> Document {
    a.extend(b);
    a
}

impl MongoStore {
    /// Claims Y of the user's X; `None` when another request holds it, else how many blocks of
    /// the X are in use right after this claim (capacity events are computed from it).
    pub(super) async fn claim_block(&self, user: &UserId, x: u8, y: u8) -> Result<Option<u32>> {
        let id = SlotsDoc::id(user, x);
        let insert = doc! { "$setOnInsert": {
            "user_id": user.as_str(), "x_octet": i32::from(x), "y_slots": [0_i64, 0_i64, 0_i64, 0_i64], "used_count": 0,
        }};
        if let Err(e) = self.slots().update_one(doc! { "_id": &id }, insert).upsert(true).await {
            // Two first claims on the same X race on the upsert; the loser finds the document.
            if errors::duplicate_index(&e).is_none() {
                return Err(errors::db(e));
            }
        }
        let (filter, update) = claim("y_slots", y, "used_count");
        let claimed = self
            .slots()
            .find_one_and_update(merge(doc! { "_id": &id }, filter), update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        Ok(claimed.map(|d| counter(d.used_count)))
    }

    /// Frees Y of the user's X.
    pub(super) async fn release_block(&self, user: &UserId, x: u8, y: u8) -> Result<()> {
        self.release_block_in(&mut Tx::none(), user, x, y).await
    }

    /// Frees Y of the user's X, inside `tx`.
    pub(super) async fn release_block_in(&self, tx: &mut Tx, user: &UserId, x: u8, y: u8) -> Result<()> {
        let (filter, update) = release("y_slots", y, "used_count");
        let filter = merge(doc! { "_id": SlotsDoc::id(user, x) }, filter);
        run!(tx, self.slots().update_one(filter, update)).map_err(errors::db)?;
        Ok(())
    }

    /// Claims Z of an Active region not being retired; `None` when it is taken or the region
    /// is gone, inactive or retiring (the caller re-reads the region to tell which), else how
    /// many hosts the region counts right after this claim (for capacity events).
    pub(super) async fn claim_host(&self, user: &UserId, region: &RegionId, z: u8) -> Result<Option<u32>> {
        let (filter, update) = claim("host_slots", z, "allocated_hosts");
        let scope =
            doc! { "_id": region.as_str(), "user_id": user.as_str(), "status": "Active", "retiring": { "$ne": true } };
        let claimed = self
            .regions()
            .find_one_and_update(merge(scope, filter), update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        Ok(claimed.map(|d| counter(d.allocated_hosts)))
    }

    /// Frees Z of a region.
    pub(super) async fn release_host_slot(&self, user: &UserId, region: &RegionId, z: u8) -> Result<()> {
        self.release_host_slot_in(&mut Tx::none(), user, region, z).await
    }

    /// Frees host address `z` of a region, inside `tx`.
    pub(super) async fn release_host_slot_in(
        &self,
        tx: &mut Tx,
        user: &UserId,
        region: &RegionId,
        z: u8,
    ) -> Result<()> {
        let (filter, update) = release("host_slots", z, "allocated_hosts");
        let scope = doc! { "_id": region.as_str(), "user_id": user.as_str() };
        run!(tx, self.regions().update_one(merge(scope, filter), update)).map_err(errors::db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SlotMap;

    #[test]
    fn positions_follow_the_slot_map_word_layout() {
        for slot in [0u8, 1, 63, 64, 127, 128, 200, 255] {
            let mut m = SlotMap::empty();
            m.set(slot);
            let (word, bit) = position(slot);
            let words = m.to_words();
            let w: usize = word.parse().unwrap();
            assert_eq!(words[w], mask(bit), "slot {slot}");
            assert_eq!(words.iter().filter(|v| **v != 0).count(), 1);
        }
    }

    #[test]
    fn a_claim_is_conditional_on_the_bit_being_clear() {
        let (filter, update) = claim("host_slots", 70, "allocated_hosts");
        assert_eq!(filter, doc! { "host_slots.1": { "$bitsAllClear": [6] } });
        assert_eq!(update, doc! { "$bit": { "host_slots.1": { "or": 64_i64 } }, "$inc": { "allocated_hosts": 1 } });
        let (filter, update) = release("y_slots", 63, "used_count");
        assert_eq!(filter, doc! { "y_slots.0": { "$bitsAllSet": [63] } });
        assert_eq!(update, doc! { "$bit": { "y_slots.0": { "and": i64::MAX } }, "$inc": { "used_count": -1 } });
    }
}

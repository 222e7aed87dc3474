//! Recomputing derived data from the rows themselves, shared by the backends' `repair`.

use std::collections::BTreeMap;

use crate::domain::{SlotMap, UserId};

/// What the regions and hosts say the derived data should be.
#[derive(Debug, Default)]
pub(crate) struct Truth {
    /// Host bitmap of every region (by region id).
    pub(crate) hosts: BTreeMap<String, SlotMap>,
    /// Block bitmap of every (user, X) holding a region.
    pub(crate) blocks: BTreeMap<(UserId, u8), SlotMap>,
    /// Regions and hosts held, per user.
    pub(crate) counts: BTreeMap<UserId, (u32, u32)>,
}

impl Truth {
    /// Adds one region.
    pub(crate) fn region(&mut self, id: &str, user: &UserId, x: u8, y: u8) {
        self.hosts.entry(id.to_owned()).or_default();
        self.blocks.entry((user.clone(), x)).or_default().set(y);
        self.counts.entry(user.clone()).or_default().0 += 1;
    }

    /// Adds one host.
    pub(crate) fn host(&mut self, region: &str, user: &UserId, z: u8) {
        self.hosts.entry(region.to_owned()).or_default().set(z);
        self.counts.entry(user.clone()).or_default().1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_truth_is_built_from_regions_and_hosts() {
        let u = UserId::parse("u1").unwrap();
        let mut t = Truth::default();
        t.region("r1", &u, 5, 7);
        t.region("r2", &u, 5, 9);
        t.host("r1", &u, 1);
        t.host("r1", &u, 3);
        assert_eq!(t.hosts["r1"].count(), 2);
        assert_eq!(t.hosts["r2"].count(), 0);
        assert!(t.blocks[&(u.clone(), 5)].is_set(9));
        assert_eq!(t.counts[&u], (2, 2));
    }
}

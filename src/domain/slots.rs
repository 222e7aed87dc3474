//! Occupancy bitmaps: which of the 256 values of an octet are taken.
//!
//! A region keeps one for its Z octets and every (user, X) one for its Y octets, so finding
//! the lowest free address reads one small value instead of every row of a region or country.

/// 256 bits; bit `i` set means octet value `i` is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotMap([u8; 32]);

impl SlotMap {
    /// Size of the stored form in bytes.
    pub const BYTES: usize = 32;

    /// Nothing in use.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Rebuilds a map from its stored bytes; anything but 32 bytes is corrupt.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The stored form.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// Rebuilds a map from four 64-bit words (document stores), least significant word first.
    pub fn from_words(words: [i64; 4]) -> Self {
        let mut bytes = [0u8; 32];
        for (i, w) in words.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        Self(bytes)
    }

    /// Four 64-bit words, least significant first (document stores).
    pub fn to_words(self) -> [i64; 4] {
        let mut words = [0i64; 4];
        for (i, w) in words.iter_mut().enumerate() {
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(&self.0[i * 8..i * 8 + 8]);
            *w = i64::from_le_bytes(chunk);
        }
        words
    }

    /// True when `slot` is in use.
    pub fn is_set(&self, slot: u8) -> bool {
        self.0[usize::from(slot / 8)] & (1 << (slot % 8)) != 0
    }

    /// Marks `slot` as used.
    pub fn set(&mut self, slot: u8) {
        self.0[usize::from(slot / 8)] |= 1 << (slot % 8);
    }

    /// Marks `slot` as free.
    pub fn clear(&mut self, slot: u8) {
        self.0[usize::from(slot / 8)] &= !(1 << (slot % 8));
    }

    /// Number of slots in use.
    pub fn count(&self) -> u32 {
        self.0.iter().map(|b| b.count_ones()).sum()
    }

    /// The lowest free slot in `lo..=hi` for which `blocked` is false.
    pub fn lowest_free(&self, lo: u8, hi: u8, blocked: impl Fn(u8) -> bool) -> Option<u8> {
        (lo..=hi).find(|&s| !self.is_set(s) && !blocked(s))
    }

    /// The `n` lowest free slots in `lo..=hi` skipping `blocked` ones (fewer when not enough).
    pub fn lowest_free_n(&self, lo: u8, hi: u8, n: usize, blocked: impl Fn(u8) -> bool) -> Vec<u8> {
        (lo..=hi).filter(|&s| !self.is_set(s) && !blocked(s)).take(n).collect()
    }
}

/// The lowest free `(X, Y)` in `x_start..=x_end` × `0..=255`, scanning X upward.
///
/// `used` holds the Y map of every X that has at least one region (absent X are empty);
/// `blocked` vetoes addresses that are free but must not be handed out (reservations).
pub fn first_free_block(
    x_start: u8,
    x_end: u8,
    used: &std::collections::BTreeMap<u8, SlotMap>,
    blocked: impl Fn(u8, u8) -> bool,
) -> Option<(u8, u8)> {
    let empty = SlotMap::empty();
    (x_start..=x_end).find_map(|x| {
        let map = used.get(&x).unwrap_or(&empty);
        map.lowest_free(0, 255, |y| blocked(x, y)).map(|y| (x, y))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_clear_and_count() {
        let mut m = SlotMap::empty();
        for s in [0u8, 7, 8, 254, 255] {
            m.set(s);
            assert!(m.is_set(s));
        }
        assert_eq!(m.count(), 5);
        m.clear(8);
        assert!(!m.is_set(8));
        assert_eq!(m.count(), 4);
    }

    #[test]
    fn lowest_free_fills_gaps_first_and_skips_blocked_slots() {
        let mut m = SlotMap::empty();
        for s in 1..=10 {
            m.set(s);
        }
        m.clear(4);
        assert_eq!(m.lowest_free(1, 254, |_| false), Some(4));
        assert_eq!(m.lowest_free(1, 254, |s| s == 4), Some(11));
        assert_eq!(m.lowest_free_n(1, 254, 3, |_| false), vec![4, 11, 12]);
    }

    #[test]
    fn a_full_range_has_no_free_slot() {
        let mut m = SlotMap::empty();
        for s in 1..=254 {
            m.set(s);
        }
        assert_eq!(m.lowest_free(1, 254, |_| false), None);
        assert_eq!(m.count(), 254);
        assert_eq!(m.lowest_free(0, 255, |_| false), Some(0));
    }

    #[test]
    fn blocks_are_found_x_by_x_and_gaps_are_refilled() {
        let mut used = std::collections::BTreeMap::new();
        assert_eq!(first_free_block(5, 6, &used, |_, _| false), Some((5, 0)));
        let mut full = SlotMap::empty();
        for y in 0..=255 {
            full.set(y);
        }
        used.insert(5, full);
        assert_eq!(first_free_block(5, 6, &used, |_, _| false), Some((6, 0)));
        assert_eq!(first_free_block(5, 6, &used, |x, y| x == 6 && y == 0), Some((6, 1)));
        used.insert(6, full);
        assert_eq!(first_free_block(5, 6, &used, |_, _| false), None);
        let mut gap = full;
        gap.clear(17);
        used.insert(5, gap);
        assert_eq!(first_free_block(5, 6, &used, |_, _| false), Some((5, 17)));
    }

    #[test]
    fn stored_forms_round_trip() {
        let mut m = SlotMap::empty();
        for s in [0u8, 63, 64, 127, 128, 200, 255] {
            m.set(s);
        }
        assert_eq!(SlotMap::from_bytes(&m.to_bytes()), Some(m));
        assert_eq!(SlotMap::from_words(m.to_words()), m);
        assert_eq!(SlotMap::from_bytes(&[0u8; 31]), None);
    }
}

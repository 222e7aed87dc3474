//! The country table: the 18 countries of the 10.0.0.0/8 plan (one X-octet range each).
//!
//! Domain data, not schema: the allocator's ranges come from it, and the storage backends seed
//! their country collection/table from it on first start.

/// One row of the country table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryRow {
    /// ISO 3166-1 alpha-3 code (`ZZZ` for the reserved block).
    pub code: &'static str,
    /// Display name, matched case-insensitively by the API.
    pub name: &'static str,
    /// Continent the country belongs to.
    pub continent: &'static str,
    /// First X octet of the country's range (inclusive).
    pub x_start: u8,
    /// Last X octet of the country's range (inclusive).
    pub x_end: u8,
    /// Reserved blocks are not allocatable.
    pub is_reserved: bool,
}

const fn c(code: &'static str, name: &'static str, continent: &'static str, x_start: u8, x_end: u8) -> CountryRow {
    CountryRow { code, name, continent, x_start, x_end, is_reserved: false }
}

/// The table, ordered by X range; together the rows cover X = 0..=255 without gaps or overlaps.
pub const COUNTRY_TABLE: &[CountryRow] = &[
    c("IND", "India", "Asia", 0, 29),
    c("ARE", "UAE", "Asia", 30, 37),
    c("SGP", "Singapore", "Asia", 38, 45),
    c("JPN", "Japan", "Asia", 46, 53),
    c("KOR", "South Korea", "Asia", 54, 61),
    c("IDN", "Indonesia", "Asia", 62, 69),
    c("TWN", "Taiwan", "Asia", 70, 77),
    c("ZAF", "South Africa", "Africa", 78, 97),
    c("FIN", "Finland", "Europe", 98, 107),
    c("SWE", "Sweden", "Europe", 108, 117),
    c("POL", "Poland", "Europe", 118, 127),
    c("ESP", "Spain", "Europe", 128, 137),
    c("CAN", "Canada", "North America", 138, 152),
    c("USA", "United States", "North America", 153, 167),
    c("BRA", "Brazil", "South America", 168, 177),
    c("CHL", "Chile", "South America", 178, 187),
    c("AUS", "Australia", "Australia", 188, 207),
    CountryRow { code: "ZZZ", name: "Future Use", continent: "Reserved", x_start: 208, x_end: 255, is_reserved: true },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_x_octet_exactly_once() {
        let mut next = 0u16;
        for row in COUNTRY_TABLE {
            assert_eq!(u16::from(row.x_start), next, "gap or overlap before {}", row.name);
            assert!(row.x_start <= row.x_end);
            next = u16::from(row.x_end) + 1;
        }
        assert_eq!(next, 256);
        assert_eq!(COUNTRY_TABLE.len(), 18);
    }

    #[test]
    fn only_future_use_is_reserved() {
        let reserved: Vec<_> = COUNTRY_TABLE.iter().filter(|c| c.is_reserved).map(|c| c.code).collect();
        assert_eq!(reserved, ["ZZZ"]);
    }
}

//! Addresses inside 10.0.0.0/8: single addresses, CIDR blocks, and the octet ranges that a
//! block covers (the form every backend filters on).

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 address inside 10.0.0.0/8 (any octets, including .0 and .255).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenAddress {
    /// Second octet: the country's block.
    pub x: u8,
    /// Third octet: the region.
    pub y: u8,
    /// Fourth octet: the host.
    pub z: u8,
}

impl TenAddress {
    /// Parses dotted-quad text such as `10.5.23.7`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ip: Ipv4Addr =
            raw.trim().parse().map_err(|_| format!("'{}' is not an IPv4 address (expected 10.X.Y.Z)", shorten(raw)))?;
        let [a, x, y, z] = ip.octets();
        if a != 10 {
            return Err(format!("{ip} is outside 10.0.0.0/8"));
        }
        Ok(Self { x, y, z })
    }

    /// The /24 region this address belongs to, as `10.X.Y.0/24`.
    pub fn region_cidr(&self) -> String {
        region_cidr(self.x, self.y)
    }
}

impl fmt::Display for TenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "10.{}.{}.{}", self.x, self.y, self.z)
    }
}

/// Text of a host address.
pub fn host_ip(x: u8, y: u8, z: u8) -> String {
    format!("10.{x}.{y}.{z}")
}

/// Text of a region block.
pub fn region_cidr(x: u8, y: u8) -> String {
    format!("10.{x}.{y}.0/24")
}

/// A CIDR block inside 10.0.0.0/8 with a prefix length of 8 to 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: TenAddress,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.a.b.c/n`; host bits must be zero.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (addr, len) = raw
            .split_once('/')
            .ok_or_else(|| format!("'{}' is not a CIDR block (expected 10.X.Y.Z/N)", shorten(raw)))?;
        let network = TenAddress::parse(addr)?;
        let prefix: u8 = len
            .parse()
            .ok()
            .filter(|p| (8..=32).contains(p))
            .ok_or_else(|| format!("prefix length '{}' must be a number from 8 to 32", shorten(len)))?;
        let value = Self::value(network);
        let host_bits = 32 - u32::from(prefix);
        let mask = if host_bits >= 24 { 0 } else { !((1u32 << host_bits) - 1) & 0x00FF_FFFF };
        if value & !mask & 0x00FF_FFFF != 0 {
            let aligned = Self::from_value(value & mask);
            return Err(format!("{raw} has host bits set; did you mean {aligned}/{prefix}?"));
        }
        Ok(Self { network, prefix })
    }

    fn value(a: TenAddress) -> u32 {
        (u32::from(a.x) << 16) | (u32::from(a.y) << 8) | u32::from(a.z)
    }

    fn from_value(v: u32) -> TenAddress {
        // Masking to a byte makes the narrowing casts exact.
        TenAddress { x: ((v >> 16) & 0xFF) as u8, y: ((v >> 8) & 0xFF) as u8, z: (v & 0xFF) as u8 }
    }

    /// The network address.
    pub fn network(&self) -> TenAddress {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The octet ranges this block covers.
    pub fn octet_range(&self) -> OctetRange {
        let lo = Self::value(self.network);
        let size = 1u32 << (32 - u32::from(self.prefix));
        let hi = lo + size - 1;
        let (a, b) = (Self::from_value(lo), Self::from_value(hi));
        OctetRange { x: (a.x, b.x), y: (a.y, b.y), z: (a.z, b.z) }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Inclusive ranges of the X, Y and Z octets covered by an address or a CIDR block.
///
/// Because CIDR blocks are aligned, a block is exactly the product of these three ranges.
/// A region (a /24) matches when its X and Y fall inside; a host when all three do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OctetRange {
    /// X octets, inclusive.
    pub x: (u8, u8),
    /// Y octets, inclusive.
    pub y: (u8, u8),
    /// Z octets, inclusive.
    pub z: (u8, u8),
}

impl OctetRange {
    /// The range of exactly one address.
    pub fn single(a: TenAddress) -> Self {
        Self { x: (a.x, a.x), y: (a.y, a.y), z: (a.z, a.z) }
    }

    /// Parses either an address (`10.1.2.3`) or a block (`10.1.0.0/16`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.contains('/') {
            Cidr::parse(raw).map(|c| c.octet_range())
        } else {
            TenAddress::parse(raw).map(Self::single)
        }
    }

    /// True when the /24 region X.Y overlaps this range.
    pub fn contains_region(&self, x: u8, y: u8) -> bool {
        (self.x.0..=self.x.1).contains(&x) && (self.y.0..=self.y.1).contains(&y)
    }

    /// True when the host X.Y.Z lies inside this range.
    pub fn contains_host(&self, x: u8, y: u8, z: u8) -> bool {
        self.contains_region(x, y) && (self.z.0..=self.z.1).contains(&z)
    }
}

/// Cuts user input down to a readable length before echoing it back in a message.
pub(crate) fn shorten(raw: &str) -> String {
    const MAX: usize = 40;
    if raw.chars().count() <= MAX {
        raw.to_owned()
    } else {
        let mut s: String = raw.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_inside_ten_slash_eight_parse() {
        assert_eq!(TenAddress::parse("10.5.23.7"), Ok(TenAddress { x: 5, y: 23, z: 7 }));
        assert_eq!(TenAddress::parse(" 10.0.0.0 ").unwrap().to_string(), "10.0.0.0");
        assert_eq!(TenAddress::parse("10.255.255.255").unwrap().region_cidr(), "10.255.255.0/24");
    }

    #[test]
    fn other_addresses_are_refused_with_a_reason() {
        assert!(TenAddress::parse("192.168.1.1").unwrap_err().contains("outside 10.0.0.0/8"));
        for bad in ["10.1.2", "10.1.2.256", "10.01.2.3", "ten", "", "10.1.2.3.4", "::1"] {
            assert!(TenAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidr_blocks_map_to_octet_ranges() {
        let r = Cidr::parse("10.0.0.0/8").unwrap().octet_range();
        assert_eq!(r, OctetRange { x: (0, 255), y: (0, 255), z: (0, 255) });
        let r = Cidr::parse("10.4.0.0/14").unwrap().octet_range();
        assert_eq!(r, OctetRange { x: (4, 7), y: (0, 255), z: (0, 255) });
        let r = Cidr::parse("10.5.16.0/20").unwrap().octet_range();
        assert_eq!(r, OctetRange { x: (5, 5), y: (16, 31), z: (0, 255) });
        let r = Cidr::parse("10.5.23.0/24").unwrap().octet_range();
        assert_eq!(r, OctetRange { x: (5, 5), y: (23, 23), z: (0, 255) });
        let r = Cidr::parse("10.5.23.64/26").unwrap().octet_range();
        assert_eq!(r, OctetRange { x: (5, 5), y: (23, 23), z: (64, 127) });
        let r = Cidr::parse("10.5.23.7/32").unwrap().octet_range();
        assert_eq!(r, OctetRange::single(TenAddress { x: 5, y: 23, z: 7 }));
    }

    #[test]
    fn misaligned_or_out_of_range_blocks_are_refused() {
        assert!(Cidr::parse("10.5.3.0/16").unwrap_err().contains("did you mean 10.5.0.0/16"));
        assert!(Cidr::parse("10.0.0.0/7").is_err());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("11.0.0.0/8").is_err());
        assert!(Cidr::parse("10.0.0.0").is_err());
        assert!(Cidr::parse("10.0.0.0/x").is_err());
    }

    #[test]
    fn a_region_overlaps_a_block_smaller_than_itself() {
        let r = OctetRange::parse("10.5.23.64/26").unwrap();
        assert!(r.contains_region(5, 23));
        assert!(!r.contains_region(5, 24));
        assert!(r.contains_host(5, 23, 100));
        assert!(!r.contains_host(5, 23, 1));
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        let err = TenAddress::parse(&"x".repeat(500)).unwrap_err();
        assert!(err.len() < 100, "{err}");
    }
}

//! Where an address sits in the hierarchy, as far as the caller can see.

use std::collections::HashMap;

use super::Ipam;
use super::hosts::{BulkLookupItem, MAX_BULK};
use crate::auth::Actor;
use crate::domain::{Country, Host, Region, TenAddress};
use crate::error::{IpamError, Result};

/// How far down the hierarchy the caller holds the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterpretationStatus {
    /// No region of the caller covers it.
    NotAllocated,
    /// The caller holds the region, not a host at this address.
    RegionAllocated,
    /// The caller holds a host at this address.
    FullyAllocated,
}

impl InterpretationStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAllocated => "not_allocated",
            Self::RegionAllocated => "region_allocated",
            Self::FullyAllocated => "fully_allocated",
        }
    }
}

/// The answer for one address.
#[derive(Debug, Clone)]
pub struct Interpretation {
    /// The address.
    pub address: TenAddress,
    /// The country its X octet belongs to.
    pub country: Country,
    /// The caller's region at X.Y, if any.
    pub region: Option<Region>,
    /// The caller's host at the address, if any.
    pub host: Option<Host>,
    /// Summary.
    pub status: InterpretationStatus,
    /// One sentence for humans.
    pub message: String,
}

impl Ipam {
    fn describe(&self, address: TenAddress, region: Option<Region>, host: Option<Host>) -> Result<Interpretation> {
        let country = self
            .catalog
            .by_x(address.x)
            .cloned()
            .ok_or_else(|| IpamError::internal(format!("no country covers X = {}", address.x)))?;
        let (status, message) = match (&region, &host) {
            (_, Some(h)) => {
                (InterpretationStatus::FullyAllocated, format!("{address} is allocated to host '{}'", h.hostname))
            }
            (Some(r), None) => {
                let message = match address.z {
                    0 => format!("{address} is the network address of region {}", r.cidr()),
                    255 => format!("{address} is the broadcast address of region {}", r.cidr()),
                    _ => format!("{address} is free in region '{}' ({})", r.name, r.cidr()),
                };
                (InterpretationStatus::RegionAllocated, message)
            }
            (None, None) if country.is_reserved => (
                InterpretationStatus::NotAllocated,
                format!("{address} lies in the reserved block {} and cannot be allocated", country.name),
            ),
            (None, None) => {
                (InterpretationStatus::NotAllocated, format!("region {} is not allocated", address.region_cidr()))
            }
        };
        Ok(Interpretation { address, country, region, host, status, message })
    }

    /// Interprets one address.
    pub async fn interpret(&self, actor: &Actor, address: TenAddress) -> Result<Interpretation> {
        let region = self.store.region_at(&actor.user_id, address.x, address.y).await?;
        let host = match &region {
            Some(_) => self.store.hosts_at(&actor.user_id, &[address]).await?.pop(),
            None => None,
        };
        self.describe(address, region, host)
    }

    /// Interprets up to 100 addresses; malformed entries get their own error.
    pub async fn bulk_lookup(&self, actor: &Actor, inputs: &[String]) -> Result<Vec<BulkLookupItem>> {
        if inputs.is_empty() || inputs.len() > MAX_BULK {
            return Err(IpamError::invalid("ip_addresses", format!("must hold 1 to {MAX_BULK} addresses")));
        }
        let parsed: Vec<Result<TenAddress, String>> = inputs.iter().map(|s| TenAddress::parse(s)).collect();
        let addresses: Vec<TenAddress> = parsed.iter().filter_map(|p| p.as_ref().ok().copied()).collect();
        let mut hosts: HashMap<TenAddress, Host> = HashMap::new();
        for h in self.store.hosts_at(&actor.user_id, &addresses).await? {
            hosts.insert(TenAddress { x: h.x, y: h.y, z: h.z }, h);
        }
        let mut regions: HashMap<(u8, u8), Option<Region>> = HashMap::new();
        for a in &addresses {
            if let std::collections::hash_map::Entry::Vacant(slot) = regions.entry((a.x, a.y)) {
                slot.insert(self.store.region_at(&actor.user_id, a.x, a.y).await?);
            }
        }
        parsed
            .into_iter()
            .zip(inputs)
            .map(|(p, input)| match p {
                Ok(a) => {
                    let region = regions.get(&(a.x, a.y)).cloned().flatten();
                    let host = hosts.get(&a).cloned();
                    Ok(BulkLookupItem::Found(Box::new(self.describe(a, region, host)?)))
                }
                Err(error) => Ok(BulkLookupItem::Invalid { input: input.clone(), error }),
            })
            .collect()
    }
}

//! Shareable links: create, list, revoke, and open (public).

use super::Ipam;
use crate::auth::Actor;
use crate::domain::share::MAX_DAYS;
use crate::domain::{
    Country, Description, Host, HostId, Page, PageRequest, Region, RegionId, Share, ShareId, ShareKind, ShareToken,
    UserId,
};
use crate::error::{IpamError, Result};

/// What a share shows, loaded as its owner sees it (the API reduces it to an allow-list).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // built once per public read and consumed at once
pub enum SharedResource {
    /// A country and the owner's number of regions in it.
    Country {
        /// The country.
        country: Country,
        /// Regions the owner holds there.
        allocated: u32,
    },
    /// A region and its country.
    Region {
        /// The region.
        region: Region,
        /// Its country.
        country: Option<Country>,
    },
    /// A host and its region.
    Host {
        /// The host.
        host: Host,
        /// Its region.
        region: Option<Region>,
    },
}

/// Unknown, revoked and expired links (and deleted resources) all look the same.
fn gone(token: &str) -> IpamError {
    IpamError::not_found("share", crate::domain::address::shorten(token))
}

impl Ipam {
    /// Creates a link to one of the caller's resources (a country by code or name).
    pub async fn create_share(
        &self,
        actor: &Actor,
        kind: ShareKind,
        resource_id: &str,
        days: u32,
        description: Option<Description>,
    ) -> Result<Share> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(IpamError::invalid("expires_in_days", format!("must be between 1 and {MAX_DAYS}")));
        }
        let user = &actor.user_id;
        let short = crate::domain::address::shorten(resource_id);
        let stored_id = match kind {
            ShareKind::Country => self.catalog.resolve(resource_id)?.code.to_string(),
            ShareKind::Region => {
                let id = RegionId::parse(resource_id).ok_or_else(|| IpamError::not_found("region", &short))?;
                self.store.region(user, &id).await?.ok_or_else(|| IpamError::not_found("region", &short))?;
                id.to_string()
            }
            ShareKind::Host => {
                let id = HostId::parse(resource_id).ok_or_else(|| IpamError::not_found("host", &short))?;
                self.store.host(user, &id).await?.ok_or_else(|| IpamError::not_found("host", &short))?;
                id.to_string()
            }
        };
        let share = Share::new(user, &actor.username, kind, stored_id, days, description, self.now());
        self.store.create_share(actor, &share).await?;
        Ok(share)
    }

    /// The caller's live shares.
    pub async fn shares(&self, actor: &Actor, page: PageRequest) -> Result<Page<Share>> {
        self.store.live_shares(&actor.user_id, page, self.now()).await
    }

    /// Revokes one of the caller's live shares.
    pub async fn revoke_share(&self, actor: &Actor, id: &ShareId) -> Result<()> {
        if self.store.revoke_share(actor, id, self.now()).await? {
            Ok(())
        } else {
            Err(IpamError::not_found("share", id.as_str()))
        }
    }

    /// Opens a link (no authentication): loads the resource as its owner sees it, then counts
    /// the view. Unknown, revoked and expired tokens, and deleted resources, are all the same
    /// "not found", and only successful reads are counted.
    pub async fn open_share(&self, token: &str) -> Result<(Share, SharedResource)> {
        let raw = token;
        let gone = || gone(raw);
        let token = ShareToken::parse(token).ok_or_else(gone)?;
        let share = self.store.live_share(&token, self.now()).await?.ok_or_else(gone)?;
        let owner: &UserId = &share.user_id;
        let resource = match share.kind {
            ShareKind::Country => {
                let country = self.catalog.find(&share.resource_id).cloned().ok_or_else(gone)?;
                let allocated =
                    self.store.regions_per_x(owner, country.x_start, country.x_end).await?.iter().map(|(_, n)| n).sum();
                SharedResource::Country { country, allocated }
            }
            ShareKind::Region => {
                let id = RegionId::parse(&share.resource_id).ok_or_else(gone)?;
                let region = self.store.region(owner, &id).await?.ok_or_else(gone)?;
                let country = self.catalog.by_code(&region.country_code).cloned();
                SharedResource::Region { region, country }
            }
            ShareKind::Host => {
                let id = HostId::parse(&share.resource_id).ok_or_else(gone)?;
                let host = self.store.host(owner, &id).await?.ok_or_else(gone)?;
                let region = self.store.region(owner, &host.region_id).await?;
                SharedResource::Host { host, region }
            }
        };
        let share = self.store.record_view(&share.id, self.now()).await?.ok_or_else(gone)?;
        Ok((share, resource))
    }
}

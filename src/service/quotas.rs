//! Quotas: the caller's view and administration.

use super::Ipam;
use crate::auth::Actor;
use crate::domain::quota::{MAX_HOST_QUOTA, MAX_REGION_QUOTA};
use crate::domain::{Page, PageRequest, QuotaDefaults, QuotaPatch, QuotaUsage, UserId};
use crate::error::{FieldErrors, IpamError, Result};

/// Usage together with the limits in force.
#[derive(Debug, Clone)]
pub struct QuotaView {
    /// Stored usage and overrides.
    pub usage: QuotaUsage,
    /// Defaults that apply where there is no override.
    pub defaults: QuotaDefaults,
}

impl Ipam {
    fn view(&self, usage: QuotaUsage) -> QuotaView {
        QuotaView { usage, defaults: self.quotas }
    }

    /// The caller's quota.
    pub async fn my_quota(&self, actor: &Actor) -> Result<QuotaView> {
        Ok(self.view(self.store.quota(&actor.user_id).await?))
    }

    /// Any user's quota (administrators).
    pub async fn quota_of(&self, user: &UserId) -> Result<QuotaView> {
        Ok(self.view(self.store.quota(user).await?))
    }

    /// Every user with a quota record (administrators).
    pub async fn quotas(&self, page: PageRequest) -> Result<Page<QuotaView>> {
        Ok(self.store.quotas(page).await?.map(|u| self.view(u)))
    }

    /// Changes a user's limits (administrators). Lowering a limit below current usage is
    /// allowed: nothing is taken away, new allocations are refused until usage drops.
    pub async fn update_quota(&self, actor: &Actor, user: &UserId, patch: &QuotaPatch) -> Result<QuotaView> {
        let mut errors = FieldErrors::new();
        if let Some(Some(q)) = patch.region_quota
            && q > MAX_REGION_QUOTA
        {
            errors.add("region_quota", format!("must be at most {MAX_REGION_QUOTA} (the whole 10.0.0.0/8)"));
        }
        if let Some(Some(q)) = patch.host_quota
            && q > MAX_HOST_QUOTA
        {
            errors.add("host_quota", format!("must be at most {MAX_HOST_QUOTA} (the whole 10.0.0.0/8)"));
        }
        if patch.region_quota.is_none() && patch.host_quota.is_none() {
            errors.add("body", "give region_quota and/or host_quota (a number, or null for the default)");
        }
        if !errors.is_empty() {
            return Err(IpamError::Validation(errors));
        }
        Ok(self.view(self.store.update_quota(actor, user, patch, self.now()).await?))
    }
}

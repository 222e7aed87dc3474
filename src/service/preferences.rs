//! Preferences and saved filters.

use super::Ipam;
use crate::auth::Actor;
use crate::domain::preferences::{MAX_FILTERS, MAX_PREFERENCES_BYTES};
use crate::domain::{FilterCriteria, FilterId, FilterName, Preferences, PreferencesPatch, SavedFilter};
use crate::error::{IpamError, Result};

impl Ipam {
    /// The caller's preferences (the defaults when they never saved any; nothing is written).
    pub async fn preferences(&self, actor: &Actor) -> Result<Preferences> {
        Ok(self.store.preferences(&actor.user_id).await?.unwrap_or_else(|| Preferences::defaults(&actor.user_id)))
    }

    /// Merges the given top-level keys into the caller's preferences (≤ 50 KB in total).
    pub async fn update_preferences(&self, actor: &Actor, patch: &PreferencesPatch) -> Result<Preferences> {
        self.store.update_preferences(&actor.user_id, patch, MAX_PREFERENCES_BYTES, self.now()).await
    }

    /// Saves a filter (at most 50 per user).
    pub async fn add_filter(&self, actor: &Actor, name: FilterName, criteria: FilterCriteria) -> Result<SavedFilter> {
        let filter = SavedFilter { id: FilterId::generate(), name, criteria, created_at: self.now() };
        self.store.add_filter(&actor.user_id, &filter, MAX_FILTERS, self.now()).await?;
        Ok(filter)
    }

    /// Deletes a saved filter.
    pub async fn delete_filter(&self, actor: &Actor, id: &FilterId) -> Result<()> {
        if self.store.delete_filter(&actor.user_id, id, self.now()).await? {
            Ok(())
        } else {
            Err(IpamError::not_found("saved filter", id.as_str()))
        }
    }

    /// One of the caller's saved filters.
    pub async fn saved_filter(&self, actor: &Actor, id: &FilterId) -> Result<SavedFilter> {
        self.preferences(actor)
            .await?
            .saved_filters
            .into_iter()
            .find(|f| &f.id == id)
            .ok_or_else(|| IpamError::not_found("saved filter", id.as_str()))
    }
}

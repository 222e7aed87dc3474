//! The user's side of notifications and notification rules: reading and marking their inbox, and
//! managing their rules. Only the system creates notifications (rule evaluation, the webhook and
//! reservation causes); nothing here does. A rule's fields are parsed by
//! `NotificationRule::create` / `RulePatch::parse`; the store persists what they decide.

use super::Ipam;
use crate::auth::Actor;
use crate::domain::{
    Notification, NotificationId, NotificationRule, Page, PageRequest, RuleId, RulePatch, RulePatchRequest, RuleRequest,
};
use crate::error::{IpamError, Result};
use crate::storage::NotificationFilter;

/// How many unread notifications the bell's summary lists.
pub const RECENT_UNREAD: u32 = 5;

/// Most notification rules one user may hold when configuration says nothing.
pub const DEFAULT_MAX_RULES_PER_USER: u32 = 50;

/// A page of the inbox with the user's unread count across every page (the count ignores the
/// filter: it is what the bell shows).
#[derive(Debug, Clone)]
pub struct NotificationList {
    /// The page, newest first.
    pub page: Page<Notification>,
    /// Unread, unexpired notifications of the user.
    pub unread_count: u64,
}

/// What the notification bell shows.
#[derive(Debug, Clone)]
pub struct UnreadSummary {
    /// Unread, unexpired notifications of the user.
    pub unread_count: u64,
    /// The [`RECENT_UNREAD`] newest of them.
    pub recent: Vec<Notification>,
}

fn notification_not_found(id: &NotificationId) -> IpamError {
    IpamError::not_found("notification", id.as_str())
}

fn rule_not_found(id: &RuleId) -> IpamError {
    IpamError::not_found("notification rule", id.as_str())
}

impl Ipam {
    /// A page of the caller's notifications matching `filter`, newest first, with their unread count.
    pub async fn notifications(
        &self,
        actor: &Actor,
        filter: &NotificationFilter,
        page: PageRequest,
    ) -> Result<NotificationList> {
        let now = self.now();
        let page = self.store.notifications(&actor.user_id, filter, page, now).await?;
        let unread_count = self.store.unread_count(&actor.user_id, now).await?;
        Ok(NotificationList { page, unread_count })
    }

    /// The caller's unread count and newest unread notifications.
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<UnreadSummary> {
        let now = self.now();
        let unread_count = self.store.unread_count(&actor.user_id, now).await?;
        let recent = self.store.recent_unread(&actor.user_id, RECENT_UNREAD, now).await?;
        Ok(UnreadSummary { unread_count, recent })
    }

    /// Marks one of the caller's notifications read or unread (see `Notification::mark`).
    pub async fn mark_notification(&self, actor: &Actor, id: &NotificationId, is_read: bool) -> Result<Notification> {
        self.store
            .mark_notification(&actor.user_id, id, is_read, self.now())
            .await?
            .ok_or_else(|| notification_not_found(id))
    }

    /// Marks every unread notification of the caller read; returns how many changed.
    pub async fn mark_all_notifications_read(&self, actor: &Actor) -> Result<u64> {
        self.store.mark_all_read(&actor.user_id, self.now()).await
    }

    /// Deletes one of the caller's notifications.
    pub async fn delete_notification(&self, actor: &Actor, id: &NotificationId) -> Result<()> {
        if self.store.delete_notification(&actor.user_id, id).await? { Ok(()) } else { Err(notification_not_found(id)) }
    }

    /// Creates a rule for the caller: every field valid (one 422 naming each bad one), and fewer
    /// rules than the per-user limit (checked by the store in the same unit of work as the insert).
    pub async fn create_rule(&self, actor: &Actor, request: &RuleRequest<'_>) -> Result<NotificationRule> {
        let rule = NotificationRule::create(&actor.user_id, request, &self.catalog, self.now())?;
        self.store.create_rule(&rule, self.max_rules_per_user).await?;
        Ok(rule)
    }

    /// The caller's rules, newest first.
    pub async fn rules(&self, actor: &Actor, page: PageRequest) -> Result<Page<NotificationRule>> {
        self.store.list_rules(&actor.user_id, page).await
    }

    /// One of the caller's rules.
    pub async fn rule(&self, actor: &Actor, id: &RuleId) -> Result<NotificationRule> {
        self.store.rule(&actor.user_id, id).await?.ok_or_else(|| rule_not_found(id))
    }

    /// Changes one of the caller's rules (any field; stamps `updated_at`). The request is parsed
    /// before the rule is looked up, so a bad field is a 422 even for an unknown id, as for any
    /// other body.
    pub async fn update_rule(
        &self,
        actor: &Actor,
        id: &RuleId,
        request: &RulePatchRequest<'_>,
    ) -> Result<NotificationRule> {
        let patch = RulePatch::parse(request, &self.catalog)?;
        self.store.update_rule(&actor.user_id, id, &patch, self.now()).await?.ok_or_else(|| rule_not_found(id))
    }

    /// Deletes one of the caller's rules and its per-resource state.
    pub async fn delete_rule(&self, actor: &Actor, id: &RuleId) -> Result<()> {
        if self.store.delete_rule(&actor.user_id, id).await? { Ok(()) } else { Err(rule_not_found(id)) }
    }
}

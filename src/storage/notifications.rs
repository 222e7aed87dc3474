//! The storage of in-app notifications, notification rules and the per-(rule, resource) state of
//! threshold rules. What a notification or a rule becomes is decided in `domain::notification`
//! and `domain::notification_rule` (`Notification::mark`, `NotificationRule::patched`,
//! `rearmed_by`, `observe`); these traits only persist those decisions, each method a whole unit
//! of work, and every backend passes the same conformance suite.
//!
//! Expiry is evaluated on read: a notification whose `expires_at` is at or before `now` is
//! invisible to every read and mark, even before a sweep deletes it (MongoDB's TTL monitor runs
//! only once a minute; SQLite has none and relies on the daily cleanup job).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Notification, NotificationCreated, NotificationId, NotificationRule, NotificationType, Page, PageRequest,
    ResourceKey, RuleId, RulePatch, RuleState, Severity, UserId,
};
use crate::error::Result;

/// Which notifications to list (every condition given must hold).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    /// Only read (`true`) or only unread (`false`) ones.
    pub is_read: Option<bool>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this type.
    pub notification_type: Option<NotificationType>,
    /// Created at or after (inclusive, as search's `created_after`).
    pub created_after: Option<DateTime<Utc>>,
    /// Created at or before (inclusive).
    pub created_before: Option<DateTime<Utc>>,
}

/// A user's notification inbox.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a new notification; false, writing nothing, when its owner already has one with
    /// the same `dedup_key` (the unique index decides, so concurrent workers processing the same
    /// cause store it once).
    async fn insert_notification(&self, notification: &Notification) -> Result<bool>;
    /// A page of the user's unexpired notifications matching `filter`, newest first, with the
    /// real total.
    async fn notifications(
        &self,
        user: &UserId,
        filter: &NotificationFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<Notification>>;
    /// How many unexpired notifications of the user are unread.
    async fn unread_count(&self, user: &UserId, now: DateTime<Utc>) -> Result<u64>;
    /// The user's `limit` newest unexpired unread notifications, newest first.
    async fn recent_unread(&self, user: &UserId, limit: u32, now: DateTime<Utc>) -> Result<Vec<Notification>>;
    /// One of the user's unexpired notifications.
    async fn notification(
        &self,
        user: &UserId,
        id: &NotificationId,
        now: DateTime<Utc>,
    ) -> Result<Option<Notification>>;
    /// Marks one of the user's unexpired notifications read or unread as
    /// [`Notification::mark`] decides, and returns it as stored; `None` when there is none.
    async fn mark_notification(
        &self,
        user: &UserId,
        id: &NotificationId,
        is_read: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Notification>>;
    /// Marks every unread unexpired notification of the user read at `now`; returns how many.
    async fn mark_all_read(&self, user: &UserId, now: DateTime<Utc>) -> Result<u64>;
    /// Deletes one of the user's notifications; false when there is none. An expired one the
    /// sweep has not reached yet is deleted too (true): it was going anyway.
    async fn delete_notification(&self, user: &UserId, id: &NotificationId) -> Result<bool>;
    /// Deletes up to `limit` notifications expired at `now` (every user's), in short batches so
    /// a large backlog never holds a write for long; returns how many.
    async fn delete_expired_notifications(&self, now: DateTime<Utc>, limit: u32) -> Result<u64>;
}

/// Notification rules and their per-resource threshold state.
#[async_trait]
pub trait RuleStore: Send + Sync {
    /// Stores a new rule; `Conflict` when the user already has `max` of them.
    async fn create_rule(&self, rule: &NotificationRule, max: u32) -> Result<()>;
    /// One of the user's rules.
    async fn rule(&self, user: &UserId, id: &RuleId) -> Result<Option<NotificationRule>>;
    /// A page of the user's rules, newest first, with the real total.
    async fn list_rules(&self, user: &UserId, page: PageRequest) -> Result<Page<NotificationRule>>;
    /// Applies a patch as [`NotificationRule::patched`] decides and returns the rule as stored;
    /// when [`NotificationRule::rearmed_by`] the patch, every state of the rule is re-armed
    /// (`above` false; crossings and last firing kept) in the same unit of work. `None` when
    /// there is no such rule.
    async fn update_rule(
        &self,
        user: &UserId,
        id: &RuleId,
        patch: &RulePatch,
        now: DateTime<Utc>,
    ) -> Result<Option<NotificationRule>>;
    /// Deletes one of the user's rules and its states; false when there is none.
    async fn delete_rule(&self, user: &UserId, id: &RuleId) -> Result<bool>;
    /// The user's active rules, oldest first.
    async fn active_rules(&self, user: &UserId) -> Result<Vec<NotificationRule>>;
    /// The stored state of a rule for one resource.
    async fn rule_state(&self, rule: &RuleId, resource: &ResourceKey) -> Result<Option<RuleState>>;
    /// Stores the state of a rule for one resource (inserting or replacing it), owned by the
    /// rule's owner; false, writing nothing, when the rule no longer exists.
    async fn save_rule_state(&self, state: &RuleState, now: DateTime<Utc>) -> Result<bool>;
    /// Users with at least one active threshold rule, in id order, `limit` at most after `after`
    /// (the catch-up job walks them in pages).
    async fn threshold_rule_owners(&self, after: Option<&UserId>, limit: u32) -> Result<Vec<UserId>>;
    /// The scheduled catch-up of one user's threshold rules (`storage::notify::catch_up`), as
    /// one unit of work; returns the notifications it created.
    async fn catch_up_rules(&self, user: &UserId, now: DateTime<Utc>) -> Result<Vec<NotificationCreated>>;
}

//! PLACEHOLDER (being written): the job platform's storage on this backend.
#![allow(unused_variables)]

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MongoStore;
use crate::domain::{
    AttemptRecorded, Delivery, DeliveryAttempt, DeliveryId, Page, PageRequest, UserId, Webhook, WebhookId, WebhookPatch,
};
use crate::error::{IpamError, Result};
use crate::storage::{
    AttemptOutcome, DispatchReport, ExpiryStore, OutboxStore, RunOutcome, ScheduleRun, ScheduleStore, WebhookStore,
};

fn todo_() -> IpamError {
    IpamError::internal("not implemented yet")
}

#[async_trait]
impl OutboxStore for MongoStore {
    async fn dispatch_events(&self, limit: u32, now: DateTime<Utc>) -> Result<DispatchReport> {
        Err(todo_())
    }
    async fn outbox_backlog(&self) -> Result<(u64, Option<DateTime<Utc>>)> {
        Err(todo_())
    }
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        Err(todo_())
    }
}

#[async_trait]
impl WebhookStore for MongoStore {
    async fn create_webhook(&self, webhook: &Webhook, max: u32) -> Result<()> {
        Err(todo_())
    }
    async fn webhook(&self, user: &UserId, id: &WebhookId) -> Result<Option<Webhook>> {
        Err(todo_())
    }
    async fn list_webhooks(&self, user: &UserId, page: PageRequest) -> Result<Page<Webhook>> {
        Err(todo_())
    }
    async fn update_webhook(
        &self,
        user: &UserId,
        id: &WebhookId,
        patch: &WebhookPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>> {
        Err(todo_())
    }
    async fn delete_webhook(&self, user: &UserId, id: &WebhookId) -> Result<bool> {
        Err(todo_())
    }
    async fn list_deliveries(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        page: PageRequest,
    ) -> Result<Option<Page<Delivery>>> {
        Err(todo_())
    }
    async fn create_delivery(&self, delivery: &Delivery) -> Result<()> {
        Err(todo_())
    }
    async fn requeue_delivery(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Delivery> {
        Err(todo_())
    }
    async fn claim_delivery(
        &self,
        id: &DeliveryId,
        now: DateTime<Utc>,
        early: Duration,
        lease: Duration,
    ) -> Result<Option<(Delivery, Webhook)>> {
        Err(todo_())
    }
    async fn record_attempt(
        &self,
        id: &DeliveryId,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<AttemptRecorded>> {
        Err(todo_())
    }
    async fn overdue_deliveries(&self, due_before: DateTime<Utc>, limit: u32) -> Result<Vec<DeliveryId>> {
        Err(todo_())
    }
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        Err(todo_())
    }
}

#[async_trait]
impl ScheduleStore for MongoStore {
    async fn claim_tick(&self, schedule: &str, tick: DateTime<Utc>, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        Err(todo_())
    }
    async fn finish_tick(
        &self,
        schedule: &str,
        tick: DateTime<Utc>,
        outcome: RunOutcome,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        Err(todo_())
    }
    async fn latest_ticks(&self) -> Result<Vec<ScheduleRun>> {
        Err(todo_())
    }
    async fn ticks(&self, schedule: &str, limit: u32) -> Result<Vec<ScheduleRun>> {
        Err(todo_())
    }
    async fn prune_ticks(&self, before: DateTime<Utc>) -> Result<u64> {
        Err(todo_())
    }
}

#[async_trait]
impl ExpiryStore for MongoStore {
    async fn expire_reservations(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        Err(todo_())
    }
    async fn expire_shares(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        Err(todo_())
    }
}

//! Webhooks: subscriptions, their delivery log, the test ping and the manual retry of a dead
//! delivery. (Whether a URL's host is public is checked by the caller, which can resolve names.)

use super::Ipam;
use crate::auth::Actor;
use crate::domain::{
    Delivery, DeliveryId, Description, DomainEvent, Page, PageRequest, Webhook, WebhookEvents, WebhookId, WebhookPatch,
    WebhookUrl,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::webhook_disabled;

fn not_found(id: &WebhookId) -> IpamError {
    IpamError::not_found("webhook", id.as_str())
}

impl Ipam {
    /// Subscribes `url` to `events` for the caller (at most `max` webhooks each).
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        url: WebhookUrl,
        events: WebhookEvents,
        description: Option<Description>,
        max: u32,
    ) -> Result<Webhook> {
        let webhook = Webhook::new(actor.user_id.clone(), url, events, description, self.now());
        self.store.create_webhook(&webhook, max).await?;
        Ok(webhook)
    }

    /// The caller's webhooks, newest first.
    pub async fn webhooks(&self, actor: &Actor, page: PageRequest) -> Result<Page<Webhook>> {
        self.store.list_webhooks(&actor.user_id, page).await
    }

    /// One of the caller's webhooks.
    pub async fn webhook(&self, actor: &Actor, id: &WebhookId) -> Result<Webhook> {
        self.store.webhook(&actor.user_id, id).await?.ok_or_else(|| not_found(id))
    }

    /// Changes a webhook (re-enabling resets its failure count).
    pub async fn update_webhook(&self, actor: &Actor, id: &WebhookId, patch: &WebhookPatch) -> Result<Webhook> {
        self.store.update_webhook(&actor.user_id, id, patch, self.now()).await?.ok_or_else(|| not_found(id))
    }

    /// Deletes a webhook and its delivery log.
    pub async fn delete_webhook(&self, actor: &Actor, id: &WebhookId) -> Result<()> {
        if self.store.delete_webhook(&actor.user_id, id).await? { Ok(()) } else { Err(not_found(id)) }
    }

    /// A page of a webhook's deliveries, newest first.
    pub async fn deliveries(&self, actor: &Actor, id: &WebhookId, page: PageRequest) -> Result<Page<Delivery>> {
        self.store.list_deliveries(&actor.user_id, id, page).await?.ok_or_else(|| not_found(id))
    }

    /// Creates a `ping` delivery to the webhook (the caller queues it).
    pub async fn ping_webhook(&self, actor: &Actor, id: &WebhookId) -> Result<Delivery> {
        let webhook = self.webhook(actor, id).await?;
        if !webhook.is_active {
            return Err(webhook_disabled(&webhook));
        }
        let now = self.now();
        let event = DomainEvent::ping(&actor.user_id, webhook.id.as_str(), now);
        let delivery = Delivery::new(&webhook, &event.id, event.event_type, event.body(), now, now);
        self.store.create_delivery(&delivery).await?;
        Ok(delivery)
    }

    /// Puts a dead delivery back in line for a fresh round of attempts (the caller queues it).
    pub async fn retry_delivery(&self, actor: &Actor, id: &WebhookId, delivery: &DeliveryId) -> Result<Delivery> {
        let webhook = self.webhook(actor, id).await?;
        if !webhook.is_active {
            return Err(webhook_disabled(&webhook));
        }
        self.store.requeue_delivery(&actor.user_id, id, delivery, self.now()).await
    }
}

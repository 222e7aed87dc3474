//! Webhooks: subscriptions, their delivery log, the test ping and the manual retry of a dead
//! delivery. Whether a URL may be posted to at all is the [`TargetPolicy`] port's answer: it
//! resolves names, which the domain cannot do.

use std::sync::Arc;

use async_trait::async_trait;

use super::Ipam;
use crate::auth::Actor;
use crate::domain::{
    Delivery, DeliveryId, Description, DomainEvent, Page, PageRequest, Webhook, WebhookEvents, WebhookId, WebhookPatch,
    WebhookUrl,
};
use crate::error::{FieldErrors, IpamError, Result};
use crate::storage::conflicts::webhook_disabled;

/// Decides whether webhooks may post to a URL: the guard against server-side request forgery.
/// Implemented next to the HTTP client that delivers (`ipam_jobs::target`), so that creation
/// and delivery apply one rule.
#[async_trait]
pub trait TargetPolicy: Send + Sync {
    /// `Err(problem)` when the URL's host may not be posted to. The problem names the host,
    /// never the address it resolved to (echoing it would let callers map internal DNS).
    async fn check(&self, url: &WebhookUrl) -> std::result::Result<(), String>;
}

/// What webhook creation takes from configuration: the target policy and the per-user limit.
#[derive(Clone)]
pub struct WebhookRules {
    /// Which targets are refused.
    pub targets: Arc<dyn TargetPolicy>,
    /// Most webhooks one user may hold.
    pub max_per_user: u32,
}

/// A subscription as the client wrote it. It is parsed here rather than at the edge because
/// the target check belongs to the same answer: one 422 names every field's problem.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The target URL.
    pub webhook_url: &'a str,
    /// Event type names.
    pub events: &'a [String],
    /// The note, if any.
    pub description: Option<&'a str>,
}

/// A subscription every rule accepted.
struct CheckedSubscription {
    url: WebhookUrl,
    events: WebhookEvents,
    description: Option<Description>,
}

fn not_found(id: &WebhookId) -> IpamError {
    IpamError::not_found("webhook", id.as_str())
}

impl Ipam {
    /// Subscribes a URL to events for the caller: the fields are valid, the target is allowed by
    /// the policy, and the caller holds fewer webhooks than the limit (checked by the store, in
    /// the same unit of work as the insert).
    pub async fn create_webhook(&self, actor: &Actor, request: WebhookRequest<'_>) -> Result<Webhook> {
        let CheckedSubscription { url, events, description } = self.check_subscription(request).await?;
        let webhook = Webhook::new(actor.user_id.clone(), url, events, description, self.now());
        self.store.create_webhook(&webhook, self.webhook_rules.max_per_user).await?;
        Ok(webhook)
    }

    /// Parses every field and asks the target policy about a well-formed URL, collecting
    /// every problem into one validation error.
    async fn check_subscription(&self, request: WebhookRequest<'_>) -> Result<CheckedSubscription> {
        let mut e = FieldErrors::new();
        let url = e.check("webhook_url", WebhookUrl::parse(request.webhook_url));
        let events = e.check("events", WebhookEvents::parse(request.events));
        let description =
            request.description.and_then(|d| e.check("description", Description::parse_optional(d)).flatten());
        if let Some(url) = &url
            && let Err(problem) = self.webhook_rules.targets.check(url).await
        {
            e.add("webhook_url", problem);
        }
        match (url, events) {
            (Some(url), Some(events)) if e.is_empty() => Ok(CheckedSubscription { url, events, description }),
            _ => Err(IpamError::Validation(e)),
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::auth::{Permission, Permissions};
    use crate::clock::SystemClock;
    use crate::domain::{QuotaDefaults, UserId, Username};
    use crate::error::ConflictKind;
    use crate::storage::sqlite::SqliteStore;

    /// Refuses one host and records every URL it was asked about.
    #[derive(Default)]
    struct FakePolicy {
        asked: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl TargetPolicy for FakePolicy {
        async fn check(&self, url: &WebhookUrl) -> std::result::Result<(), String> {
            self.asked.lock().unwrap().push(url.as_str().to_owned());
            if url.host_port().0 == "internal.example" { Err("not a public address".into()) } else { Ok(()) }
        }
    }

    async fn service(policy: Arc<FakePolicy>, max_per_user: u32) -> (Ipam, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("ipam.db").display());
        let store = SqliteStore::connect(&url, 1).await.unwrap();
        store.prepare().await.unwrap();
        let rules = WebhookRules { targets: policy, max_per_user };
        let ipam = Ipam::new(Arc::new(store), Arc::new(SystemClock), QuotaDefaults::default(), rules).await.unwrap();
        (ipam, dir)
    }

    fn alice() -> Actor {
        Actor {
            user_id: UserId::parse("alice").unwrap(),
            username: Username::parse("alice").unwrap(),
            permissions: Permissions::of(&[Permission::Update]),
        }
    }

    fn request<'a>(url: &'a str, events: &'a [String]) -> WebhookRequest<'a> {
        WebhookRequest { webhook_url: url, events, description: None }
    }

    fn problems(e: IpamError) -> Vec<(String, String)> {
        match e {
            IpamError::Validation(f) => f.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_refused_target_is_a_validation_error_and_nothing_is_stored() {
        let policy = Arc::new(FakePolicy::default());
        let (ipam, _dir) = service(policy.clone(), 5).await;
        let events = vec!["region.created".to_owned()];

        let err = ipam.create_webhook(&alice(), request("https://internal.example/hook", &events)).await.unwrap_err();

        assert_eq!(problems(err), [("webhook_url".to_owned(), "not a public address".to_owned())]);
        assert_eq!(ipam.webhooks(&alice(), PageRequest::default()).await.unwrap().total, 0);
    }

    #[tokio::test]
    async fn every_problem_is_reported_at_once_and_a_malformed_url_is_never_resolved() {
        let policy = Arc::new(FakePolicy::default());
        let (ipam, _dir) = service(policy.clone(), 5).await;
        let unknown = vec!["host.exploded".to_owned()];

        let err = ipam.create_webhook(&alice(), request("https://internal.example/hook", &unknown)).await.unwrap_err();
        let fields: Vec<String> = problems(err).into_iter().map(|(k, _)| k).collect();
        assert_eq!(fields, ["events", "webhook_url"]);

        let err = ipam.create_webhook(&alice(), request("ftp://internal.example/hook", &unknown)).await.unwrap_err();
        assert_eq!(problems(err).len(), 2);
        assert_eq!(policy.asked.lock().unwrap().len(), 1, "only the well-formed URL was checked");
    }

    #[tokio::test]
    async fn an_allowed_target_is_stored_up_to_the_configured_limit() {
        let (ipam, _dir) = service(Arc::new(FakePolicy::default()), 1).await;
        let events = vec!["host.allocated".to_owned()];

        let first = ipam.create_webhook(&alice(), request("https://hooks.example/a", &events)).await.unwrap();
        assert_eq!(ipam.webhook(&alice(), &first.id).await.unwrap().url.as_str(), "https://hooks.example/a");

        let err = ipam.create_webhook(&alice(), request("https://hooks.example/b", &events)).await.unwrap_err();
        assert!(matches!(err, IpamError::Conflict { kind: ConflictKind::Conflict, .. }), "{err:?}");
    }
}

//! The system's own notification causes (rules are in `notification_rule`): a webhook that was
//! disabled, a reservation about to expire and one that expired. Each constructor decides
//! whether its cause applies and builds the message, severity, link and dedup key.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::{About, Notification, NotificationResource, NotificationType, Severity};
use crate::domain::delivery::WebhookAfterAttempt;
use crate::domain::ids::DeliveryId;
use crate::domain::reservation::{Reservation, ReservationStatus};

/// How long before its expiry a reservation's owner is told about it.
pub const EXPIRY_NOTICE: TimeDelta = TimeDelta::hours(24);

impl Notification {
    /// The notice that an attempt's outcome disabled a webhook (`None` when it did not). Its
    /// cause is the attempt: `attempt` numbers of a delivery only grow, across manual retries
    /// too, so a webhook re-enabled and disabled again gets a fresh notice, and recording the
    /// same attempt twice does not. Critical: the webhook's events are dropped until its owner
    /// re-enables it.
    pub fn webhook_disabled(
        after: &WebhookAfterAttempt,
        delivery: &DeliveryId,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        if !after.disabled {
            return None;
        }
        let w = &after.webhook;
        let message = format!(
            "Webhook {} was disabled after {} consecutive failed deliveries; fix the receiver, then \
             re-enable it with PATCH /ipam/webhooks/{} {{\"is_active\": true}}",
            w.url.as_str(),
            w.failure_count,
            w.id
        );
        Some(Self::unread(
            &w.user_id,
            (NotificationType::WebhookDisabled, Severity::Critical),
            message,
            Some(About::live(NotificationResource::Webhook, w.id.as_str())),
            format!("webhook_disabled:{}:{delivery}:{attempt}", w.id),
            now,
        ))
    }

    /// The warning that an active reservation expires within [`EXPIRY_NOTICE`] of `now`
    /// (`None` otherwise). One per reservation: its expiry cannot move.
    pub fn reservation_expiring(r: &Reservation, now: DateTime<Utc>) -> Option<Self> {
        let expires_at = r.expires_at?;
        if r.status_at(now) != ReservationStatus::Active || expires_at > now + EXPIRY_NOTICE {
            return None;
        }
        let message = format!(
            "Reservation of {} expires at {}; convert it to keep the address",
            r.address(),
            expires_at.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        Some(Self::unread(
            &r.user_id,
            (NotificationType::ReservationExpiring, Severity::Warning),
            message,
            Some(About::live(NotificationResource::Reservation, r.id.as_str())),
            format!("reservation_expiring:{}", r.id),
            now,
        ))
    }

    /// The notice that a reservation expired and its address is free again (`None` when it has
    /// not expired at `now`, e.g. it was converted). Info: nothing is lost that was in use.
    pub fn reservation_expired(r: &Reservation, now: DateTime<Utc>) -> Option<Self> {
        if r.status_at(now) != ReservationStatus::Expired {
            return None;
        }
        let message = format!("Reservation of {} expired; the address is free for allocation again", r.address());
        Some(Self::unread(
            &r.user_id,
            (NotificationType::ReservationExpired, Severity::Info),
            message,
            Some(About::live(NotificationResource::Reservation, r.id.as_str())),
            format!("reservation_expired:{}", r.id),
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::delivery::AttemptOutcome;
    use crate::domain::reservation::{NewReservation, ReservationKind};
    use crate::domain::text::ReservationReason;
    use crate::domain::webhook::fixtures::webhook;
    use crate::domain::{UserId, Username};

    fn t0() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn reservation(days: u32) -> Reservation {
        let new = NewReservation {
            kind: ReservationKind::Region,
            x: 1,
            y: 2,
            z: None,
            reason: ReservationReason::parse("lab").unwrap(),
            expires_in_days: Some(days),
        };
        Reservation::new(&UserId::parse("u1").unwrap(), &Username::parse("alice").unwrap(), &new, t0())
    }

    #[test]
    fn a_webhook_disabled_by_an_attempt_gets_one_critical_notice_per_disabling_attempt() {
        let before = webhook(true, 9, t0());
        let delivery = DeliveryId::generate();
        let after = AttemptOutcome::Dead.webhook_after(&before, 10, t0());
        let n = Notification::webhook_disabled(&after, &delivery, 3, t0()).unwrap();
        assert_eq!((n.notification_type, n.severity), (NotificationType::WebhookDisabled, Severity::Critical));
        assert_eq!(n.resource_link, Some(format!("/ipam/webhooks/{}", before.id)));
        assert!(n.message.contains("10 consecutive failed deliveries"), "{}", n.message);
        assert_eq!(n.dedup_key, format!("webhook_disabled:{}:{delivery}:3", before.id));
        let again = Notification::webhook_disabled(&after, &delivery, 3, t0() + TimeDelta::hours(1)).unwrap();
        assert_eq!(again.dedup_key, n.dedup_key, "the same attempt recorded twice is one notice");
        let later = Notification::webhook_disabled(&after, &delivery, 13, t0()).unwrap();
        assert_ne!(later.dedup_key, n.dedup_key, "a later disabling (after re-enabling) is another");

        let still_on = AttemptOutcome::Dead.webhook_after(&webhook(true, 1, t0()), 10, t0());
        assert_eq!(Notification::webhook_disabled(&still_on, &delivery, 2, t0()), None);
    }

    #[test]
    fn a_reservation_is_announced_within_24_hours_of_its_expiry_and_again_once_expired() {
        let r = reservation(3);
        let expiry = r.expires_at.unwrap();
        assert_eq!(Notification::reservation_expiring(&r, expiry - TimeDelta::hours(25)), None);
        let soon = Notification::reservation_expiring(&r, expiry - TimeDelta::hours(24)).unwrap();
        assert_eq!((soon.notification_type, soon.severity), (NotificationType::ReservationExpiring, Severity::Warning));
        assert_eq!(soon.dedup_key, format!("reservation_expiring:{}", r.id));
        assert_eq!(soon.resource_link, Some(format!("/ipam/reservations/{}", r.id)));
        assert!(soon.message.contains("10.1.2.0/24"), "{}", soon.message);
        assert_eq!(Notification::reservation_expiring(&r, expiry), None, "already expired");

        assert_eq!(Notification::reservation_expired(&r, expiry - TimeDelta::seconds(1)), None);
        let gone = Notification::reservation_expired(&r, expiry).unwrap();
        assert_eq!((gone.notification_type, gone.severity), (NotificationType::ReservationExpired, Severity::Info));
        assert_eq!(gone.dedup_key, format!("reservation_expired:{}", r.id));
    }

    #[test]
    fn converted_or_unexpiring_reservations_are_never_announced() {
        let mut r = reservation(1);
        r.status = ReservationStatus::Converted;
        assert_eq!(Notification::reservation_expiring(&r, t0()), None);
        assert_eq!(Notification::reservation_expired(&r, t0() + TimeDelta::days(2)), None);
        r.status = ReservationStatus::Active;
        r.expires_at = None;
        assert_eq!(Notification::reservation_expiring(&r, t0()), None);
    }
}

//! The per-user counters every audited unit of work maintains (`ipam_user_stats`): the data
//! version that result caches put in their keys, and the counts of what no longer exists.
//! Decided here from the unit of work's audit records; each backend only adds the deltas, in
//! the same unit of work.

use crate::domain::audit::{AuditAction, AuditEvent, AuditResource};
use crate::domain::ids::UserId;

/// What a unit of work's audit records add to one user's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsDelta {
    /// Whose counters.
    pub user_id: UserId,
    /// Added to the data version: one per record, so any change makes it move.
    pub versions: u64,
    /// Regions retired.
    pub retired_regions: u64,
    /// Hosts released (one by one or with their region).
    pub released_hosts: u64,
}

impl StatsDelta {
    /// The deltas of `events`, one per user, in the order users first appear.
    pub fn of(events: &[AuditEvent]) -> Vec<StatsDelta> {
        let mut deltas: Vec<StatsDelta> = Vec::new();
        for e in events {
            let at = match deltas.iter().position(|d| d.user_id == e.user_id) {
                Some(i) => i,
                None => {
                    deltas.push(StatsDelta {
                        user_id: e.user_id.clone(),
                        versions: 0,
                        retired_regions: 0,
                        released_hosts: 0,
                    });
                    deltas.len() - 1
                }
            };
            let d = &mut deltas[at];
            d.versions += 1;
            match (e.resource_type, e.action) {
                (AuditResource::Region, AuditAction::Retire) => d.retired_regions += 1,
                (AuditResource::Host, AuditAction::Release | AuditAction::Retire) => d.released_hosts += 1,
                _ => {}
            }
        }
        deltas
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::domain::ids::AuditId;
    use crate::domain::text::Username;

    fn event(user: &str, resource_type: AuditResource, action: AuditAction) -> AuditEvent {
        AuditEvent {
            id: AuditId::generate(),
            user_id: UserId::parse(user).unwrap(),
            actor_id: UserId::parse(user).unwrap(),
            actor_username: Username::parse("someone").unwrap(),
            action,
            resource_type,
            resource_id: "R1".into(),
            ip_address: None,
            cidr: None,
            x: None,
            y: None,
            z: None,
            snapshot: json!({}),
            changes: vec![],
            reason: None,
            metadata: json!({}),
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn every_record_moves_the_version_and_retirements_and_releases_are_counted_per_user() {
        let events = [
            event("alice", AuditResource::Host, AuditAction::Release),
            event("alice", AuditResource::Host, AuditAction::Release),
            event("alice", AuditResource::Region, AuditAction::Retire),
            event("bob", AuditResource::Region, AuditAction::Update),
            event("alice", AuditResource::Region, AuditAction::Create),
        ];
        let deltas = StatsDelta::of(&events);
        assert_eq!(deltas.len(), 2);
        let (a, b) = (&deltas[0], &deltas[1]);
        assert_eq!((a.user_id.as_str(), a.versions, a.retired_regions, a.released_hosts), ("alice", 4, 1, 2));
        assert_eq!((b.user_id.as_str(), b.versions, b.retired_regions, b.released_hosts), ("bob", 1, 0, 0));
        assert!(StatsDelta::of(&[]).is_empty());
    }
}

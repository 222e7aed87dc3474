//! Bulk jobs: leases, progress recorded exactly once per position, resumption after a holder
//! died mid-batch, cancellation, the relay's stalled list, pruning and isolation.

use std::time::Duration as StdDuration;

use ipam_core::auth::Actor;
use ipam_core::domain::{
    AuditAction, BulkInputs, BulkItemResult, BulkJob, BulkJobStatus, BulkResourceType, BulkTarget, NotificationType,
    PageRequest, TagChange, TagOperation,
};
use ipam_core::service::apply_bulk_tag;
use ipam_core::storage::{AuditFilter, NotificationFilter, Store};
use serde_json::json;
use std::sync::Arc;

use super::{at, country, region, t0, tags, user};

const LEASE: StdDuration = StdDuration::from_secs(60);

fn job_of(actor: &Actor, ids: &[String], op: TagOperation) -> BulkJob {
    let inputs = BulkInputs {
        resource_type: BulkResourceType::Region,
        resource_ids: ids.iter().map(|i| BulkTarget::parse(i).unwrap()).collect(),
        change: TagChange { operation: op, tags: tags(json!({"env": "prod"})) },
    };
    BulkJob::pending(&actor.user_id, &actor.username, inputs, t0())
}

/// Applies positions `from..to` of `job` at `now` (what one worker's batch does).
async fn apply(
    store: &dyn Store,
    actor: &Actor,
    job: &BulkJob,
    (from, to): (u32, u32),
    now: i64,
) -> Vec<BulkItemResult> {
    let inputs = job.inputs.as_ref().unwrap();
    let mut out = Vec::new();
    for p in from..to {
        let target = &inputs.resource_ids[p as usize];
        let what = (inputs.resource_type, &inputs.change);
        out.push(apply_bulk_tag(store, actor, what, (p, target), None, at(now)).await.unwrap());
    }
    out
}

pub async fn a_bulk_job_resumed_after_its_holder_died_records_every_position_exactly_once(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (alice, bob) = (user("alice"), user("bob"));
    let usa = country(s, "USA").await;
    let mut ids = Vec::new();
    for name in ["r0", "r1", "r2", "r3"] {
        ids.push(region(s, &alice, &usa, name, t0()).await.id.to_string());
    }
    ids.push(region(s, &bob, &usa, "foreign", t0()).await.id.to_string());
    let job = job_of(&alice, &ids, TagOperation::Add);
    s.create_bulk_job(&job, at(60)).await.unwrap();
    assert_eq!(s.bulk_job(&alice.user_id, &job.id).await.unwrap().unwrap(), job);
    assert!(s.bulk_job(&bob.user_id, &job.id).await.unwrap().is_none(), "another user's job is missing");

    // Worker A: positions 0..2.
    let a = s.claim_bulk_job(&job.id, "A", at(1), LEASE).await.unwrap().unwrap();
    assert_eq!((a.status, a.started_at, a.cursor), (BulkJobStatus::Processing, Some(at(1)), 0));
    assert!(s.claim_bulk_job(&job.id, "X", at(2), LEASE).await.unwrap().is_none(), "held by A");
    let batch = apply(s, &alice, &a, (0, 2), 2).await;
    let rec = s.record_bulk_progress(&job.id, "A", 0, &batch, at(3), LEASE).await.unwrap().unwrap();
    assert_eq!(
        (rec.job.cursor, rec.job.processed, rec.job.successful, rec.job.status),
        (2, 2, 2, BulkJobStatus::Processing)
    );
    assert!(rec.notice.is_none());
    assert!(s.record_bulk_progress(&job.id, "A", 0, &batch, at(3), LEASE).await.unwrap().is_none(), "once");

    // Worker B applies 2..5 and dies before recording.
    let b = s.claim_bulk_job(&job.id, "B", at(4), LEASE).await.unwrap().unwrap();
    assert_eq!(b.started_at, Some(at(1)), "started once");
    apply(s, &alice, &b, (2, 5), 5).await;
    assert!(s.stalled_bulk_jobs(at(30), 10).await.unwrap().is_empty());
    assert_eq!(s.stalled_bulk_jobs(at(65), 10).await.unwrap(), std::slice::from_ref(&job.id), "B's lease ran out");
    // Worker C resumes from the cursor: re-applying changes nothing and succeeds.
    let c = s.claim_bulk_job(&job.id, "C", at(65), LEASE).await.unwrap().unwrap();
    assert_eq!(c.cursor, 2);
    let batch = apply(s, &alice, &c, (2, 5), 66).await;
    assert_eq!(batch[0].message, "tags already as requested; nothing changed");
    let late = apply(s, &alice, &b, (2, 5), 66).await;
    assert!(s.record_bulk_progress(&job.id, "B", 2, &late, at(66), LEASE).await.unwrap().is_none(), "B lost it");
    let done = s.record_bulk_progress(&job.id, "C", 2, &batch, at(67), LEASE).await.unwrap().unwrap();
    let j = &done.job;
    assert_eq!((j.status, j.total, j.processed, j.successful, j.failed), (BulkJobStatus::Completed, 5, 5, 4, 1));
    assert_eq!(j.completed_at, Some(at(67)));
    assert!(done.notice.is_some());
    assert!(s.stalled_bulk_jobs(at(600), 10).await.unwrap().is_empty());
    assert!(s.claim_bulk_job(&job.id, "D", at(600), LEASE).await.unwrap().is_none(), "finished");

    let page = s.bulk_job_results(&alice.user_id, &job.id, PageRequest::new(Some(2), Some(2)).unwrap()).await.unwrap();
    let page = page.unwrap();
    assert_eq!(page.total, 5);
    let got: Vec<(u32, &str, bool)> =
        page.items.iter().map(|r| (r.position, r.resource_id.as_str(), r.success)).collect();
    assert_eq!(got, [(2, ids[2].as_str(), true), (3, ids[3].as_str(), true)]);
    let last = s.bulk_job_results(&alice.user_id, &job.id, PageRequest::new(Some(3), Some(2)).unwrap()).await.unwrap();
    let last = last.unwrap().items;
    assert_eq!((last.len(), last[0].success, last[0].message.as_str()), (1, false, "region not found"));
    assert!(s.bulk_job_results(&bob.user_id, &job.id, PageRequest::default()).await.unwrap().is_none());

    // Each of alice's regions changed once (the re-application wrote nothing); bob's not at all.
    let updates = AuditFilter { action: Some(AuditAction::Update), ..Default::default() };
    assert_eq!(s.audit_events(&alice.user_id, &updates, PageRequest::default()).await.unwrap().total, 4);
    assert_eq!(s.audit_events(&bob.user_id, &updates, PageRequest::default()).await.unwrap().total, 0);
    let notices =
        NotificationFilter { notification_type: Some(NotificationType::BulkJobFinished), ..Default::default() };
    let inbox = s.notifications(&alice.user_id, &notices, PageRequest::default(), at(100)).await.unwrap();
    assert_eq!(inbox.total, 1);
    assert!(inbox.items[0].message.contains("4 of 5 resources updated, 1 failed"), "{}", inbox.items[0].message);
}

pub async fn a_cancelled_bulk_job_keeps_its_progress_and_is_never_taken_again(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (alice, bob) = (user("alice"), user("bob"));
    let usa = country(s, "USA").await;
    let ids = vec![region(s, &alice, &usa, "r0", t0()).await.id.to_string(), "missing".to_owned()];
    let job = job_of(&alice, &ids, TagOperation::Replace);
    s.create_bulk_job(&job, at(60)).await.unwrap();
    assert!(s.cancel_bulk_job(&bob.user_id, &job.id, at(1)).await.unwrap().is_none(), "not bob's");
    let held = s.claim_bulk_job(&job.id, "A", at(1), LEASE).await.unwrap().unwrap();
    let (cancelled, now) = s.cancel_bulk_job(&alice.user_id, &job.id, at(2)).await.unwrap().unwrap();
    assert!(now);
    assert_eq!((cancelled.status, cancelled.completed_at), (BulkJobStatus::Cancelled, Some(at(2))));
    assert_eq!(s.bulk_job_status(&job.id).await.unwrap(), Some(BulkJobStatus::Cancelled));
    // The batch in flight is still recorded; the job stays cancelled and nobody is told.
    let batch = apply(s, &alice, &held, (0, 1), 3).await;
    let rec = s.record_bulk_progress(&job.id, "A", 0, &batch, at(3), LEASE).await.unwrap().unwrap();
    assert_eq!((rec.job.status, rec.job.processed, rec.job.completed_at), (BulkJobStatus::Cancelled, 1, Some(at(2))));
    assert!(rec.notice.is_none());
    let (again, now) = s.cancel_bulk_job(&alice.user_id, &job.id, at(4)).await.unwrap().unwrap();
    assert!(!now, "already finished");
    assert_eq!(again.completed_at, Some(at(2)));
    assert!(s.claim_bulk_job(&job.id, "B", at(999), LEASE).await.unwrap().is_none());
    assert!(s.stalled_bulk_jobs(at(999), 10).await.unwrap().is_empty());
}

pub async fn finished_bulk_jobs_are_listed_newest_first_and_pruned_after_retention(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (alice, bob) = (user("alice"), user("bob"));
    let mut made = Vec::new();
    for i in 0..3 {
        let mut job = job_of(&alice, &[format!("id-{i}")], TagOperation::Remove);
        job.created_at = at(i);
        s.create_bulk_job(&job, at(i + 60)).await.unwrap();
        made.push(job);
    }
    s.create_bulk_job(&job_of(&bob, &["x".to_owned()], TagOperation::Add), at(60)).await.unwrap();
    let page = s.list_bulk_jobs(&alice.user_id, PageRequest::new(Some(1), Some(2)).unwrap()).await.unwrap();
    assert_eq!(page.total, 3);
    let listed: Vec<_> = page.items.iter().map(|j| j.id.clone()).collect();
    assert_eq!(listed, [made[2].id.clone(), made[1].id.clone()]);
    assert_eq!(page.items[0].inputs, made[2].inputs, "inputs round-trip");

    // Finish the first (its only id is missing: one failure), leave the others pending.
    let claimed = s.claim_bulk_job(&made[0].id, "A", at(10), LEASE).await.unwrap().unwrap();
    let batch = apply(s, &alice, &claimed, (0, 1), 10).await;
    let done = s.record_bulk_progress(&made[0].id, "A", 0, &batch, at(10), LEASE).await.unwrap().unwrap();
    assert_eq!((done.job.status, done.job.failed), (BulkJobStatus::Completed, 1));
    assert_eq!(s.prune_bulk_jobs(at(10)).await.unwrap(), 0, "kept until after its completion");
    assert_eq!(s.prune_bulk_jobs(at(11)).await.unwrap(), 1, "unfinished jobs are never pruned");
    assert!(s.bulk_job(&alice.user_id, &made[0].id).await.unwrap().is_none());
    assert!(s.bulk_job_results(&alice.user_id, &made[0].id, PageRequest::default()).await.unwrap().is_none());
    assert_eq!(s.list_bulk_jobs(&alice.user_id, PageRequest::default()).await.unwrap().total, 2);
}

//! Bulk tag operations: a request naming up to 10,000 regions or hosts and one tag change, and
//! the job that applies it (when it names more than [`SYNC_LIMIT`]) with its progress and
//! per-resource results. The job processes the ids in order from its cursor; each result is
//! kept at its position, so a job resumed after a crash records each resource exactly once.

use chrono::{DateTime, Utc};

use super::ids::{BulkJobId, UserId, Username};
use super::notification::{About, Notification, NotificationResource, NotificationType, Severity};
use super::tag_change::TagChange;
use crate::error::FieldErrors;

/// The most resource ids one request may name.
pub const MAX_BULK_IDS: usize = 10_000;
/// Requests naming at most this many ids are applied at once; larger ones become a job.
pub const SYNC_LIMIT: usize = 100;
/// How long a finished job (and its results) is kept: the seed's 7 days. MongoDB's TTL index
/// (`BULK_JOB_RETENTION_SECS` in the schema) and the daily pruning both count from `completed_at`.
pub const RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// The longest resource id text accepted (ours are 26 characters).
const MAX_TARGET_CHARS: usize = 64;

/// The kind of resource a bulk request changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkResourceType {
    /// Regions (ids are region ids).
    Region,
    /// Hosts (ids are host ids).
    Host,
}

impl BulkResourceType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Host => "host",
        }
    }

    /// Parses a client's (or a stored) name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "region" => Ok(Self::Region),
            "host" => Ok(Self::Host),
            _ => Err("must be one of: region, host".into()),
        }
    }
}

/// One resource id as the client named it: non-empty, at most 64 visible characters. It need
/// not be a well-formed id: a malformed one is reported as not found for that id alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BulkTarget(String);

impl BulkTarget {
    /// Parses one id of a request (surrounding spaces are ignored).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > MAX_TARGET_CHARS || t.chars().any(char::is_control) {
            return Err(format!("must be a resource id (1 to {MAX_TARGET_CHARS} visible characters)"));
        }
        Ok(Self(t.to_owned()))
    }

    /// Rebuilds an id read back from storage (trusted).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a bulk tag request asks for, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkInputs {
    /// Regions or hosts.
    pub resource_type: BulkResourceType,
    /// The ids, 1..=10,000, distinct, in the order given (the order they are processed in).
    pub resource_ids: Vec<BulkTarget>,
    /// The tag change applied to each.
    pub change: TagChange,
}

impl BulkInputs {
    /// Checks the id list: 1..=[`MAX_BULK_IDS`] ids, each well-formed, none repeated. Errors
    /// are keyed `resource_ids` or `resource_ids[i]`.
    pub fn targets(raw: &[String]) -> Result<Vec<BulkTarget>, FieldErrors> {
        let mut errors = FieldErrors::default();
        if raw.is_empty() || raw.len() > MAX_BULK_IDS {
            errors.add("resource_ids", format!("must list 1 to {MAX_BULK_IDS} ids (got {})", raw.len()));
            return Err(errors);
        }
        let mut seen = std::collections::HashMap::with_capacity(raw.len());
        let mut targets = Vec::with_capacity(raw.len());
        for (i, r) in raw.iter().enumerate() {
            match BulkTarget::parse(r) {
                Ok(t) => {
                    if let Some(first) = seen.insert(t.clone(), i) {
                        errors.add(format!("resource_ids[{i}]"), format!("repeats resource_ids[{first}]"));
                    }
                    targets.push(t);
                }
                Err(e) => errors.add(format!("resource_ids[{i}]"), e),
            }
            // Keep the error report readable for a list full of mistakes.
            if errors.iter().count() >= 20 {
                break;
            }
        }
        if errors.is_empty() { Ok(targets) } else { Err(errors) }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkJobStatus {
    /// Created; no worker has started it.
    Pending,
    /// A worker is (or was, until its lease ran out) processing it.
    Processing,
    /// Every resource was processed.
    Completed,
    /// It could not be processed (e.g. a job written before its inputs were stored).
    Failed,
    /// Its owner cancelled it; it stopped at the next resource.
    Cancelled,
}

impl BulkJobStatus {
    /// Every status.
    pub const ALL: [BulkJobStatus; 5] =
        [Self::Pending, Self::Processing, Self::Completed, Self::Failed, Self::Cancelled];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// True once nothing more will happen to the job.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// The outcome for one resource of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkItemResult {
    /// Position of the id in the request (0-based); a job keeps one result per position.
    pub position: u32,
    /// The id.
    pub resource_id: BulkTarget,
    /// Whether the tags are now as asked.
    pub success: bool,
    /// What happened.
    pub message: String,
}

/// A bulk operation job as stored (its results are read page by page, separately).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkJob {
    /// Identifier.
    pub id: BulkJobId,
    /// Whose job (and whose namespace it changes).
    pub user_id: UserId,
    /// The owner's username (the author of the job's audit records).
    pub username: Username,
    /// What to do; `None` for a job written before inputs were stored, which cannot run.
    pub inputs: Option<BulkInputs>,
    /// Where it is in its life.
    pub status: BulkJobStatus,
    /// How many ids it names.
    pub total: u32,
    /// Position of the next id to process; always equal to `processed`.
    pub cursor: u32,
    /// Ids processed.
    pub processed: u32,
    /// Of those, how many succeeded.
    pub successful: u32,
    /// Of those, how many failed.
    pub failed: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When a worker first took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished (completed, failed or cancelled); retention counts from here.
    pub completed_at: Option<DateTime<Utc>>,
}

impl BulkJob {
    /// A new pending job of `inputs` for `user`.
    pub fn pending(user: &UserId, username: &Username, inputs: BulkInputs, now: DateTime<Utc>) -> Self {
        let total = u32::try_from(inputs.resource_ids.len()).unwrap_or(u32::MAX);
        Self {
            id: BulkJobId::generate(),
            user_id: user.clone(),
            username: username.clone(),
            inputs: Some(inputs),
            status: BulkJobStatus::Pending,
            total,
            cursor: 0,
            processed: 0,
            successful: 0,
            failed: 0,
            created_at: now,
            started_at: None,
            completed_at: None,
        }
    }

    /// Processed share of the total in percent (2 decimals; 100 for an empty job).
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            return 100.0;
        }
        super::region::percent(u64::from(self.processed), u64::from(self.total))
    }

    /// The status the job has once its cursor reaches `cursor`: completed when that is the
    /// end and it was still processing; otherwise unchanged (a cancelled job stays cancelled).
    pub fn status_at(&self, cursor: u32) -> BulkJobStatus {
        if self.status == BulkJobStatus::Processing && cursor >= self.total {
            BulkJobStatus::Completed
        } else {
            self.status
        }
    }
}

impl Notification {
    /// The notice to a job's owner that it finished (`None` while it runs, and for a job its
    /// owner cancelled: they know). One per job.
    pub fn bulk_job_finished(job: &BulkJob, now: DateTime<Utc>) -> Option<Self> {
        let (severity, message) = match job.status {
            BulkJobStatus::Completed => (
                if job.failed == 0 { Severity::Info } else { Severity::Warning },
                format!(
                    "Bulk tag job {} completed: {} of {} resources updated, {} failed",
                    job.id, job.successful, job.total, job.failed
                ),
            ),
            BulkJobStatus::Failed => {
                (Severity::Warning, format!("Bulk tag job {} failed and was not processed", job.id))
            }
            _ => return None,
        };
        Some(Self::unread(
            &job.user_id,
            (NotificationType::BulkJobFinished, severity),
            message,
            Some(About { kind: NotificationResource::BulkJob, id: job.id.to_string(), linked: true }),
            format!("bulk_job_finished:{}", job.id),
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Tags;

    fn get<'a>(e: &'a FieldErrors, field: &str) -> Option<&'a str> {
        e.iter().find(|(k, _)| *k == field).map(|(_, v)| v)
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("id-{i}")).collect()
    }

    #[test]
    fn id_lists_are_bounded_well_formed_and_distinct() {
        assert_eq!(BulkInputs::targets(&ids(1)).unwrap().len(), 1);
        assert_eq!(BulkInputs::targets(&ids(MAX_BULK_IDS)).unwrap().len(), MAX_BULK_IDS);
        assert!(get(&BulkInputs::targets(&[]).unwrap_err(), "resource_ids").is_some());
        assert!(get(&BulkInputs::targets(&ids(MAX_BULK_IDS + 1)).unwrap_err(), "resource_ids").is_some());
        let dup = BulkInputs::targets(&["a".into(), "b".into(), " a ".into()]).unwrap_err();
        assert_eq!(get(&dup, "resource_ids[2]"), Some("repeats resource_ids[0]"));
        let bad = BulkInputs::targets(&["ok".into(), "".into(), "x".repeat(65)]).unwrap_err();
        assert!(get(&bad, "resource_ids[1]").is_some() && get(&bad, "resource_ids[2]").is_some());
    }

    fn job(status: BulkJobStatus, failed: u32) -> BulkJob {
        let inputs = BulkInputs {
            resource_type: BulkResourceType::Region,
            resource_ids: vec![BulkTarget::parse("a").unwrap(), BulkTarget::parse("b").unwrap()],
            change: TagChange::replace(Tags::empty()),
        };
        let user = UserId::parse("u1").unwrap();
        let mut j = BulkJob::pending(&user, &Username::parse("alice").unwrap(), inputs, Utc::now());
        j.status = status;
        j.processed = 2;
        j.cursor = 2;
        j.failed = failed;
        j.successful = 2 - failed;
        j
    }

    #[test]
    fn a_finished_job_is_announced_once_and_a_cancelled_one_never() {
        let done = job(BulkJobStatus::Completed, 0);
        let n = Notification::bulk_job_finished(&done, Utc::now()).unwrap();
        assert_eq!((n.notification_type, n.severity), (NotificationType::BulkJobFinished, Severity::Info));
        assert_eq!(n.dedup_key, format!("bulk_job_finished:{}", done.id));
        assert_eq!(n.resource_link, Some(format!("/ipam/bulk/jobs/{}", done.id)));
        assert!(n.message.contains("2 of 2 resources updated, 0 failed"), "{}", n.message);
        let partly = Notification::bulk_job_finished(&job(BulkJobStatus::Completed, 1), Utc::now()).unwrap();
        assert_eq!(partly.severity, Severity::Warning);
        assert!(Notification::bulk_job_finished(&job(BulkJobStatus::Cancelled, 0), Utc::now()).is_none());
        assert!(Notification::bulk_job_finished(&job(BulkJobStatus::Processing, 0), Utc::now()).is_none());
    }

    #[test]
    fn retention_is_the_schemas() {
        assert_eq!(RETENTION.num_seconds(), i64::try_from(ipam_migrations::BULK_JOB_RETENTION_SECS).unwrap());
    }

    #[test]
    fn progress_in_percent_and_completion_at_the_end() {
        let mut j = job(BulkJobStatus::Processing, 0);
        j.processed = 1;
        assert_eq!(j.percent(), 50.0);
        assert_eq!(j.status_at(1), BulkJobStatus::Processing);
        assert_eq!(j.status_at(2), BulkJobStatus::Completed);
        j.status = BulkJobStatus::Cancelled;
        assert_eq!(j.status_at(2), BulkJobStatus::Cancelled);
    }
}

//! The deployment's recorded job queue (migration 11): the first process to start records its
//! queue; every later one reads what was recorded and compares (`QueueBinding::agrees_with`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::QueueBinding;
use crate::error::Result;

/// Records and reads the deployment's queue.
#[async_trait]
pub trait QueueBindingStore: Send + Sync {
    /// Records `ours` unless a queue is recorded already (atomically: of processes starting at
    /// once, exactly one records), and returns the queue recorded now — `ours`, or the earlier
    /// one, unchanged.
    async fn record_queue_binding(&self, ours: &QueueBinding, now: DateTime<Utc>) -> Result<QueueBinding>;
}

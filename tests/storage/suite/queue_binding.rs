//! The deployment's recorded job queue: the first process records it, nobody overwrites it.

use ipam_core::domain::QueueBinding;
use std::sync::Arc;

use ipam_core::storage::Store;

use super::at;

fn queue(backend: &str, prefix: &str) -> QueueBinding {
    QueueBinding { backend: backend.into(), prefix: prefix.into() }
}

/// The first queue recorded is the one every later caller reads back, whatever it asks for.
pub async fn the_first_recorded_queue_stays_recorded_and_is_returned_to_every_caller(s: Arc<dyn Store>) {
    let first = s.record_queue_binding(&queue("redis", "prod"), at(0)).await.expect("record");
    assert_eq!(first, queue("redis", "prod"), "the first caller records its own queue");

    let other = s.record_queue_binding(&queue("sqlite", "prod"), at(10)).await.expect("read back");
    assert_eq!(other, queue("redis", "prod"), "another backend does not overwrite it");
    let other = s.record_queue_binding(&queue("redis", "staging"), at(20)).await.expect("read back");
    assert_eq!(other, queue("redis", "prod"), "another prefix does not overwrite it");
    let same = s.record_queue_binding(&queue("redis", "prod"), at(30)).await.expect("read back");
    assert_eq!(same, queue("redis", "prod"));
}

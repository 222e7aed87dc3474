//! The IPAM job platform. Every long-running or scheduled concern is a typed job on an apalis
//! queue (Redis when `IPAM_REDIS_URL` is set, otherwise SQLite in the data directory), run by
//! any number of interchangeable worker processes.
//!
//! apalis gives queues, workers and graceful shutdown; this crate adds what it lacks, each as a
//! small piece named for what it does: [`backoff`] (exponential retries with jitter, by
//! re-scheduling the job), dead states after the last attempt, and [`schedule`] (cron ticks
//! claimed in the database, so each tick runs once however many workers there are).

pub mod backoff;
pub mod job;
pub mod jobs;
pub mod kicker;
pub mod metrics;
pub mod platform;
pub mod queue;
pub mod schedule;
pub mod service;
pub mod shutdown;
pub mod signing;
pub mod target;
pub mod workers;

pub use job::{Envelope, Job};
pub use platform::Platform;
pub use queue::JobQueue;
pub use schedule::{ScheduleName, Schedules};
pub use service::open_service;
pub use shutdown::Shutdown;
pub use workers::{WorkerHandle, start_workers};

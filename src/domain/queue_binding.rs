//! Which job queue a deployment uses. Every API and worker process of one database must queue
//! into and work from the same queue; a worker started without `IPAM_REDIS_URL` would otherwise
//! run its own embedded queue, report healthy, and never see a job the API queued into Redis.

use std::fmt;

/// A queue as the settings name it: the backend (`sqlite` or `redis`) and the prefix of its
/// queue names and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueBinding {
    /// `sqlite` (the embedded queue, `IPAM_REDIS_URL` unset) or `redis`.
    pub backend: String,
    /// `IPAM_QUEUE_PREFIX`.
    pub prefix: String,
}

impl fmt::Display for QueueBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} queue with prefix '{}'", self.backend, self.prefix)
    }
}

impl QueueBinding {
    /// Whether a process configured with `self` may run against a database that recorded
    /// `recorded`: the error says both and what to change.
    pub fn agrees_with(&self, recorded: &QueueBinding) -> Result<(), String> {
        if self == recorded {
            return Ok(());
        }
        Err(format!(
            "this database's processes use {recorded}, but this process is configured for {self}: jobs queued by one \
             would never reach the other. Give every API and worker process the same IPAM_REDIS_URL (set or unset) \
             and IPAM_QUEUE_PREFIX; to move the deployment to another queue on purpose, stop every process and delete \
             the record first (see the README, Scaling workers)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(backend: &str, prefix: &str) -> QueueBinding {
        QueueBinding { backend: backend.into(), prefix: prefix.into() }
    }

    #[test]
    fn only_the_same_backend_and_prefix_agree_and_the_refusal_names_both() {
        assert_eq!(q("redis", "ipam").agrees_with(&q("redis", "ipam")), Ok(()));
        let e = q("sqlite", "ipam").agrees_with(&q("redis", "ipam")).unwrap_err();
        assert!(
            e.starts_with(
                "this database's processes use the redis queue with prefix 'ipam', but this process is configured \
                 for the sqlite queue with prefix 'ipam'"
            ),
            "{e}"
        );
        assert!(q("redis", "a").agrees_with(&q("redis", "b")).unwrap_err().contains("prefix 'b'"));
    }
}

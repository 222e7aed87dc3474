//! Units of work: multi-document transactions when the deployment has them, plain operations
//! when it does not.
//!
//! On a replica set (or a sharded cluster behind `mongos`) a unit of work runs in one
//! transaction, so a crash or a lost connection part-way leaves nothing half-written: every
//! audit record commits with its outbox events, and every update, release, retirement,
//! cancellation, comment, share and expiry commits with its audit record. A standalone server
//! has no transactions: the same code then runs the same operations one after another, and
//! correctness rests on the standalone protocol (unique indexes arbitrate races, conditional
//! updates keep counters exact, compensation undoes the rest). Which one applies is asked of
//! the server (`hello`) once per store.
//!
//! Allocations and new reservations keep the standalone protocol on every deployment: they
//! write and then look for a competing write in another collection (a host and a reservation
//! of the same address), and under a transaction's snapshot isolation neither side would see
//! the other, so both could succeed (write skew). Their audit records and events still commit
//! together.
//!
//! Operations join a unit through [`run!`]; [`atomically!`] runs a unit and retries it, whole,
//! when the server reports a transient transaction error (a write conflict with a concurrent
//! transaction, a failover). It is a macro rather than a function taking an async closure
//! because such closures borrowing the store cannot (yet) be proven `Send`, which every storage
//! future must be.

use mongodb::ClientSession;
use mongodb::bson::{Document, doc};
use mongodb::error::{Error, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::options::{Acknowledgment, ReadConcern, WriteConcern};

use super::{MongoStore, errors};
use crate::error::{IpamError, Result};

/// How many times a unit of work is tried when transactions keep conflicting.
pub(super) const ATTEMPTS: u32 = 12;

/// Waits a little before trying a conflicting unit again: a random pause that grows with the
/// attempt (up to 5 ms, 10 ms, … capped at 320 ms), so the transactions that collided do not
/// collide again in lockstep.
pub(super) async fn pause(attempt: u32) {
    let ceiling_ms = 5u64 << attempt.min(6);
    let ms = rand::random_range(0..=ceiling_ms);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// How many times a commit whose outcome is unknown (e.g. a failover during the commit) is
/// retried; commits are idempotent within their session.
const COMMIT_ATTEMPTS: u32 = 3;

/// Whether a `hello` reply describes a deployment with multi-document transactions: a replica
/// set member (`setName`) or a `mongos` router (`msg: "isdbgrid"`), with logical sessions.
pub(super) fn supports_transactions(hello: &Document) -> bool {
    let sessions = hello.contains_key("logicalSessionTimeoutMinutes");
    let replica_set = hello.get_str("setName").is_ok();
    let router = hello.get_str("msg") == Ok("isdbgrid");
    sessions && (replica_set || router)
}

/// One unit of work in progress: a session with an open transaction, or nothing (standalone).
#[derive(Debug)]
pub(super) struct Tx {
    session: Option<ClientSession>,
    /// A failed operation carried the TransientTransactionError label: retry the whole unit.
    transient: bool,
}

/// Runs one driver operation inside the unit of work (its session, if it has one).
///
/// `run!(tx, self.hosts().insert_one(doc))` evaluates to the operation's driver `Result`; a
/// transient transaction error is noted on `tx` so that [`MongoStore::atomically`] retries.
macro_rules! run {
    ($tx:expr, $action:expr) => {{
        let tx: &mut $crate::storage::mongo::tx::Tx = $tx;
        let result = match tx.session() {
            Some(s) => $action.session(s).await,
            None => $action.await,
        };
        result.map_err(|e| tx.note(e))
    }};
}
pub(super) use run;

/// Runs a unit of work: `atomically!(store, |tx| store.something_in(tx, …).await)`.
///
/// In a transaction where the deployment has them (the whole unit is retried on transient
/// errors), as plain operations otherwise. The body must end the unit by value (no `?` out of
/// it), so that a failed unit is aborted; a unit that keeps conflicting ends in the usual
/// contention error (409, try again).
macro_rules! atomically {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let store: &$crate::storage::mongo::MongoStore = $store;
        let mut outcome = Err($crate::storage::outcomes::contention());
        for attempt in 0..$crate::storage::mongo::tx::ATTEMPTS {
            if attempt > 0 {
                $crate::storage::mongo::tx::pause(attempt).await;
            }
            let mut unit = store.begin().await?;
            let result = {
                let $tx = &mut unit;
                $body
            };
            if let Some(done) = unit.finish(result).await {
                outcome = done;
                break;
            }
        }
        outcome
    }};
}
pub(super) use atomically;

impl Tx {
    /// Operations outside any transaction (standalone servers, compensation steps).
    pub(super) fn none() -> Self {
        Self { session: None, transient: false }
    }

    /// The session operations must use, if any.
    pub(super) fn session(&mut self) -> Option<&mut ClientSession> {
        self.session.as_mut()
    }

    /// Notes a failed operation's labels and hands the error back.
    pub(super) fn note(&mut self, e: Error) -> Error {
        if e.contains_label(TRANSIENT_TRANSACTION_ERROR) {
            self.transient = true;
        }
        e
    }

    /// Ends the unit: commits when `outcome` is a success, aborts otherwise. `None` means the
    /// transaction met a transient error and the whole unit should run again.
    pub(super) async fn finish<T>(mut self, outcome: Result<T>) -> Option<Result<T>> {
        let Some(session) = self.session.as_mut() else { return Some(outcome) };
        match outcome {
            Ok(value) => {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match session.commit_transaction().await {
                        Ok(()) => return Some(Ok(value)),
                        // The commit may have happened: only the commit is retried, never the
                        // unit, which would apply the change twice.
                        Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => {
                            if attempt >= COMMIT_ATTEMPTS {
                                return Some(Err(errors::db(e)));
                            }
                        }
                        // The commit certainly did not happen: run the unit again.
                        Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => return None,
                        Err(e) => return Some(Err(errors::db(e))),
                    }
                }
            }
            Err(e) => {
                // Aborting an already aborted transaction (the server ends one on its first
                // failed write) is harmless; nothing else can be done about a failed abort.
                if let Err(abort) = session.abort_transaction().await {
                    tracing::debug!(error = %abort, "aborting a transaction failed");
                }
                if self.transient { None } else { Some(Err(e)) }
            }
        }
    }
}

impl MongoStore {
    /// Whether this deployment runs units of work in transactions (asked once, then kept).
    pub(super) async fn transactional(&self) -> Result<bool> {
        let supported = self
            .topology
            .get_or_try_init(|| async {
                let hello = self.db.run_command(doc! { "hello": 1 }).await.map_err(errors::db)?;
                let supported = supports_transactions(&hello);
                tracing::info!(transactions = supported, "MongoDB deployment detected");
                Ok::<bool, IpamError>(supported)
            })
            .await?;
        Ok(*supported)
    }

    /// Starts a unit of work.
    pub(super) async fn begin(&self) -> Result<Tx> {
        if !self.transactional().await? {
            return Ok(Tx::none());
        }
        let mut session = self.client.start_session().await.map_err(errors::db)?;
        session
            .start_transaction()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::builder().w(Acknowledgment::Majority).build())
            .await
            .map_err(errors::db)?;
        Ok(Tx { session: Some(session), transient: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(extra: Document) -> Document {
        let mut d = doc! { "isWritablePrimary": true, "maxWireVersion": 21, "logicalSessionTimeoutMinutes": 30 };
        d.extend(extra);
        d
    }

    #[test]
    fn a_replica_set_member_or_a_router_has_transactions_a_standalone_server_has_not() {
        assert!(supports_transactions(&hello(doc! { "setName": "rs0", "hosts": ["mongo:27017"] })));
        assert!(supports_transactions(&hello(doc! { "msg": "isdbgrid" })));
        assert!(!supports_transactions(&hello(doc! {})));
        assert!(!supports_transactions(&hello(doc! { "msg": "something else" })));
        // No logical sessions (very old servers, or sessions disabled): no transactions.
        assert!(!supports_transactions(&doc! { "isWritablePrimary": true, "setName": "rs0" }));
    }

    #[tokio::test]
    async fn a_standalone_unit_runs_its_operations_without_a_session_and_keeps_their_outcome() {
        let mut tx = Tx::none();
        assert!(tx.session().is_none());
        let ok: Result<u32> = Ok(7);
        assert_eq!(tx.finish(ok).await.unwrap().unwrap(), 7);
        let failed: Result<u32> = Err(IpamError::not_found("host", "h1"));
        let outcome = Tx::none().finish(failed).await;
        assert!(matches!(outcome, Some(Err(IpamError::NotFound { .. }))));
    }

    #[test]
    fn an_error_without_the_transient_label_does_not_retry_the_unit() {
        let mut tx = Tx::none();
        let _ = tx.note(Error::custom("network"));
        assert!(!tx.transient);
    }
}

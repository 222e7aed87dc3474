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
use std::time::Duration;

use tokio::time::Instant;

use mongodb::error::{Error, ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT, WriteFailure};
use mongodb::options::{Acknowledgment, ReadConcern, ReadPreference, SelectionCriteria, WriteConcern};

use super::{MongoStore, errors};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::contention;

/// How many times a unit of work is tried when transactions keep conflicting.
pub(super) const ATTEMPTS: u32 = 12;

/// How long a unit of work keeps being retried (the driver's own `with_transaction` budget).
const RETRY_BUDGET: Duration = Duration::from_secs(120);

/// Waits a little before trying a conflicting unit again: a random pause that grows with the
/// attempt (up to 10 ms after the first, 20 ms after the second, … capped at 320 ms), so the
/// transactions that collided do not collide again in lockstep.
async fn pause(attempt: u32) {
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
    /// A failed operation's error with the TransientTransactionError label: the whole unit
    /// should run again.
    transient: Option<Error>,
}

/// How a unit of work ended.
#[derive(Debug)]
pub(super) enum Step<T> {
    /// Committed (or, outside a transaction, simply done), or failed for good.
    Done(Result<T>),
    /// The transaction met this transient error; nothing of it stands: run the unit again.
    Retry(Error),
}

/// Runs one driver operation inside the unit of work (its session, if it has one).
///
/// `run!(tx, self.hosts().insert_one(doc))` evaluates to the operation's driver `Result`; a
/// transient transaction error is noted on `tx` so that [`atomically!`] retries.
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
        let mut retries = $crate::storage::mongo::tx::Retries::new();
        loop {
            let mut unit = store.begin().await?;
            let result = {
                let $tx = &mut unit;
                $body
            };
            match unit.finish(result).await {
                $crate::storage::mongo::tx::Step::Done(done) => break done,
                $crate::storage::mongo::tx::Step::Retry(e) => {
                    if let Err(gave_up) = retries.again(e).await {
                        break Err(gave_up);
                    }
                }
            }
        }
    }};
}
pub(super) use atomically;

impl Tx {
    /// Operations outside any transaction (standalone servers, compensation steps).
    pub(super) fn none() -> Self {
        Self { session: None, transient: None }
    }

    /// True when this unit of work is a transaction (its writes commit or abort together).
    pub(super) fn is_transaction(&self) -> bool {
        self.session.is_some()
    }

    /// The session operations must use, if any.
    pub(super) fn session(&mut self) -> Option<&mut ClientSession> {
        self.session.as_mut()
    }

    /// Notes a failed operation's labels and hands the error back.
    pub(super) fn note(&mut self, e: Error) -> Error {
        if e.contains_label(TRANSIENT_TRANSACTION_ERROR) {
            self.transient = Some(e.clone());
        }
        e
    }

    /// Ends the unit: commits when `outcome` is a success, aborts otherwise.
    pub(super) async fn finish<T>(mut self, outcome: Result<T>) -> Step<T> {
        let Some(session) = self.session.as_mut() else { return Step::Done(outcome) };
        match outcome {
            Ok(value) => {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match session.commit_transaction().await {
                        Ok(()) => return Step::Done(Ok(value)),
                        // The commit may have happened: retry the commit (idempotent within
                        // the session), not the unit.
                        Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => {
                            if attempt >= COMMIT_ATTEMPTS {
                                return Step::Done(Err(errors::db(e)));
                            }
                        }
                        // The commit certainly did not happen: run the unit again.
                        Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => return Step::Retry(e),
                        Err(e) => return Step::Done(Err(errors::db(e))),
                    }
                }
            }
            Err(e) => {
                // Aborting an already aborted transaction (the server ends one on its first
                // failed write) is harmless; nothing else can be done about a failed abort.
                if let Err(abort) = session.abort_transaction().await {
                    tracing::debug!(error = %abort, "aborting a transaction failed");
                }
                match self.transient.take() {
                    Some(transient) => Step::Retry(transient),
                    None => Step::Done(Err(e)),
                }
            }
        }
    }
}

/// MongoDB's WriteConflict: another transaction changed a document this one wrote.
const WRITE_CONFLICT: i32 = 112;

/// Whether `e` is a write conflict (rather than, say, a lost connection or a failover).
fn is_write_conflict(e: &Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => c.code == WRITE_CONFLICT,
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == WRITE_CONFLICT,
        _ => false,
    }
}

/// The retry budget of one unit of work: [`ATTEMPTS`] tries within [`RETRY_BUDGET`].
#[derive(Debug)]
pub(super) struct Retries {
    attempt: u32,
    started: Instant,
}

impl Retries {
    pub(super) fn new() -> Self {
        Self { attempt: 1, started: Instant::now() }
    }

    /// After a transient failure `e`: waits a little and says to go on, or gives up with the
    /// error the caller should see — the usual contention error (409, try again) when
    /// concurrent transactions kept conflicting, the database error when the database itself
    /// kept failing (a lost connection or a failover that did not end in time).
    pub(super) async fn again(&mut self, e: Error) -> std::result::Result<(), IpamError> {
        tracing::debug!(error = %e, attempt = self.attempt, "transaction met a transient error; running it again");
        if self.attempt >= ATTEMPTS || self.started.elapsed() >= RETRY_BUDGET {
            return Err(if is_write_conflict(&e) { contention() } else { errors::db(e) });
        }
        pause(self.attempt).await;
        self.attempt += 1;
        Ok(())
    }
}

impl MongoStore {
    /// Whether this deployment runs units of work in transactions (asked once, then kept: a
    /// standalone server converted into a replica set is noticed at the next restart).
    pub(super) async fn transactional(&self) -> Result<bool> {
        let supported = self
            .topology
            .get_or_try_init(|| async {
                // `hello` exists from MongoDB 4.4.2 on; the driver accepts 4.4.0 and 4.4.1,
                // which only know `isMaster` (same answer fields).
                let reply = match self.db.run_command(doc! { "hello": 1 }).await {
                    Ok(reply) => reply,
                    Err(_) => self.db.run_command(doc! { "isMaster": 1 }).await.map_err(errors::db)?,
                };
                let supported = supports_transactions(&reply);
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
            // Reads in a transaction must go to the primary, whatever the URL's read preference.
            .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
            .await
            .map_err(errors::db)?;
        Ok(Tx { session: Some(session), transient: None })
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
        assert!(matches!(tx.finish(ok).await, Step::Done(Ok(7))));
        let failed: Result<u32> = Err(IpamError::not_found("host", "h1"));
        let outcome = Tx::none().finish(failed).await;
        assert!(matches!(outcome, Step::Done(Err(IpamError::NotFound { .. }))));
    }

    #[test]
    fn an_error_without_the_transient_label_does_not_retry_the_unit() {
        let mut tx = Tx::none();
        let _ = tx.note(Error::custom("network"));
        assert!(tx.transient.is_none());
    }

    fn write_conflict() -> Error {
        let c: mongodb::error::CommandError = mongodb::bson::from_document(
            doc! { "code": WRITE_CONFLICT, "codeName": "WriteConflict", "errmsg": "Write conflict during plan execution" },
        )
        .unwrap();
        Error::from(ErrorKind::Command(c))
    }

    #[tokio::test(start_paused = true)]
    async fn units_that_keep_conflicting_end_in_a_contention_conflict() {
        let mut retries = Retries::new();
        for _ in 1..ATTEMPTS {
            assert!(retries.again(write_conflict()).await.is_ok());
        }
        let gave_up = retries.again(write_conflict()).await.unwrap_err();
        assert_eq!(gave_up.to_string(), contention().to_string());
    }

    #[tokio::test(start_paused = true)]
    async fn a_database_that_keeps_failing_is_reported_as_such_not_as_contention() {
        let mut retries = Retries::new();
        for _ in 1..ATTEMPTS {
            assert!(retries.again(Error::custom("connection refused")).await.is_ok());
        }
        let gave_up = retries.again(Error::custom("connection refused")).await.unwrap_err();
        assert!(matches!(gave_up, IpamError::Internal(_)), "{gave_up:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_stops_when_the_time_budget_is_spent() {
        let mut retries = Retries::new();
        assert!(retries.again(write_conflict()).await.is_ok());
        tokio::time::advance(RETRY_BUDGET).await;
        assert!(retries.again(write_conflict()).await.is_err());
    }
}

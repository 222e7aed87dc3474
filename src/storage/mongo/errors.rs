//! Translation of MongoDB errors into domain errors, in one place.

use std::collections::HashSet;

use mongodb::error::{Error, ErrorKind, WriteFailure};

use crate::error::IpamError;

/// MongoDB's duplicate-key error code.
pub(super) const DUPLICATE_KEY: i32 = 11000;

/// The unique index a duplicate-key error names, if it is one.
pub(super) fn duplicate_index(e: &Error) -> Option<String> {
    let message = match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY => &w.message,
        ErrorKind::InsertMany(m) => {
            m.write_errors.as_ref()?.iter().find(|w| w.code == DUPLICATE_KEY).map(|w| &w.message)?
        }
        ErrorKind::Command(c) if c.code == DUPLICATE_KEY => &c.message,
        _ => return None,
    };
    Some(index_name(message).unwrap_or_default().to_owned())
}

/// The unique index of a notification's `(user_id, dedup_key)` (migration 7).
pub(super) const NOTIFICATION_DEDUP_INDEX: &str = "notification_user_dedup_idx";

/// Whether `e` says the user already has a notification with this dedup key: its cause was
/// already notified, which is an outcome, not a failure.
pub(super) fn is_duplicate_dedup_key(e: &Error) -> bool {
    duplicate_index(e).is_some_and(|index| index == NOTIFICATION_DEDUP_INDEX)
}

/// The unique index of a forecast request's `(user_id, resource_type, resource_id, days_ahead)`
/// (migration 9).
pub(super) const FORECAST_REQUEST_KEY_INDEX: &str = "forecast_request_key_unique_idx";

/// Whether `e` says another process just recorded the same first forecast request: its record
/// exists now, so the upsert is tried again.
pub(super) fn is_duplicate_forecast_request(e: &Error) -> bool {
    duplicate_index(e).is_some_and(|index| index == FORECAST_REQUEST_KEY_INDEX)
}

/// "E11000 duplicate key error collection: ipam.ipam_hosts index: user_xyz_unique_idx dup key: …"
pub(super) fn index_name(message: &str) -> Option<&str> {
    let rest = &message[message.find(" index: ")? + " index: ".len()..];
    Some(rest.split_whitespace().next().unwrap_or(rest))
}

/// The positions of the documents an unordered `insert_many` did not insert because they were
/// duplicates, when that is all that went wrong (every other document was inserted); `None`
/// for any other failure.
pub(super) fn duplicates_only(e: &Error) -> Option<HashSet<usize>> {
    let ErrorKind::InsertMany(m) = e.kind.as_ref() else { return None };
    if m.write_concern_error.is_some() {
        return None;
    }
    let failed = m.write_errors.as_ref()?;
    failed.iter().all(|w| w.code == DUPLICATE_KEY).then(|| failed.iter().map(|w| w.index).collect())
}

/// Any driver failure that is not a domain outcome.
pub(super) fn db(e: Error) -> IpamError {
    IpamError::Internal(anyhow::Error::new(e).context("MongoDB operation failed"))
}

/// A BSON encoding failure (a bug, never the client's fault).
pub(super) fn bson(e: impl std::fmt::Display) -> IpamError {
    IpamError::internal(format!("BSON mapping failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_name_is_read_from_the_server_message() {
        let m = "E11000 duplicate key error collection: ipam.ipam_hosts index: user_xyz_unique_idx dup key: { user_id: \"u1\" }";
        assert_eq!(index_name(m), Some("user_xyz_unique_idx"));
        assert_eq!(index_name("something else"), None);
        let dedup = "E11000 duplicate key error collection: ipam.ipam_notifications index: \
                     notification_user_dedup_idx dup key: { user_id: \"u1\", dedup_key: \"k\" }";
        assert_eq!(index_name(dedup), Some(NOTIFICATION_DEDUP_INDEX));
    }

    fn insert_many_error(errors: mongodb::bson::Document) -> Error {
        let m: mongodb::error::InsertManyError = mongodb::bson::from_document(errors).unwrap();
        Error::from(ErrorKind::InsertMany(m))
    }

    #[test]
    fn an_unordered_insert_that_only_met_duplicates_reports_which() {
        use mongodb::bson::doc;
        let dup = insert_many_error(doc! { "writeErrors": [
            { "index": 0, "code": DUPLICATE_KEY, "errmsg": "E11000 duplicate key error" },
            { "index": 2, "code": DUPLICATE_KEY, "errmsg": "E11000 duplicate key error" },
        ]});
        assert_eq!(duplicates_only(&dup), Some(HashSet::from([0, 2])));
        let other = insert_many_error(doc! { "writeErrors": [
            { "index": 0, "code": DUPLICATE_KEY, "errmsg": "E11000 duplicate key error" },
            { "index": 1, "code": 121, "errmsg": "Document failed validation" },
        ]});
        assert_eq!(duplicates_only(&other), None);
        assert_eq!(duplicates_only(&Error::custom("network")), None);
    }
}

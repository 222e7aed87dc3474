//! Translation of MongoDB errors into domain errors, in one place.

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

/// "E11000 duplicate key error collection: ipam.ipam_hosts index: user_xyz_unique_idx dup key: …"
pub(super) fn index_name(message: &str) -> Option<&str> {
    let rest = &message[message.find(" index: ")? + " index: ".len()..];
    Some(rest.split_whitespace().next().unwrap_or(rest))
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
    }
}

//! The one error type of the domain. Every front end maps it to its own representation in one
//! place (the HTTP API: `ipam_api::error`).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Result alias used across the crate.
pub type Result<T, E = IpamError> = std::result::Result<T, E>;

/// What went wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// Input that does not satisfy the rules; one message per offending field.
    #[error("{0}")]
    Validation(FieldErrors),
    /// The resource does not exist or belongs to someone else (indistinguishable on purpose).
    #[error("{resource} '{id}' not found{}", hint_suffix(.hint))]
    NotFound {
        /// Kind of resource, e.g. `region`.
        resource: &'static str,
        /// The identifier the caller gave.
        id: String,
        /// What the caller could ask for instead (e.g. the known continents), if anything.
        hint: Option<String>,
    },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Which kind of conflict (maps to the error code).
        kind: ConflictKind,
        /// Human-readable explanation.
        message: String,
        /// Structured details for clients.
        details: Map<String, Value>,
    },
    /// The caller's quota does not allow the request.
    #[error("{quota} quota exceeded: {current} of {limit} used, {requested} requested")]
    QuotaExceeded {
        /// `regions` or `hosts`.
        quota: &'static str,
        /// The effective limit.
        limit: u64,
        /// Current usage.
        current: u64,
        /// How many the request needed.
        requested: u64,
    },
    /// A failure that is not the caller's fault. Never shown to clients.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `"; <hint>"`, or nothing without a hint.
fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default()
}

/// Kinds of state conflict; each maps to its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// Generic state conflict (`conflict`).
    Conflict,
    /// A name that must be unique is taken (`duplicate_name`).
    DuplicateName,
    /// No free address is left (`capacity_exhausted`).
    CapacityExhausted,
    /// The country is a reserved block (`country_reserved`).
    CountryReserved,
}

impl ConflictKind {
    /// The wire error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Conflict => "conflict",
            Self::DuplicateName => "duplicate_name",
            Self::CapacityExhausted => "capacity_exhausted",
            Self::CountryReserved => "country_reserved",
        }
    }
}

impl IpamError {
    /// A validation error on one field.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::one(field, problem))
    }

    /// A not-found error.
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound { resource, id: id.into(), hint: None }
    }

    /// A not-found error whose message adds `hint` (what exists instead).
    pub fn not_found_with_hint(resource: &'static str, id: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::NotFound { resource, id: id.into(), hint: Some(hint.into()) }
    }

    /// A conflict with details.
    pub fn conflict(kind: ConflictKind, message: impl Into<String>, details: Value) -> Self {
        let details = match details {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self::Conflict { kind, message: message.into(), details }
    }

    /// An internal error from any displayable cause.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{cause}"))
    }
}

/// Field → problem, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Exactly one error.
    pub fn one(field: impl Into<String>, problem: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, problem);
        errors
    }

    /// Records a problem with `field` (the first problem per field wins).
    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| problem.into());
    }

    /// Parses with `parse`, recording a failure under `field`; returns the value when it parsed.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(problem) => {
                self.add(field, problem);
                None
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when empty, otherwise the validation error.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T> {
        if self.is_empty() { Ok(value()) } else { Err(IpamError::Validation(self)) }
    }

    /// The recorded problems.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, problem) in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {problem}")?;
            first = false;
        }
        Ok(())
    }
}

//! `ipam-core`: the IPAM domain (addresses, names, regions, hosts, audit, quotas), the allocation
//! rules, the service every front end calls, the storage seam and the storage backends.
//!
//! Layering, top to bottom: [`service::Ipam`] (use cases) → [`storage::Store`] (one trait per
//! aggregate) → a backend ([`storage::sqlite`]). Values are parsed into [`domain`] types at the
//! edge, so nothing below the service ever sees an unchecked string.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod configuration;
pub mod domain;
pub mod error;
pub mod service;
pub mod storage;

pub use error::{IpamError, Result};

//! `ipam-api`: the thin HTTP layer. Handlers parse requests into domain values, call one
//! [`ipam_core::service::Ipam`] use case and shape the response; everything else (auth, rate
//! limits, errors, metrics, request ids, OpenAPI) is cross-cutting and lives here once.

mod auth;
mod dto;
mod error;
mod extract;
mod metrics;
mod negotiate;
mod openapi;
mod rate_limit;
mod routes;
mod startup;
mod state;
mod worker_endpoints;

pub use startup::{Application, shutdown_signal};
pub use state::AppState;
pub use worker_endpoints::WorkerEndpoints;

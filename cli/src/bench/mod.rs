//! `ipam bench`: seeds a store of a chosen size and drives a server, printing latency figures
//! against the goals they are meant to meet. `seed` writes the store (SQLite only), `stats`
//! measures the statistics endpoints; later benchmarks add their own module beside these.

pub(crate) mod client;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod rows;
pub(crate) mod seed;
pub(crate) mod stats;

//! HTTP tests: the real application over loopback, one fresh database per test.

mod audit;
mod auth;
mod bulk;
mod comments;
mod countries;
mod errors;
mod forecast;
mod forecast_recompute;
mod hosts;
mod interpret;
mod jobs;
mod notifications;
mod operations;
mod preferences;
mod quotas;
mod readme_bodies;
mod regions;
mod reservations;
mod search;
mod search_cache;
mod shares;
mod statistics;
mod statistics_core;
mod trends;
mod velocity;
mod webhooks;

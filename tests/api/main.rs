//! HTTP tests: the real application over loopback, one fresh database per test.

mod audit;
mod auth;
mod bulk;
mod comments;
mod countries;
mod errors;
mod forecast;
mod hosts;
mod interpret;
mod jobs;
mod notifications;
mod operations;
mod preferences;
mod quotas;
mod regions;
mod reservations;
mod search;
mod shares;
mod statistics;
mod trends;
mod webhooks;

//! HTTP tests: the real application over loopback, one fresh database per test.

mod audit;
mod auth;
mod comments;
mod countries;
mod errors;
mod forecast;
mod hosts;
mod interpret;
mod jobs;
mod landing;
mod notifications;
mod operations;
mod preferences;
mod quotas;
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

//! `GET /ipam/statistics/trends` over HTTP (to be written).

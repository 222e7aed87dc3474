//! `GET /ipam/statistics/forecast/...` over HTTP (to be written).

-- The forecasts clients asked for: one row per (user, resource, days_ahead), moved forward each
-- time the forecast is requested (at most once an hour). The daily recomputation job warms the
-- cache for the rows requested in the last 7 days and deletes older ones (MongoDB's TTL index
-- does that on its own; SQLite relies on the job).
CREATE TABLE ipam_forecast_requests (
    request_id        TEXT PRIMARY KEY NOT NULL,
    user_id           TEXT NOT NULL,
    resource_type     TEXT NOT NULL CHECK (resource_type IN ('country', 'region')),
    resource_id       TEXT NOT NULL CHECK (length(resource_id) > 0),
    days_ahead        INTEGER NOT NULL CHECK (days_ahead BETWEEN 1 AND 365),
    last_requested_at TEXT NOT NULL
);
CREATE UNIQUE INDEX forecast_request_key_unique_idx ON ipam_forecast_requests (user_id, resource_type, resource_id, days_ahead);
CREATE INDEX forecast_request_last_requested_idx ON ipam_forecast_requests (last_requested_at);

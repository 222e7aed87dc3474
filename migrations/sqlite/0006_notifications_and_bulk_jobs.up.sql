-- Notifications, the rules that raise them, and bulk operation jobs (their progress and
-- per-item results).
-- SQLite has no TTL: `notification_expires_idx` and `bulk_job_completed_idx` are plain indexes
-- here (TTL indexes on MongoDB). Rows past `expires_at` (notifications, set to created_at +
-- 90 days by the writer) or 7 days past `completed_at` (finished bulk jobs) stay until a job
-- deletes them; the database never deletes anything by itself.

CREATE TABLE ipam_notifications (
    notification_id   TEXT PRIMARY KEY NOT NULL,
    user_id           TEXT NOT NULL,
    notification_type TEXT NOT NULL,
    severity          TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message           TEXT NOT NULL,
    resource_type     TEXT,
    resource_id       TEXT,
    resource_link     TEXT,
    is_read           INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),
    read_at           TEXT,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL
);
CREATE INDEX notification_user_read_created_idx ON ipam_notifications (user_id, is_read, created_at DESC);
CREATE INDEX notification_user_severity_idx ON ipam_notifications (user_id, severity);
CREATE INDEX notification_user_type_idx ON ipam_notifications (user_id, notification_type);
CREATE INDEX notification_expires_idx ON ipam_notifications (expires_at);

CREATE TABLE ipam_notification_rules (
    rule_id               TEXT PRIMARY KEY NOT NULL,
    user_id               TEXT NOT NULL,
    rule_name             TEXT NOT NULL CHECK (length(rule_name) BETWEEN 1 AND 100),
    -- JSON object, e.g. {"utilization_threshold": 80, "resource_type": "region"}
    conditions            TEXT NOT NULL DEFAULT '{}',
    -- JSON array of 'in_app', 'email', 'webhook'
    notification_channels TEXT NOT NULL DEFAULT '["in_app"]',
    is_active             INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    last_triggered        TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX rule_user_active_idx ON ipam_notification_rules (user_id, is_active);
CREATE INDEX rule_user_created_idx ON ipam_notification_rules (user_id, created_at DESC);

-- `job_id` is the key (MongoDB keeps the same value in `_id`). Its named unique index does what
-- a TEXT PRIMARY KEY would (SQLite implements that as a unique index too), without a second copy.
CREATE TABLE ipam_bulk_jobs (
    job_id           TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    operation_type   TEXT NOT NULL,
    total_items      INTEGER NOT NULL CHECK (total_items >= 0),
    processed_items  INTEGER NOT NULL DEFAULT 0 CHECK (processed_items >= 0),
    successful_items INTEGER NOT NULL DEFAULT 0 CHECK (successful_items >= 0),
    failed_items     INTEGER NOT NULL DEFAULT 0 CHECK (failed_items >= 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    -- JSON array of per-item results
    results          TEXT NOT NULL DEFAULT '[]',
    created_at       TEXT NOT NULL,
    -- NULL until the job finishes; unfinished jobs are never pruned
    completed_at     TEXT
);
CREATE UNIQUE INDEX bulk_job_id_unique_idx ON ipam_bulk_jobs (job_id);
CREATE INDEX bulk_job_user_created_idx ON ipam_bulk_jobs (user_id, created_at DESC);
CREATE INDEX bulk_job_user_status_idx ON ipam_bulk_jobs (user_id, status);
CREATE INDEX bulk_job_completed_idx ON ipam_bulk_jobs (completed_at);

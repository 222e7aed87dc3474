-- Bulk jobs become runnable: each stores its inputs (resource type, operation, tags, the ids in
-- order), the owner's username (the author of the audit records it writes), when a worker first
-- took it, a progress cursor (the position of the next id; always equal to processed_items),
-- the lease of the worker processing it, and may be `cancelled`.
--
-- SQLite cannot alter a CHECK constraint, so after adding the backfilled column the table is
-- rebuilt (same columns, data and index names) with the wider status CHECK.
--
-- Per-resource results live in their own table here (one row per position, so a batch appends
-- without rewriting the others); MongoDB keeps them in the job document's `results` array.
-- The migration 6 `results` column stays (unused on SQLite) so that a rollback keeps every row.

ALTER TABLE ipam_bulk_jobs ADD COLUMN cursor INTEGER NOT NULL DEFAULT 0;

CREATE TABLE bulk_jobs_rebuild_v10 (
    job_id           TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    operation_type   TEXT NOT NULL,
    total_items      INTEGER NOT NULL CHECK (total_items >= 0),
    processed_items  INTEGER NOT NULL DEFAULT 0 CHECK (processed_items >= 0),
    successful_items INTEGER NOT NULL DEFAULT 0 CHECK (successful_items >= 0),
    failed_items     INTEGER NOT NULL DEFAULT 0 CHECK (failed_items >= 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    results          TEXT NOT NULL DEFAULT '[]',
    created_at       TEXT NOT NULL,
    completed_at     TEXT,
    cursor           INTEGER NOT NULL DEFAULT 0 CHECK (cursor >= 0),
    -- NULL on jobs written before migration 10: they have no inputs and fail when run
    username         TEXT,
    resource_type    TEXT CHECK (resource_type IN ('region', 'host')),
    operation        TEXT CHECK (operation IN ('add', 'remove', 'replace')),
    -- JSON object of tags; JSON array of the ids, in processing order
    tags             TEXT,
    resource_ids     TEXT,
    started_at       TEXT,
    -- the worker holding the job, and the deadline after which another may take it over
    lease_holder     TEXT,
    lease_until      TEXT
);
INSERT INTO bulk_jobs_rebuild_v10 (job_id, user_id, operation_type, total_items, processed_items, successful_items,
    failed_items, status, results, created_at, completed_at, cursor)
SELECT job_id, user_id, operation_type, total_items, processed_items, successful_items, failed_items, status, results,
    created_at, completed_at, cursor
FROM ipam_bulk_jobs;
DROP TABLE ipam_bulk_jobs;
ALTER TABLE bulk_jobs_rebuild_v10 RENAME TO ipam_bulk_jobs;
CREATE UNIQUE INDEX bulk_job_id_unique_idx ON ipam_bulk_jobs (job_id);
CREATE INDEX bulk_job_user_created_idx ON ipam_bulk_jobs (user_id, created_at DESC);
CREATE INDEX bulk_job_user_status_idx ON ipam_bulk_jobs (user_id, status);
CREATE INDEX bulk_job_completed_idx ON ipam_bulk_jobs (completed_at);
CREATE INDEX bulk_job_status_lease_idx ON ipam_bulk_jobs (status, lease_until);

CREATE TABLE ipam_bulk_job_results (
    job_id      TEXT NOT NULL,
    position    INTEGER NOT NULL CHECK (position >= 0),
    resource_id TEXT NOT NULL,
    success     INTEGER NOT NULL CHECK (success IN (0, 1)),
    message     TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
) WITHOUT ROWID;

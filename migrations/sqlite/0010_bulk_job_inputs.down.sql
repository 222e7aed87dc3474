-- Back to migration 6's bulk jobs: the results table goes, the table is rebuilt with the
-- narrower status CHECK (a cancelled job becomes failed, the closest status migration 6 knows),
-- then the added index and column are dropped. Every job row is kept.

DROP TABLE IF EXISTS ipam_bulk_job_results;

DROP INDEX IF EXISTS bulk_job_status_lease_idx;
ALTER TABLE ipam_bulk_jobs RENAME TO bulk_jobs_rollback_v10;
CREATE TABLE ipam_bulk_jobs (
    job_id           TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    operation_type   TEXT NOT NULL,
    total_items      INTEGER NOT NULL CHECK (total_items >= 0),
    processed_items  INTEGER NOT NULL DEFAULT 0 CHECK (processed_items >= 0),
    successful_items INTEGER NOT NULL DEFAULT 0 CHECK (successful_items >= 0),
    failed_items     INTEGER NOT NULL DEFAULT 0 CHECK (failed_items >= 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    results          TEXT NOT NULL DEFAULT '[]',
    created_at       TEXT NOT NULL,
    completed_at     TEXT,
    cursor           INTEGER NOT NULL DEFAULT 0
);
INSERT INTO ipam_bulk_jobs (job_id, user_id, operation_type, total_items, processed_items, successful_items,
    failed_items, status, results, created_at, completed_at, cursor)
SELECT job_id, user_id, operation_type, total_items, processed_items, successful_items, failed_items,
    CASE status WHEN 'cancelled' THEN 'failed' ELSE status END, results, created_at, completed_at, cursor
FROM bulk_jobs_rollback_v10;
DROP TABLE bulk_jobs_rollback_v10;
CREATE UNIQUE INDEX bulk_job_id_unique_idx ON ipam_bulk_jobs (job_id);
CREATE INDEX bulk_job_user_created_idx ON ipam_bulk_jobs (user_id, created_at DESC);
CREATE INDEX bulk_job_user_status_idx ON ipam_bulk_jobs (user_id, status);
CREATE INDEX bulk_job_completed_idx ON ipam_bulk_jobs (completed_at);
ALTER TABLE ipam_bulk_jobs DROP COLUMN cursor;

-- The job queue this deployment's processes share, recorded by the first process that starts:
-- a later process configured with another queue backend or prefix refuses to start instead of
-- queueing into (or working from) a queue nobody else reads. One row, id 'queue'.
CREATE TABLE ipam_queue_binding (
    id           TEXT PRIMARY KEY NOT NULL CHECK (id = 'queue'),
    backend      TEXT NOT NULL CHECK (backend IN ('sqlite', 'redis')),
    prefix       TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);

-- Per-user maintained counters: a data version that every audited unit of work bumps (result
-- caches put it in their keys, so a change by any process makes the next read fresh) and the
-- dashboard's counts of what no longer exists (retired regions, released hosts). Written in the
-- same transaction as the audit records of each change.
CREATE TABLE ipam_user_stats (
    user_id          TEXT PRIMARY KEY NOT NULL,
    data_version     INTEGER NOT NULL DEFAULT 0 CHECK (data_version >= 0),
    retired_regions  INTEGER NOT NULL DEFAULT 0 CHECK (retired_regions >= 0),
    released_hosts   INTEGER NOT NULL DEFAULT 0 CHECK (released_hosts >= 0),
    updated_at       TEXT NOT NULL
);

-- Users with history start from it: the version counts their audit records, the counters their
-- retirements and releases.
INSERT INTO ipam_user_stats (user_id, data_version, retired_regions, released_hosts, updated_at)
SELECT user_id,
       COUNT(*),
       SUM(CASE WHEN resource_type = 'region' AND action_type = 'retire' THEN 1 ELSE 0 END),
       SUM(CASE WHEN resource_type = 'host' AND action_type IN ('release', 'retire') THEN 1 ELSE 0 END),
       MAX(timestamp)
FROM ipam_audit_history
GROUP BY user_id;

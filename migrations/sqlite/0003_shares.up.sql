-- Shareable links: an unguessable token giving read access to an allow-listed view of one
-- country, region or host until it expires or is revoked.

CREATE TABLE ipam_shares (
    share_id      TEXT PRIMARY KEY NOT NULL,
    share_token   TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    resource_type TEXT NOT NULL CHECK (resource_type IN ('country', 'region', 'host')),
    resource_id   TEXT NOT NULL,
    description   TEXT,
    expires_at    TEXT NOT NULL,
    view_count    INTEGER NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    last_accessed TEXT,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX share_token_unique_idx ON ipam_shares (share_token);
CREATE INDEX user_active_shares_idx ON ipam_shares (user_id, is_active);
CREATE INDEX share_expires_idx ON ipam_shares (expires_at);
CREATE INDEX user_share_created_idx ON ipam_shares (user_id, created_at DESC);
CREATE INDEX share_resource_idx ON ipam_shares (resource_type, resource_id);

-- Core IPAM: the country table, regions, hosts, comments, audit trail, quotas and
-- the per-user occupancy summaries that keep "lowest free X.Y" flat-cost.
-- Timestamps are RFC 3339 UTC text with a fixed width (microseconds, `Z`), so they sort as text.

CREATE TABLE continent_country_mapping (
    country_code TEXT PRIMARY KEY NOT NULL,
    country      TEXT NOT NULL,
    continent    TEXT NOT NULL,
    x_start      INTEGER NOT NULL CHECK (x_start BETWEEN 0 AND 255),
    x_end        INTEGER NOT NULL CHECK (x_end BETWEEN 0 AND 255),
    is_reserved  INTEGER NOT NULL DEFAULT 0 CHECK (is_reserved IN (0, 1)),
    CHECK (x_start <= x_end)
);
CREATE UNIQUE INDEX country_name_unique_idx ON continent_country_mapping (country COLLATE NOCASE);
CREATE INDEX continent_idx ON continent_country_mapping (continent);

-- rows are seeded on first start from ipam_migrations::COUNTRY_SEED

CREATE TABLE ipam_regions (
    region_id       TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    owner           TEXT NOT NULL,
    country_code    TEXT NOT NULL REFERENCES continent_country_mapping (country_code),
    x_octet         INTEGER NOT NULL CHECK (x_octet BETWEEN 0 AND 255),
    y_octet         INTEGER NOT NULL CHECK (y_octet BETWEEN 0 AND 255),
    region_name     TEXT NOT NULL,
    -- lower-cased name: names are unique per user and country regardless of case
    name_key        TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('Active', 'Reserved')),
    tags            TEXT NOT NULL DEFAULT '{}',
    -- 256-bit bitmap of the Z octets in use, so the next free host needs one row, not 254
    host_slots      BLOB NOT NULL,
    allocated_hosts INTEGER NOT NULL DEFAULT 0 CHECK (allocated_hosts BETWEEN 0 AND 254),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX user_xy_unique_idx ON ipam_regions (user_id, x_octet, y_octet);
CREATE UNIQUE INDEX user_country_region_unique_idx ON ipam_regions (user_id, country_code, name_key);
CREATE INDEX user_created_idx ON ipam_regions (user_id, created_at DESC, region_id DESC);
CREATE INDEX user_country_status_idx ON ipam_regions (user_id, country_code, status);
CREATE INDEX user_region_owner_idx ON ipam_regions (user_id, owner);

-- One row per (user, X octet) that holds at least one region: which Y octets are taken.
-- Finding the lowest free X.Y of a country reads at most (x_end - x_start + 1) such rows.
CREATE TABLE ipam_region_slots (
    user_id    TEXT NOT NULL,
    x_octet    INTEGER NOT NULL CHECK (x_octet BETWEEN 0 AND 255),
    y_slots    BLOB NOT NULL,
    used_count INTEGER NOT NULL CHECK (used_count BETWEEN 0 AND 256),
    PRIMARY KEY (user_id, x_octet)
) WITHOUT ROWID;

CREATE TABLE ipam_hosts (
    host_id     TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL,
    region_id   TEXT NOT NULL REFERENCES ipam_regions (region_id),
    x_octet     INTEGER NOT NULL CHECK (x_octet BETWEEN 0 AND 255),
    y_octet     INTEGER NOT NULL CHECK (y_octet BETWEEN 0 AND 255),
    z_octet     INTEGER NOT NULL CHECK (z_octet BETWEEN 1 AND 254),
    hostname    TEXT NOT NULL,
    device_type TEXT,
    os_type     TEXT,
    application TEXT,
    cost_center TEXT,
    purpose     TEXT,
    notes       TEXT,
    owner       TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('Active', 'Reserved')),
    tags        TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX user_xyz_unique_idx ON ipam_hosts (user_id, x_octet, y_octet, z_octet);
CREATE UNIQUE INDEX user_region_hostname_unique_idx ON ipam_hosts (user_id, region_id, hostname);
CREATE INDEX user_host_created_idx ON ipam_hosts (user_id, created_at DESC, host_id DESC);
CREATE INDEX user_region_idx ON ipam_hosts (user_id, region_id);
CREATE INDEX user_host_status_idx ON ipam_hosts (user_id, status);

CREATE TABLE ipam_comments (
    comment_id      TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL,
    resource_type   TEXT NOT NULL CHECK (resource_type IN ('region', 'host')),
    resource_id     TEXT NOT NULL,
    text            TEXT NOT NULL,
    author_id       TEXT NOT NULL,
    author_username TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX user_resource_comments_idx ON ipam_comments (user_id, resource_id, created_at DESC);

CREATE TABLE ipam_audit_history (
    audit_id       TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    actor_username TEXT NOT NULL,
    action_type    TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    ip_address     TEXT,
    cidr           TEXT,
    x_octet        INTEGER,
    y_octet        INTEGER,
    z_octet        INTEGER,
    snapshot       TEXT NOT NULL,
    changes        TEXT NOT NULL DEFAULT '[]',
    reason         TEXT,
    metadata       TEXT NOT NULL DEFAULT '{}',
    timestamp      TEXT NOT NULL
);
CREATE INDEX user_timestamp_idx ON ipam_audit_history (user_id, timestamp DESC, audit_id DESC);
CREATE INDEX user_resource_timestamp_idx ON ipam_audit_history (user_id, resource_id, timestamp DESC);
CREATE INDEX user_action_timestamp_idx ON ipam_audit_history (user_id, action_type, timestamp DESC);
CREATE INDEX user_address_audit_idx ON ipam_audit_history (user_id, x_octet, y_octet, z_octet);

CREATE TABLE ipam_user_quotas (
    user_id      TEXT PRIMARY KEY NOT NULL,
    -- NULL = the configured default applies
    region_quota INTEGER CHECK (region_quota >= 0),
    host_quota   INTEGER CHECK (host_quota >= 0),
    region_count INTEGER NOT NULL DEFAULT 0 CHECK (region_count >= 0),
    host_count   INTEGER NOT NULL DEFAULT 0 CHECK (host_count >= 0),
    last_updated TEXT NOT NULL
);

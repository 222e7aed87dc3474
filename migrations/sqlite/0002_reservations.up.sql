-- Reservations: addresses (a /24 block or one host address) held for later. Active,
-- unexpired reservations block allocation; expiry is also evaluated when reading.

CREATE TABLE ipam_reservations (
    reservation_id TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL,
    resource_type  TEXT NOT NULL CHECK (resource_type IN ('region', 'host')),
    x_octet        INTEGER NOT NULL CHECK (x_octet BETWEEN 0 AND 255),
    y_octet        INTEGER NOT NULL CHECK (y_octet BETWEEN 0 AND 255),
    z_octet        INTEGER CHECK (z_octet BETWEEN 1 AND 254),
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'expired', 'converted')),
    expires_at     TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    converted_at   TEXT,
    converted_to   TEXT,
    updated_at     TEXT NOT NULL,
    metadata       TEXT NOT NULL DEFAULT '{}',
    CHECK ((resource_type = 'host') = (z_octet IS NOT NULL))
);
-- At most one active reservation per address (the arbiter between racing reservations).
-- Region reservations have no Z: index 0 for them, since SQLite treats NULLs as distinct.
CREATE UNIQUE INDEX active_reservation_unique_idx ON ipam_reservations (user_id, resource_type, x_octet, y_octet, ifnull(z_octet, 0))
    WHERE status = 'active';
CREATE INDEX user_status_idx ON ipam_reservations (user_id, status);
CREATE INDEX user_reservation_created_idx ON ipam_reservations (user_id, created_at DESC, reservation_id DESC);
CREATE INDEX reservation_expires_idx ON ipam_reservations (expires_at);
CREATE INDEX user_resource_type_idx ON ipam_reservations (user_id, resource_type);

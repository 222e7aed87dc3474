-- Notification dedup keys, rule severity and cooldown, and per-(rule, resource) threshold state.
-- Alters two tables of migration 6 (their rows stay) and creates one. The rollback drops the
-- added columns with ALTER TABLE ... DROP COLUMN, which needs SQLite 3.35; the bundled SQLite
-- (libsqlite3-sys 0.37) is 3.51.

-- At-least-once event processing must not show one notification twice: each one carries the
-- key of its cause, unique per user. Rows written before this migration get
-- 'legacy:' || notification_id (unique per row). The column stays nullable: ALTER TABLE cannot
-- add NOT NULL without a constant default, and one constant for every old row would break the
-- unique index. The store always writes a key; a NULL would not collide (SQLite's unique
-- indexes treat NULLs as distinct).
ALTER TABLE ipam_notifications ADD COLUMN dedup_key TEXT CHECK (dedup_key IS NULL OR length(dedup_key) > 0);
UPDATE ipam_notifications SET dedup_key = 'legacy:' || notification_id WHERE dedup_key IS NULL;
CREATE UNIQUE INDEX notification_user_dedup_idx ON ipam_notifications (user_id, dedup_key);

-- Existing rules get the severity and cooldown they implicitly had. `last_triggered` stays for
-- old rows; nothing writes it any more.
ALTER TABLE ipam_notification_rules ADD COLUMN severity TEXT NOT NULL DEFAULT 'warning'
    CHECK (severity IN ('info', 'warning', 'critical'));
ALTER TABLE ipam_notification_rules ADD COLUMN cooldown_minutes INTEGER NOT NULL DEFAULT 60
    CHECK (cooldown_minutes >= 0);

-- One row per (rule, resource), e.g. resource_key 'region:<id>' or 'country:<code>': whether
-- the resource is above the rule's threshold, how often it crossed upward, when the rule last
-- fired for it (the cooldown counts from there).
CREATE TABLE ipam_notification_rule_state (
    rule_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    resource_key  TEXT NOT NULL CHECK (length(resource_key) > 0),
    above         INTEGER NOT NULL DEFAULT 0 CHECK (above IN (0, 1)),
    crossings     INTEGER NOT NULL DEFAULT 0 CHECK (crossings >= 0),
    last_fired_at TEXT,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX rule_state_rule_resource_unique_idx ON ipam_notification_rule_state (rule_id, resource_key);
CREATE INDEX rule_state_user_idx ON ipam_notification_rule_state (user_id);

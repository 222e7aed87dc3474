-- Undoes exactly migration 7: the state table it created goes; the two tables it altered stay,
-- with their rows, as migration 6 made them.
DROP TABLE IF EXISTS ipam_notification_rule_state;
ALTER TABLE ipam_notification_rules DROP COLUMN cooldown_minutes;
ALTER TABLE ipam_notification_rules DROP COLUMN severity;
-- The index names dedup_key: DROP COLUMN refuses an indexed column, so the index goes first.
DROP INDEX IF EXISTS notification_user_dedup_idx;
ALTER TABLE ipam_notifications DROP COLUMN dedup_key;

DROP TABLE IF EXISTS ipam_bulk_jobs;
DROP TABLE IF EXISTS ipam_notification_rules;
DROP TABLE IF EXISTS ipam_notifications;

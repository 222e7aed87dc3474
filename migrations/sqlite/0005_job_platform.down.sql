DROP TABLE IF EXISTS ipam_schedule_runs;
DROP TABLE IF EXISTS ipam_webhook_deliveries;
DROP TABLE IF EXISTS ipam_webhooks;
DROP TABLE IF EXISTS ipam_event_outbox;

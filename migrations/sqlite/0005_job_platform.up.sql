-- The job platform: the event outbox (written in the same transaction as the change), webhook
-- subscriptions and their deliveries (every attempt logged), and cron tick claims (one row per
-- schedule and tick: the primary key makes exactly one worker process win each tick).

CREATE TABLE ipam_event_outbox (
    event_id      TEXT PRIMARY KEY NOT NULL,
    event_type    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    data          TEXT NOT NULL,
    dispatched_at TEXT
);
CREATE INDEX outbox_pending_idx ON ipam_event_outbox (dispatched_at, occurred_at);

CREATE TABLE ipam_webhooks (
    webhook_id       TEXT PRIMARY KEY NOT NULL,
    user_id          TEXT NOT NULL,
    webhook_url      TEXT NOT NULL,
    secret_key       TEXT NOT NULL,
    events           TEXT NOT NULL,
    description      TEXT,
    is_active        INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    failure_count    INTEGER NOT NULL DEFAULT 0 CHECK (failure_count >= 0),
    last_delivery    TEXT,
    disabled_reason  TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX webhook_user_active_idx ON ipam_webhooks (user_id, is_active);
CREATE INDEX webhook_user_created_idx ON ipam_webhooks (user_id, created_at DESC);

CREATE TABLE ipam_webhook_deliveries (
    delivery_id     TEXT PRIMARY KEY NOT NULL,
    webhook_id      TEXT NOT NULL REFERENCES ipam_webhooks (webhook_id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'dead')),
    attempts        TEXT NOT NULL DEFAULT '[]',
    round_start     INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    lease_until     TEXT,
    lease_holder    TEXT,
    event_at        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX delivery_event_webhook_unique_idx ON ipam_webhook_deliveries (event_id, webhook_id);
CREATE INDEX delivery_webhook_created_idx ON ipam_webhook_deliveries (webhook_id, created_at DESC);
CREATE INDEX delivery_due_idx ON ipam_webhook_deliveries (state, next_attempt_at);
CREATE INDEX delivery_updated_idx ON ipam_webhook_deliveries (updated_at);

CREATE TABLE ipam_schedule_runs (
    schedule    TEXT NOT NULL,
    tick_at     TEXT NOT NULL,
    claimed_by  TEXT NOT NULL,
    claimed_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT CHECK (outcome IN ('succeeded', 'failed', 'dead')),
    detail      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (schedule, tick_at)
);
CREATE INDEX schedule_claimed_idx ON ipam_schedule_runs (claimed_at);
CREATE INDEX schedule_latest_idx ON ipam_schedule_runs (schedule, tick_at DESC);

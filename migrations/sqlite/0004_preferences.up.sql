-- User preferences: free-form dashboard and notification settings, a theme, and up to 50
-- saved filters (a JSON array, as in the document store).

CREATE TABLE ipam_user_preferences (
    user_id               TEXT PRIMARY KEY NOT NULL,
    saved_filters         TEXT NOT NULL DEFAULT '[]',
    dashboard_layout      TEXT NOT NULL DEFAULT '{}',
    notification_settings TEXT NOT NULL DEFAULT '{}',
    theme_preference      TEXT,
    updated_at            TEXT NOT NULL
);
CREATE INDEX preferences_updated_idx ON ipam_user_preferences (updated_at);

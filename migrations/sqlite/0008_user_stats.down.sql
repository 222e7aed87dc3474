DROP TABLE IF EXISTS ipam_user_stats;

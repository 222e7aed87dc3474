DROP TABLE IF EXISTS ipam_shares;

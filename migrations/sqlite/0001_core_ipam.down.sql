DROP TABLE IF EXISTS ipam_user_quotas;
DROP TABLE IF EXISTS ipam_audit_history;
DROP TABLE IF EXISTS ipam_comments;
DROP TABLE IF EXISTS ipam_hosts;
DROP TABLE IF EXISTS ipam_region_slots;
DROP TABLE IF EXISTS ipam_regions;
DROP TABLE IF EXISTS continent_country_mapping;

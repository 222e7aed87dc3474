DROP TABLE IF EXISTS ipam_reservations;

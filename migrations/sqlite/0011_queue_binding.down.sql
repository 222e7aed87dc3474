DROP TABLE IF EXISTS ipam_queue_binding;

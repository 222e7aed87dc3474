DROP TABLE IF EXISTS ipam_forecast_requests;

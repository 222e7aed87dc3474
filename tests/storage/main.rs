//! Storage conformance suite: the behaviour every `Store` backend must show, written once in
//! [`suite`] and run against each backend by [`conformance!`].
//!
//! A backend joins by providing a factory `async fn() -> Backend` that returns a fresh, empty,
//! migrated store, and one `conformance!(name, factory)` line (attributes before the name apply
//! to every test, e.g. ignoring them when the backend's server is not configured).

mod schema;
mod suite;

use std::any::Any;
use std::sync::Arc;

use ipam_core::storage::Store;
use ipam_core::storage::mongo::MongoStore;
use ipam_core::storage::sqlite::SqliteStore;

/// A fresh store plus whatever has to outlive it (a temporary directory, a database to drop).
pub struct Backend {
    // Field order matters: the store is dropped before its guard.
    store: Arc<dyn Store>,
    _guard: Box<dyn Any + Send>,
}

impl Backend {
    /// Wraps a store and the value that keeps its data alive.
    pub fn new(store: Arc<dyn Store>, guard: impl Any + Send) -> Self {
        Self { store, _guard: Box::new(guard) }
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }
}

/// SQLite: a new database file in its own temporary directory, migrated and seeded.
async fn sqlite_store() -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ipam.db").display());
    let store = SqliteStore::connect(&url, 8).await.expect("open the SQLite store");
    store.prepare().await.expect("migrate and seed the SQLite store");
    Backend::new(Arc::new(store), dir)
}

/// Instantiates the whole suite for one backend: `conformance!(module_name, factory)`.
///
/// Every behaviour is listed once below; a test that exposes a defect keeps asserting the
/// correct behaviour and carries `#[ignore = "BUG: ..."]` in front of its name.
macro_rules! conformance {
    ($(#[$every:meta])* $backend:ident, $factory:path) => {
        conformance!(@tests [$($every),*] $backend, $factory, [
            // countries
            countries_are_seeded_once_with_contiguous_ranges_covering_every_x_octet,
            regions_per_x_counts_only_the_callers_regions_inside_the_range,
            // regions
            regions_are_allocated_from_the_first_x_of_the_country_with_the_lowest_free_y,
            allocation_moves_to_the_next_x_once_256_regions_fill_one,
            a_full_country_refuses_another_region_with_capacity_exhausted,
            retired_blocks_are_handed_out_again_before_new_ones,
            every_user_allocates_in_an_independent_namespace,
            region_names_are_unique_per_user_and_country_ignoring_case,
            the_region_quota_refuses_one_more_region_and_frees_up_on_retirement,
            next_free_region_names_the_block_the_next_allocation_takes,
            updating_a_region_returns_it_and_audits_the_snapshot_before_and_each_changed_field,
            a_region_patch_that_changes_nothing_writes_no_audit_event,
            retiring_a_region_that_has_hosts_without_cascade_is_refused_and_changes_nothing,
            retiring_with_cascade_removes_the_hosts_and_audits_each_host_and_the_region,
            unknown_regions_cannot_be_updated_or_retired,
            // hosts
            hosts_are_allocated_from_z_1_with_the_lowest_free_address,
            released_addresses_are_handed_out_again_before_new_ones,
            batch_names_continue_after_the_highest_existing_number_of_the_prefix,
            a_batch_larger_than_the_free_space_stores_nothing,
            a_full_region_refuses_another_host_with_capacity_exhausted,
            the_host_quota_refuses_singles_and_batches_and_frees_up_on_release_and_cascade,
            a_reserved_region_refuses_new_hosts_until_it_is_active_again,
            hostnames_are_unique_within_a_region_only,
            updating_a_host_returns_it_and_audits_the_snapshot_before_and_each_changed_field,
            a_host_patch_that_changes_nothing_writes_no_audit_event,
            release_reports_one_outcome_per_distinct_id_in_request_order,
            hosts_at_finds_exactly_the_callers_hosts_at_the_requested_addresses,
            next_free_host_names_the_address_the_next_allocation_takes,
            // comments
            comments_are_listed_newest_first_with_real_totals_and_audited,
            comments_cannot_reach_another_users_or_a_missing_resource,
            comments_vanish_with_their_host_and_with_a_retired_region,
            // audit
            audit_events_filter_by_action_resource_address_and_time_with_real_totals,
            audit_events_paginate_newest_first_and_stay_in_the_users_namespace,
            // quotas
            a_user_who_never_allocated_has_empty_usage,
            quota_overrides_are_applied_reset_and_audited,
            quotas_are_listed_by_user_id_with_real_totals,
            // listing
            region_list_filters_combine_with_real_totals,
            region_name_filter_matches_percent_and_underscore_literally,
            host_list_filters_combine_with_real_totals,
            host_name_filters_match_percent_and_underscore_literally,
            lists_are_ordered_newest_first_across_pages,
            // search
            search_returns_both_kinds_newest_first_with_real_totals,
            search_applies_each_kinds_filter_to_that_kind_only,
            // invariants
            a_random_operation_sequence_keeps_lists_allocation_and_quotas_consistent,
            // reservations
            a_reservation_is_stored_active_reads_back_exactly_and_is_audited,
            a_region_reservation_keeps_its_block_from_allocation_until_it_expires,
            a_host_reservation_keeps_its_address_from_single_and_batch_allocation_until_it_expires,
            next_free_host_skips_addresses_held_by_host_reservations_until_they_expire,
            a_reservation_of_an_allocated_block_or_address_is_a_conflict_naming_it,
            a_second_active_reservation_of_one_host_address_is_a_conflict,
            a_second_active_reservation_of_one_region_block_is_a_conflict,
            an_expired_reservation_does_not_hold_its_address_against_a_new_one,
            a_host_reservation_may_nest_inside_a_region_reservation,
            reservations_live_in_each_users_namespace,
            reservation_lists_filter_by_status_at_now_and_kind_newest_first_with_real_totals,
            cancelling_a_reservation_deletes_it_frees_its_address_and_is_audited,
            unknown_or_other_users_reservations_cannot_be_cancelled,
            converting_a_region_reservation_allocates_exactly_its_block_and_consumes_it,
            expired_host_and_unknown_reservations_do_not_become_regions,
            a_refused_region_conversion_leaves_the_reservation_active,
            converting_a_host_reservation_allocates_exactly_its_address_and_consumes_it,
            a_host_reservation_converts_only_into_an_active_region_at_its_block,
            racing_reservations_of_one_host_address_leave_exactly_one,
            racing_reservations_of_one_region_block_leave_exactly_one,
            a_host_reservation_racing_an_allocation_of_that_address_never_lets_both_take_it,
            // shares
            creating_and_revoking_a_share_is_audited_without_the_token,
            a_created_share_reads_back_through_live_shares_exactly_as_created,
            live_shares_are_the_users_active_unexpired_ones_newest_first_with_real_totals,
            revoking_a_share_succeeds_once_and_never_for_another_user,
            a_live_share_is_found_by_its_token_without_counting_a_view,
            recording_a_view_counts_it_and_moves_the_last_access,
            unknown_revoked_and_expired_shares_are_not_found_and_count_no_view,
            concurrent_views_of_one_share_are_each_counted_exactly_once,
            // preferences
            a_user_who_never_saved_anything_has_no_preferences,
            updating_preferences_creates_them_and_replaces_only_the_given_top_level_keys,
            preferences_larger_than_the_limit_are_refused_and_change_nothing,
            saved_filters_are_appended_oldest_first_up_to_the_limit,
            deleting_a_filter_is_true_once_and_false_for_unknown_filters_and_users,
            saved_filters_and_settings_survive_each_others_changes,
            sixty_racing_filter_additions_under_a_limit_of_fifty_leave_exactly_fifty,
            // job platform
            an_allocation_is_fanned_out_once_to_each_active_subscribed_webhook_of_its_owner,
            concurrent_dispatchers_never_fan_an_event_out_twice,
            a_due_delivery_is_claimed_by_one_worker_until_its_lease_expires,
            recorded_attempts_move_the_delivery_and_the_webhooks_failure_count,
            only_the_owners_dead_deliveries_can_be_requeued_with_a_fresh_round,
            webhooks_are_managed_per_user_within_a_limit,
            each_cron_tick_is_claimed_once_and_its_runs_are_recorded,
            the_expiry_sweeps_record_lapsed_reservations_and_shares_once,
            the_relay_finds_overdue_deliveries_and_the_pruner_deletes_only_old_finished_work,
            only_the_worker_holding_the_lease_records_an_attempt,
            a_claimed_delivery_whose_webhook_is_gone_is_deleted,
            // webhook health
            enabling_an_active_webhook_keeps_its_failures_and_re_enabling_a_disabled_one_clears_them,
            dead_deliveries_recorded_at_once_each_count_one_failure_and_disable_the_webhook_once,
            // event payloads
            region_events_carry_the_regions_public_fields_as_they_are_after_the_change,
            host_events_carry_the_hosts_public_fields_as_they_are_after_the_change,
            a_cascade_retirement_releases_each_host_and_retires_the_region,
            reservation_events_carry_the_reserved_address_its_kind_expiry_and_status,
            filling_a_region_past_80_and_95_percent_raises_capacity_warning_then_critical,
            filling_a_country_past_80_and_95_percent_raises_capacity_warning_then_critical,
            // notifications
            a_notification_is_stored_once_per_dedup_key_and_user,
            notification_filters_combine_newest_first_with_real_totals,
            the_unread_count_and_recent_list_show_the_newest_unread,
            marking_sets_read_at_once_and_marking_unread_clears_it,
            read_all_marks_every_unread_notification_of_the_user_and_counts_them,
            a_notification_is_deleted_once,
            another_users_notification_is_out_of_reach_everywhere,
            expired_notifications_are_invisible_and_the_sweep_deletes_them_in_limited_batches,
            rules_are_managed_per_user_within_a_limit,
            a_rule_patch_stamps_updated_at_and_rearming_resets_only_the_rules_states,
            deleting_a_rule_deletes_its_states_and_no_state_outlives_it,
            active_rules_are_the_users_active_rules_oldest_first,
            a_rule_state_is_upserted_and_reads_back_exactly,
            // notifications created by units of work
            a_threshold_rule_fires_once_per_upward_crossing_and_again_only_after_its_cooldown,
            an_event_rule_reports_each_of_its_owners_events_once,
            notification_settings_decide_what_reaches_the_inbox,
            a_webhook_channel_raises_notification_created_which_never_triggers_a_rule,
            catch_up_fires_a_rule_created_above_its_threshold_once_and_raises_no_events,
            catch_up_fires_a_country_rule_created_above_its_threshold_once,
            reservations_announce_their_expiry_once_and_their_lapse_once,
            owners_of_threshold_rules_are_listed_once_each_in_pages,
            // statistics
            every_audited_change_moves_its_users_data_version_and_no_one_elses,
            dashboard_counts_are_exact_per_country_and_per_counter,
            daily_activity_counts_allocations_and_releases_per_utc_day_within_a_scope,
            hourly_activity_counts_allocations_and_releases_per_utc_hour_within_a_scope,
            the_most_utilized_regions_rank_by_host_count_then_address_up_to_a_limit,
            // repair
            a_store_written_by_its_units_of_work_needs_no_repair_and_a_check_writes_nothing,
            // forecast requests
            a_forecast_request_is_recorded_once_per_user_forecast_and_only_moves_forward,
            concurrent_recordings_of_one_forecast_request_leave_one_record,
            requests_since_a_cutoff_are_paged_by_id_and_older_ones_are_left_out,
            forgetting_and_pruning_delete_exactly_the_named_and_the_old_requests,
            // bulk jobs
            a_bulk_job_resumed_after_its_holder_died_records_every_position_exactly_once,
            a_cancelled_bulk_job_keeps_its_progress_and_is_never_taken_again,
            finished_bulk_jobs_are_listed_newest_first_and_pruned_after_retention,
            // the deployment's job queue
            the_first_recorded_queue_stays_recorded_and_is_returned_to_every_caller,
        ]);
    };
    (@tests $every:tt $backend:ident, $factory:path, [$($(#[$attr:meta])* $name:ident),* $(,)?]) => {
        mod $backend {
            use super::*;

            $( conformance!(@one $every [$($attr),*] $name, $factory); )*
        }
    };
    (@one [$($every:meta),*] [$($attr:meta),*] $name:ident, $factory:path) => {
        #[tokio::test]
        $(#[$every])*
        $(#[$attr])*
        async fn $name() {
            let backend = $factory().await;
            crate::suite::$name(backend.store()).await;
        }
    };
}

/// Drops a test database (URL, name) when the test is done.
struct DropDatabase(String, String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        ipam_tests::drop_mongo_database(self.0.clone(), self.1.clone());
    }
}

/// MongoDB: a fresh database per test on the server named by `IPAM_TEST_MONGODB_URL`
/// (dropped afterwards). The MongoDB half is always marked ignored, so a plain `cargo test`
/// shows it as "ignored", never as passes that checked nothing; it runs with
/// `IPAM_TEST_MONGODB_URL=… cargo test -p ipam-tests --test storage -- --ignored mongodb::`.
/// The server is chosen at run time: pointing the suite at another server rebuilds nothing.
async fn mongo_store() -> Backend {
    let url = std::env::var("IPAM_TEST_MONGODB_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("set IPAM_TEST_MONGODB_URL (e.g. mongodb://127.0.0.1:27017) to run the MongoDB conformance tests");
    let base = MongoStore::connect(&url).await.expect("IPAM_TEST_MONGODB_URL is a mongodb:// URL");
    let name = format!("ipam_test_{}", ulid::Ulid::generate().to_string().to_lowercase());
    let store = MongoStore::with_database(base.client().clone(), &name);
    store.prepare().await.expect("migrate and seed the MongoDB store");
    let guard = DropDatabase(url.clone(), name.clone());
    Backend::new(Arc::new(store), guard)
}

conformance!(sqlite, sqlite_store);
conformance!(
    #[ignore = "MongoDB: run with --ignored and IPAM_TEST_MONGODB_URL set"]
    mongodb,
    mongo_store
);

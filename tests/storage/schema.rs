//! Migrations against a live server: applying, rolling back and re-applying migration 7, which
//! alters two existing collections and creates one. SQLite's twin lives beside the SQLite
//! migrator (`src/storage/sqlite/migrate/tests.rs`: it needs no server). The MongoDB test is
//! ignored unless run with `--ignored` and `IPAM_TEST_MONGODB_URL`, like the rest of the
//! MongoDB half (`.ci/mongo-emulator` runs `-- --ignored mongodb::`, which includes it).

mod mongodb {
    use futures::TryStreamExt;
    use ipam_core::storage::SchemaAdmin;
    use ipam_core::storage::mongo::MongoStore;
    use ipam_core::storage::mongo::migrate::validator_document;
    use mongodb::Database;
    use mongodb::bson::{DateTime, Document, doc};

    const STATE: &str = "ipam_notification_rule_state";

    /// Every migration's version, in order (from the store: this crate does not name the
    /// migrations crate).
    async fn versions(store: &MongoStore) -> Vec<u32> {
        SchemaAdmin::migration_status(store).await.unwrap().iter().map(|s| s.migration.version).collect()
    }

    /// The versions from 7 on: what applying after a rollback to 6 applies.
    async fn since_7(store: &MongoStore) -> Vec<u32> {
        versions(store).await.into_iter().filter(|v| *v >= 7).collect()
    }

    /// Rolls back every migration newer than `version`, newest first.
    async fn rollback_after(store: &MongoStore, version: u32) {
        for _ in versions(store).await.into_iter().filter(|v| *v > version) {
            let rolled = SchemaAdmin::rollback_latest(store).await.unwrap().expect("a later migration is applied");
            assert!(rolled.version > version, "rolled back {} before the later ones", rolled.version);
        }
    }

    /// A fresh, migrated database (dropped when the guard goes).
    async fn store() -> (MongoStore, crate::DropDatabase) {
        let url = std::env::var("IPAM_TEST_MONGODB_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .expect("set IPAM_TEST_MONGODB_URL (e.g. mongodb://127.0.0.1:27017) to run the MongoDB schema tests");
        let base = MongoStore::connect(&url).await.expect("IPAM_TEST_MONGODB_URL is a mongodb:// URL");
        let name = format!("ipam_test_{}", ulid::Ulid::generate().to_string().to_lowercase());
        let store = MongoStore::with_database(base.client().clone(), &name);
        store.prepare().await.expect("migrate and seed the MongoDB store");
        (store, crate::DropDatabase(url, name))
    }

    async fn validator_of(db: &Database, collection: &str) -> Document {
        let specs: Vec<_> =
            db.list_collections().filter(doc! { "name": collection }).await.unwrap().try_collect().await.unwrap();
        specs[0].options.validator.clone().expect("a validator")
    }

    async fn index_names(db: &Database, collection: &str) -> Vec<String> {
        let mut names = db.collection::<Document>(collection).list_index_names().await.unwrap();
        names.sort();
        names
    }

    async fn has_collection(db: &Database, name: &str) -> bool {
        db.list_collection_names().await.unwrap().iter().any(|n| n == name)
    }

    fn notification(id: &str, user: &str, dedup_key: Option<&str>) -> Document {
        let now = DateTime::now();
        let mut d = doc! {
            "_id": id, "notification_id": id, "user_id": user, "notification_type": "rule_triggered",
            "severity": "info", "message": "m", "is_read": false, "created_at": now, "expires_at": now,
        };
        if let Some(key) = dedup_key {
            d.insert("dedup_key", key);
        }
        d
    }

    fn v6_rule(id: &str) -> Document {
        let now = DateTime::now();
        doc! {
            "_id": id, "rule_id": id, "user_id": "u1", "rule_name": "old rule", "conditions": {},
            "notification_channels": ["in_app"], "is_active": true, "last_triggered": now,
            "created_at": now, "updated_at": now,
        }
    }

    fn state(resource: &str) -> Document {
        let id = format!("r1:{resource}");
        doc! {
            "_id": id, "rule_id": "r1", "user_id": "u1", "resource_key": resource, "above": true,
            "crossings": 1_i64, "last_fired_at": DateTime::now(), "updated_at": DateTime::now(),
        }
    }

    #[tokio::test]
    #[ignore = "MongoDB: run with --ignored and IPAM_TEST_MONGODB_URL set"]
    async fn migration_7_alters_the_notification_collections_in_place_and_its_rollback_keeps_their_documents() {
        let (store, _guard) = store().await;
        let db = store.database().clone();
        let notifications = db.collection::<Document>("ipam_notifications");
        let rules = db.collection::<Document>("ipam_notification_rules");
        // Migration 7 as the store knows it (its alterations name the validators before and after).
        let status = SchemaAdmin::migration_status(&store).await.unwrap();
        let m7 = status.iter().find(|s| s.migration.version == 7).unwrap().migration;
        let [to_notifications, to_rules] = m7.alters else { panic!("two alterations") };
        let (n, r) = (to_notifications.validator.unwrap(), to_rules.validator.unwrap());
        let notifications_6 = validator_document(n.previous).unwrap();
        let notifications_7 = validator_document(n.next).unwrap();
        let (rules_6, rules_7) = (validator_document(r.previous).unwrap(), validator_document(r.next).unwrap());
        let indexes_7 = index_names(&db, "ipam_notifications").await;
        assert!(indexes_7.contains(&"notification_user_dedup_idx".to_owned()), "{indexes_7:?}");
        assert_eq!(validator_of(&db, "ipam_notifications").await, notifications_7);

        // Back to migration 6 (the later ones go first), and documents written as migration 6
        // shaped them.
        rollback_after(&store, 8).await;
        assert_eq!(SchemaAdmin::rollback_latest(&store).await.unwrap().map(|m| m.version), Some(8));
        assert!(!has_collection(&db, "ipam_user_stats").await);
        assert_eq!(SchemaAdmin::rollback_latest(&store).await.unwrap().map(|m| m.version), Some(7));
        assert!(!has_collection(&db, STATE).await);
        assert!(!index_names(&db, "ipam_notifications").await.contains(&"notification_user_dedup_idx".to_owned()));
        assert_eq!(validator_of(&db, "ipam_notifications").await, notifications_6);
        assert_eq!(validator_of(&db, "ipam_notification_rules").await, rules_6);
        for (id, user) in [("n1", "u1"), ("n2", "u1"), ("n3", "u2")] {
            notifications.insert_one(notification(id, user, None)).await.unwrap();
        }
        rules.insert_one(v6_rule("r1")).await.unwrap();

        // Migration 7 over them: each document gets its backfill before the unique index.
        let applied = store.prepare().await.unwrap();
        assert_eq!(applied.iter().map(|a| a.migration.version).collect::<Vec<_>>(), since_7(&store).await);
        assert_eq!(index_names(&db, "ipam_notifications").await, indexes_7);
        assert_eq!(validator_of(&db, "ipam_notifications").await, notifications_7);
        assert_eq!(validator_of(&db, "ipam_notification_rules").await, rules_7);
        for id in ["n1", "n2", "n3"] {
            let d = notifications.find_one(doc! { "_id": id }).await.unwrap().unwrap();
            assert_eq!(d.get_str("dedup_key").unwrap(), format!("legacy:{id}"));
        }
        let rule = rules.find_one(doc! { "_id": "r1" }).await.unwrap().unwrap();
        assert_eq!(rule.get_str("severity"), Ok("warning"));
        assert_eq!(rule.get_i64("cooldown_minutes"), Ok(60));
        assert!(rule.get_datetime("last_triggered").is_ok(), "kept");
        let reports = SchemaAdmin::verify_indexes(&store).await.unwrap();
        assert!(reports.iter().all(|r| r.is_ok() && r.extra.is_empty()), "{reports:?}");

        // What migration 7 enforces.
        notifications.insert_one(notification("n4", "u1", Some("rule:r1:region:a"))).await.unwrap();
        assert!(notifications.insert_one(notification("n5", "u1", Some("rule:r1:region:a"))).await.is_err());
        notifications.insert_one(notification("n6", "u2", Some("rule:r1:region:a"))).await.unwrap();
        assert!(notifications.insert_one(notification("n7", "u1", None)).await.is_err(), "dedup_key is required");
        assert!(rules.insert_one(v6_rule("r2")).await.is_err(), "severity and cooldown are required");
        let states = db.collection::<Document>(STATE);
        states.insert_one(state("region:a")).await.unwrap();
        let mut twin = state("region:a");
        twin.insert("_id", "other");
        assert!(states.insert_one(twin).await.is_err(), "one document per (rule, resource)");

        // The rollback undoes exactly the alterations: documents (and their new fields) stay.
        rollback_after(&store, 8).await;
        assert_eq!(SchemaAdmin::rollback_latest(&store).await.unwrap().map(|m| m.version), Some(8));
        assert_eq!(SchemaAdmin::rollback_latest(&store).await.unwrap().map(|m| m.version), Some(7));
        assert!(!has_collection(&db, STATE).await);
        assert_eq!(notifications.count_documents(doc! {}).await.unwrap(), 5);
        assert_eq!(rules.count_documents(doc! {}).await.unwrap(), 1);
        assert_eq!(validator_of(&db, "ipam_notifications").await, notifications_6);
        assert_eq!(validator_of(&db, "ipam_notification_rules").await, rules_6);
        notifications.insert_one(notification("n8", "u1", None)).await.unwrap();
        notifications.insert_one(notification("n9", "u1", Some("rule:r1:region:a"))).await.unwrap();
        let reports = SchemaAdmin::verify_indexes(&store).await.unwrap();
        let report = |name: &str| reports.iter().find(|r| r.collection == name).unwrap();
        assert!(!report(STATE).exists);
        let missing: Vec<&str> = report("ipam_notifications").missing.iter().map(|i| i.name).collect();
        assert_eq!(missing, ["notification_user_dedup_idx"]);
        let status = SchemaAdmin::migration_status(&store).await.unwrap();
        assert!(status.iter().all(|s| s.applied_at.is_some() == (s.migration.version < 7)));

        // Re-applying finds the keys documents kept; a duplicate written meanwhile stops it
        // (the unique index cannot be built) until an operator removes it.
        let refused = store.prepare().await;
        assert!(refused.is_err(), "n9 repeats n4's key");
        notifications.delete_one(doc! { "_id": "n9" }).await.unwrap();
        assert_eq!(
            store.prepare().await.unwrap().iter().map(|a| a.migration.version).collect::<Vec<_>>(),
            since_7(&store).await
        );
        let n4 = notifications.find_one(doc! { "_id": "n4" }).await.unwrap().unwrap();
        assert_eq!(n4.get_str("dedup_key"), Ok("rule:r1:region:a"), "not refilled");
        let n8 = notifications.find_one(doc! { "_id": "n8" }).await.unwrap().unwrap();
        assert_eq!(n8.get_str("dedup_key"), Ok("legacy:n8"));
        let reports = SchemaAdmin::verify_indexes(&store).await.unwrap();
        assert!(reports.iter().all(|r| r.is_ok() && r.extra.is_empty()), "{reports:?}");
    }
}

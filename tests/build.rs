//! Enables the MongoDB half of the storage conformance suite only when a server is named:
//! without `IPAM_TEST_MONGODB_URL` those tests are reported as ignored.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ipam_mongo_tests)");
    println!("cargo::rerun-if-env-changed=IPAM_TEST_MONGODB_URL");
    if std::env::var("IPAM_TEST_MONGODB_URL").is_ok_and(|u| !u.trim().is_empty()) {
        println!("cargo::rustc-cfg=ipam_mongo_tests");
    }
}

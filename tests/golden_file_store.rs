//! The golden battery against a snapshot loaded by the embedded file store.

mod common;

use std::path::Path;

#[test]
fn golden_battery_on_file_store() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let loaded = skydns::store::file::load(&dir.join("fixture.json"), "skydns").unwrap();
    let count = common::golden::run_dir(&dir, &loaded.snapshot, loaded.config_value.as_deref());
    assert!(count > 80, "only {count} golden cases ran");
}

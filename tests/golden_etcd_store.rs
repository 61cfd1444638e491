//! The golden battery against a snapshot loaded by the etcd store from a real etcd holding the
//! fixture's keys.

mod common;

use std::path::Path;
use std::time::Duration;

use common::etcd::{fixture_items, Etcd};
use skydns::config::EtcdConfig;
use skydns::store::etcd::{Connector, EtcdStore};
use skydns::store::StoreState;

#[test]
fn golden_battery_on_etcd_store() {
    let etcd = Etcd::start();
    let items = fixture_items();
    etcd.put_many(&items);
    let cfg = EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        ca_cert: None,
        tls_pem: None,
        tls_key: None,
        username: None,
        password: None,
    };
    let state = StoreState::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = EtcdStore::new(Connector::new(&cfg).unwrap(), "skydns");
    rt.spawn(store.run(state.clone()));
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), state.wait_loaded())
            .await
            .expect("the etcd store loads within 20 s");
    });
    let snapshot = state.snapshot();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let from_file = skydns::store::file::load(&dir.join("fixture.json"), "skydns").unwrap();
    let services = |s: &skydns::core::Snapshot| {
        s.iter()
            .map(|e| (e.path.clone(), e.service.clone()))
            .collect::<Vec<_>>()
    };
    assert!(snapshot.len() > 100);
    assert_eq!(
        services(&snapshot),
        services(&from_file.snapshot),
        "etcd and the file store see the same services"
    );
    assert_eq!(
        i64::from(snapshot.serial()),
        etcd.revision(),
        "the serial is the etcd revision"
    );
    let config = state.config_value();
    // The file store keeps the file's JSON text as written, the harness put compact JSON: the
    // same value either way.
    let parsed =
        |raw: Option<&[u8]>| raw.map(|r| serde_json::from_slice::<serde_json::Value>(r).unwrap());
    assert_eq!(
        parsed(config.as_deref().map(Vec::as_slice)),
        parsed(from_file.config_value.as_deref())
    );
    let count = common::golden::run_dir(
        &dir,
        &snapshot,
        config.as_deref().map(std::vec::Vec::as_slice),
    );
    assert!(count > 80, "only {count} golden cases ran");
}

//! What the snapshot of a large store really holds per service, counted by the allocator
//! (jemalloc, the daemon's): the mirror of the store is most of the daemon's memory at 100,000
//! services, so this fails if a service grows past its budget.
#![cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]

mod common;

use std::time::Instant;

use skydns::core::snapshot::Entry;
use skydns::core::Snapshot;

use common::counting_allocator::{allocated, Counting};
use common::generator;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Core services of the benchmark's generator (`scripts/bench-compare.sh` uses the same).
const SERVICES: usize = 20_000;

/// The budget per service: the entry and its `Arc`'s counts (at most 96 bytes, checked
/// below), its path (an allocation of its own), its place in the index and the presence
/// counts; 168 at 20,112 services when this was written.
const BUDGET: u64 = 176;

#[test]
fn a_service_in_the_snapshot_weighs_at_most_its_budget() {
    let items: Vec<(String, Vec<u8>, Option<Instant>)> = generator::generate(SERVICES, 1)
        .etcd_items()
        .into_iter()
        .map(|(key, value)| (key, value.into_bytes(), None))
        .collect();
    let count = items.len() as u64;
    let (snapshot, rejected) = Snapshot::build("skydns", 1, items);
    // The items were moved in and freed while the snapshot was built: weigh it by what
    // dropping it gives back.
    let built = allocated();
    drop(snapshot);
    let held = built.saturating_sub(allocated());
    assert!(rejected.is_empty(), "{rejected:?}");
    let each = held / count;
    println!("{count} services: the snapshot holds {held} bytes, {each} per service");
    assert!(each <= BUDGET, "a service weighs {each} bytes");
    let entry = std::mem::size_of::<Entry>() + 2 * std::mem::size_of::<usize>();
    assert!(entry <= 96, "an entry and its counts take {entry} bytes");
}

//! Backends that produce snapshots. A backend is the only writer of the shared
//! [`StoreState`]: it publishes a new [`Snapshot`] on every change and records whether it is in
//! sync; queries only ever read the current snapshot.

pub mod etcd;
pub mod file;
pub mod start;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::Notify;

use crate::core::snapshot::Rejected;
use crate::core::Snapshot;

/// The key of the settings under `prefix`: `/<prefix>/config`.
pub fn config_key(prefix: &str) -> String {
    crate::core::path::path_to_key(prefix, CONFIG_PATH)
}

/// The path of the settings key relative to the prefix: no service can live there.
pub const CONFIG_PATH: &str = "config";

/// Where a store is with respect to its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SyncState {
    /// No snapshot loaded yet: queries get SERVFAIL.
    Loading = 0,
    /// The snapshot follows the source.
    Synced = 1,
    /// The source is unreachable or broken: the last good snapshot is served.
    Stale = 2,
}

/// The published state of a store, shared with every query.
pub struct StoreState {
    snapshot: ArcSwap<Snapshot>,
    config_value: ArcSwapOption<Vec<u8>>,
    state: AtomicU8,
    loaded: Notify,
}

impl Default for StoreState {
    fn default() -> Self {
        StoreState {
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            config_value: ArcSwapOption::empty(),
            state: AtomicU8::new(SyncState::Loading as u8),
            loaded: Notify::new(),
        }
    }
}

impl StoreState {
    /// A shared state with an empty snapshot, still [`SyncState::Loading`].
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The current snapshot (lock-free).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The raw value of `/<prefix>/config` as last seen, if the key exists.
    pub fn config_value(&self) -> Option<Arc<Vec<u8>>> {
        self.config_value.load_full()
    }

    /// Where the store is with respect to its source.
    pub fn sync_state(&self) -> SyncState {
        match self.state.load(Ordering::Acquire) {
            0 => SyncState::Loading,
            1 => SyncState::Synced,
            _ => SyncState::Stale,
        }
    }

    /// True once a first snapshot has been published.
    pub fn is_loaded(&self) -> bool {
        self.sync_state() != SyncState::Loading
    }

    /// Publishes a snapshot (and the config value seen with it) and marks the store in sync.
    /// Rejected keys are logged with their key.
    pub fn publish(
        &self,
        snapshot: Snapshot,
        config_value: Option<Vec<u8>>,
        rejected: &[Rejected],
    ) {
        for r in rejected {
            tracing::warn!(key = %r.key, error = %r.error, "skipping malformed service value");
        }
        self.snapshot.store(Arc::new(snapshot));
        self.config_value.store(config_value.map(Arc::new));
        self.state.store(SyncState::Synced as u8, Ordering::Release);
        self.loaded.notify_waiters();
    }

    /// Marks the store stale (source unreachable); the last snapshot keeps being served.
    /// Does nothing before the first load.
    pub fn mark_stale(&self) {
        let _ = self.state.compare_exchange(
            SyncState::Synced as u8,
            SyncState::Stale as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Marks the store in sync again (the source is back and nothing changed meanwhile).
    /// Does nothing before the first load.
    pub fn mark_synced(&self) {
        let _ = self.state.compare_exchange(
            SyncState::Stale as u8,
            SyncState::Synced as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Waits until a first snapshot is published.
    pub async fn wait_loaded(&self) {
        loop {
            let notified = self.loaded.notified();
            if self.is_loaded() {
                return;
            }
            notified.await;
        }
    }
}

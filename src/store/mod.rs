//! Backends that produce snapshots. A backend is the only writer of the shared
//! [`StoreState`]: it publishes a new [`Snapshot`] on every change and records whether it is in
//! sync, since when it is not, and what it went through (keys rejected, sessions ended, watch
//! events applied); queries only ever read the current snapshot, metrics and `/ready` the rest.

pub mod etcd;
pub mod file;
pub mod start;

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// What a store went through since start, read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreCounts {
    /// Service values left out of snapshots because they are malformed (each time seen).
    pub rejected: u64,
    /// Sessions with the source that ended (each followed by a new attempt).
    pub reconnects: u64,
    /// Watch events applied.
    pub watch_events: u64,
}

/// The published state of a store, shared with every query.
pub struct StoreState {
    snapshot: ArcSwap<Snapshot>,
    config_value: ArcSwapOption<Vec<u8>>,
    state: AtomicU8,
    loaded: Notify,
    /// The clock of `stale_since`.
    epoch: Instant,
    /// When the store went stale, in nanoseconds since `epoch`, plus one (0: not stale).
    stale_since: AtomicU64,
    /// When the last snapshot was published, in milliseconds since the Unix epoch (0: never).
    last_update_ms: AtomicU64,
    rejected: AtomicU64,
    reconnects: AtomicU64,
    watch_events: AtomicU64,
}

impl Default for StoreState {
    fn default() -> Self {
        StoreState {
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            config_value: ArcSwapOption::empty(),
            state: AtomicU8::new(SyncState::Loading as u8),
            loaded: Notify::new(),
            epoch: Instant::now(),
            stale_since: AtomicU64::new(0),
            last_update_ms: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            watch_events: AtomicU64::new(0),
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

    /// Publishes a snapshot (and the config value seen with it) read from the source, and
    /// marks the store in sync. Rejected keys are logged with their key.
    pub fn publish(
        &self,
        snapshot: Snapshot,
        config_value: Option<Vec<u8>>,
        rejected: &[Rejected],
    ) {
        self.publish_held(snapshot, config_value, rejected);
        self.stale_since.store(0, Ordering::Release);
        self.state.store(SyncState::Synced as u8, Ordering::Release);
        self.loaded.notify_waiters();
    }

    /// Publishes a snapshot made without the source (leases held while it is unreachable),
    /// leaving the sync state as it is.
    pub fn publish_held(
        &self,
        snapshot: Snapshot,
        config_value: Option<Vec<u8>>,
        rejected: &[Rejected],
    ) {
        for r in rejected {
            tracing::warn!(key = %r.key, error = %r.error, "skipping malformed service value");
        }
        self.rejected.fetch_add(
            u64::try_from(rejected.len()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.snapshot.store(Arc::new(snapshot));
        self.config_value.store(config_value.map(Arc::new));
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.last_update_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Marks the store stale (source unreachable) and notes since when; the last snapshot
    /// keeps being served. Does nothing before the first load, nor when already stale.
    pub fn mark_stale(&self) {
        let since = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1;
        if self
            .state
            .compare_exchange(
                SyncState::Synced as u8,
                SyncState::Stale as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            self.stale_since.store(since, Ordering::Release);
        }
    }

    /// Marks the store in sync again (the source is back and nothing changed meanwhile).
    /// Does nothing before the first load.
    pub fn mark_synced(&self) {
        if self
            .state
            .compare_exchange(
                SyncState::Stale as u8,
                SyncState::Synced as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            self.stale_since.store(0, Ordering::Release);
        }
    }

    /// How long the store has been stale (`None` while it is not).
    pub fn stale_for(&self) -> Option<Duration> {
        let since = self.stale_since.load(Ordering::Acquire);
        (since != 0 && self.sync_state() == SyncState::Stale).then(|| {
            self.epoch
                .elapsed()
                .saturating_sub(Duration::from_nanos(since - 1))
        })
    }

    /// When the last snapshot was published, as time since the Unix epoch (`None`: never).
    pub fn last_update(&self) -> Option<Duration> {
        let ms = self.last_update_ms.load(Ordering::Relaxed);
        (ms != 0).then(|| Duration::from_millis(ms))
    }

    /// Notes that a session with the source ended (a new one follows).
    pub fn note_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes `n` watch events applied.
    pub fn note_watch_events(&self, n: usize) {
        self.watch_events
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// What the store went through since start.
    pub fn counts(&self) -> StoreCounts {
        StoreCounts {
            rejected: self.rejected.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            watch_events: self.watch_events.load(Ordering::Relaxed),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stale_clock_starts_when_the_source_is_lost_and_stops_when_it_is_back() {
        let state = StoreState::default();
        state.mark_stale();
        assert_eq!(
            state.sync_state(),
            SyncState::Loading,
            "nothing loaded: not stale"
        );
        assert_eq!(state.last_update(), None);
        state.publish(Snapshot::empty(), None, &[]);
        assert!(state.last_update().is_some());
        assert_eq!(state.stale_for(), None);
        state.mark_stale();
        let first = state.stale_for().expect("stale");
        std::thread::sleep(Duration::from_millis(20));
        // Leases held meanwhile, and a second failed attempt, keep the clock running.
        state.publish_held(Snapshot::empty(), None, &[]);
        state.mark_stale();
        assert_eq!(state.sync_state(), SyncState::Stale);
        assert!(state.stale_for().expect("still stale") >= first + Duration::from_millis(20));
        state.mark_synced();
        assert_eq!(state.stale_for(), None);
        state.mark_stale();
        state.publish(Snapshot::empty(), None, &[]);
        assert_eq!(
            (state.sync_state(), state.stale_for()),
            (SyncState::Synced, None)
        );
    }
}

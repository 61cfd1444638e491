//! What `/health` and `/ready` say. Health is the process answering at all. Readiness is
//! the store: ready once the first snapshot is loaded and served (its settings applied, the
//! servers answering from it: when systemd hears READY=1) and while the store follows its
//! source; an etcd store that has been out of touch with etcd (marked stale) for longer than
//! `ready_stale_after` is not ready. DNS answers keep flowing from the last snapshot either
//! way: readiness only tells a load balancer or orchestrator to prefer another server. The
//! file store is ready once loaded (a broken file keeps the last good data, and no server
//! elsewhere has better).

use std::time::Duration;

use crate::store::SyncState;

/// What the readiness of a store depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreView {
    /// The servers answer from the store (its first snapshot and settings are applied).
    pub answering: bool,
    /// Where the store is with its source.
    pub state: SyncState,
    /// How long it has been stale (`None` while in sync or loading).
    pub stale_for: Option<Duration>,
}

/// Ready, or why not (one line for the `/ready` body).
pub fn readiness(store: StoreView, stale_limit: Option<Duration>) -> Result<(), String> {
    if !store.answering || store.state == SyncState::Loading {
        return Err("not ready: no snapshot loaded from the store yet".to_owned());
    }
    match (store.state, store.stale_for, stale_limit) {
        (SyncState::Stale, Some(stale), Some(limit)) if stale >= limit => Err(format!(
            "not ready: the store has been out of touch with etcd for {} s (ready_stale_after {} s); answering from the last snapshot",
            stale.as_secs(),
            limit.as_secs_f64()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: SyncState, stale_secs: Option<u64>) -> StoreView {
        StoreView {
            answering: true,
            state,
            stale_for: stale_secs.map(Duration::from_secs),
        }
    }

    #[test]
    fn ready_once_loaded_and_while_fresh_enough() {
        let limit = Some(Duration::from_secs(30));
        assert!(readiness(view(SyncState::Loading, None), limit)
            .unwrap_err()
            .contains("no snapshot"));
        assert_eq!(readiness(view(SyncState::Synced, None), limit), Ok(()));
        let applying = StoreView {
            answering: false,
            ..view(SyncState::Synced, None)
        };
        assert!(
            readiness(applying, limit).is_err(),
            "loaded, its settings not applied yet"
        );
        assert_eq!(readiness(view(SyncState::Stale, Some(29)), limit), Ok(()));
        let why = readiness(view(SyncState::Stale, Some(31)), limit).unwrap_err();
        assert_eq!(
            why,
            "not ready: the store has been out of touch with etcd for 31 s (ready_stale_after 30 s); answering from the last snapshot"
        );
        assert!(!why.contains('\n'));
        assert_eq!(
            readiness(view(SyncState::Stale, Some(3600)), None),
            Ok(()),
            "the file store: ready once loaded"
        );
    }
}

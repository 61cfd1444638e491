//! Lease deadlines. A key with a lease answers with TTL = min(service ttl, what is left of the
//! lease), so the mirror needs each lease's deadline (never its ID). etcd tells the remaining
//! TTL only on request (LeaseTimeToLive) and does not announce keep-alives, so deadlines are
//! cached per lease and asked again when half of the granted TTL has passed: a kept-alive
//! lease then moves its keys' deadlines forward, and an expired lease ends with the delete
//! events etcd sends for its keys.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use etcd_client::Client;

use super::{rpc_within, SyncError};
use crate::core::snapshot::Change;

/// Lease look-ups in flight at once.
const PARALLEL_LOOKUPS: usize = 64;
/// How long one lease look-up may take. Short, so that a silent etcd is noticed (and leases
/// held) before a lease asked about at half its TTL runs out.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// A lease is not asked about more often than this.
const MIN_RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Lease {
    deadline: Instant,
    granted: Duration,
    checked: Instant,
    /// The deadline was extended while etcd was unreachable: ask again first thing.
    held: bool,
    keys: HashSet<String>,
}

/// What one LeaseTimeToLive said.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTime {
    /// When the lease runs out: the time the question was sent plus the TTL left.
    pub deadline: Instant,
    /// The TTL the lease was granted with (whole seconds).
    pub granted: Duration,
    /// When the question was sent.
    pub checked: Instant,
}

/// Deadlines per lease and the keys attached to each.
#[derive(Debug, Default)]
pub struct Leases {
    by_id: HashMap<i64, Lease>,
    lease_of: HashMap<String, i64>,
}

impl Leases {
    /// The cached deadline of a lease.
    pub fn deadline(&self, id: i64) -> Option<Instant> {
        self.by_id.get(&id).map(|l| l.deadline)
    }

    /// Of `ids`, those with no cached deadline (each once).
    pub fn unknown(&self, ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
        let mut seen = HashSet::new();
        ids.into_iter()
            .filter(|id| *id != 0 && !self.by_id.contains_key(id) && seen.insert(*id))
            .collect()
    }

    /// Records what etcd said about a lease.
    pub fn learn(&mut self, id: i64, time: LeaseTime) {
        let lease = self.by_id.entry(id).or_insert_with(|| Lease {
            deadline: time.deadline,
            granted: time.granted,
            checked: time.checked,
            held: false,
            keys: HashSet::new(),
        });
        lease.deadline = time.deadline;
        lease.granted = time.granted;
        lease.checked = time.checked;
    }

    /// Attaches `key` to lease `id` (0: no lease), detaching it from any previous lease.
    pub fn attach(&mut self, key: &str, id: i64) {
        if self.lease_of.get(key) == Some(&id) {
            return;
        }
        self.detach(key);
        if id == 0 {
            return;
        }
        if let Some(lease) = self.by_id.get_mut(&id) {
            lease.keys.insert(key.to_owned());
            self.lease_of.insert(key.to_owned(), id);
        }
    }

    /// Forgets that `key` has a lease. The lease itself stays until [`Leases::prune`]: a
    /// later event of the same batch may attach another key to it.
    pub fn detach(&mut self, key: &str) {
        let Some(id) = self.lease_of.remove(key) else {
            return;
        };
        if let Some(lease) = self.by_id.get_mut(&id) {
            lease.keys.remove(key);
        }
    }

    /// Forgets the leases no key is attached to (after a batch of changes).
    pub fn prune(&mut self) {
        self.by_id.retain(|_, lease| !lease.keys.is_empty());
    }

    /// Leases to ask about again: held ones, and those with half their granted TTL passed
    /// since the deadline was last learned that were not asked about in the last second.
    pub fn due(&self, now: Instant) -> Vec<i64> {
        self.by_id
            .iter()
            .filter(|(_, l)| {
                l.held
                    || (now.duration_since(l.checked) >= MIN_RECHECK
                        && l.deadline.saturating_duration_since(now) < l.granted / 2)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Applies refreshed lease times; returns the deadline changes for the snapshot (only for
    /// leases whose deadline moved by a second or more).
    pub fn refresh(&mut self, times: Vec<(i64, LeaseTime)>) -> Vec<Change> {
        let mut changes = Vec::new();
        for (id, time) in times {
            let Some(lease) = self.by_id.get_mut(&id) else {
                continue;
            };
            let moved = abs_diff(time.deadline, lease.deadline) >= Duration::from_secs(1);
            lease.deadline = time.deadline;
            lease.granted = time.granted;
            lease.checked = time.checked;
            lease.held = false;
            if moved {
                changes.extend(lease.keys.iter().map(|key| Change::Lease {
                    key: key.clone(),
                    lease_deadline: Some(time.deadline),
                }));
            }
        }
        changes
    }
}

impl Leases {
    /// While etcd is unreachable: every lease that would run out within `horizon` (the wait
    /// before the next attempt, plus a margin) counts as renewed now. Returns the deadline
    /// changes for the snapshot.
    pub fn hold(&mut self, now: Instant, horizon: Duration) -> Vec<Change> {
        let mut changes = Vec::new();
        for lease in self.by_id.values_mut() {
            if lease.deadline >= now + horizon {
                continue;
            }
            lease.deadline = now + lease.granted.max(horizon);
            lease.held = true;
            changes.extend(lease.keys.iter().map(|key| Change::Lease {
                key: key.clone(),
                lease_deadline: Some(lease.deadline),
            }));
        }
        changes
    }
}

fn abs_diff(a: Instant, b: Instant) -> Duration {
    a.saturating_duration_since(b)
        .max(b.saturating_duration_since(a))
}

/// Asks etcd for the remaining TTL of each lease, a bounded number at a time. A lease etcd no
/// longer knows gets a deadline of now (its keys' delete events follow).
pub async fn look_up(client: &Client, ids: &[i64]) -> Result<Vec<(i64, LeaseTime)>, SyncError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(PARALLEL_LOOKUPS) {
        let asks = chunk.iter().map(|&id| {
            let mut lease = client.lease_client();
            async move {
                let sent = Instant::now();
                let resp = rpc_within(
                    "lease time-to-live",
                    LOOKUP_TIMEOUT,
                    lease.time_to_live(id, None),
                )
                .await?;
                let left = Duration::from_secs(u64::try_from(resp.ttl()).unwrap_or(0));
                let granted = Duration::from_secs(u64::try_from(resp.granted_ttl()).unwrap_or(0));
                Ok::<_, SyncError>((
                    id,
                    LeaseTime {
                        deadline: sent + left,
                        granted,
                        checked: sent,
                    },
                ))
            }
        });
        for result in futures_util::future::join_all(asks).await {
            out.push(result?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(now: Instant, left: u64, granted: u64) -> LeaseTime {
        LeaseTime {
            deadline: now + Duration::from_secs(left),
            granted: Duration::from_secs(granted),
            checked: now,
        }
    }

    #[test]
    fn keys_follow_their_lease_and_refreshes_move_deadlines() {
        let now = Instant::now();
        let mut l = Leases::default();
        assert_eq!(l.unknown([7, 7, 0, 8]), vec![7, 8]);
        l.learn(7, time(now, 10, 10));
        l.attach("/skydns/a", 7);
        l.attach("/skydns/b", 7);
        assert_eq!(l.deadline(7), Some(now + Duration::from_secs(10)));
        assert!(l.due(now + Duration::from_secs(2)).is_empty());
        assert_eq!(l.due(now + Duration::from_secs(6)), vec![7]);
        let changes = l.refresh(vec![(7, time(now + Duration::from_secs(6), 10, 10))]);
        assert_eq!(changes.len(), 2);
        assert!(l
            .refresh(vec![(7, time(now + Duration::from_secs(6), 10, 10))])
            .is_empty());
        let later = now + Duration::from_secs(15);
        assert!(l
            .hold(now + Duration::from_secs(12), Duration::from_secs(2))
            .is_empty());
        assert_eq!(
            l.hold(later, Duration::from_secs(2)).len(),
            2,
            "about to run out: held"
        );
        assert_eq!(l.deadline(7), Some(later + Duration::from_secs(10)));
        assert!(l.hold(later, Duration::from_secs(2)).is_empty());
        assert_eq!(l.due(later), vec![7], "a held lease is asked first thing");
        l.detach("/skydns/a");
        l.attach("/skydns/b", 7);
        assert_eq!(
            l.deadline(7),
            Some(later + Duration::from_secs(10)),
            "a lease left by one key and taken by another in the same batch is kept"
        );
        l.attach("/skydns/b", 0);
        l.prune();
        assert_eq!(l.deadline(7), None, "a lease without keys is forgotten");
    }
}

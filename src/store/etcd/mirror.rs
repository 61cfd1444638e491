//! The mirror of the prefix: turns a load or a batch of watch events into a new snapshot, and
//! keeps what the snapshot does not hold (the last revision, the raw `/<prefix>/config` value,
//! lease deadlines).

use std::time::{Duration, Instant};

use etcd_client::{Client, Event, EventType};

use super::leases::{self, Leases};
use super::load::{key_text, Loaded};
use super::SyncError;
use crate::core::snapshot::{Change, Rejected};
use crate::core::Snapshot;

/// A snapshot ready to publish, with what goes with it.
pub struct Update {
    /// The new snapshot.
    pub snapshot: Snapshot,
    /// The raw value of `/<prefix>/config`; `None` when the key does not exist.
    pub config_value: Option<Vec<u8>>,
    /// Keys whose values were left out of the snapshot, to be logged.
    pub rejected: Vec<Rejected>,
}

/// What the store knows beyond the published snapshot.
#[derive(Debug)]
pub struct Mirror {
    prefix: String,
    config_key: String,
    /// The revision the snapshot reflects; 0 before the first load.
    revision: i64,
    config_value: Option<Vec<u8>>,
    leases: Leases,
}

/// The SOA serial for a revision (its low 32 bits, as RFC 1982 serial arithmetic wants).
#[allow(clippy::cast_possible_truncation)] // the low 32 bits are the serial, by design
fn serial(revision: i64) -> u32 {
    revision as u32
}

impl Mirror {
    /// An empty mirror of the keys under `/<prefix>/`, revision 0.
    pub fn new(prefix: &str) -> Self {
        Mirror {
            prefix: prefix.to_owned(),
            config_key: crate::store::config_key(prefix),
            revision: 0,
            config_value: None,
            leases: Leases::default(),
        }
    }

    /// The revision the mirror reflects (0: nothing loaded yet).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Forgets the revision so that the next session loads the whole prefix again.
    pub fn needs_reload(&mut self) {
        self.revision = 0;
    }

    /// Builds the snapshot of a full load, replacing everything known before.
    pub async fn load(&mut self, client: &Client, loaded: Loaded) -> Result<Update, SyncError> {
        let mut lease_table = Leases::default();
        let unknown = lease_table.unknown(loaded.items.iter().map(|i| i.lease));
        for (id, time) in leases::look_up(client, &unknown).await? {
            lease_table.learn(id, time);
        }
        let mut config_value = None;
        let mut entries = Vec::with_capacity(loaded.items.len());
        for item in loaded.items {
            if item.key == self.config_key {
                config_value = Some(item.value);
                continue;
            }
            lease_table.attach(&item.key, item.lease);
            let deadline = lease_table.deadline(item.lease);
            entries.push((item.key, item.value, deadline));
        }
        lease_table.prune();
        let (snapshot, rejected) = Snapshot::build(&self.prefix, serial(loaded.revision), entries);
        self.revision = loaded.revision;
        self.leases = lease_table;
        self.config_value = config_value.clone();
        Ok(Update {
            snapshot,
            config_value,
            rejected,
        })
    }

    /// Applies watch events (in order) to `base`.
    pub async fn apply(
        &mut self,
        client: &Client,
        base: &Snapshot,
        events: &[Event],
    ) -> Result<Update, SyncError> {
        let unknown = self.leases.unknown(
            events
                .iter()
                .filter(|e| e.event_type() == EventType::Put)
                .filter_map(|e| e.kv().map(etcd_client::KeyValue::lease)),
        );
        for (id, time) in leases::look_up(client, &unknown).await? {
            self.leases.learn(id, time);
        }
        let mut changes = Vec::with_capacity(events.len());
        for event in events {
            let Some(kv) = event.kv() else {
                continue;
            };
            self.revision = self.revision.max(kv.mod_revision());
            let Some(key) = key_text(kv) else {
                continue;
            };
            let put = event.event_type() == EventType::Put;
            if key == self.config_key {
                self.config_value = put.then(|| kv.value().to_vec());
                continue;
            }
            if put {
                self.leases.attach(&key, kv.lease());
                changes.push(Change::Put {
                    lease_deadline: self.leases.deadline(kv.lease()),
                    key,
                    value: kv.value().to_vec(),
                });
            } else {
                self.leases.detach(&key);
                changes.push(Change::Delete { key });
            }
        }
        self.leases.prune();
        Ok(self.changed(base, changes))
    }

    /// Notes progress without changes (a progress notification at `revision`).
    pub fn progress(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// Asks etcd about leases whose cached deadline is getting close; returns the snapshot
    /// with moved deadlines, if any moved.
    pub async fn refresh_leases(
        &mut self,
        client: &Client,
        base: &Snapshot,
        now: Instant,
    ) -> Result<Option<Update>, SyncError> {
        let due = self.leases.due(now);
        if due.is_empty() {
            return Ok(None);
        }
        let times = leases::look_up(client, &due).await?;
        let changes = self.leases.refresh(times);
        Ok((!changes.is_empty()).then(|| self.changed(base, changes)))
    }

    /// etcd is unreachable: holds leased keys that would run out within `horizon`; returns
    /// the snapshot with their new deadlines, if any moved.
    pub fn hold_leases(
        &mut self,
        base: &Snapshot,
        now: Instant,
        horizon: Duration,
    ) -> Option<Update> {
        let changes = self.leases.hold(now, horizon);
        (!changes.is_empty()).then(|| self.changed(base, changes))
    }

    fn changed(&self, base: &Snapshot, changes: Vec<Change>) -> Update {
        let (snapshot, rejected) = base.with_changes(&self.prefix, serial(self.revision), changes);
        Update {
            snapshot,
            config_value: self.config_value.clone(),
            rejected,
        }
    }
}

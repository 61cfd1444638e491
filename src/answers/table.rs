//! The answer table: compiled replies of one snapshot and one configuration, by question.
//! A new snapshot or a reload starts a new, empty table (a change is never answered with old
//! data once published); replies are compiled on first use. The table is bounded in bytes and
//! evicts with quick_cache's scan-resistant policy, so a flood of one-off names cannot push
//! out the names that are asked again and again.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Weighter};

use super::compiled::Compiled;
use crate::core::Snapshot;

/// What a compiled reply depends on besides the data and the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The question name, lowercased wire format.
    pub name: Box<[u8]>,
    /// The question type.
    pub qtype: u16,
    /// The question class.
    pub qclass: u16,
    /// DNSSEC OK.
    pub dnssec_ok: bool,
    /// The asker may have names forwarded (RA, and forward-or-refuse).
    pub may_recurse: bool,
}

/// A key borrowed from a query.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'a> {
    /// The question name, lowercased wire format.
    pub name: &'a [u8],
    /// The question type.
    pub qtype: u16,
    /// The question class.
    pub qclass: u16,
    /// DNSSEC OK.
    pub dnssec_ok: bool,
    /// The asker may have names forwarded.
    pub may_recurse: bool,
}

impl KeyRef<'_> {
    /// An owned key.
    pub fn to_key(self) -> Key {
        Key {
            name: self.name.into(),
            qtype: self.qtype,
            qclass: self.qclass,
            dnssec_ok: self.dnssec_ok,
            may_recurse: self.may_recurse,
        }
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(
            &self.name,
            self.qtype,
            self.qclass,
            self.dnssec_ok,
            self.may_recurse,
            state,
        );
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(
            self.name,
            self.qtype,
            self.qclass,
            self.dnssec_ok,
            self.may_recurse,
            state,
        );
    }
}

fn hash_parts<H: Hasher>(
    name: &[u8],
    qtype: u16,
    qclass: u16,
    dnssec_ok: bool,
    may_recurse: bool,
    state: &mut H,
) {
    state.write(name);
    state.write_u16(qtype);
    state.write_u16(qclass);
    state.write_u8(u8::from(dnssec_ok) | u8::from(may_recurse) << 1);
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *key.name == *self.name
            && key.qtype == self.qtype
            && key.qclass == self.qclass
            && key.dnssec_ok == self.dnssec_ok
            && key.may_recurse == self.may_recurse
    }
}

/// Weighs an entry by the memory it takes: its key and reply, and what holding them costs.
#[derive(Debug, Clone, Copy)]
struct Bytes;

/// Memory an entry takes beyond its key and reply: the cache's slot, index and share of
/// remembered evictions, the reply's reference count and the allocator's rounding (measured
/// with a counting allocator over the benchmark's workloads: 138 bytes per entry).
const ENTRY_OVERHEAD: usize = 144;

impl Weighter<Key, Arc<Compiled>> for Bytes {
    fn weight(&self, key: &Key, value: &Arc<Compiled>) -> u64 {
        (key.name.len() + std::mem::size_of::<Key>() + value.weight() + ENTRY_OVERHEAD) as u64
    }
}

/// Bytes of a typical entry (an address answer), for sizing the table's first allocation.
const TYPICAL_ENTRY_BYTES: u64 = 384;

/// The compiled replies of one snapshot and one configuration (of type `S`, opaque here: it
/// is compared by identity).
pub struct Table<S> {
    /// The snapshot the replies come from.
    pub snapshot: Arc<Snapshot>,
    /// The configuration they were made with.
    pub serving: Arc<S>,
    entries: Option<Cache<Key, Arc<Compiled>, Bytes>>,
}

impl<S> Table<S> {
    /// An empty table for `snapshot` and `serving`, holding at most `bytes` (0: nothing is
    /// kept, every reply is compiled for its query).
    pub fn new(snapshot: Arc<Snapshot>, serving: Arc<S>, bytes: u64) -> Self {
        let entries = (bytes > 0).then(|| {
            let items = usize::try_from(bytes / TYPICAL_ENTRY_BYTES)
                .unwrap_or(1)
                .max(16);
            Cache::with_weighter(items, bytes, Bytes)
        });
        Table {
            snapshot,
            serving,
            entries,
        }
    }

    /// True when this table belongs to `snapshot` and `serving`.
    pub fn is_for(&self, snapshot: &Arc<Snapshot>, serving: &Arc<S>) -> bool {
        Arc::ptr_eq(&self.snapshot, snapshot) && Arc::ptr_eq(&self.serving, serving)
    }

    /// The compiled reply for `key`, if one is held.
    pub fn get(&self, key: &KeyRef<'_>) -> Option<Arc<Compiled>> {
        self.entries.as_ref()?.get(key)
    }

    /// Keeps `compiled` for `key`.
    pub fn insert(&self, key: Key, compiled: Arc<Compiled>) {
        if let Some(entries) = &self.entries {
            entries.insert(key, compiled);
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, Cache::len)
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.entries.as_ref().map_or(0, Cache::weight)
    }
}

//! The answer table: compiled replies of one snapshot and one configuration, by question.
//! A new snapshot or a reload starts a new, empty table (a change is never answered with old
//! data once published); replies are compiled on first use. The table is bounded in bytes and
//! evicts with quick_cache's scan-resistant policy, so a flood of one-off names cannot push
//! out the names that are asked again and again (half of it is kept for those). Replies that
//! differ only in their question (NXDOMAIN and NODATA for names of one length, answers whose
//! owners all point at the question) are held once and shared: a flood of distinct names that
//! do not exist costs each name its key and a slot, not a reply.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, Equivalent, OptionsBuilder, Weighter};

use super::reply::Compiled;
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

/// A reply held for a question: its own, or one it shares with other questions whose replies
/// differ from it only in the question (a flood of names that do not exist all get the same
/// NXDOMAIN, apart from the name asked).
#[derive(Debug, Clone)]
struct Held {
    reply: Arc<Compiled>,
    /// The reply was found among the shared replies, which weigh it once for all.
    shared: bool,
}

/// Weighs an entry by the memory it takes: its key and reply, and what holding them costs.
#[derive(Debug, Clone, Copy)]
struct Bytes;

/// Memory an entry takes beyond its key and reply: the cache's slot and index (which grow in
/// doubling steps, so up to twice what they use), its share of remembered evictions, and the
/// allocator's rounding of the key's name. With [`REPLY_OVERHEAD`], measured with jemalloc by
/// `tests/answer_table_memory.rs`, which fails when the table holds more than it reports at
/// any of several sizes, full and evicting.
const ENTRY_OVERHEAD: usize = 128;

/// Memory a reply of its own takes beyond [`Compiled::weight`]: its reference counts and the
/// allocator's rounding of its two allocations (the counted struct and its bytes).
const REPLY_OVERHEAD: usize = 32;

impl Weighter<Key, Held> for Bytes {
    fn weight(&self, key: &Key, held: &Held) -> u64 {
        let reply = if held.shared {
            0
        } else {
            held.reply.weight() + REPLY_OVERHEAD
        };
        (key.name.len() + std::mem::size_of::<Key>() + ENTRY_OVERHEAD + reply) as u64
    }
}

/// Weighs a shared reply.
#[derive(Debug, Clone, Copy)]
struct SharedBytes;

impl Weighter<u64, Arc<Compiled>> for SharedBytes {
    fn weight(&self, _: &u64, reply: &Arc<Compiled>) -> u64 {
        (std::mem::size_of::<u64>() + ENTRY_OVERHEAD + reply.weight() + REPLY_OVERHEAD) as u64
    }
}

/// The share of the table kept for replies asked more than once since they came in; the rest
/// holds new replies on probation. quick_cache's default (97 %) leaves new replies so little
/// room that a set of names asked in turn, each again only after thousands of others, never
/// stays once the table is full of earlier favourites (`scripts/bench-table-hits.sh`).
const HOT_SHARE: f64 = 0.5;

/// Bytes of a typical entry (an address answer), for sizing the table's first allocation.
const TYPICAL_ENTRY_BYTES: u64 = 352;

/// The part of the table's bytes that holds shared replies, and its most.
const SHARED_PART: u64 = 64;
const SHARED_MAX_BYTES: u64 = 64 * 1024;

/// The largest reply offered for sharing (larger ones are answers that name their owner).
const SHAREABLE_WEIGHT: usize = 1024;

/// A cache of at most `bytes` as `weighter` counts them, [`HOT_SHARE`] of it for entries asked
/// again (`None` for 0 bytes).
fn bounded<K, V, W>(bytes: u64, weighter: W) -> Option<Cache<K, V, W>>
where
    K: Eq + Hash,
    V: Clone,
    W: Weighter<K, V> + Clone,
{
    let items = usize::try_from(bytes / TYPICAL_ENTRY_BYTES)
        .unwrap_or(1)
        .max(16);
    let options = OptionsBuilder::new()
        .estimated_items_capacity(items)
        .weight_capacity(bytes)
        .hot_allocation(HOT_SHARE)
        .build()
        .ok()?;
    (bytes > 0).then(|| {
        Cache::with_options(
            options,
            weighter,
            DefaultHashBuilder::default(),
            DefaultLifecycle::default(),
        )
    })
}

/// The compiled replies of one snapshot and one configuration (of type `S`, opaque here: it
/// is compared by identity).
pub struct Table<S> {
    /// The snapshot the replies come from.
    pub snapshot: Arc<Snapshot>,
    /// The configuration they were made with.
    pub serving: Arc<S>,
    entries: Option<Cache<Key, Held, Bytes>>,
    /// Replies that several questions may share, by a hash of their shape.
    shared: Option<Cache<u64, Arc<Compiled>, SharedBytes>>,
}

impl<S> Table<S> {
    /// An empty table for `snapshot` and `serving`, holding at most `bytes` (0: nothing is
    /// kept, every reply is compiled for its query).
    pub fn new(snapshot: Arc<Snapshot>, serving: Arc<S>, bytes: u64) -> Self {
        let shared_bytes = (bytes / SHARED_PART).min(SHARED_MAX_BYTES);
        Table {
            snapshot,
            serving,
            entries: bounded(bytes - shared_bytes, Bytes),
            shared: bounded(shared_bytes, SharedBytes),
        }
    }

    /// True when this table belongs to `snapshot` and `serving`.
    pub fn is_for(&self, snapshot: &Arc<Snapshot>, serving: &Arc<S>) -> bool {
        Arc::ptr_eq(&self.snapshot, snapshot) && Arc::ptr_eq(&self.serving, serving)
    }

    /// The compiled reply for `key`, if one is held.
    pub fn get(&self, key: &KeyRef<'_>) -> Option<Arc<Compiled>> {
        self.entries.as_ref()?.get(key).map(|held| held.reply)
    }

    /// Keeps `compiled` for `key`, shared with the replies of other questions when it differs
    /// from one of them only in the question.
    pub fn insert(&self, key: Key, compiled: Arc<Compiled>) {
        if let Some(entries) = &self.entries {
            entries.insert(key, self.share(compiled));
        }
    }

    /// The shared reply of the same shape as `compiled`, or `compiled` (offered for sharing).
    fn share(&self, compiled: Arc<Compiled>) -> Held {
        let own = |reply| Held {
            reply,
            shared: false,
        };
        let Some(shared) = &self.shared else {
            return own(compiled);
        };
        if compiled.weight() > SHAREABLE_WEIGHT {
            return own(compiled);
        }
        let shape = compiled.shape();
        let print = foldhash::quality::FixedState::default().hash_one(&shape);
        match shared.get(&print) {
            Some(reply) if reply.shape() == shape => Held {
                reply,
                shared: true,
            },
            _ => {
                shared.insert(print, compiled.clone());
                own(compiled)
            }
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
            + self.shared.as_ref().map_or(0, Cache::weight)
    }
}

//! The cache of forwarded answers (`rcache` entries at most, 0 = off, and `rcache_size` bytes
//! at most; `rcache_ttl` seconds at most).
//!
//! An entry lives until min(`rcache_ttl`, the smallest TTL in the reply) and a hit carries TTLs
//! counted down by the time it spent in the cache. Entries are keyed by [`ForwardKey`]; the
//! forwarder gives a hit the client's ID, question and letter case. Only complete
//! NOERROR/NXDOMAIN replies with at least one record are stored. The bounds are kept by
//! quick_cache: an entry weighs its encoded size, and never less than `rcache_size / rcache`,
//! so neither more than `rcache` entries nor more than `rcache_size` bytes are held; eviction
//! is scan-resistant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::Record;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

use super::forward_key::ForwardKey;

/// One cached reply.
struct Cached {
    reply: Message,
    stored: Instant,
    expires: Instant,
    /// What it weighs: its encoded size, at least the per-entry floor.
    weight: u64,
}

/// Weighs an entry by what it recorded.
#[derive(Clone, Copy)]
struct ByWeight;

impl Weighter<ForwardKey, Arc<Cached>> for ByWeight {
    fn weight(&self, _key: &ForwardKey, value: &Arc<Cached>) -> u64 {
        value.weight
    }
}

/// Forwarded answers, shared by every query.
pub struct ForwardCache {
    entries: Cache<ForwardKey, Arc<Cached>, ByWeight>,
    /// The least an entry weighs: `bytes / count`.
    floor: u64,
    ttl_cap: u32,
}

impl std::fmt::Debug for ForwardCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardCache")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl ForwardCache {
    /// A cache of at most `count` replies and `bytes` bytes, each kept at most `ttl_cap`
    /// seconds; `None` when `count` is 0 (caching off).
    pub fn new(count: usize, bytes: u64, ttl_cap: u32) -> Option<Self> {
        let count_u64 = u64::try_from(count).unwrap_or(u64::MAX);
        (count > 0).then(|| ForwardCache {
            entries: Cache::with_weighter(count, bytes.max(1), ByWeight),
            floor: (bytes / count_u64).max(1),
            ttl_cap,
        })
    }

    /// True when this cache was made for these settings.
    pub fn is_for(&self, count: usize, bytes: u64, ttl_cap: u32) -> bool {
        self.entries.capacity() == bytes.max(1)
            && self.floor == (bytes / u64::try_from(count).unwrap_or(u64::MAX)).max(1)
            && self.ttl_cap == ttl_cap
    }

    /// The cached reply for `key` with TTLs counted down.
    pub fn get(&self, key: &ForwardKey, now: Instant) -> Option<Message> {
        let entry = self.entries.get(key)?;
        if entry.expires <= now {
            self.entries.remove(key);
            return None;
        }
        let elapsed = u32::try_from(now.duration_since(entry.stored).as_secs()).unwrap_or(u32::MAX);
        let mut reply = entry.reply.clone();
        for record in records_mut(&mut reply) {
            record.ttl = record.ttl.saturating_sub(elapsed);
        }
        Some(reply)
    }

    /// Stores `reply` under `key` if it may be cached.
    pub fn insert(&self, key: ForwardKey, reply: &Message, now: Instant) {
        let Some(ttl) = lifetime(reply, self.ttl_cap) else {
            return;
        };
        let size = reply.to_vec().map_or(0, |bytes| bytes.len());
        let entry = Cached {
            reply: reply.clone(),
            stored: now,
            expires: now + Duration::from_secs(u64::from(ttl)),
            weight: u64::try_from(size).unwrap_or(u64::MAX).max(self.floor),
        };
        self.entries.insert(key, Arc::new(entry));
    }

    /// Entries held now (expired ones included until they are looked at or evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held (entries weigh at least the floor).
    pub fn bytes(&self) -> u64 {
        self.entries.weight()
    }
}

/// How long `reply` may be cached: min(cap, smallest TTL); `None` when it must not be.
fn lifetime(reply: &Message, cap: u32) -> Option<u32> {
    let cacheable = matches!(
        reply.metadata.response_code,
        ResponseCode::NoError | ResponseCode::NXDomain
    ) && !reply.metadata.truncation;
    if !cacheable {
        return None;
    }
    let smallest = all_records(reply).map(|r| r.ttl).min()?;
    Some(smallest.min(cap)).filter(|ttl| *ttl > 0)
}

fn all_records(reply: &Message) -> impl Iterator<Item = &Record> {
    reply
        .answers
        .iter()
        .chain(&reply.authorities)
        .chain(&reply.additionals)
}

/// Every record of every section of `reply`.
pub(super) fn records_mut(reply: &mut Message) -> impl Iterator<Item = &mut Record> {
    reply
        .answers
        .iter_mut()
        .chain(reply.authorities.iter_mut())
        .chain(reply.additionals.iter_mut())
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::MessageType;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::RData;

    use super::*;
    use crate::core::Request;
    use crate::net::forward_key::tests::{request, UP};

    fn key(req: &Request) -> ForwardKey {
        ForwardKey::of(req, UP)
    }

    fn reply(req: &Request, ttls: &[u32]) -> Message {
        let mut r = req.message.clone();
        r.metadata.message_type = MessageType::Response;
        for (i, ttl) in ttls.iter().enumerate() {
            r.answers.push(Record::from_rdata(
                req.qname().clone(),
                *ttl,
                RData::A(A::new(192, 0, 2, u8::try_from(i).unwrap_or(u8::MAX))),
            ));
        }
        r
    }

    #[test]
    fn hits_count_ttls_down_until_the_smallest_ttl_or_the_cap() {
        let cache = ForwardCache::new(10, 1 << 20, 60).unwrap();
        let t0 = Instant::now();
        let req = request("www.example.org.", 1, false);
        cache.insert(key(&req), &reply(&req, &[300, 100]), t0);
        let hit = cache.get(&key(&req), t0 + Duration::from_secs(7)).unwrap();
        assert_eq!(
            hit.answers.iter().map(|r| r.ttl).collect::<Vec<_>>(),
            vec![293, 93]
        );
        // min(rcache_ttl 60, smallest TTL 100) = 60 s.
        assert!(cache
            .get(&key(&req), t0 + Duration::from_secs(59))
            .is_some());
        assert!(cache
            .get(&key(&req), t0 + Duration::from_secs(60))
            .is_none());

        let short = request("a.example.org.", 1, false);
        cache.insert(key(&short), &reply(&short, &[5]), t0);
        assert!(cache
            .get(&key(&short), t0 + Duration::from_secs(4))
            .is_some());
        assert!(cache
            .get(&key(&short), t0 + Duration::from_secs(5))
            .is_none());
    }

    #[test]
    fn failures_empty_and_zero_ttl_replies_are_not_stored() {
        let cache = ForwardCache::new(10, 1 << 20, 60).unwrap();
        let t0 = Instant::now();
        let req = request("b.example.org.", 1, false);
        let mut failed = reply(&req, &[30]);
        failed.metadata.response_code = ResponseCode::ServFail;
        cache.insert(key(&req), &failed, t0);
        cache.insert(key(&req), &reply(&req, &[]), t0);
        cache.insert(key(&req), &reply(&req, &[0]), t0);
        assert!(cache.is_empty());
    }

    #[test]
    fn entries_and_bytes_are_bounded() {
        let cache = ForwardCache::new(4, 1 << 20, 60).unwrap();
        let t0 = Instant::now();
        for i in 0..20 {
            let req = request(&format!("n{i}.example.org."), 1, false);
            cache.insert(key(&req), &reply(&req, &[30]), t0);
            assert!(cache.len() <= 4);
        }
        let last = request("n19.example.org.", 1, false);
        assert!(
            cache.get(&key(&last), t0).is_some(),
            "the newest entry is kept"
        );
        // 200 records a reply: each weighs about 3 KiB, so 10 KiB hold at most 3 of them.
        let small = ForwardCache::new(100, 10 << 10, 60).unwrap();
        for i in 0..20 {
            let req = request(&format!("big{i}.example.org."), 1, false);
            small.insert(key(&req), &reply(&req, &[30; 200]), t0);
            assert!(small.bytes() <= 10 << 10, "{} bytes held", small.bytes());
        }
        assert!(ForwardCache::new(0, 1 << 20, 60).is_none());
    }
}

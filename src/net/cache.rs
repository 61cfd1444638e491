//! The cache of forwarded answers (`rcache` entries, 0 = off; `rcache_ttl` seconds at most).
//!
//! An entry lives until min(`rcache_ttl`, the smallest TTL in the reply) and a hit carries TTLs
//! counted down by the time it spent in the cache. Entries are keyed by [`ForwardKey`]; the
//! forwarder gives a hit the client's ID, question and letter case. Only complete
//! NOERROR/NXDOMAIN replies with at least one record are stored. When full, an expired entry
//! found among the first few goes, else an arbitrary one (a small bounded map is all this
//! needs: no crate).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::Record;

use super::forward_key::ForwardKey;

/// Entries looked at for an expired one before evicting an arbitrary live one.
const EVICTION_PROBES: usize = 8;

struct Entry {
    reply: Message,
    stored: Instant,
    expires: Instant,
}

/// Forwarded answers, shared by every query task.
#[derive(Default)]
pub struct ForwardCache {
    entries: Mutex<HashMap<ForwardKey, Entry>>,
}

impl ForwardCache {
    /// The cached reply for `key` with TTLs counted down.
    pub fn get(&self, key: &ForwardKey, now: Instant) -> Option<Message> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.get(key)?;
        if entry.expires <= now {
            entries.remove(key);
            return None;
        }
        let elapsed = u32::try_from(now.duration_since(entry.stored).as_secs()).unwrap_or(u32::MAX);
        let mut reply = entry.reply.clone();
        drop(entries);
        for record in records_mut(&mut reply) {
            record.ttl = record.ttl.saturating_sub(elapsed);
        }
        Some(reply)
    }

    /// Stores `reply` under `key` if it may be cached, keeping at most `capacity` entries.
    pub fn insert(
        &self,
        key: ForwardKey,
        reply: &Message,
        capacity: usize,
        ttl_cap: u32,
        now: Instant,
    ) {
        let Some(ttl) = lifetime(reply, ttl_cap) else {
            return;
        };
        if capacity == 0 {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !entries.contains_key(&key) {
            while entries.len() >= capacity {
                // An expired entry among the first few in iteration order, else the first one
                // (an arbitrary entry, as the map is hashed). Finding the first occupied
                // bucket scans control bytes, which grows as the front of the table empties:
                // cheap, but not constant.
                let victim = entries
                    .iter()
                    .take(EVICTION_PROBES)
                    .find(|(_, e)| e.expires <= now)
                    .or_else(|| entries.iter().next())
                    .map(|(k, _)| k.clone());
                let Some(victim) = victim else { break };
                entries.remove(&victim);
            }
        }
        entries.insert(
            key,
            Entry {
                reply: reply.clone(),
                stored: now,
                expires: now + Duration::from_secs(u64::from(ttl)),
            },
        );
    }

    /// Entries held now (expired ones included until they are looked at or evicted).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        let req = request("www.example.org.", 1, false);
        cache.insert(key(&req), &reply(&req, &[300, 100]), 10, 60, t0);
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
        cache.insert(key(&short), &reply(&short, &[5]), 10, 60, t0);
        assert!(cache
            .get(&key(&short), t0 + Duration::from_secs(4))
            .is_some());
        assert!(cache
            .get(&key(&short), t0 + Duration::from_secs(5))
            .is_none());
    }

    #[test]
    fn failures_empty_and_zero_ttl_replies_are_not_stored() {
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        let req = request("b.example.org.", 1, false);
        let mut failed = reply(&req, &[30]);
        failed.metadata.response_code = ResponseCode::ServFail;
        cache.insert(key(&req), &failed, 10, 60, t0);
        cache.insert(key(&req), &reply(&req, &[]), 10, 60, t0);
        cache.insert(key(&req), &reply(&req, &[0]), 10, 60, t0);
        assert!(cache.is_empty());
    }

    #[test]
    fn capacity_is_kept() {
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        for i in 0..20 {
            let req = request(&format!("n{i}.example.org."), 1, false);
            cache.insert(key(&req), &reply(&req, &[30]), 4, 60, t0);
            assert!(cache.len() <= 4);
        }
        let last = request("n19.example.org.", 1, false);
        assert!(
            cache.get(&key(&last), t0).is_some(),
            "the newest entry is kept"
        );
    }
}

//! The cache of forwarded answers (`rcache` entries, 0 = off; `rcache_ttl` seconds at most).
//!
//! An entry lives until min(`rcache_ttl`, the smallest TTL in the reply) and a hit carries TTLs
//! counted down by the time it spent in the cache. The key is the question name in lowercase,
//! type, class, the RD, DO and CD bits and the list of servers asked, so letter case, classes
//! and DNSSEC answers never mix, and once a reload or a stub-zone change sends a name to other
//! servers, answers from the old ones are no longer used;
//! a hit gets the client's ID and question, and owner names equal to the question are written
//! in the client's letter case (0x20). Only complete NOERROR/NXDOMAIN replies with at least one
//! record are stored. When full, an expired entry found among the first few goes, else an
//! arbitrary one (a small bounded map is all this needs: no crate).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Record, RecordType};

use crate::core::Request;

/// Entries looked at for an expired one before evicting an arbitrary live one.
const EVICTION_PROBES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    name: String,
    qtype: RecordType,
    qclass: DNSClass,
    recursion_desired: bool,
    dnssec_ok: bool,
    checking_disabled: bool,
    /// A hash of the servers the answer comes from (their order included).
    route: u64,
}

impl Key {
    fn of(req: &Request, servers: &[SocketAddr]) -> Key {
        Key {
            name: req.qname().to_lowercase().to_ascii(),
            qtype: req.qtype(),
            qclass: req.qclass(),
            recursion_desired: req.message.metadata.recursion_desired,
            dnssec_ok: req.dnssec_ok(),
            checking_disabled: req.message.metadata.checking_disabled,
            route: BuildHasherDefault::<DefaultHasher>::default().hash_one(servers),
        }
    }
}

struct Entry {
    reply: Message,
    stored: Instant,
    expires: Instant,
}

/// Forwarded answers, shared by every query task.
#[derive(Default)]
pub struct ForwardCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl ForwardCache {
    /// The cached reply to `req` from `servers` with TTLs counted down, in the client's ID and
    /// case.
    pub fn get(&self, req: &Request, servers: &[SocketAddr], now: Instant) -> Option<Message> {
        let key = Key::of(req, servers);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&key)?;
        if entry.expires <= now {
            entries.remove(&key);
            return None;
        }
        let elapsed = u32::try_from(now.duration_since(entry.stored).as_secs()).unwrap_or(u32::MAX);
        let mut reply = entry.reply.clone();
        drop(entries);
        for record in records_mut(&mut reply) {
            record.ttl = record.ttl.saturating_sub(elapsed);
            if record.name == *req.qname() {
                record.name = req.qname().clone();
            }
        }
        reply.metadata.id = req.message.metadata.id;
        reply.queries = req.message.queries.clone();
        Some(reply)
    }

    /// Stores `reply` to `req` from `servers` if it may be cached, keeping at most `capacity`
    /// entries.
    pub fn insert(
        &self,
        req: &Request,
        servers: &[SocketAddr],
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
        let key = Key::of(req, servers);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if !entries.contains_key(&key) {
            while entries.len() >= capacity {
                // Constant work per eviction: an expired entry among the first few, else the
                // first one (an arbitrary entry, as the map is hashed).
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
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

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

fn records_mut(reply: &mut Message) -> impl Iterator<Item = &mut Record> {
    reply
        .answers
        .iter_mut()
        .chain(reply.authorities.iter_mut())
        .chain(reply.additionals.iter_mut())
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use hickory_proto::op::{Edns, MessageType, Query};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{Name, RData};

    use super::*;
    use crate::core::Transport;

    const UP: &[SocketAddr] = &[SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5353)];

    fn request(name: &str, id: u16, dnssec_ok: bool) -> Request {
        let mut m = Message::query();
        m.metadata.id = id;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        if dnssec_ok {
            let mut edns = Edns::new();
            edns.set_dnssec_ok(true);
            m.edns = Some(edns);
        }
        Request::new(m, Transport::Udp, IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    fn reply(req: &Request, ttls: &[u32]) -> Message {
        let mut r = req.message.clone();
        r.metadata.message_type = MessageType::Response;
        for (i, ttl) in ttls.iter().enumerate() {
            r.answers.push(Record::from_rdata(
                req.qname().clone(),
                *ttl,
                RData::A(A::new(192, 0, 2, i as u8)),
            ));
        }
        r
    }

    #[test]
    fn hits_count_ttls_down_and_take_the_clients_id_and_case() {
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        let first = request("www.example.org.", 1, false);
        cache.insert(&first, UP, &reply(&first, &[300, 100]), 10, 60, t0);

        let later = request("WwW.ExAmple.org.", 2, false);
        let hit = cache.get(&later, UP, t0 + Duration::from_secs(7)).unwrap();
        assert_eq!(hit.metadata.id, 2);
        assert_eq!(hit.queries[0].name().to_ascii(), "WwW.ExAmple.org.");
        assert!(hit.answers.iter().all(|r| r.name.eq_case(later.qname())));
        assert_eq!(
            hit.answers.iter().map(|r| r.ttl).collect::<Vec<_>>(),
            vec![293, 93]
        );
        // min(rcache_ttl 60, smallest TTL 100) = 60 s.
        assert!(cache
            .get(&later, UP, t0 + Duration::from_secs(59))
            .is_some());
        assert!(cache
            .get(&later, UP, t0 + Duration::from_secs(60))
            .is_none());
    }

    #[test]
    fn the_smallest_ttl_bounds_the_lifetime_and_do_never_mixes() {
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        let plain = request("a.example.org.", 1, false);
        cache.insert(&plain, UP, &reply(&plain, &[5]), 10, 60, t0);
        assert!(cache
            .get(&request("a.example.org.", 3, true), UP, t0)
            .is_none());
        assert!(cache.get(&plain, UP, t0 + Duration::from_secs(4)).is_some());
        assert!(cache.get(&plain, UP, t0 + Duration::from_secs(5)).is_none());
    }

    #[test]
    fn failures_empty_and_zero_ttl_replies_are_not_stored() {
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        let req = request("b.example.org.", 1, false);
        let mut failed = reply(&req, &[30]);
        failed.metadata.response_code = ResponseCode::ServFail;
        cache.insert(&req, UP, &failed, 10, 60, t0);
        cache.insert(&req, UP, &reply(&req, &[]), 10, 60, t0);
        cache.insert(&req, UP, &reply(&req, &[0]), 10, 60, t0);
        assert!(cache.is_empty());
    }

    #[test]
    fn answers_from_other_servers_are_not_used() {
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        let req = request("c.example.org.", 1, false);
        cache.insert(&req, UP, &reply(&req, &[30]), 10, 60, t0);
        let other = [SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5354)];
        assert!(cache.get(&req, &other, t0).is_none());
        let both = [UP[0], other[0]];
        assert!(cache.get(&req, &both, t0).is_none());
        assert!(cache.get(&req, UP, t0).is_some());
    }

    #[test]
    fn capacity_is_kept() {
        let cache = ForwardCache::default();
        let t0 = Instant::now();
        for i in 0..20 {
            let req = request(&format!("n{i}.example.org."), 1, false);
            cache.insert(&req, UP, &reply(&req, &[30]), 4, 60, t0);
            assert!(cache.len() <= 4);
        }
        let last = request("n19.example.org.", 1, false);
        assert!(
            cache.get(&last, UP, t0).is_some(),
            "the newest entry is kept"
        );
    }
}

//! The signature cache (`scache`): signatures keyed by the whole RRset (lowercased owner, type,
//! class and every rdata in canonical form) plus the key tag, so a changed record or a new
//! key never gets an old signature. The TTL is left out of the key: a signature covers the
//! original TTL written in it, so the signer reuses one for a TTL that counts down (leased
//! records) and signs afresh only when the TTL grows beyond it. Bounded: two generations of at most `capacity / 2`
//! entries each; when the young one is full the old one is dropped (an approximate LRU with
//! O(1) work). A signature is reused only while more than half of its validity remains, so
//! served signatures always have days left. An entry keeps only what the RRSIG record cannot
//! be rebuilt from without it: the signature, its validity window and its original TTL (the
//! rest comes from the RRset and the key).

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Mutex;

use siphasher::sip128::{Hasher128, SipHasher13};

use super::sign::{CanonicalRdata, Window, INCEPTION_SKEW, VALIDITY};
use crate::core::wire_name::{write_name, MAX_NAME_LEN};
use hickory_proto::rr::Record;

/// The identity of one RRset as signed by one key: a 128-bit SipHash-1-3 digest of the key
/// tag, owner (lowercased), type, class and sorted canonical rdata, under a key drawn at random
/// for each cache, so an entry is small however large the RRset. A collision (which would put
/// one RRset's signature on another, for validators to reject) takes about 2^64 RRsets, and no
/// one outside the process knows the key to aim for one. SHA-256 cost eight times as much on
/// a large RRset, and its set-up and padding several times the whole work on a small one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RrsetKey([u8; 16]);

/// A signature as the cache keeps it./// A signature as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// When it was made valid.
    pub window: Window,
    /// The TTL it covers (the RRset's TTL when signed).
    pub original_ttl: u32,
    /// The signature bytes.
    pub bytes: Box<[u8]>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<RrsetKey, Signature>,
    old: HashMap<RrsetKey, Signature>,
}

/// A bounded, thread-safe cache of RRSIG records.
pub struct SigCache {
    capacity: usize,
    /// The key of the digests that name RRsets ([`RrsetKey`]).
    hash_key: [u8; 16],
    inner: Mutex<Generations>,
}

impl SigCache {
    /// A cache of at most `capacity` signatures (0 turns caching off).
    pub fn new(capacity: usize) -> SigCache {
        SigCache {
            capacity,
            hash_key: rand::random(),
            inner: Mutex::new(Generations::default()),
        }
    }

    /// The key of `rrset` (one owner, type and class; its canonical RDATA is `rdata`) signed
    /// with `key_tag`; `None` for an empty RRset.
    pub fn key(&self, rrset: &[Record], key_tag: u16, rdata: &CanonicalRdata) -> Option<RrsetKey> {
        let first = rrset.first()?;
        let mut hasher = SipHasher13::new_with_key(&self.hash_key);
        hasher.write(&key_tag.to_be_bytes());
        let mut owner = [0; MAX_NAME_LEN];
        hasher.write(write_name(&first.name, true, &mut owner)?);
        hasher.write(&u16::from(first.record_type()).to_be_bytes());
        hasher.write(&u16::from(first.dns_class).to_be_bytes());
        for one in rdata.iter() {
            // RDATA is at most 65535 bytes (its wire length is 16 bits): far below u32::MAX.
            let len = u32::try_from(one.len()).unwrap_or(u32::MAX);
            hasher.write(&len.to_be_bytes());
            hasher.write(one);
        }
        Some(RrsetKey(hasher.finish128().as_bytes()))
    }

    /// False when caching is off (`scache` 0).
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The cached signature for `key`, if it still has more than half of its validity at
    /// `now`.
    pub fn get(&self, key: &RrsetKey, now: u64) -> Option<Signature> {
        if self.capacity == 0 {
            return None;
        }
        let mut gens = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = match gens.young.get(key) {
            Some(e) => e.clone(),
            None => {
                let e = gens.old.remove(key)?;
                self.insert_young(&mut gens, key.clone(), e.clone());
                e
            }
        };
        fresh(entry.window, now).then_some(entry)
    }

    /// Remembers `signature` for `key`.
    pub fn put(&self, key: RrsetKey, signature: Signature) {
        if self.capacity == 0 {
            return;
        }
        let mut gens = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        gens.old.remove(&key);
        self.insert_young(&mut gens, key, signature);
    }

    /// Number of cached signatures (never more than the capacity).
    pub fn len(&self) -> usize {
        let gens = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        gens.young.len() + gens.old.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert_young(&self, gens: &mut Generations, key: RrsetKey, entry: Signature) {
        let half = (self.capacity / 2).max(1);
        if gens.young.len() >= half && !gens.young.contains_key(&key) {
            gens.old = std::mem::take(&mut gens.young);
            if gens.old.len() + 1 > self.capacity {
                gens.old.clear();
            }
        }
        gens.young.insert(key, entry);
    }
}

/// True while more than half of the signature's validity remains.
fn fresh(window: Window, now: u64) -> bool {
    let half = (VALIDITY + INCEPTION_SKEW) / 2;
    now >= window.inception && window.expiration.saturating_sub(now) > half
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, TXT};
    use hickory_proto::rr::{Name, RData};

    fn rec(name: &str, ttl: u32, data: RData) -> Record {
        Record::from_rdata(Name::from_ascii(name).unwrap(), ttl, data)
    }

    fn key(rrset: &[Record], key_tag: u16) -> Option<RrsetKey> {
        thread_local!(static CACHE: SigCache = SigCache::new(1));
        CACHE.with(|cache| cache.key(rrset, key_tag, &CanonicalRdata::of(rrset).ok()?))
    }

    fn a(name: &str, ttl: u32, ip: [u8; 4]) -> Record {
        rec(name, ttl, RData::A(A::from(std::net::Ipv4Addr::from(ip))))
    }

    #[test]
    fn key_covers_owner_case_insensitively_and_the_rdata_of_the_rrset() {
        let base = key(&[a("x.skydns.local.", 60, [10, 0, 0, 1])], 1).unwrap();
        assert_eq!(
            base,
            key(&[a("X.SkyDNS.local.", 60, [10, 0, 0, 1])], 1).unwrap()
        );
        assert_eq!(
            base,
            key(&[a("x.skydns.local.", 59, [10, 0, 0, 1])], 1).unwrap(),
            "the TTL is not part of the key"
        );
        for other in [
            key(&[a("x.skydns.local.", 60, [10, 0, 0, 2])], 1),
            key(&[a("x.skydns.local.", 60, [10, 0, 0, 1])], 2),
            key(
                &[
                    a("x.skydns.local.", 60, [10, 0, 0, 1]),
                    a("x.skydns.local.", 60, [10, 0, 0, 2]),
                ],
                1,
            ),
        ] {
            assert_ne!(base, other.unwrap());
        }
        let t1 = key(
            &[rec("t.", 60, RData::TXT(TXT::new(vec!["one".into()])))],
            1,
        );
        let t2 = key(
            &[rec("t.", 60, RData::TXT(TXT::new(vec!["two".into()])))],
            1,
        );
        assert_ne!(t1, t2, "TXT text is part of the key");
    }

    #[test]
    fn bounded_and_refreshed_when_half_the_validity_is_gone() {
        let cache = SigCache::new(4);
        let now = 1_000_000;
        let window = Window::at(now);
        let sig = Signature {
            window,
            original_ttl: 60,
            bytes: vec![1; 64].into(),
        };
        for i in 0..20u8 {
            let key = key(&[a("x.", 60, [10, 0, 0, i])], 1).unwrap();
            cache.put(key, sig.clone());
            assert!(cache.len() <= 4);
        }
        let last = key(&[a("x.", 60, [10, 0, 0, 19])], 1).unwrap();
        assert_eq!(cache.get(&last, now), Some(sig));
        assert!(cache.get(&last, now + VALIDITY / 2 - 3600).is_some());
        assert!(cache.get(&last, now + VALIDITY / 2 + 3600).is_none());
        assert!(SigCache::new(0).get(&last, now).is_none());
    }
}

//! Online DNSSEC signing of authoritative replies. Pure: the time comes in as Unix seconds and
//! nothing here touches the network or the clock (the key files are read by [`load_signer`],
//! at start-up, on reloads and by check-config).
//!
//! What a signed reply gets (only `Source::Auth` replies; forwarded, reverse and policy replies
//! pass untouched):
//! - DNSKEY and NSEC3PARAM queries at the apex are answered (with or without DO);
//! - with DO: the NSEC3 white-lie proof of the core's [`Denial`], then an RRSIG after every
//!   in-zone RRset of every section, so truncation can keep or drop them together;
//! - AD is always clear. We are the authoritative signer, not a validator: RFC 4035 §3.2.3
//!   lets an authoritative server set AD only for data it considers authentic by local policy,
//!   and RFC 6840 §5.7/§5.8 make AD a statement about validation for the client. Like BIND,
//!   Knot and NSD as authoritative servers, we leave validation (and AD) to the resolver.

pub mod cache;
pub mod key;
pub mod nsec3;
pub mod sign;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::config::RuntimeConfig;
use crate::core::{Denial, Reply, Request, Source};
use cache::SigCache;
pub use key::{KeyError, SignError, ZoneKey};
pub use sign::CanonicalRdata;
use sign::{rrsig_record, sign_rrset, Window};

/// The zone key and its signature cache.
pub struct Signer {
    key: ZoneKey,
    /// The zone as text (`skydns.local.`), compared with the configured domain per reply.
    zone_text: String,
    cache: SigCache,
    /// Signature cache look-ups that found a usable signature, and those that did not.
    hits: AtomicU64,
    misses: AtomicU64,
    /// Signatures computed.
    signed: AtomicU64,
}

/// The signature cache and the signing of one signer, since it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheCounts {
    /// Signatures held.
    pub entries: usize,
    /// Look-ups that found a usable signature.
    pub hits: u64,
    /// Look-ups that found none (caching on).
    pub misses: u64,
    /// Signatures computed.
    pub signed: u64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Loads the key named by `cfg.dnssec` for `cfg.domain` (`None` when signing is off). Call it
/// at start-up and again on every reload, then swap the result into the handler.
pub fn load_signer(cfg: &RuntimeConfig) -> Result<Option<Arc<Signer>>, KeyError> {
    let Some(basename) = &cfg.dnssec else {
        return Ok(None);
    };
    let key = ZoneKey::load(basename, &cfg.domain)?;
    Ok(Some(Arc::new(Signer::new(key, cfg.scache))))
}

impl Signer {
    /// A signer with `key` and a cache of at most `scache` signatures (0: no caching).
    pub fn new(key: ZoneKey, scache: usize) -> Signer {
        Signer {
            zone_text: key.zone.to_ascii(),
            key,
            cache: SigCache::new(scache),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            signed: AtomicU64::new(0),
        }
    }

    /// The signature cache's size and look-ups, and the signatures made.
    pub fn cache_counts(&self) -> CacheCounts {
        CacheCounts {
            entries: self.cache.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            signed: self.signed.load(Ordering::Relaxed),
        }
    }

    /// Signatures held in the signature cache.
    pub fn cached_signatures(&self) -> usize {
        self.cache.len()
    }

    /// The zone key it signs with.
    pub fn key(&self) -> &ZoneKey {
        &self.key
    }

    /// Readies an authoritative reply for signing: DNSKEY and NSEC3PARAM at the apex are put
    /// in, AD is cleared and, for a DNSSEC query, the NSEC3 proof of the reply's denial is
    /// added to the authority section. Returns true when the reply's RRsets are to be signed
    /// (ours, for our zone, and asked with DO); the caller signs each RRset it sends with
    /// [`Signer::rrsig`]. A key for another zone (the domain changed on reload without a new
    /// key) leaves the reply as it is.
    pub fn prepare(&self, req: &Request, reply: &mut Reply, cfg: &RuntimeConfig) -> bool {
        if reply.source != Source::Auth || !self.zone_is(&cfg.domain) {
            return false;
        }
        let message = &mut reply.message;
        message.metadata.authentic_data = false;
        let mut denial = reply.denial.take();
        if self.answer_apex_type(req, message, cfg) {
            denial = None;
            reply.rrsets = None;
        }
        if !req.dnssec_ok() {
            return false;
        }
        if let Some(denial) = denial {
            let ttl = cfg.negative_ttl();
            message
                .authorities
                .extend(self.denial_records(req, &denial, ttl));
        }
        true
    }

    /// True when `rrset` (one owner, type and class) gets an RRSIG: it is in our zone and not
    /// an RRSIG itself.
    pub fn signs(&self, rrset: &[Record]) -> bool {
        rrset.first().is_some_and(|first| {
            first.record_type() != RecordType::RRSIG && self.key.zone.zone_of(&first.name)
        })
    }

    /// The encoded size of the RRSIG of an RRset whose owner is written as a compression
    /// pointer (as it is right after the RRset).
    pub fn rrsig_len(&self) -> usize {
        // Owner pointer 2, type/class/TTL/length 10, fixed RRSIG fields 18, signer name
        // (never compressed), signature.
        let signer_name: usize = self.key.zone.iter().map(|label| label.len() + 1).sum();
        2 + 10 + 18 + signer_name + 1 + self.key.signature_len()
    }

    fn zone_is(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case(&self.zone_text)
    }

    /// DNSKEY and NSEC3PARAM at the apex: the core knows nothing of keys, so it answered NODATA;
    /// put the RRset in. Returns true when it did.
    fn answer_apex_type(&self, req: &Request, message: &mut Message, cfg: &RuntimeConfig) -> bool {
        let qname = req.qname();
        if *qname != self.key.zone || message.metadata.response_code != ResponseCode::NoError {
            return false;
        }
        let data = match req.qtype() {
            RecordType::DNSKEY => RData::DNSSEC(DNSSECRData::DNSKEY(self.key.dnskey.clone())),
            RecordType::NSEC3PARAM => RData::DNSSEC(DNSSECRData::NSEC3PARAM(nsec3::param())),
            _ => return false,
        };
        let mut record = Record::from_rdata(qname.clone(), cfg.ttl, data);
        record.dns_class = DNSClass::IN;
        message.answers = vec![record];
        message.authorities.clear();
        true
    }

    fn denial_records(&self, req: &Request, denial: &Denial, ttl: u32) -> Vec<Record> {
        let zone = &self.key.zone;
        match denial {
            Denial::NxDomain {
                closest_encloser,
                encloser_types,
            } => match Name::from_ascii(closest_encloser) {
                Ok(encloser) => nsec3::nxdomain(req.qname(), &encloser, encloser_types, zone, ttl),
                Err(_) => Vec::new(),
            },
            Denial::NoData { types } => nsec3::nodata(req.qname(), types, req.qtype(), zone, ttl),
        }
    }

    /// The RRSIG of `rrset` (one owner, type, class and TTL; its canonical RDATA is `rdata`) at
    /// `now` (Unix seconds): a cached one whose original TTL covers the RRset's TTL (which
    /// counts down for leased records) with its TTL set to the RRset's, else a new signature.
    pub fn rrsig(
        &self,
        rrset: &[Record],
        rdata: &CanonicalRdata,
        now: u64,
    ) -> Result<Record, SignError> {
        let window = Window::at(now);
        let key = self
            .cache
            .enabled()
            .then(|| self.cache.key(rrset, self.key.key_tag, rdata))
            .flatten();
        let ttl = rrset[0].ttl;
        let cached = key.as_ref().and_then(|k| self.cache.get(k, now));
        if let Some(signature) = cached.filter(|sig| sig.original_ttl >= ttl) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(rrsig_record(&self.key, &rrset[0], signature));
        }
        if key.is_some() {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        self.signed.fetch_add(1, Ordering::Relaxed);
        let signature = sign_rrset(&self.key, rrset, rdata, window)?;
        if let Some(key) = key {
            self.cache.put(key, signature.clone());
        }
        Ok(rrsig_record(&self.key, &rrset[0], signature))
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::Name;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_cached_signature_serves_lower_ttls_and_a_higher_ttl_is_signed_afresh() {
        let signer = Signer::new(key::tests::ecdsa_key(), 100);
        let a = |ttl| {
            let name = Name::from_ascii("a.skydns.local.").unwrap();
            Record::from_rdata(name, ttl, RData::A("10.0.0.1".parse().unwrap()))
        };
        let sign = |ttl| {
            let rrset = [a(ttl)];
            let rrsig = signer
                .rrsig(&rrset, &CanonicalRdata::of(&rrset).unwrap(), NOW)
                .unwrap();
            let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &rrsig.data else {
                panic!("not an RRSIG")
            };
            (rrsig.ttl, sig.input().original_ttl, sig.sig().to_vec())
        };
        let (ttl, original, first) = sign(60);
        assert_eq!((ttl, original), (60, 60));
        let (ttl, original, again) = sign(55);
        assert_eq!((ttl, original), (55, 60));
        assert_eq!(again, first, "the cached signature");
        let (ttl, original, grown) = sign(70);
        assert_eq!((ttl, original), (70, 70));
        assert_ne!(grown, first, "a new signature for the larger TTL");
        let counts = signer.cache_counts();
        assert_eq!(
            (counts.entries, counts.hits, counts.misses, counts.signed),
            (1, 1, 2, 2)
        );
    }

    #[test]
    fn the_rrsig_length_is_what_is_written() {
        let signer = Signer::new(key::tests::ecdsa_key(), 0);
        let name = Name::from_ascii("a.skydns.local.").unwrap();
        let a = Record::from_rdata(name, 60, RData::A("10.0.0.1".parse().unwrap()));
        let mut buf = Vec::new();
        let mut enc = hickory_proto::serialize::binary::BinEncoder::new(&mut buf);
        use hickory_proto::serialize::binary::BinEncodable;
        a.emit(&mut enc).unwrap();
        let before = enc.offset();
        let rrset = [a];
        signer
            .rrsig(&rrset, &CanonicalRdata::of(&rrset).unwrap(), NOW)
            .unwrap()
            .emit(&mut enc)
            .unwrap();
        assert_eq!(enc.offset() - before, signer.rrsig_len());
    }
}
